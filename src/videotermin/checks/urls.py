from django.urls import path

from videotermin.checks import views

app_name = "checks"
urlpatterns = [
    path("a/<uuid:participant>/check/echo/", views.echo_start, name="echo"),
    path("a/<uuid:participant>/check/echo/stop/", views.echo_stop, name="echo_stop"),
    path("a/<uuid:participant>/check/ping/", views.ping, name="ping"),
    path("a/<uuid:participant>/check/download/", views.download, name="download"),
    path("a/<uuid:participant>/check/upload/", views.upload, name="upload"),
    # A staff member's own check (S4): the same measurements, for the signed-in user.
    path("staff/check/echo/", views.echo_start, name="staff_echo"),
    path("staff/check/echo/stop/", views.echo_stop, name="staff_echo_stop"),
    path("staff/check/ping/", views.ping, name="staff_ping"),
    path("staff/check/download/", views.download, name="staff_download"),
    path("staff/check/upload/", views.upload, name="staff_upload"),
]
