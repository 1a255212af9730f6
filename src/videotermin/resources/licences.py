"""What an agency's licence allows and how much of it is in use.

The services of other apps ask here before they add a seat, a person or a running consultation,
and raise their own NotAllowed with the refusal, so that each caller keeps its exception:
`if refusal := licences.seat_refusal(agency.pk): raise NotAllowed(refusal)`. Refusals are lazy:
they are put into words in the language of whoever reads them. An agency without a licence, and
a limit left empty, refuse nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import ngettext

from videotermin.agencies.models import StaffMember
from videotermin.appointments.models import Appointment, Member
from videotermin.resources.models import Licence

# A consultation lasts at most this long (appointments.services.MAX_DURATION_MINUTES).
LONGEST = timedelta(minutes=480)


def licence_of(agency_id: int, *, lock: bool = False) -> Licence | None:
    """The agency's licence, locked until the transaction ends when asked: two changes that
    each take the last free place then follow one another."""
    licences = Licence.objects.filter(agency_id=agency_id)
    if lock:
        licences = licences.select_for_update()
    return licences.first()


def seats_in_use(agency_id: int) -> int:
    """Active staff accounts that hold consultations (invited ones included): every role but
    the analyst's."""
    return (
        StaffMember.objects.filter(agency_id=agency_id, user__is_active=True)
        .exclude(role=StaffMember.Role.ANALYST)
        .count()
    )


def running_calls(agency_id: int, *, exclude: int | None = None) -> int:
    """The agency's consultations running now: started, not ended, somebody in the call.

    One that everybody has left (before its planned end) holds no place until somebody is back.
    """
    running = Appointment.objects.filter(
        agency_id=agency_id,
        call_started_at__isnull=False,
        call_ended_at__isnull=True,
        cancelled_at__isnull=True,
        members__presence=Member.Presence.IN_CALL,
        members__removed_at__isnull=True,
    )
    if exclude is not None:
        running = running.exclude(pk=exclude)
    return running.distinct().count()


def largest_group(agency_id: int, now: datetime | None = None) -> int:
    """The most people in one of the agency's consultations that are not over yet."""
    now = now or timezone.now()
    open_ones = (
        Appointment.objects.filter(
            agency_id=agency_id,
            cancelled_at__isnull=True,
            call_ended_at__isnull=True,
            starts_at__gte=now - LONGEST,
        )
        .annotate(people=Count("members", filter=Q(members__removed_at__isnull=True)))
        .values_list("starts_at", "duration_minutes", "people")
    )
    return max(
        (
            people
            for starts_at, minutes, people in open_ones
            if starts_at + timedelta(minutes=minutes) > now
        ),
        default=0,
    )


def _in_words(render: Callable[[], str]) -> str:
    """A refusal put into words only when it is read, in the reader's language."""
    return lazy(render, str)()


def _seats_taken(seats: int) -> str:
    def words() -> str:
        return ngettext(
            "Your agency's licence covers %(seats)d counselor seat, and it is taken. "
            "Deactivate an account that is no longer needed, or ask the operator for more "
            "seats.",
            "Your agency's licence covers %(seats)d counselor seats, and all of them are "
            "taken. Deactivate an account that is no longer needed, or ask the operator for "
            "more seats.",
            seats,
        ) % {"seats": seats}

    return _in_words(words)


def seat_refusal(agency_id: int) -> str | None:
    """Why one more active counselor account would go beyond the licence, or None.

    Call it after locking the agency's row (administration.accounts does), so that two
    invitations never take the last seat twice.
    """
    licence = licence_of(agency_id, lock=True)
    if licence is None or licence.seats is None:
        return None
    if seats_in_use(agency_id) < licence.seats:
        return None
    return _seats_taken(licence.seats)


def sign_in_seat_refusal(agency_id: int, *, lock: bool = False) -> str | None:
    """Why single sign-on cannot create one more counselor account, or None (`lock`: as
    `seat_refusal`, when the account is about to be made)."""
    licence = licence_of(agency_id, lock=lock)
    if licence is None or licence.seats is None or seats_in_use(agency_id) < licence.seats:
        return None
    seats = licence.seats

    def words() -> str:
        return ngettext(
            "Your agency's licence covers %(seats)d counselor seat, and it is taken, so no "
            "new account can be created for you. Please ask your agency's administrator.",
            "Your agency's licence covers %(seats)d counselor seats, and all of them are "
            "taken, so no new account can be created for you. Please ask your agency's "
            "administrator.",
            seats,
        ) % {"seats": seats}

    return _in_words(words)


def group_refusal(agency_id: int, people: int) -> str | None:
    """Why a consultation of `people` people would go beyond the licence, or None.

    The product's own maximum (MAX_MEMBERS) is the caller's to check first.
    """
    licence = licence_of(agency_id)
    if licence is None or licence.group is None or people <= licence.group:
        return None
    limit = licence.group

    def words() -> str:
        return ngettext(
            "Your agency's licence allows at most %(max)d person in one consultation, the "
            "counselor included.",
            "Your agency's licence allows at most %(max)d people in one consultation, the "
            "counselor included.",
            limit,
        ) % {"max": limit}

    return _in_words(words)


def call_refusal(appointment: Appointment) -> str | None:
    """Why starting this consultation's call would go beyond the licence, or None.

    Locks the licence's row, so that two first admissions at once cannot both take the last
    place; the caller holds the lock until its transaction ends.
    """
    licence = licence_of(appointment.agency_id, lock=True)
    if licence is None or licence.concurrent is None:
        return None
    limit = licence.concurrent
    if running_calls(appointment.agency_id, exclude=appointment.pk) < limit:
        return None

    def words() -> str:
        return ngettext(
            "Your agency's licence allows %(max)d consultation at the same time, and it is "
            "running now. Let the person in once it has ended: they keep their place in the "
            "waiting room.",
            "Your agency's licence allows %(max)d consultations at the same time, and that "
            "many are running now. Let the person in once one of them has ended: they keep "
            "their place in the waiting room.",
            limit,
        ) % {"max": limit}

    return _in_words(words)


@dataclass(frozen=True)
class Use:
    """One limit of the licence beside its use now; `limit` None: not limited."""

    used: int
    limit: int | None

    @property
    def over(self) -> bool:
        return self.limit is not None and self.used > self.limit

    @property
    def full(self) -> bool:
        return self.limit is not None and self.used >= self.limit


@dataclass(frozen=True)
class Report:
    licence: Licence | None
    seats: Use
    concurrent: Use
    group: Use


def report(agency_id: int) -> Report:
    """The licence and its use, for the administrator's page and the operator's command."""
    licence = licence_of(agency_id)
    group_limit = licence.group if licence is not None and licence.group is not None else None
    return Report(
        licence=licence,
        seats=Use(seats_in_use(agency_id), licence.seats if licence else None),
        concurrent=Use(running_calls(agency_id), licence.concurrent if licence else None),
        group=Use(largest_group(agency_id), group_limit),
    )
