"""What the room's pages are told about its members and the appointment (docs/protocol.md).

The services publish a member's whole public entry with every change, so that the consumers
pass it on without reading the database: a change costs one event, not a query per connection.
"""

import functools
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q

from videotermin.agencies.models import Agency
from videotermin.appointments.models import Appointment, Link, Member
from videotermin.lib.events import publish, room_group, send_to
from videotermin.lib.rows import Statement, Table, db_value

# Which members a browser session may act for: member public id -> the link it opened them with.
SESSION_KEY = "videotermin.participants"
Presence = Member.Presence


def opened_links(session) -> dict[str, int]:
    """The members this browser session opened a link of, and the link's id."""
    opened = session.get(SESSION_KEY) if session is not None else None
    # Sessions from before links were remembered name no link: they open the link again.
    return dict(opened) if isinstance(opened, dict) else {}


def opened_members(queryset, session, *, working: bool = False):
    """The members of the queryset whose link this session opened; with `working`, only while
    that link still works (not replaced by a corrected address, not ended by a removal)."""
    condition = Q(pk__in=[])
    for public_id, link_id in opened_links(session).items():
        link = (
            Q(links__pk=link_id, links__revoked_at__isnull=True)
            if working
            else Q(links__pk=link_id)
        )
        condition |= Q(public_id=public_id) & link
    # Each condition names one link, so a member is found at most once: no DISTINCT needed.
    return queryset.filter(condition, user__isnull=True)


def opened_member(appointment_public_id, session) -> Member | None:
    """The member of the appointment whose link this session opened, while that link works,
    with appointment and agency (one statement, as `opened_members(..., working=True)`)."""
    opened = list(opened_links(session).items())
    if not opened:
        return None
    params: list[Any] = [db_value(Appointment, "public_id", appointment_public_id)]
    for public_id, link_id in opened:
        params += [db_value(Member, "public_id", public_id), int(link_id)]
    return _first_member(_opened_member(len(opened)), params)


def staff_member(appointment_public_id, user) -> Member | None:
    """The staff user's member of the appointment, removed or not, with appointment and
    agency (one statement)."""
    params = [db_value(Appointment, "public_id", appointment_public_id), user.pk]
    member = _first_member(_staff_member(), params)
    if member is not None:
        member.user = user
    return member


def _first_member(statement: Statement, params: list[Any]) -> Member | None:
    """The first member a `_member_in_room` statement finds, its relations filled in."""
    found = statement.rows(params)
    if not found:
        return None
    member, appointment, agency, *user = found[0]
    appointment.agency = agency
    member.appointment = appointment
    if user:
        member.user = user[0]
    return member


def member_with_room(pk: int, *, locked: bool = False) -> Member:
    """The member with appointment, agency and user account (one statement); with `locked`,
    its row locked until the transaction ends. Member.DoesNotExist when it is gone."""
    member = _first_member(_member_with_room(locked), [pk])
    if member is None:
        raise Member.DoesNotExist(f"member {pk}")
    return member


def _member_in_room(
    where: Callable[[Any], str], joined: Sequence[Table] = (), *, user: bool = False
) -> Statement:
    """A member with appointment and agency (and, with `user`, its user account), found by
    `where`: the joins and conditions after the appointment's and agency's."""

    def write(q) -> str:
        columns = [q.m.all, q.a.all, q.g.all] + ([q.u.all] if user else [])
        joins = [
            f"JOIN {q.a.table} ON {q.a.c('id')} = {q.m.c('appointment')}",
            f"JOIN {q.g.table} ON {q.g.c('id')} = {q.a.c('agency')}",
        ]
        if user:
            joins.append(f"LEFT JOIN {q.u.table} ON {q.u.c('id')} = {q.m.c('user')}")
        select = f"SELECT {', '.join(columns)} FROM {q.m.table}"  # noqa: S608 (the models' names)
        return f"{select} {' '.join(joins)} {where(q)}"

    tables = [Table(Member, "m"), Table(Appointment, "a"), Table(Agency, "g")]
    if user:
        tables.append(Table(get_user_model(), "u"))
    return Statement(tables, write, joined=joined)


@functools.cache
def _member_with_room(locked: bool) -> Statement:
    return _member_in_room(
        lambda q: f"WHERE {q.m.c('id')} = %s{q.for_update('m') if locked else ''}", user=True
    )


@functools.cache
def _staff_member() -> Statement:
    return _member_in_room(
        lambda q: f"WHERE {q.a.c('public_id')} = %s AND {q.m.c('user')} = %s",
    )


