"""The operations of /api/v1/: they read the caller's agency only, call the appointments'
services with the key as actor (`by=`), and answer with the representation and its ETag.

Objects of another agency are answered 404, exactly as objects that do not exist.
"""

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Header, Query, Router, Schema
from pydantic import Field

from videotermin.agencies.models import Location, StaffMember
from videotermin.api import present
from videotermin.api import services as api_services
from videotermin.api.auth import Caller, read_key, write_key
from videotermin.api.idempotency import run_once
from videotermin.api.problems import Problem, invalid, not_found, validation_problem
from videotermin.api.schemas import (
    AppointmentChange,
    AppointmentCreated,
    AppointmentIn,
    AppointmentOut,
    AppointmentPage,
    CounselorOut,
    Day,
    Id,
    LocationOut,
    MemberChange,
    MemberCreated,
    MemberIn,
    MemberOut,
    PersonalLink,
    State,
    problems,
)
from videotermin.appointments import services as appointments
from videotermin.appointments.models import Appointment, Member
from videotermin.audit.services import record

router = Router(tags=["appointments"])

JSON = "application/json; charset=utf-8"
# Every changing operation: the idempotency key; PATCH also needs the version it changes.
IDEMPOTENCY_KEY = Header(
    ...,
    alias="Idempotency-Key",
    min_length=1,
    max_length=255,
    pattern=r"^[!-~]([ -~]{0,253}[!-~])?$",
    description="Your own unique value per intended change (a UUID); resend it with a retry.",
)
IF_MATCH_REQUIRED = Header(
    ..., alias="If-Match", max_length=1000, description="The ETag of your last read."
)
IF_MATCH = Header(
    None,
    alias="If-Match",
    max_length=1000,
    description="Optional: the ETag of your last read; 412 if the resource changed since.",
)

READ_ERRORS = (401, 404, 429)
CHANGE_ERRORS = (400, 401, 403, 404, 409, 413, 422, 429)


def _caller(request: HttpRequest) -> Caller:
    caller = request.auth  # type: ignore[attr-defined]
    assert isinstance(caller, Caller)
    return caller


def _response(
    model: type[Schema],
    data: dict[str, Any],
    *,
    status: int = 200,
    with_etag: dict[str, Any] | None = None,
    location: str = "",
) -> HttpResponse:
    """The answer as the schema says it, with the ETag of the resource's representation."""
    body = model.model_validate(data).model_dump(mode="json")
    response = HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type=JSON)
    if with_etag is not None:
        response["ETag"] = present.etag(with_etag)
    if location:
        response["Location"] = location
    return response


def _appointment(caller: Caller, appointment_id: Id, *, lock: bool = False) -> Appointment:
    found = present.appointments_of(caller.agency_id).filter(public_id=appointment_id)
    if lock:
        found = found.select_for_update(of=("self",))
    appointment = found.first()
    if appointment is None:
        raise not_found()
    return appointment


def _member(caller: Caller, appointment_id: Id, member_id: Id, *, lock: bool = False) -> Member:
    member = (
        Member.objects.filter(
            appointment__agency_id=caller.agency_id,
            appointment__public_id=appointment_id,
            public_id=member_id,
        )
        .select_related("appointment__agency", "user__staff")
        .first()
    )
    if member is None:
        raise not_found()
    if lock:
        member = appointments.locked_member(member)
    return member


def _appointment_body(appointment: Appointment) -> dict[str, Any]:
    return AppointmentOut.model_validate(present.appointment_data(appointment)).model_dump(
        mode="json"
    )


def _member_body(member: Member) -> dict[str, Any]:
    return MemberOut.model_validate(present.member_data(member)).model_dump(mode="json")


def _require_version(if_match: str | None, current: dict[str, Any]) -> None:
    if if_match is not None and not present.matches(if_match, present.etag(current)):
        raise Problem(
            "precondition-failed",
            _(
                "The resource changed since the version named in If-Match. Read it again and "
                "apply your change to its current version."
            ),
        )


