from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

urlpatterns = [
    path("", include("videotermin.journey.urls")),
    path("", include("videotermin.checks.urls")),
    path("staff/agency/webhooks/", include("videotermin.webhooks.urls")),
    path("staff/agency/api-keys/", include("videotermin.api.key_urls")),
    path("staff/agency/licence/", include("videotermin.resources.urls")),
    path("staff/agency/", include("videotermin.administration.urls")),
    path("staff/booking/", include("videotermin.booking.staff_urls")),
    path("staff/statistics/", include("videotermin.stats.urls")),
    path("staff/", include("videotermin.staff.urls")),
    # allauth's sign-in, second factor and single sign-on views, by allauth's URL names.
    path("staff/", include("videotermin.signin.urls")),
    path("survey/", include("videotermin.survey.urls")),
    # Self-service booking: public pages, booking links, changes through the personal link.
    path("", include("videotermin.booking.urls")),
    path("look/", include("videotermin.agencies.urls")),
    # The integration API (docs/api.md).
    path("api/", include("videotermin.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="jsi18n"),
]

# Every error a person can meet is a page of the site, in their language (errors.py).
handler400 = "videotermin.errors.bad_request"
handler403 = "videotermin.errors.permission_denied"
handler404 = "videotermin.errors.page_not_found"
handler500 = "videotermin.errors.server_error"
