"""API keys (created, rotated, revoked by an agency's administrators or an operator) and the
personal links the API hands out: atomic and audited."""

import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from videotermin.administration.rules import NotAllowed, require_admin
from videotermin.agencies.models import Agency
from videotermin.api.models import KEY_PREFIX, ApiKey
from videotermin.appointments import services as appointments
from videotermin.appointments.models import Member
from videotermin.audit.services import record
from videotermin.lib.tokens import new_token

# How long the previous secret of a rotated key may keep working, at most: a week.
MAX_OVERLAP_HOURS = 7 * 24


@dataclass(frozen=True)
class IssuedKey:
    """A key and its whole value, which is shown once and never again."""

    key: ApiKey
    value: str = field(repr=False)


def _new_secret(public_id: str) -> tuple[str, str]:
    secret, secret_hash = new_token()
    return f"{KEY_PREFIX}{public_id}_{secret}", secret_hash


def split_key(value: str) -> tuple[str, str] | None:
    """The public id and the secret of a presented key, or None for anything else."""
    if not value.startswith(KEY_PREFIX):
        return None
    public_id, underscore, secret = value[len(KEY_PREFIX) :].partition("_")
    if len(public_id) != 16 or not underscore or not 20 <= len(secret) <= 100:
        return None
    return public_id, secret


def create_key(agency: Agency, *, by, name: str, scope: str) -> IssuedKey:
    """A new key for the agency's system; `by` is one of its administrators (None: operator)."""
    require_admin(agency, by)
    name = name.strip()
    if not name:
        raise NotAllowed(_("Give the key a name."))
    if scope not in ApiKey.Scope.values:
        raise ValueError(f"unknown scope {scope!r}")
    public_id = secrets.token_hex(8)
    value, secret_hash = _new_secret(public_id)
    try:
        with transaction.atomic():
            key = ApiKey.objects.create(
                agency=agency, public_id=public_id, name=name, scope=scope, secret_hash=secret_hash
            )
            record("api.key_created", agency=agency, by=by, key=key.audit_ref, scope=scope)
    except IntegrityError:
        raise NotAllowed(_("A working key with this name exists already.")) from None
    return IssuedKey(key, value)


def rotate_key(key: ApiKey, *, by, overlap_hours: int | None = None) -> IssuedKey:
    """Give the key a new secret; the previous one keeps working for `overlap_hours` (0: it
    stops at once, as after a leak). Name, scope and audit pseudonym stay."""
    hours = settings.API_KEY_OVERLAP_HOURS if overlap_hours is None else overlap_hours
    if not 0 <= hours <= MAX_OVERLAP_HOURS:
        raise NotAllowed(_("The previous secret can keep working for at most a week."))
    require_admin(key.agency, by)
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().select_related("agency").get(pk=key.pk)
        if key.is_revoked:
            raise NotAllowed(_("A revoked key cannot be rotated."))
        value, secret_hash = _new_secret(key.public_id)
        now = timezone.now()
        key.previous_secret_hash = key.secret_hash if hours else ""
        key.previous_valid_until = now + timedelta(hours=hours) if hours else None
        key.secret_hash = secret_hash
        key.rotated_at = now
        key.save(
            update_fields=[
                "previous_secret_hash",
                "previous_valid_until",
                "secret_hash",
                "rotated_at",
            ]
        )
        record("api.key_rotated", agency=key.agency, by=by, key=key.audit_ref, overlap_hours=hours)
    return IssuedKey(key, value)


def revoke_key(key: ApiKey, *, by) -> ApiKey:
    """The key works no more, with every secret it had; it stays listed for the audit log."""
    require_admin(key.agency, by)
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().select_related("agency").get(pk=key.pk)
        if key.is_revoked:
            return key
        key.revoked_at = timezone.now()
        key.previous_secret_hash = ""
        key.previous_valid_until = None
        key.save(update_fields=["revoked_at", "previous_secret_hash", "previous_valid_until"])
        record("api.key_revoked", agency=key.agency, by=by, key=key.audit_ref)
    return key


@transaction.atomic
def issue_link(member: Member, *, by) -> str:
    """A new personal link for an invited member, handed to the agency's system rather than
    e-mailed; earlier links keep working, as with a resent invitation."""
    member = appointments.locked_member(member)
    appointment = member.appointment
    if getattr(by, "agency_id", None) != appointment.agency_id:
        raise appointments.NotAllowed(_("Only staff of this agency may do this."))
    if not appointment.links_valid():
        raise appointments.NotAllowed(
            _("The appointment is over or cancelled; its links work no more.")
        )
    if member.is_staff or member.removed_at:
        raise appointments.NotAllowed(_("This person is not invited by link."))
    if member.withdrawn_at:
        raise appointments.NotAllowed(
            _("This person has withdrawn their consent; they get no new link.")
        )
    token = appointments.issue_link(member)
    record(
        "member.link_issued",
        agency=appointment.agency,
        by=by,
        appointment=appointment,
        member=member.audit_ref,
    )
    return token
