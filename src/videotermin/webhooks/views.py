"""The agency administration's webhooks: endpoints, their secrets, test events, the delivery
log and replays. Only the agency's administrators, only their own agency's endpoints."""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from videotermin.administration.access import admin_required, agency_of
from videotermin.administration.rules import NotAllowed
from videotermin.webhooks import services
from videotermin.webhooks.events import EVENT_TYPES, TEST
from videotermin.webhooks.forms import EndpointForm
from videotermin.webhooks.models import Delivery, Endpoint

PAGE_SIZE = 50


def _endpoint(request: HttpRequest, endpoint_id) -> Endpoint:
    """Only the administrator's own agency's endpoints exist for them; any other is a 404."""
    return get_object_or_404(
        Endpoint.objects.select_related("agency"), agency=agency_of(request), public_id=endpoint_id
    )


def _render(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    return render(request, f"webhooks/{template}", {"section": "webhooks", **context})


def _show_secret(request: HttpRequest, endpoint: Endpoint, secret: str, new: bool) -> HttpResponse:
    """The one page that shows the secret: answered to the POST itself, never stored."""
    response = _render(request, "secret.html", {"endpoint": endpoint, "secret": secret, "new": new})
    response["Cache-Control"] = "no-store"
    return response


@admin_required
def index(request: HttpRequest) -> HttpResponse:
    endpoints = (
        Endpoint.objects.filter(agency=agency_of(request))
        .annotate(
            pending=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.PENDING)),
            failed=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED)),
        )
        .order_by("created_at", "pk")
    )
    rows = [
        {"endpoint": e, "events": [EVENT_TYPES[t] for t in e.event_types if t in EVENT_TYPES]}
        for e in endpoints
    ]
    return _render(request, "endpoints.html", {"rows": rows})


@never_cache
@admin_required
def add(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        endpoint, secret = services.add_endpoint(
            agency_of(request), by=request.user, **form.cleaned_data
        )
        return _show_secret(request, endpoint, secret, new=True)
    return _render(request, "endpoint_form.html", {"form": form, "endpoint": None})


@admin_required
def change(request: HttpRequest, endpoint_id) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "active": endpoint.active,
    }
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.change_endpoint(endpoint, by=request.user, **form.cleaned_data)
        messages.success(request, _("The changes are saved."))
        return redirect("webhooks:index")
    return _render(request, "endpoint_form.html", {"form": form, "endpoint": endpoint})


@admin_required
def remove(request: HttpRequest, endpoint_id) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    if request.method == "POST":
        services.remove_endpoint(endpoint, by=request.user)
        messages.success(request, _("The endpoint was removed."))
        return redirect("webhooks:index")
    return _render(request, "endpoint_remove.html", {"endpoint": endpoint})


@never_cache
@require_POST
@admin_required
def rotate(request: HttpRequest, endpoint_id) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    secret = services.rotate_secret(endpoint, by=request.user)
    return _show_secret(request, endpoint, secret, new=False)


@require_POST
@admin_required
def test(request: HttpRequest, endpoint_id) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    try:
        services.send_test(endpoint, by=request.user)
    except NotAllowed as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("A test event is on its way. Its delivery appears in the log below.")
        )
    return redirect("webhooks:deliveries", endpoint_id=endpoint.public_id)


@admin_required
def deliveries(request: HttpRequest, endpoint_id) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    log = endpoint.deliveries.select_related("event").order_by("-created_at", "-pk")
    page = Paginator(log, PAGE_SIZE).get_page(request.GET.get("page"))
    labels = {**EVENT_TYPES, TEST: pgettext("webhooks", "Test event")}
    rows = [
        {
            "delivery": delivery,
            "what": labels.get(delivery.event.type, delivery.event.type),
            "type": delivery.event.type,
            "appointment": str(delivery.appointment or ""),
        }
        for delivery in page
    ]
    context = {
        "endpoint": endpoint,
        "page": page,
        "rows": rows,
        "time_zone": endpoint.agency.time_zone,
        "keep_days": settings.WEBHOOK_KEEP_DAYS,
    }
    return _render(request, "deliveries.html", context)


@require_POST
@admin_required
def replay(request: HttpRequest, endpoint_id, delivery_id) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    target = get_object_or_404(endpoint.deliveries, public_id=delivery_id)
    if target.status == Delivery.Status.PENDING:
        messages.error(request, _("This delivery is still being sent."))
    else:
        services.replay(target, by=request.user)
        messages.success(request, _("The event will be sent again, with the same message id."))
    return redirect("webhooks:deliveries", endpoint_id=endpoint.public_id)
