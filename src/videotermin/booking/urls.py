from django.urls import path

from videotermin.booking import views

app_name = "booking"
urlpatterns = [
    path("book/<slug:agency>/", views.page, name="page"),
    path("book/<slug:agency>/<uuid:location>/", views.page, name="location_page"),
    path("booking/i/<str:token>/", views.invitation_link, name="invitation_link"),
    path("booking/invitation/<uuid:invitation>/", views.invitation, name="invitation"),
    path("booking/confirm/<str:token>/", views.confirm_link, name="confirm_link"),
    path("booking/hold/<uuid:hold>/", views.held, name="held"),
    path("booking/hold/<uuid:hold>/confirm/", views.confirm, name="confirm"),
    path("booking/appointment/<uuid:participant>/", views.manage, name="manage"),
    path("booking/appointment/<uuid:participant>/cancel/", views.cancel, name="cancel"),
]
