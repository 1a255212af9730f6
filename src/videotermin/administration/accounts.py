"""Staff accounts of an agency, managed by its administrators: invitations, roles, deactivation.

Every change is atomic and audited; the audit names people as `staff:<user id>` only. An agency
always keeps an active administrator: nobody deactivates or demotes the last one, and nobody
deactivates or demotes themselves.
"""

from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model, password_validation
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int
from django.utils.translation import gettext as _

from videotermin.administration import emails
from videotermin.administration.rules import NotAllowed, require_admin
from videotermin.agencies.models import Agency, Location, StaffMember
from videotermin.appointments.models import Appointment
from videotermin.audit import services as audit
from videotermin.resources import licences

INVITATION_VALIDITY = timedelta(hours=72)


class InvitationTokens(PasswordResetTokenGenerator):
    """Tokens for the invitation's set-password link, valid for INVITATION_VALIDITY.

    Nothing is stored: the token is a keyed hash over the account's password hash, last sign-in
    and e-mail address, so setting the password (or sending the invitation again, which draws a
    new unusable password) makes every earlier link useless.
    """

    key_salt = "videotermin.administration.accounts.InvitationTokens"

    def check_token(self, user, token) -> bool:
        if not (user and token):
            return False
        try:
            stamp, _hash = token.split("-")
            issued = base36_to_int(stamp)
        except ValueError:
            return False
        if self._num_seconds(self._now()) - issued > INVITATION_VALIDITY.total_seconds():
            return False
        return any(
            constant_time_compare(self._make_token_with_timestamp(user, issued, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        )


invitation_tokens = InvitationTokens()


def invitation_link(staff: StaffMember) -> str:
    token = invitation_tokens.make_token(staff.user)
    return settings.SITE_URL + reverse("administration:invitation", args=[staff.public_id, token])


def invitation_pending(user) -> bool:
    """Invited and not yet there: no password set, never signed in."""
    return user.is_active and not user.has_usable_password() and user.last_login is None


def _send_invitation(staff: StaffMember) -> None:
    staff_id = staff.pk

    def send() -> None:
        fresh = StaffMember.objects.select_related("user", "agency").get(pk=staff_id)
        emails.send_invitation(fresh, invitation_link(fresh), timezone.now() + INVITATION_VALIDITY)

    # The link must fit the password hash that was committed; a rolled-back invitation sends none.
    transaction.on_commit(send)


def _lock(agency: Agency) -> None:
    # The agency's row serialises changes to its staff (the last administrator stays one).
    Agency.objects.select_for_update().get(pk=agency.pk)


def _check_choices(agency: Agency, role: str, location: Location | None, current=None) -> None:
    if role not in StaffMember.Role.values:
        raise ValueError(f"not a role: {role}")
    if location is not None and location.agency_id != agency.pk:
        raise NotAllowed(_("This location belongs to another agency."))
    if location is not None and not location.active and location != current:
        raise NotAllowed(_("This location is closed for booking."))


@transaction.atomic
def invite(
    agency: Agency,
    *,
    by,
    first_name: str,
    last_name: str,
    email: str,
    role: str,
    location: Location | None,
    language: str = "de",
) -> StaffMember:
    """Create an account without a usable password and send its holder a set-password link."""
    require_admin(agency, by)
    _lock(agency)
    _check_choices(agency, role, location)
    if role != StaffMember.Role.ANALYST and (refusal := licences.seat_refusal(agency.pk)):
        raise NotAllowed(refusal)
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"not a language: {language}")
    email = get_user_model().objects.normalize_email(email.strip())
    users = get_user_model().objects
    if users.filter(username__iexact=email).exists() or users.filter(email__iexact=email).exists():
        raise NotAllowed(_("There is an account with this e-mail address already."))
    user = users.model(
        username=email.lower(),
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
    )
    user.set_unusable_password()
    user.full_clean()
    user.save()
    staff = StaffMember.objects.create(
        user=user, agency=agency, location=location, role=role, language=language
    )
    audit.record(
        "staff.invited",
        agency=agency,
        by=by,
        staff=audit.actor_ref(user),
        role=role,
        location=str(location.public_id) if location else "",
    )
    _send_invitation(staff)
    return staff


@transaction.atomic
def resend_invitation(staff: StaffMember, *, by) -> None:
    """Send the invitation again with a fresh link; earlier links stop working."""
    require_admin(staff.agency, by)
    _lock(staff.agency)
    user = get_user_model().objects.get(pk=staff.user_id)
    if not invitation_pending(user):
        raise NotAllowed(
            _("This account is in use or deactivated; there is no invitation to send.")
        )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    audit.record("staff.invitation_resent", agency=staff.agency, by=by, staff=audit.actor_ref(user))
    _send_invitation(staff)


@transaction.atomic
def accept_invitation(staff: StaffMember, token: str, password: str):
    """Set the invited person's password with the invitation's token, which then expires."""
    user = get_user_model().objects.select_for_update().get(pk=staff.user_id)
    if not user.is_active or not invitation_tokens.check_token(user, token):
        raise NotAllowed(_("This invitation link is no longer valid."))
    password_validation.validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record("staff.invitation_accepted", agency=staff.agency, by=user)
    return user


def _is_last_admin(staff: StaffMember) -> bool:
    others = StaffMember.objects.filter(
        agency_id=staff.agency_id, role=StaffMember.Role.ADMIN, user__is_active=True
    ).exclude(pk=staff.pk)
    return staff.is_admin and staff.user.is_active and not others.exists()


@transaction.atomic
def change(staff: StaffMember, *, by, role: str, location: Location | None) -> StaffMember:
    """Change a staff member's role or usual location."""
    require_admin(staff.agency, by)
    _lock(staff.agency)
    staff = StaffMember.objects.select_related("user", "agency", "location").get(pk=staff.pk)
    _check_choices(staff.agency, role, location, current=staff.location)
    changed = []
    if role != staff.role:
        if staff.is_admin and by is not None and by.pk == staff.user_id:
            raise NotAllowed(_("You cannot take away your own administrator role."))
        if _is_last_admin(staff):
            raise NotAllowed(_("The agency's last active administrator stays an administrator."))
        if role == StaffMember.Role.ANALYST and future_appointments(staff.user):
            raise NotAllowed(
                _(
                    "An analyst hosts no consultations: hand this person's appointments still "
                    "to come over to a colleague first."
                )
            )
        # An analyst who becomes a counselor or an administrator takes a seat.
        if (
            staff.is_analyst
            and staff.user.is_active
            and (refusal := licences.seat_refusal(staff.agency_id))
        ):
            raise NotAllowed(refusal)
        staff.role = role
        changed.append("role")
    if location != staff.location:
        staff.location = location
        changed.append("location")
    if not changed:
        return staff
    staff.save(update_fields=changed)
    data = {"staff": audit.actor_ref(staff.user), "fields": sorted(changed)}
    if "role" in changed:
        data["role"] = role
    audit.record("staff.changed", agency=staff.agency, by=by, **data)
    return staff


def future_appointments(user) -> list[Appointment]:
    """The user's appointments still to come, which a colleague should take over."""
    return list(
        Appointment.objects.filter(
            counselor=user,
            cancelled_at__isnull=True,
            call_ended_at__isnull=True,
            starts_at__gte=timezone.now(),
        ).order_by("starts_at")
    )


def end_sessions(user) -> int:
    """Sign the user out everywhere: delete their stored sessions; return how many.

    Sessions in the database (Django's default, also cached_db) are looked through; any other
    engine's are refused anyway on the next request, as authentication checks is_active.
    """
    engine = import_module(settings.SESSION_ENGINE)
    store = engine.SessionStore
    if not hasattr(store, "get_model_class"):
        return 0
    ended = 0
    sessions = store.get_model_class().objects.filter(expire_date__gt=timezone.now())
    for session in sessions.iterator():
        if session.get_decoded().get(SESSION_KEY) == str(user.pk):
            store(session.session_key).delete()
            ended += 1
    return ended


@transaction.atomic
def deactivate(staff: StaffMember, *, by) -> list[Appointment]:
    """Close the account: no sign-in, open sessions end. Returns the appointments still to come,
    which stay booked until somebody takes them over."""
    require_admin(staff.agency, by)
    _lock(staff.agency)
    staff = StaffMember.objects.select_related("user", "agency").get(pk=staff.pk)
    user = staff.user
    if by is not None and by.pk == user.pk:
        raise NotAllowed(_("You cannot deactivate your own account."))
    if not user.is_active:
        return future_appointments(user)
    if _is_last_admin(staff):
        raise NotAllowed(_("The agency's last active administrator cannot be deactivated."))
    user.is_active = False
    user.save(update_fields=["is_active"])
    ended = end_sessions(user)
    waiting = future_appointments(user)
    audit.record(
        "staff.deactivated",
        agency=staff.agency,
        by=by,
        staff=audit.actor_ref(user),
        sessions_ended=ended,
        future_appointments=len(waiting),
    )
    return waiting


@transaction.atomic
def reactivate(staff: StaffMember, *, by) -> None:
    require_admin(staff.agency, by)
    _lock(staff.agency)
    user = get_user_model().objects.get(pk=staff.user_id)
    if user.is_active:
        return
    if not staff.is_analyst and (refusal := licences.seat_refusal(staff.agency_id)):
        raise NotAllowed(refusal)
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit.record("staff.reactivated", agency=staff.agency, by=by, staff=audit.actor_ref(user))