def _refused(error: appointments.NotAllowed) -> Problem:
    return Problem("conflict", str(error))


def _check_start(starts_at, location: str) -> None:
    if starts_at > timezone.now() + timedelta(days=settings.BOOKING_HORIZON_DAYS):
        raise invalid(location, _("The start lies too far in the future."))


def _location(caller: Caller, location_id: UUID, field: str) -> Location:
    location = Location.objects.filter(agency_id=caller.agency_id, public_id=location_id).first()
    if location is None:
        raise invalid(field, _("This agency has no location with this id."))
    if not location.active:
        raise invalid(field, _("This location is closed for booking."))
    return location


def _counselor(caller: Caller, staff_id: UUID, field: str):
    staff = (
        StaffMember.objects.filter(agency_id=caller.agency_id, public_id=staff_id)
        .select_related("user")
        .first()
    )
    if staff is None:
        raise invalid(field, _("This agency has no staff member with this id."))
    if not staff.user.is_active:
        raise invalid(field, _("The counselor must be an active member of this agency's staff."))
    return staff.user


def _once(request: HttpRequest, key: str, change: Callable[[], HttpResponse]) -> HttpResponse:
    _only_query(request)
    return run_once(request, _caller(request), key, change)


def _only_query(request: HttpRequest, *names: str) -> None:
    """Refuse query parameters the operation does not know: a misspelt filter must not quietly
    list everything."""
    unknown = sorted(set(request.GET) - set(names))
    if unknown:
        raise validation_problem(
            [{"loc": ("query", name), "type": "extra_forbidden"} for name in unknown]
        )


# Appointments -------------------------------------------------------------------------------


class AppointmentFilters(Schema):
    day: Day | None = Field(None, description="Starting on this day, in the agency's time zone.")
    location: Id | None = None
    counselor: Id | None = None
    state: State | None = None
    limit: int = Field(50, ge=1, le=100)
    offset: int = Field(0, ge=0, le=1_000_000)


@router.get(
    "/appointments",
    auth=read_key,
    response={200: AppointmentPage, **problems(*READ_ERRORS, 422)},
    summary="List the agency's appointments",
)
def list_appointments(request: HttpRequest, filters: Query[AppointmentFilters]) -> HttpResponse:
    """By day, location, counselor and state; ordered by start, paged with limit and offset."""
    _only_query(request, *AppointmentFilters.model_fields)
    caller = _caller(request)
    found = present.appointments_of(caller.agency_id)
    if filters.day is not None:
        found = found.filter(present.day_filter(caller.agency, filters.day))
    if filters.location is not None:
        found = found.filter(location__public_id=filters.location)
    if filters.counselor is not None:
        found = found.filter(counselor__staff__public_id=filters.counselor)
    now = timezone.now()
    if filters.state is not None:
        found = found.filter(present.state_filter(caller.agency_id, filters.state.value, now))
    found = found.order_by("starts_at", "pk")
    count = found.count()
    page = list(found[filters.offset : filters.offset + filters.limit])
    record(
        "api.appointments_listed",
        agency=caller.agency,
        by=caller.actor,
        count=len(page),
        **{
            name: str(value.value if hasattr(value, "value") else value)
            for name, value in filters.model_dump().items()
            if value is not None and name not in ("limit", "offset")
        },
    )
    data = {
        "count": count,
        "limit": filters.limit,
        "offset": filters.offset,
        "items": [present.appointment_data(appointment, now) for appointment in page],
    }
    return _response(AppointmentPage, data)


