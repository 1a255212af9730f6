from django.urls import path

from videotermin.administration.views import (
    audit,
    invitation,
    locations,
    settings,
    signin,
    staff,
    texts,
)

app_name = "administration"
urlpatterns = [
    path("", settings.index, name="index"),
    path("settings/", settings.settings, name="settings"),
    path("locations/", locations.index, name="locations"),
    path("locations/new/", locations.add, name="location_add"),
    path("locations/<uuid:location_id>/", locations.change, name="location"),
    path("locations/<uuid:location_id>/close/", locations.close, name="location_close"),
    path("locations/<uuid:location_id>/reopen/", locations.reopen, name="location_reopen"),
    path("locations/<uuid:location_id>/remove/", locations.remove, name="location_remove"),
    path("staff/", staff.index, name="staff"),
    path("staff/invite/", staff.invite, name="staff_invite"),
    path("staff/<uuid:staff_id>/", staff.member, name="staff_member"),
    path("staff/<uuid:staff_id>/resend/", staff.resend, name="staff_resend"),
    path("staff/<uuid:staff_id>/deactivate/", staff.deactivate, name="staff_deactivate"),
    path("staff/<uuid:staff_id>/reactivate/", staff.reactivate, name="staff_reactivate"),
    path("invitation/<uuid:staff_id>/<str:token>/", invitation.accept, name="invitation"),
    path("texts/", texts.index, name="texts"),
    path("texts/<str:kind>/<str:language>/draft/", texts.edit, name="text_edit"),
    path("texts/<str:kind>/<str:language>/draft/preview/", texts.preview, name="text_preview"),
    path("texts/<str:kind>/<str:language>/draft/publish/", texts.publish, name="text_publish"),
    path("texts/<str:kind>/<str:language>/draft/discard/", texts.discard, name="text_discard"),
    path("texts/<str:kind>/<str:language>/<int:version>/", texts.version, name="text_version"),
    path("signin/", signin.providers, name="signin"),
    path("signin/new/", signin.add_provider, name="signin_add"),
    path("signin/<uuid:public_id>/", signin.edit_provider, name="signin_edit"),
    path("signin/<uuid:public_id>/remove/", signin.remove_provider, name="signin_remove"),
    path("audit/", audit.log, name="audit"),
    path("audit/export.csv", audit.export, name="audit_export"),
]
