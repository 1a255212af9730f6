"""/api/: version 1 of the integration API, and a problem (404) for every other address."""

from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from videotermin.api.problems import api_view, nothing_here
from videotermin.api.v1 import api


def _in_the_api_language(urls):
    """Ninja's URL patterns, each view answering in the caller's language, with problems for
    what ninja leaves to Django (a 404 outside an operation, a method not allowed)."""
    patterns, app_name, namespace = urls
    for pattern in patterns:
        pattern.callback = api_view(pattern.callback)
    return patterns, app_name, namespace


urlpatterns = [
    path("v1/", _in_the_api_language(api.urls)),
    # Keys, not cookies, authenticate here: no CSRF check, also for an unknown address.
    re_path(r"^.*$", csrf_exempt(api_view(nothing_here)), name="api-nothing-here"),
]
