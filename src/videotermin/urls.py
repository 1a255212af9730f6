from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

urlpatterns = [
    path("", include("videotermin.journey.urls")),
    path("", include("videotermin.checks.urls")),
    path("staff/", include("videotermin.staff.urls")),
    path("survey/", include("videotermin.survey.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="jsi18n"),
]
