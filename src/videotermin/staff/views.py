"""The staff workspace: sign-in, day view, booking, changes and the counselor's room page."""

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import wraps
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from videotermin.agencies.models import StaffMember
from videotermin.appointments import services
from videotermin.appointments.models import Appointment
from videotermin.calls import ice
from videotermin.staff.forms import AppointmentForm

UPCOMING_DAYS = 14


class LoginView(auth_views.LoginView):
    template_name = "staff/login.html"
    redirect_authenticated_user = True


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in staff only (others get 403); times are shown in the agency's time zone."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        staff = getattr(request.user, "staff", None)
        if staff is None or not request.user.is_active:
            raise PermissionDenied
        with timezone.override(ZoneInfo(staff.agency.time_zone)):
            return view(request, *args, **kwargs)

    return wrapper


def _staff(request: HttpRequest) -> StaffMember:
    """The signed-in staff member (staff_required has made sure there is one)."""
    return request.user.staff  # type: ignore[union-attr]


def _appointments(request: HttpRequest):
    return (
        Appointment.objects.visible_to(request.user)
        .select_related("agency", "location", "counselor")
        .prefetch_related("participants")
    )


def _get_appointment(request: HttpRequest, public_id) -> Appointment:
    """Only the user's own agency's appointments exist for them; any other is a 404."""
    return get_object_or_404(_appointments(request), public_id=public_id)


def _day_url(day: date) -> str:
    return reverse("staff:day") + "?" + urlencode({"day": day.isoformat()})


def _local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    # Midnight to midnight in the agency's zone; a DST day has 23 or 25 hours.
    zone = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def _rows(appointments) -> list[dict]:
    now = timezone.now()
    rows = []
    for appointment in appointments:
        citizen = appointment.citizen()
        rows.append(
            {"appointment": appointment, "citizen": citizen, "status": appointment.status(now)}
        )
    return rows


@staff_required
def day(request: HttpRequest) -> HttpResponse:
    """Today's (or the chosen day's) appointments and the upcoming ones, updated live."""
    today = timezone.localdate()
    try:
        shown = date.fromisoformat(request.GET["day"])
    except (KeyError, ValueError):
        shown = today
    start, end = _day_bounds(shown)
    upcoming_end = _day_bounds(shown + timedelta(days=UPCOMING_DAYS))[0]
    appointments = _appointments(request)
    context = {
        "day": shown,
        "today": today,
        "previous_day": shown - timedelta(days=1),
        "next_day": shown + timedelta(days=1),
        "rows": _rows(appointments.filter(starts_at__gte=start, starts_at__lt=end)),
        "upcoming": _rows(
            appointments.filter(
                starts_at__gte=end, starts_at__lt=upcoming_end, cancelled_at__isnull=True
            )[:100]
        ),
        "upcoming_days": UPCOMING_DAYS,
        "agency": _staff(request).agency,
    }
    return render(request, "staff/day.html", context)


def _next_half_hour() -> datetime:
    now = timezone.localtime()
    minutes = 30 - now.minute % 30
    return (now + timedelta(minutes=minutes)).replace(second=0, microsecond=0)


@staff_required
def create(request: HttpRequest) -> HttpResponse:
    staff = _staff(request)
    initial = {
        "location": staff.location_id,
        "starts_at": _next_half_hour(),
        "duration_minutes": 30,
        "language": "de",
    }
    form = AppointmentForm(request.POST or None, agency=staff.agency, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            booking = services.create_appointment(counselor=request.user, **form.cleaned_data)
        except services.NotAllowed as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("The appointment with %(name)s was booked and the invitation sent.")
                % {"name": booking.appointment.citizen_name},
            )
            return redirect(_day_url(_local_day(booking.appointment.starts_at)))
    return render(request, "staff/appointment_form.html", {"form": form, "appointment": None})


@staff_required
def edit(request: HttpRequest, public_id) -> HttpResponse:
    appointment = _get_appointment(request, public_id)
    if appointment.is_cancelled or appointment.call_ended_at:
        messages.error(request, _("A cancelled or finished appointment cannot be changed."))
        return redirect(_day_url(_local_day(appointment.starts_at)))
    initial = {field: getattr(appointment, field) for field in services.EDITABLE_FIELDS}
    form = AppointmentForm(request.POST or None, agency=appointment.agency, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            appointment = services.update_appointment(
                appointment, by=request.user, **form.cleaned_data
            )
        except services.NotAllowed as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("The appointment with %(name)s was saved.") % {"name": appointment.citizen_name},
            )
            return redirect(_day_url(_local_day(appointment.starts_at)))
    return render(
        request, "staff/appointment_form.html", {"form": form, "appointment": appointment}
    )


@staff_required
def cancel(request: HttpRequest, public_id) -> HttpResponse:
    appointment = _get_appointment(request, public_id)
    back = _day_url(_local_day(appointment.starts_at))
    if request.method == "POST":
        try:
            services.cancel_appointment(appointment, by=request.user)
        except services.NotAllowed as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("The appointment with %(name)s was cancelled; the citizen is informed by e-mail.")
                % {"name": appointment.citizen_name},
            )
        return redirect(back)
    return render(request, "staff/cancel.html", {"appointment": appointment, "back": back})


@require_POST
@staff_required
def resend(request: HttpRequest, public_id) -> HttpResponse:
    appointment = _get_appointment(request, public_id)
    try:
        services.resend_invitation(appointment, by=request.user)
    except services.NotAllowed as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("The invitation was sent again to %(email)s.") % {"email": appointment.citizen_email},
        )
    return redirect(_day_url(_local_day(appointment.starts_at)))


@staff_required
def room(request: HttpRequest, public_id) -> HttpResponse:
    """The counselor's side of the consultation room (template and script: calls app)."""
    appointment = _get_appointment(request, public_id)
    return render(
        request,
        "calls/counselor_room.html",
        {
            "appointment": appointment,
            "citizen": appointment.citizen(),
            "ws_path": f"/ws/room/{appointment.public_id}/",
            **ice.page_context(appointment.agency, ice.staff_member_id(request.user)),
        },
    )
