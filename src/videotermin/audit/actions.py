"""What each audited action means to a person reading the log: a label and a group per name.

Every `record()` call names its action here, so the log reads as sentences in the reader's
language; an action nobody labelled yet still shows, by its dotted name.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

PREFIX = "videotermin."


@dataclass(frozen=True)
class Action:
    name: str  # as passed to record(), without PREFIX
    label: Promise | str
    group: Promise | str
    # Nobody known acted: a failed sign-in names the account tried, not who tried it.
    anonymous: bool = False


APPOINTMENTS = _("Appointments")
PEOPLE = _("People in consultations")
CONSENT = _("Consent")
SIGN_IN = _("Sign-in and security")
STAFF = _("Staff accounts")
ADMINISTRATION = _("Administration")
BOOKING = _("Self-service booking")
DATA_PROTECTION = _("Data protection")
INTEGRATION = _("Integration API")
OTHER = _("Other")

ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("appointment.created", _("Appointment booked"), APPOINTMENTS),
        Action("appointment.changed", _("Appointment changed"), APPOINTMENTS),
        Action("appointment.cancelled", _("Appointment cancelled"), APPOINTMENTS),
        Action("appointment.reminder_sent", _("Reminder sent"), APPOINTMENTS),
        Action("appointment.host_handed_over", _("Consultation handed over"), APPOINTMENTS),
        Action("appointment.call_ended", _("Consultation ended"), APPOINTMENTS),
        Action("member.invited", _("Person invited"), PEOPLE),
        Action("member.changed", _("Person's details changed"), PEOPLE),
        Action("member.invitation_resent", _("Invitation sent again"), PEOPLE),
        Action("member.link_issued", _("Personal link issued to the agency's system"), PEOPLE),
        Action("member.removed", _("Person removed"), PEOPLE),
        Action("member.colleague_joined", _("Colleague joined"), PEOPLE),
        Action("member.admitted", _("Person admitted"), PEOPLE),
        Action("member.identity_checked", _("Identity confirmed"), PEOPLE),
        Action("member.permissions_changed", _("Permissions changed"), PEOPLE),
        Action("member.left", _("Person left the consultation"), PEOPLE),
        Action("consent.accepted", _("Consent given"), CONSENT),
        Action("consent.declined", _("Consent declined"), CONSENT),
        Action("consent.withdrawn", _("Consent withdrawn"), CONSENT),
        Action("consent.text_published", _("Consent or privacy text published"), CONSENT),
        Action("consent.draft_saved", _("Draft of a text saved"), CONSENT),
        Action("consent.draft_discarded", _("Draft of a text discarded"), CONSENT),
        Action("auth.signed_in", _("Signed in"), SIGN_IN),
        Action("auth.signed_out", _("Signed out"), SIGN_IN),
        Action("auth.sign_in_failed", _("Sign-in failed"), SIGN_IN, anonymous=True),
        Action("signin.second_factor_added", _("Second factor added"), SIGN_IN),
        Action("signin.second_factor_removed", _("Second factor removed"), SIGN_IN),
        Action("signin.second_factor_reset", _("Second factor renewed"), SIGN_IN),
        Action("signin.provider_added", _("Identity provider added"), SIGN_IN),
        Action("signin.provider_changed", _("Identity provider changed"), SIGN_IN),
        Action("signin.provider_removed", _("Identity provider removed"), SIGN_IN),
        Action("signin.provider_refused", _("Single sign-on refused"), SIGN_IN, anonymous=True),
        Action("signin.account_linked", _("Account linked to the identity provider"), SIGN_IN),
        Action("signin.account_created", _("Account created by single sign-on"), SIGN_IN),
        Action("staff.invited", _("Staff member invited"), STAFF),
        Action("staff.invitation_resent", _("Staff invitation sent again"), STAFF),
        Action("staff.invitation_accepted", _("Staff invitation accepted"), STAFF),
        Action("staff.changed", _("Staff member changed"), STAFF),
        Action("staff.deactivated", _("Staff account deactivated"), STAFF),
        Action("staff.reactivated", _("Staff account reactivated"), STAFF),
        Action("agency.created", _("Agency created"), ADMINISTRATION),
        Action("agency.settings_changed", _("Agency settings changed"), ADMINISTRATION),
        Action("agency.look_changed", _("Look changed (name, logo, colours)"), ADMINISTRATION),
        Action("agency.location_added", _("Location added"), ADMINISTRATION),
        Action("agency.location_changed", _("Location changed"), ADMINISTRATION),
        Action("agency.location_closed", _("Location closed"), ADMINISTRATION),
        Action("agency.location_reopened", _("Location reopened"), ADMINISTRATION),
        Action("agency.location_removed", _("Location removed"), ADMINISTRATION),
        Action("audit.exported", _("Audit log exported"), ADMINISTRATION),
        Action("licence.changed", _("Licence changed"), ADMINISTRATION),
        Action("stats.viewed", _("Statistics viewed"), ADMINISTRATION),
        Action("stats.exported", _("Statistics exported"), ADMINISTRATION),
        Action("booking.schedule_created", _("Booking hours published"), BOOKING),
        Action("booking.schedule_changed", _("Booking hours changed"), BOOKING),
        Action("booking.schedule_removed", _("Booking hours removed"), BOOKING),
        Action("booking.page_switched", _("Public booking page switched on or off"), BOOKING),
        Action("booking.invitation_issued", _("Booking link issued"), BOOKING),
        Action("webhook.endpoint_added", _("Webhook endpoint added"), ADMINISTRATION),
        Action("webhook.endpoint_changed", _("Webhook endpoint changed"), ADMINISTRATION),
        Action("webhook.endpoint_removed", _("Webhook endpoint removed"), ADMINISTRATION),
        Action("webhook.secret_rotated", _("Webhook signing secret renewed"), ADMINISTRATION),
        Action("webhook.test_sent", _("Webhook test event sent"), ADMINISTRATION),
        Action("webhook.delivery_replayed", _("Webhook delivery sent again"), ADMINISTRATION),
        Action("api.key_created", _("API key created"), INTEGRATION),
        Action("api.key_rotated", _("API key rotated"), INTEGRATION),
        Action("api.key_revoked", _("API key revoked"), INTEGRATION),
        Action("api.appointments_listed", _("Appointments listed through the API"), INTEGRATION),
        Action("api.appointment_read", _("Appointment read through the API"), INTEGRATION),
        Action(
            "api.members_listed", _("People of an appointment read through the API"), INTEGRATION
        ),
        Action("api.member_read", _("Person read through the API"), INTEGRATION),
        Action("api.locations_listed", _("Locations read through the API"), INTEGRATION),
        Action("api.counselors_listed", _("Staff read through the API"), INTEGRATION),
        Action("api.refused", _("API call refused"), INTEGRATION),
        Action(
            "privacy.appointment_deleted",
            _("Personal data of an appointment deleted"),
            DATA_PROTECTION,
        ),
        Action("privacy.purged", _("Deletion run finished"), DATA_PROTECTION),
    )
}


def action_of(stored: str) -> Action:
    """The action of a stored entry; one nobody labelled yet is shown by its name."""
    name = stored.removeprefix(PREFIX)
    known = ACTIONS.get(name)
    if known is not None:
        return known
    return Action(name, gettext("Other action (%(name)s)") % {"name": name}, OTHER)


def grouped_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The actions by group, for a select with one optgroup per group, in the listed order."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for action in ACTIONS.values():
        groups.setdefault(str(action.group), []).append((action.name, str(action.label)))
    return list(groups.items())


# The keys of an entry's data, as the details column names them.
DETAILS = {
    "member": _("Person"),
    "role": _("Role"),
    "members": _("People"),
    "fields": _("Changed"),
    "version": _("Text version"),
    "language": _("Language"),
    "reason": _("Reason"),
    "previous": _("Previous host"),
    "host": _("New host"),
    "hours": _("Hours before the start"),
    "appointments": _("Appointments"),
    "retention_days": _("Retention in days"),
    "account": _("Account"),
    "share_screen": _("May share the screen"),
    "send_documents": _("May send documents"),
    "chat": _("May chat"),
    "staff": _("Staff member"),
    "location": _("Location"),
    "kind": _("Kind of text"),
    "type": _("Kind of second factor"),
    "provider": _("Identity provider"),
    "issuer": _("Issuer"),
    "sessions_ended": _("Sessions ended"),
    "future_appointments": _("Appointments still to come"),
    "filters": _("Filters"),
    "entries": _("Entries"),
    # The filters of an export.
    "start": _("First day"),
    "end": _("Last day"),
    "action": _("Action"),
    "actor": _("Staff member"),
    "appointment": _("Appointment reference"),
    "schedule": _("Booking hours"),
    "page": _("Booking page"),
    "enabled": _("Switched on"),
    "invitation": _("Booking link"),
    "key": _("API key"),
    "scope": _("Scope"),
    "overlap_hours": _("Previous secret valid for (hours)"),
    "count": _("Number"),
    "method": _("Method"),
    "path": _("Address"),
    "status": _("Status"),
    "problem": _("Problem"),
    "day": _("Day"),
    "state": _("State"),
    "counselor": _("Counselor"),
    "endpoint": _("Webhook endpoint"),
    "events": _("Webhook events"),
    "delivery": _("Webhook delivery"),
    "format": _("Format"),
    "seats": _("Counselor seats"),
    "concurrent": _("Consultations at the same time"),
    "group": _("People in one consultation"),
}

REASONS = {
    "ended_by_host": _("ended by the host"),
    "everyone_left": _("everyone had left after the planned end"),
}

SECOND_FACTORS = {
    "totp": _("authenticator app"),
    "webauthn": _("security key"),
    "recovery_codes": _("recovery codes"),
}
