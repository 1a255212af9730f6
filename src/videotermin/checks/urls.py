from django.urls import path

from videotermin.checks import views

app_name = "checks"
urlpatterns = [
    path("a/<uuid:participant>/check/echo/", views.echo_start, name="echo"),
    path("a/<uuid:participant>/check/echo/stop/", views.echo_stop, name="echo_stop"),
    path("a/<uuid:participant>/check/ping/", views.ping, name="ping"),
    path("a/<uuid:participant>/check/download/", views.download, name="download"),
    path("a/<uuid:participant>/check/upload/", views.upload, name="upload"),
]
