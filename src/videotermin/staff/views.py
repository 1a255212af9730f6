"""The staff workspace: sign-in, day view, booking, changes and the counselor's room page."""

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import wraps
from zoneinfo import ZoneInfo

from allauth.account.views import LoginView as AllauthLoginView
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from videotermin.agencies.models import StaffMember
from videotermin.appointments import services
from videotermin.appointments.models import MAX_MEMBERS, Appointment, Member
from videotermin.calls import ice
from videotermin.lib import ratelimit
from videotermin.lib.headers import content_security_policy
from videotermin.signin.views import single_sign_on_choices
from videotermin.staff.forms import AppointmentForm, ExtrasFormSet, InviteeForm, MemberForm

UPCOMING_DAYS = 14


class LoginView(AllauthLoginView):
    """Sign-in (allauth's flow: password, then the second factor if one is set up). django-axes
    locks an account after a few failures from anywhere; here an address that fails on many
    accounts (password spraying) is held off as well. `?agency=<short name>` offers that
    agency's own identity providers."""

    template_name = "staff/login.html"

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if ratelimit.spent_sync(self._address_key(), settings.LOGIN_ADDRESS_LIMIT):
            return render(request, settings.AXES_LOCKOUT_TEMPLATE, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        ratelimit.hit_sync(self._address_key(), settings.LOGIN_ADDRESS_LIMIT)
        return super().form_invalid(form)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        return context | single_sign_on_choices(self.request)

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        # A provider's button posts here and is redirected there: the policy must allow it.
        origins = [provider["origin"] for provider in context.get("sso_providers", [])]
        if origins:
            response.headers["Content-Security-Policy"] = content_security_policy(
                self.request, form_targets=origins
            )
        return response

    def _address_key(self) -> str:
        return f"login-failures:{self.request.META.get('REMOTE_ADDR', '')}"


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in staff who work with appointments only (others, analysts too, get 403); times
    are shown in the agency's time zone."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        staff = getattr(request.user, "staff", None)
        if staff is None or not request.user.is_active or not staff.sees_appointments:
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
        .prefetch_related("members__user")
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
        extras = [m for m in appointment.externals() if m is not citizen]
        rows.append(
            {
                "appointment": appointment,
                "citizen": citizen,
                "extras": extras,
                "status": appointment.status(now),
            }
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
    # Days nobody can have booked (and the edges of the calendar, which overflow) show today.
    if abs((shown - today).days) > 10 * 366:
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
    extras = ExtrasFormSet(request.POST or None, prefix="extra")
    if request.method == "POST" and form.is_valid() and extras.is_valid():
        invitees = [row.invitee() for row in extras if row.has_changed()]
        try:
            booking = services.create_appointment(
                by=request.user,
                citizen=form.citizen(),
                extras=invitees,
                **form.appointment_fields(),
            )
        except services.NotAllowed as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("The appointment with %(name)s was booked and the invitation sent.")
                % {"name": booking.citizen.name},
            )
            return redirect(_day_url(_local_day(booking.appointment.starts_at)))
    context = {"form": form, "extras": extras, "appointment": None}
    return render(request, "staff/appointment_form.html", context)


@staff_required
def edit(request: HttpRequest, public_id) -> HttpResponse:
    appointment = _get_appointment(request, public_id)
    if appointment.is_cancelled or appointment.call_ended_at:
        messages.error(request, _("A cancelled or finished appointment cannot be changed."))
        return redirect(_day_url(_local_day(appointment.starts_at)))
    citizen = appointment.citizen()
    initial = {name: getattr(appointment, name) for name in services.EDITABLE_FIELDS}
    if citizen is not None:
        initial |= {
            "citizen_name": citizen.name,
            "citizen_email": citizen.email,
            "language": citizen.language,
            "customer_number": citizen.customer_number,
        }
    form = AppointmentForm(request.POST or None, agency=appointment.agency, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            # One change for the counselor: time and place, and the citizen's details.
            appointment, _changed = services.change_booking(
                appointment,
                by=request.user,
                appointment_changes=form.appointment_fields(),
                member=citizen,
                member_changes=form.citizen_fields() if citizen is not None else None,
            )
        except services.NotAllowed as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("The appointment with %(name)s was saved.")
                % {"name": form.cleaned_data["citizen_name"]},
            )
            return redirect(_day_url(_local_day(appointment.starts_at)))
    return render(
        request, "staff/appointment_form.html", {"form": form, "appointment": appointment}
    )


@staff_required
def cancel(request: HttpRequest, public_id) -> HttpResponse:
    appointment = _get_appointment(request, public_id)
    back = _day_url(_local_day(appointment.starts_at))
    citizen = appointment.citizen()
    if request.method == "POST":
        try:
            services.cancel_appointment(appointment, by=request.user)
        except services.NotAllowed as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _(
                    "The appointment with %(name)s was cancelled; everyone invited is informed by "
                    "e-mail."
                )
                % {"name": citizen.name if citizen else ""},
            )
        return redirect(back)
    context = {"appointment": appointment, "citizen": citizen, "back": back}
    return render(request, "staff/cancel.html", context)


