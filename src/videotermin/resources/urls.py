from django.urls import path

from videotermin.resources import views

app_name = "resources"
urlpatterns = [
    path("", views.licence, name="licence"),
]
