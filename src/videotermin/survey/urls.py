from django.urls import path

from videotermin.survey import views

app_name = "survey"
urlpatterns = [
    path("<uuid:participant>/", views.start, name="start"),
    path("<uuid:participant>/thanks/", views.thanks, name="thanks"),
]