def _get_member(appointment: Appointment, member_id) -> Member:
    return get_object_or_404(
        appointment.members.filter(removed_at__isnull=True, user__isnull=True),
        public_id=member_id,
    )


@require_POST
@staff_required
def resend(request: HttpRequest, public_id, member_id=None) -> HttpResponse:
    """Send an invitation again: the citizen's from the day view, anyone's from the people page."""
    appointment = _get_appointment(request, public_id)
    member = _get_member(appointment, member_id) if member_id else appointment.citizen()
    try:
        if member is None:
            raise services.NotAllowed(_("This appointment has no citizen to invite."))
        services.resend_invitation(member, by=request.user)
    except services.NotAllowed as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("The invitation was sent again to %(email)s.") % {"email": member.email}
        )
    if member_id:
        return redirect("staff:people", public_id=appointment.public_id)
    return redirect(_day_url(_local_day(appointment.starts_at)))


@staff_required
def people(request: HttpRequest, public_id) -> HttpResponse:
    """Everyone in the consultation, and inviting one more person (S5)."""
    appointment = _get_appointment(request, public_id)
    form = InviteeForm(request.POST or None)
    wants_json = "application/json" in request.headers.get("Accept", "")
    if request.method == "POST":
        if form.is_valid():
            try:
                member, _token = services.add_member(appointment, form.invitee(), by=request.user)
            except services.NotAllowed as error:
                form.add_error(None, str(error))
            else:
                done = _("%(name)s is invited; the invitation went to %(email)s.") % {
                    "name": member.name,
                    "email": member.email,
                }
                if wants_json:
                    return JsonResponse({"member": str(member.public_id), "message": done})
                messages.success(request, done)
                return redirect("staff:people", public_id=appointment.public_id)
        if wants_json:
            return JsonResponse({"errors": _form_errors(form)}, status=400)
    context = {
        "appointment": appointment,
        "members": appointment.present_members(),
        "form": form,
        "full": len(appointment.present_members()) >= MAX_MEMBERS,
        "max_members": MAX_MEMBERS,
        "back": _day_url(_local_day(appointment.starts_at)),
    }
    return render(request, "staff/people.html", context)


def _form_errors(form) -> list[str]:
    """The form's errors as sentences for a page that shows them without reloading."""
    errors = [str(error) for error in form.non_field_errors()]
    for name, field_errors in form.errors.items():
        if name != "__all__":
            label = form.fields[name].label
            errors += [f"{label}: {error}" for error in field_errors]
    return errors


@staff_required
def edit_member(request: HttpRequest, public_id, member_id) -> HttpResponse:
    appointment = _get_appointment(request, public_id)
    member = _get_member(appointment, member_id)
    initial = {"name": member.name, "email": member.email, "language": member.language}
    form = MemberForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_member(member, by=request.user, **form.cleaned_data)
        except services.NotAllowed as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("The details of %(name)s were saved.") % {"name": form.cleaned_data["name"]},
            )
            return redirect("staff:people", public_id=appointment.public_id)
    context = {"appointment": appointment, "member": member, "form": form}
    return render(request, "staff/member_form.html", context)


@staff_required
def remove_member(request: HttpRequest, public_id, member_id) -> HttpResponse:
    appointment = _get_appointment(request, public_id)
    member = _get_member(appointment, member_id)
    back = reverse("staff:people", args=[appointment.public_id])
    if request.method == "POST":
        try:
            services.remove_member(member, by=request.user)
        except services.NotAllowed as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("%(name)s is no longer invited; their link has stopped working.")
                % {"name": member.name},
            )
        return redirect(back)
    context = {"appointment": appointment, "member": member, "back": back}
    return render(request, "staff/remove_member.html", context)


@staff_required
def room(request: HttpRequest, public_id) -> HttpResponse:
    """The staff's side of the consultation room: the host's, or a colleague's who joins."""
    appointment = _get_appointment(request, public_id)
    citizen = appointment.citizen()
    return render(
        request,
        "calls/room.html",
        {
            "appointment": appointment,
            "title_name": citizen.name if citizen else "",
            "staff_room": True,
            "invite_url": reverse("staff:people", args=[appointment.public_id]),
            "day_url": reverse("staff:day"),
            "invite_form": InviteeForm(auto_id="invite-%s"),
            "ws_path": f"/ws/room/{appointment.public_id}/",
            **ice.page_context(appointment.agency, ice.staff_member_id(request.user)),
        },
    )


@staff_required
def own_check(request: HttpRequest) -> HttpResponse:
    """The staff member's own device check and test call (S4); nothing of it is stored."""
    return render(request, "staff/check.html")