@router.post(
    "/appointments",
    auth=write_key,
    response={201: AppointmentCreated, **problems(*CHANGE_ERRORS)},
    summary="Book an appointment and invite everyone",
)
def create_appointment(
    request: HttpRequest, body: AppointmentIn, idempotency_key: str = IDEMPOTENCY_KEY
) -> HttpResponse:
    """The citizen and further participants get their personal links, in the answer (this once)
    and by e-mail unless send_invitation is false."""
    caller = _caller(request)

    def create() -> HttpResponse:
        location = _location(caller, body.location, "body.location")
        counselor = _counselor(caller, body.counselor, "body.counselor")
        _check_start(body.starts_at, "body.starts_at")
        citizen = appointments.Invitee(
            name=body.citizen.name,
            email=body.citizen.email,
            language=body.citizen.language.value,
            customer_number=body.citizen.customer_number,
        )
        extras = [
            appointments.Invitee(
                name=extra.name, email=extra.email, role=extra.role, language=extra.language.value
            )
            for extra in body.participants
        ]
        try:
            booking = appointments.create_appointment(
                by=caller.actor,
                location=location,
                starts_at=body.starts_at,
                citizen=citizen,
                extras=extras,
                duration_minutes=body.duration_minutes,
                send_invitation=body.send_invitation,
                counselor=counselor,
            )
        except appointments.NotAllowed as error:
            raise invalid("body", str(error)) from None
        appointment = _appointment(caller, booking.appointment.public_id)
        representation = _appointment_body(appointment)
        invited = [(booking.citizen, booking.token), *booking.extras]
        links = [
            {"member": str(m.public_id), "role": m.role, "link": present.link_url(token)}
            for m, token in invited
        ]
        return _response(
            AppointmentCreated,
            {**representation, "links": links},
            status=201,
            with_etag=representation,
            location=f"{request.path}/{appointment.public_id}",
        )

    return _once(request, idempotency_key, create)


@router.get(
    "/appointments/{appointment_id}",
    auth=read_key,
    response={200: AppointmentOut, **problems(*READ_ERRORS, 422)},
    summary="Read an appointment with its members",
)
def get_appointment(request: HttpRequest, appointment_id: Id) -> HttpResponse:
    _only_query(request)
    caller = _caller(request)
    appointment = _appointment(caller, appointment_id)
    record("api.appointment_read", agency=caller.agency, by=caller.actor, appointment=appointment)
    body = _appointment_body(appointment)
    return _response(AppointmentOut, body, with_etag=body)


@router.patch(
    "/appointments/{appointment_id}",
    auth=write_key,
    response={200: AppointmentOut, **problems(*CHANGE_ERRORS, 412, 428)},
    summary="Change time, duration or place",
)
def change_appointment(
    request: HttpRequest,
    appointment_id: Id,
    body: AppointmentChange,
    idempotency_key: str = IDEMPOTENCY_KEY,
    if_match: str = IF_MATCH_REQUIRED,
) -> HttpResponse:
    """Everyone invited gets an update with a fresh link (earlier links keep working)."""
    caller = _caller(request)

    def change() -> HttpResponse:
        appointment = _appointment(caller, appointment_id, lock=True)
        _require_version(if_match, _appointment_body(appointment))
        changes: dict[str, Any] = {}
        if body.starts_at is not None:
            _check_start(body.starts_at, "body.starts_at")
            changes["starts_at"] = body.starts_at
        if body.duration_minutes is not None:
            changes["duration_minutes"] = body.duration_minutes
        if body.location is not None:
            changes["location"] = _location(caller, body.location, "body.location")
        try:
            appointments.update_appointment(appointment, by=caller.actor, **changes)
        except appointments.NotAllowed as error:
            raise _refused(error) from None
        fresh = _appointment_body(_appointment(caller, appointment_id))
        return _response(AppointmentOut, fresh, with_etag=fresh)

    return _once(request, idempotency_key, change)