@functools.lru_cache(maxsize=8)
def _opened_member(links: int) -> Statement:
    def where(q) -> str:
        pair = f"({q.m.c('public_id')} = %s AND {q.l.c('id')} = %s)"
        return (
            f"JOIN {q.l.table} ON {q.l.c('member')} = {q.m.c('id')}"
            f" WHERE {q.a.c('public_id')} = %s AND {q.m.c('user')} IS NULL"
            f" AND {q.l.c('revoked_at')} IS NULL AND ({' OR '.join([pair] * links)})"
            f" ORDER BY {q.m.c('id')} LIMIT 1"
        )

    return _member_in_room(where, joined=[Table(Link, "l")])


def link_works(session, member: Member) -> bool:
    """Whether the link this session opened the member with still works."""
    link_id = opened_links(session).get(str(member.public_id))
    return link_id is not None and member.links.filter(pk=link_id, revoked_at=None).exists()


def member_entry(member: Member) -> dict[str, Any]:
    """What every page in the room may know of a member."""
    connected = member.presence == Presence.IN_CALL and bool(member.session)
    return {
        "id": str(member.public_id),
        "role": member.role,
        "name": member.display_name,
        "presence": member.presence,
        "admitted": member.is_staff or member.admitted_at is not None,
        "session": member.session if connected else None,
        "camera": member.camera_on,
        "microphone": member.microphone_on,
        "screen": member.screen_on and member.may("share_screen"),
        "may": {
            "screen": member.may("share_screen"),
            "documents": member.may("send_documents"),
            "chat": member.may("chat"),
        },
        "identityChecked": member.identity_checked_at is not None,
    }


def member_details(member: Member) -> dict[str, Any]:
    """What only the staff's pages see: the device check and the waiting time (J9)."""
    return {
        "check": member.check_result or None,
        "checkDetails": member.check_details,
        "browser": member.browser,
        "os": member.operating_system,
        "waitingSince": member.waiting_since.isoformat() if member.waiting_since else None,
        "language": member.language,
        "consented": member.consented_at is not None,
        "withdrawn": member.withdrawn_at is not None,
    }


def appointment_entry(appointment: Appointment) -> dict[str, Any]:
    return {
        "id": str(appointment.public_id),
        "startsAt": appointment.starts_at.isoformat(),
        "endsAt": appointment.ends_at.isoformat(),
        "callStarted": appointment.call_started_at is not None,
        "callEnded": appointment.call_ended_at is not None,
        "cancelled": appointment.cancelled_at is not None,
    }


def room_event(member: Member, op: str = "changed") -> dict[str, Any]:
    """The server-side form of a member delta: the entry, the staff's details and the route."""
    return {
        "op": op,
        "version": member.version,
        # Where signals for this member's current connection go; never sent to a browser.
        "channel": member.channel if member.session else "",
        "member": member_entry(member),
        "details": member_details(member),
    }


def snapshot(appointment: Appointment) -> list[dict[str, Any]]:
    """Every member still in the consultation, in the form of a delta (one statement)."""
    events = []
    for member, user in _members().rows([appointment.pk]):
        member.appointment = appointment
        member.user = user
        events.append(room_event(member, "added"))
    return events


@functools.cache
def _members() -> Statement:
    """The appointment's members not removed, with their user accounts, in order."""

    def write(q) -> str:
        return (
            f"SELECT {q.m.all}, {q.u.all} FROM {q.m.table}"  # noqa: S608 (names from the models)
            f" LEFT JOIN {q.u.table} ON {q.u.c('id')} = {q.m.c('user')}"
            f" WHERE {q.m.c('appointment')} = %s AND {q.m.c('removed_at')} IS NULL"
            f" ORDER BY {q.m.c('id')}"
        )

    return Statement([Table(Member, "m"), Table(get_user_model(), "u")], write)


def publish_member(member: Member, op: str = "changed") -> None:
    """Tell the room that a member came, changed or left for good, after the commit."""
    publish(room_group(member.appointment.public_id), "room.member", **room_event(member, op))


def publish_appointment(appointment: Appointment) -> None:
    publish(
        room_group(appointment.public_id),
        "room.appointment",
        appointment=appointment_entry(appointment),
    )


def close_room(appointment: Appointment, reason: str) -> None:
    """Every connection of the room is told why and closed (ended, cancelled)."""
    publish(room_group(appointment.public_id), "room.closed", reason=reason)


def close_connection(channel: str, reason: str) -> None:
    """One connection is told why and closed (superseded, removed, withdrawn)."""
    if channel:
        send_to(channel, "room.kicked", reason=reason)
