"""The booking's staff pages: publishing hours, the public booking pages, booking links.

Counselors see and change their own hours; administrators every hours of their agency, the
booking pages and the booking links. Another agency's hours do not exist for anybody (404).
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from videotermin.agencies.models import StaffMember
from videotermin.appointments.services import NotAllowed as BookingNotAllowed
from videotermin.booking import publishing, services, slots
from videotermin.booking.models import BookingPage, Schedule
from videotermin.booking.staff_forms import (
    WEEKDAYS,
    ClosureForm,
    ExtraHoursForm,
    HoursForm,
    InvitationForm,
    ScheduleForm,
)
from videotermin.staff.views import staff_required

PREVIEW_SLOTS = 12


def _staff(request: HttpRequest) -> StaffMember:
    return request.user.staff  # type: ignore[union-attr]


def _schedules(request: HttpRequest):
    """The hours this staff member may see and change: all of the agency's for administrators,
    their own for counselors."""
    staff = _staff(request)
    schedules = Schedule.objects.filter(agency_id=staff.agency_id).select_related(
        "location", "counselor"
    )
    if not staff.is_admin:
        schedules = schedules.filter(counselor_id=request.user.pk)
    return schedules


def _get_schedule(request: HttpRequest, public_id) -> Schedule:
    return get_object_or_404(_schedules(request), public_id=public_id)


@staff_required
def index(request: HttpRequest) -> HttpResponse:
    staff = _staff(request)
    schedules = list(_schedules(request).prefetch_related("hours"))
    others = []
    if not staff.is_admin and staff.location_id is not None:
        # Hours of the counselor's location are theirs to hold, not to change.
        others = list(
            Schedule.objects.filter(
                agency_id=staff.agency_id, counselor__isnull=True, location_id=staff.location_id
            )
            .select_related("location")
            .prefetch_related("hours")
        )
    context = {
        "schedules": schedules,
        "others": others,
        "weekdays": dict(WEEKDAYS),
        "is_admin": staff.is_admin,
        "pages": _pages(staff) if staff.is_admin else [],
    }
    return render(request, "booking/staff/index.html", context)


def _pages(staff: StaffMember) -> list[dict]:
    """The agency's page and each open location's, on or off, with their addresses."""
    agency = staff.agency
    existing = {page.location_id: page for page in BookingPage.objects.filter(agency=agency)}
    rows = []
    for location in [None, *agency.locations.bookable().order_by("name")]:
        page = existing.get(location.pk if location else None)
        url = (
            reverse("booking:location_page", args=[agency.slug, location.public_id])
            if location
            else reverse("booking:page", args=[agency.slug])
        )
        rows.append(
            {
                "location": location,
                "enabled": bool(page and page.enabled),
                "url": settings.SITE_URL + url,
            }
        )
    return rows


@staff_required
def create(request: HttpRequest) -> HttpResponse:
    staff = _staff(request)
    form = ScheduleForm(
        request.POST or None,
        agency=staff.agency,
        administrator=staff.is_admin,
        initial={"location": staff.location_id},
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        counselor = data.pop("counselor", None) if staff.is_admin else request.user
        try:
            schedule = publishing.create_schedule(
                staff.agency, by=request.user, counselor=counselor, **data
            )
        except publishing.NotAllowed as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The hours are created. Now add the weekly hours."))
            return redirect("booking_staff:schedule", public_id=schedule.public_id)
    return render(request, "booking/staff/schedule_form.html", {"form": form, "schedule": None})


@staff_required
def schedule(request: HttpRequest, public_id) -> HttpResponse:
    """One schedule: its settings, weekly hours, exceptions and the next free slots."""
    found = _get_schedule(request, public_id)
    staff = _staff(request)
    initial = {name: getattr(found, name) for name in publishing.SETTINGS_FIELDS}
    form = ScheduleForm(
        request.POST or None, agency=staff.agency, administrator=False, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            publishing.change_schedule(found, by=request.user, **form.cleaned_data)
        except publishing.NotAllowed as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The hours are saved."))
            return redirect("booking_staff:schedule", public_id=found.public_id)
    return _render_schedule(request, found, form=form)


def _render_schedule(request: HttpRequest, found: Schedule, **forms) -> HttpResponse:
    staff = _staff(request)
    forms.setdefault(
        "form",
        ScheduleForm(
            agency=staff.agency,
            administrator=False,
            initial={name: getattr(found, name) for name in publishing.SETTINGS_FIELDS},
        ),
    )
    forms.setdefault("hours_form", HoursForm(prefix="hours"))
    forms.setdefault("closure_form", ClosureForm(prefix="closed"))
    forms.setdefault("extra_form", ExtraHoursForm(prefix="extra"))
    found = (
        Schedule.objects.select_related("agency", "location", "counselor")
        .prefetch_related("hours", "exceptions")
        .get(pk=found.pk)
    )
    preview = slots.free_slots([found])[:PREVIEW_SLOTS] if found.active else []
    context = {
        "schedule": found,
        "weekdays": dict(WEEKDAYS),
        "preview": preview,
        "time_zone": slots.zone_of(found.agency),
        **forms,
    }
    return render(request, "booking/staff/schedule.html", context)


def _post_form(request: HttpRequest, public_id, form_class, prefix: str, name: str, add):
    found = _get_schedule(request, public_id)
    form = form_class(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            add(found, form.cleaned_data)
        except publishing.NotAllowed as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The hours are saved."))
            return redirect("booking_staff:schedule", public_id=found.public_id)
    return _render_schedule(request, found, **{name: form})


@require_POST
@staff_required
def add_hours(request: HttpRequest, public_id) -> HttpResponse:
    return _post_form(
        request,
        public_id,
        HoursForm,
        "hours",
        "hours_form",
        lambda found, data: publishing.add_hours(found, by=request.user, **data),
    )


@require_POST
@staff_required
def add_closure(request: HttpRequest, public_id) -> HttpResponse:
    return _post_form(
        request,
        public_id,
        ClosureForm,
        "closed",
        "closure_form",
        lambda found, data: publishing.add_closure(found, by=request.user, **data),
    )


@require_POST
@staff_required
def add_extra(request: HttpRequest, public_id) -> HttpResponse:
    return _post_form(
        request,
        public_id,
        ExtraHoursForm,
        "extra",
        "extra_form",
        lambda found, data: publishing.add_extra_hours(found, by=request.user, **data),
    )


@require_POST
@staff_required
def remove_hours(request: HttpRequest, public_id, hours_id: int) -> HttpResponse:
    found = _get_schedule(request, public_id)
    hours = get_object_or_404(found.hours, pk=hours_id)
    publishing.remove_hours(hours, by=request.user)
    messages.success(request, _("The hours are saved."))
    return redirect("booking_staff:schedule", public_id=found.public_id)


@require_POST
@staff_required
def remove_exception(request: HttpRequest, public_id, exception_id: int) -> HttpResponse:
    found = _get_schedule(request, public_id)
    exception = get_object_or_404(found.exceptions, pk=exception_id)
    publishing.remove_exception(exception, by=request.user)
    messages.success(request, _("The hours are saved."))
    return redirect("booking_staff:schedule", public_id=found.public_id)


@staff_required
def remove(request: HttpRequest, public_id) -> HttpResponse:
    found = _get_schedule(request, public_id)
    if request.method == "POST":
        publishing.remove_schedule(found, by=request.user)
        messages.success(
            request, _("The hours are removed; appointments booked in them stay as they are.")
        )
        return redirect("booking_staff:index")
    return render(request, "booking/staff/schedule_remove.html", {"schedule": found})


@require_POST
@staff_required
def switch_page(request: HttpRequest) -> HttpResponse:
    """Turn the agency's booking page, or a location's, on or off (administrators)."""
    staff = _staff(request)
    if not staff.is_admin:
        raise PermissionDenied
    location = None
    if request.POST.get("location"):
        location = get_object_or_404(
            staff.agency.locations.bookable(), public_id=request.POST["location"]
        )
    enabled = request.POST.get("enabled") == "1"
    try:
        publishing.set_page(staff.agency, by=request.user, location=location, enabled=enabled)
    except publishing.NotAllowed as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("The booking page is switched on.")
            if enabled
            else _("The booking page is switched off."),
        )
    return redirect(reverse("booking_staff:index") + "#pages")


@staff_required
def invite(request: HttpRequest) -> HttpResponse:
    """Issue a single-use booking link for one person and show it once."""
    staff = _staff(request)
    form = InvitationForm(request.POST or None, agency=staff.agency)
    if request.method == "POST" and form.is_valid():
        try:
            invitation, token = services.issue_booking_invitation(
                staff.agency, by=request.user, **form.cleaned_data
            )
        except BookingNotAllowed as error:
            form.add_error(None, str(error))
        else:
            link = settings.SITE_URL + reverse("booking:invitation_link", args=[token])
            context = {"invitation": invitation, "link": link}
            response = render(request, "booking/staff/invited.html", context)
            response.headers["Cache-Control"] = "no-store"
            return response
    return render(request, "booking/staff/invite.html", {"form": form})