@router.post(
    "/appointments/{appointment_id}/cancel",
    auth=write_key,
    response={200: AppointmentOut, **problems(*CHANGE_ERRORS, 412)},
    summary="Cancel an appointment",
)
def cancel_appointment(
    request: HttpRequest,
    appointment_id: Id,
    idempotency_key: str = IDEMPOTENCY_KEY,
    if_match: str | None = IF_MATCH,
) -> HttpResponse:
    """Every link stops working; everyone invited is told by e-mail. Cancelling a cancelled
    appointment changes nothing."""
    caller = _caller(request)

    def cancel() -> HttpResponse:
        appointment = _appointment(caller, appointment_id, lock=True)
        _require_version(if_match, _appointment_body(appointment))
        try:
            appointments.cancel_appointment(appointment, by=caller.actor)
        except appointments.NotAllowed as error:
            raise _refused(error) from None
        fresh = _appointment_body(_appointment(caller, appointment_id))
        return _response(AppointmentOut, fresh, with_etag=fresh)

    return _once(request, idempotency_key, cancel)


# Members ------------------------------------------------------------------------------------


@router.get(
    "/appointments/{appointment_id}/members",
    auth=read_key,
    response={200: list[MemberOut], **problems(*READ_ERRORS, 422)},
    summary="List an appointment's members",
)
def list_members(request: HttpRequest, appointment_id: Id) -> HttpResponse:
    _only_query(request)
    caller = _caller(request)
    appointment = _appointment(caller, appointment_id)
    record("api.members_listed", agency=caller.agency, by=caller.actor, appointment=appointment)
    body = [_member_body(member) for member in appointment.members.all()]
    response = HttpResponse(json.dumps(body, ensure_ascii=False), content_type=JSON)
    return response


@router.post(
    "/appointments/{appointment_id}/members",
    auth=write_key,
    response={201: MemberCreated, **problems(*CHANGE_ERRORS)},
    summary="Invite one more person",
)
def add_member(
    request: HttpRequest,
    appointment_id: Id,
    body: MemberIn,
    idempotency_key: str = IDEMPOTENCY_KEY,
) -> HttpResponse:
    """An interpreter, guardian, legal counsel or trusted person (or the citizen, if the
    appointment has none), invited by e-mail; the personal link comes in the answer this once."""
    caller = _caller(request)

    def add() -> HttpResponse:
        appointment = _appointment(caller, appointment_id, lock=True)
        invitee = appointments.Invitee(
            name=body.name,
            email=body.email,
            role=body.role,
            language=body.language.value,
            customer_number=body.customer_number if body.role == Member.Role.CITIZEN else "",
        )
        try:
            member, token = appointments.add_member(appointment, invitee, by=caller.actor)
        except appointments.NotAllowed as error:
            raise _refused(error) from None
        representation = _member_body(_member(caller, appointment_id, member.public_id))
        return _response(
            MemberCreated,
            {**representation, "link": present.link_url(token)},
            status=201,
            with_etag=representation,
            location=f"{request.path}/{member.public_id}",
        )

    return _once(request, idempotency_key, add)


@router.get(
    "/appointments/{appointment_id}/members/{member_id}",
    auth=read_key,
    response={200: MemberOut, **problems(*READ_ERRORS, 422)},
    summary="Read a member's state and presence",
)
def get_member(request: HttpRequest, appointment_id: Id, member_id: Id) -> HttpResponse:
    _only_query(request)
    caller = _caller(request)
    member = _member(caller, appointment_id, member_id)
    record(
        "api.member_read",
        agency=caller.agency,
        by=caller.actor,
        appointment=member.appointment,
        member=member.audit_ref,
    )
    body = _member_body(member)
    return _response(MemberOut, body, with_etag=body)


@router.patch(
    "/appointments/{appointment_id}/members/{member_id}",
    auth=write_key,
    response={200: MemberOut, **problems(*CHANGE_ERRORS, 412, 428)},
    summary="Correct an invited person's details",
)
def change_member(
    request: HttpRequest,
    appointment_id: Id,
    member_id: Id,
    body: MemberChange,
    idempotency_key: str = IDEMPOTENCY_KEY,
    if_match: str = IF_MATCH_REQUIRED,
) -> HttpResponse:
    """A new e-mail address ends the links sent to the old one and sends the invitation anew;
    a new language sends an update."""
    caller = _caller(request)

    def change() -> HttpResponse:
        member = _member(caller, appointment_id, member_id, lock=True)
        _require_version(if_match, _member_body(member))
        changes = {
            name: value.value if hasattr(value, "value") else value
            for name, value in body.model_dump().items()
            if value is not None
        }
        try:
            appointments.update_member(member, by=caller.actor, **changes)
        except appointments.NotAllowed as error:
            raise _refused(error) from None
        fresh = _member_body(_member(caller, appointment_id, member_id))
        return _response(MemberOut, fresh, with_etag=fresh)

    return _once(request, idempotency_key, change)


