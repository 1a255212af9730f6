"""The agency's staff accounts: list, invite, change role and location, deactivate, reactivate."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from videotermin.administration import accounts
from videotermin.administration.access import admin_required, agency_of
from videotermin.administration.rules import NotAllowed
from videotermin.administration.staff_forms import InviteForm, StaffForm
from videotermin.agencies.models import StaffMember
from videotermin.signin import services as signin


def _get_staff(request: HttpRequest, staff_id) -> StaffMember:
    """Only the administrator's own agency's staff exist for them; anyone else is a 404."""
    members = StaffMember.objects.filter(agency=agency_of(request)).select_related(
        "user", "agency", "location"
    )
    return get_object_or_404(members, public_id=staff_id)


def _render(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    return render(request, f"administration/{template}", {"section": "staff", **context})


def _status(user) -> str:
    if not user.is_active:
        return _("deactivated")
    if accounts.invitation_pending(user):
        return _("invited")
    return _("active")


@admin_required
def index(request: HttpRequest) -> HttpResponse:
    members = list(
        StaffMember.objects.filter(agency=agency_of(request))
        .select_related("user", "location")
        .order_by("-user__is_active", "user__last_name", "user__first_name", "user__username")
    )
    with_second_factor = signin.users_with_second_factor(m.user_id for m in members)
    rows = [
        {
            "staff": member,
            "status": _status(member.user),
            "second_factor": member.user_id in with_second_factor,
        }
        for member in members
    ]
    return _render(request, "staff.html", {"rows": rows})


@admin_required
def invite(request: HttpRequest) -> HttpResponse:
    agency = agency_of(request)
    form = InviteForm(request.POST or None, agency=agency)
    if request.method == "POST" and form.is_valid():
        try:
            staff = accounts.invite(agency, by=request.user, **form.cleaned_data)
        except NotAllowed as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("%(name)s is invited; the invitation went to %(email)s.")
                % {"name": staff.user.get_full_name(), "email": staff.user.email},
            )
            return redirect("administration:staff")
    return _render(request, "staff_invite.html", {"form": form})


@admin_required
def member(request: HttpRequest, staff_id) -> HttpResponse:
    staff = _get_staff(request, staff_id)
    form = StaffForm(request.POST or None, staff=staff)
    if request.method == "POST" and form.is_valid():
        try:
            accounts.change(staff, by=request.user, **form.cleaned_data)
        except NotAllowed as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("The account of %(name)s is saved.") % {"name": _name(staff)}
            )
            return redirect("administration:staff")
    context = {
        "form": form,
        "staff": staff,
        "status": _status(staff.user),
        "pending": accounts.invitation_pending(staff.user),
        "second_factor": signin.has_second_factor(staff.user),
        "own": staff.user_id == request.user.pk,
        "future": accounts.future_appointments(staff.user),
    }
    return _render(request, "staff_member.html", context)


def _name(staff: StaffMember) -> str:
    return staff.user.get_full_name() or staff.user.get_username()


@require_POST
@admin_required
def resend(request: HttpRequest, staff_id) -> HttpResponse:
    staff = _get_staff(request, staff_id)
    try:
        accounts.resend_invitation(staff, by=request.user)
    except NotAllowed as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("The invitation was sent again to %(email)s; earlier links no longer work.")
            % {"email": staff.user.email},
        )
    return redirect("administration:staff_member", staff_id=staff.public_id)


def _when(appointment) -> str:
    start = timezone.localtime(appointment.starts_at)
    return formats.date_format(start, "SHORT_DATETIME_FORMAT")


@admin_required
def deactivate(request: HttpRequest, staff_id) -> HttpResponse:
    staff = _get_staff(request, staff_id)
    back = redirect("administration:staff_member", staff_id=staff.public_id)
    if request.method != "POST":
        context = {"staff": staff, "future": accounts.future_appointments(staff.user)}
        return _render(request, "staff_deactivate.html", context)
    try:
        waiting = accounts.deactivate(staff, by=request.user)
    except NotAllowed as error:
        messages.error(request, str(error))
        return back
    messages.success(
        request,
        _("The account of %(name)s is deactivated and signed out everywhere.")
        % {"name": _name(staff)},
    )
    if waiting:
        messages.warning(
            request,
            ngettext(
                "This appointment of theirs is still booked and needs a colleague: %(list)s.",
                "These %(count)d appointments of theirs are still booked and need a colleague: "
                "%(list)s.",
                len(waiting),
            )
            % {"count": len(waiting), "list": ", ".join(_when(a) for a in waiting)},
        )
    return back


@require_POST
@admin_required
def reactivate(request: HttpRequest, staff_id) -> HttpResponse:
    staff = _get_staff(request, staff_id)
    accounts.reactivate(staff, by=request.user)
    messages.success(
        request, _("The account of %(name)s is active again.") % {"name": _name(staff)}
    )
    return redirect("administration:staff_member", staff_id=staff.public_id)
