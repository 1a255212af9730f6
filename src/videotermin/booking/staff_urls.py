from django.urls import path

from videotermin.booking import staff_views as views

app_name = "booking_staff"
urlpatterns = [
    path("", views.index, name="index"),
    path("hours/new/", views.create, name="create"),
    path("hours/<uuid:public_id>/", views.schedule, name="schedule"),
    path("hours/<uuid:public_id>/weekly/", views.add_hours, name="add_hours"),
    path(
        "hours/<uuid:public_id>/weekly/<int:hours_id>/remove/",
        views.remove_hours,
        name="remove_hours",
    ),
    path("hours/<uuid:public_id>/closed/", views.add_closure, name="add_closure"),
    path("hours/<uuid:public_id>/extra/", views.add_extra, name="add_extra"),
    path(
        "hours/<uuid:public_id>/exceptions/<int:exception_id>/remove/",
        views.remove_exception,
        name="remove_exception",
    ),
    path("hours/<uuid:public_id>/remove/", views.remove, name="remove"),
    path("pages/", views.switch_page, name="switch_page"),
    path("links/new/", views.invite, name="invite"),
]