@router.delete(
    "/appointments/{appointment_id}/members/{member_id}",
    auth=write_key,
    response={200: MemberOut, **problems(*CHANGE_ERRORS, 412)},
    summary="Remove a person from the appointment",
)
def remove_member(
    request: HttpRequest,
    appointment_id: Id,
    member_id: Id,
    idempotency_key: str = IDEMPOTENCY_KEY,
    if_match: str | None = IF_MATCH,
) -> HttpResponse:
    """Their links end, a connected page leaves the room, and they get a cancellation. The
    member stays readable, with state removed."""
    caller = _caller(request)

    def remove() -> HttpResponse:
        member = _member(caller, appointment_id, member_id, lock=True)
        _require_version(if_match, _member_body(member))
        try:
            appointments.remove_member(member, by=caller.actor)
        except appointments.NotAllowed as error:
            raise _refused(error) from None
        fresh = _member_body(_member(caller, appointment_id, member_id))
        return _response(MemberOut, fresh, with_etag=fresh)

    return _once(request, idempotency_key, remove)


@router.post(
    "/appointments/{appointment_id}/members/{member_id}/link",
    auth=write_key,
    response={201: PersonalLink, **problems(*CHANGE_ERRORS)},
    summary="Issue a new personal link",
)
def issue_link(
    request: HttpRequest,
    appointment_id: Id,
    member_id: Id,
    idempotency_key: str = IDEMPOTENCY_KEY,
) -> HttpResponse:
    """For your system to hand over itself (no e-mail is sent); only its hash is kept, so it is
    in this answer only. Earlier links keep working."""
    caller = _caller(request)

    def issue() -> HttpResponse:
        member = _member(caller, appointment_id, member_id)
        try:
            token = api_services.issue_link(member, by=caller.actor)
        except appointments.NotAllowed as error:
            raise _refused(error) from None
        data = {"member": str(member.public_id), "role": member.role}
        return _response(PersonalLink, {**data, "link": present.link_url(token)}, status=201)

    return _once(request, idempotency_key, issue)


# The agency's locations and staff, for the ids a booking names -----------------------------

directory = Router(tags=["agency"])


@directory.get(
    "/locations",
    auth=read_key,
    response={200: list[LocationOut], **problems(401, 429)},
    summary="List the agency's locations",
)
def list_locations(request: HttpRequest) -> list[dict[str, Any]]:
    _only_query(request)
    caller = _caller(request)
    record("api.locations_listed", agency=caller.agency, by=caller.actor)
    return [
        {
            "id": location.public_id,
            "name": location.name,
            "address": location.address,
            "open_for_booking": location.active,
        }
        for location in Location.objects.filter(agency_id=caller.agency_id).order_by("name")
    ]


@directory.get(
    "/counselors",
    auth=read_key,
    response={200: list[CounselorOut], **problems(401, 429)},
    summary="List the agency's staff, who can host appointments",
)
def list_counselors(request: HttpRequest) -> list[dict[str, Any]]:
    _only_query(request)
    caller = _caller(request)
    record("api.counselors_listed", agency=caller.agency, by=caller.actor)
    staff = present.staff_of(caller.agency_id).order_by("user__last_name", "user__first_name")
    return [
        {
            "id": member.public_id,
            "name": str(member),
            "role": member.role,
            "location": member.location.public_id if member.location else None,
            "active": member.user.is_active,
        }
        for member in staff
    ]
