from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

urlpatterns = [
    path("", include("videotermin.journey.urls")),
    path("", include("videotermin.checks.urls")),
    path("staff/agency/", include("videotermin.administration.urls")),
    path("staff/", include("videotermin.staff.urls")),
    # allauth's sign-in, second factor and single sign-on views, by allauth's URL names.
    path("staff/", include("videotermin.signin.urls")),
    path("survey/", include("videotermin.survey.urls")),
    path("look/", include("videotermin.agencies.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="jsi18n"),
]

# Every error a person can meet is a page of the site, in their language (errors.py).
handler400 = "videotermin.errors.bad_request"
handler403 = "videotermin.errors.permission_denied"
handler404 = "videotermin.errors.page_not_found"
handler500 = "videotermin.errors.server_error"
