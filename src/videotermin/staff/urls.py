from allauth.account import views as account_views
from django.urls import path

from videotermin.staff import views

app_name = "staff"
urlpatterns = [
    path("", views.day, name="day"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", account_views.logout, name="logout"),
    path("appointments/new/", views.create, name="create"),
    path("check/", views.own_check, name="check"),
    path("appointments/<uuid:public_id>/edit/", views.edit, name="edit"),
    path("appointments/<uuid:public_id>/cancel/", views.cancel, name="cancel"),
    path("appointments/<uuid:public_id>/resend/", views.resend, name="resend"),
    path("appointments/<uuid:public_id>/room/", views.room, name="room"),
    path("appointments/<uuid:public_id>/people/", views.people, name="people"),
    path(
        "appointments/<uuid:public_id>/people/<uuid:member_id>/",
        views.edit_member,
        name="edit_member",
    ),
    path(
        "appointments/<uuid:public_id>/people/<uuid:member_id>/resend/",
        views.resend,
        name="resend_member",
    ),
    path(
        "appointments/<uuid:public_id>/people/<uuid:member_id>/remove/",
        views.remove_member,
        name="remove_member",
    ),
]
