from django.urls import path

from videotermin.administration.views import settings

app_name = "administration"
urlpatterns = [
    path("", settings.index, name="index"),
    path("settings/", settings.settings, name="settings"),
]
