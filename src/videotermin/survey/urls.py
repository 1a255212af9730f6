from django.urls import path

from videotermin.survey import views

app_name = "survey"
urlpatterns = [
    path("thanks/", views.thanks, name="thanks"),
    path("<uuid:participant>/", views.start, name="start"),
]
