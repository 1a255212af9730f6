"""What the API reads and answers, as pydantic models: the OpenAPI schema is made from them."""

import re
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, Literal
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Schema
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
)
from pydantic_core import PydanticCustomError

from videotermin.appointments.models import Member, Status
from videotermin.appointments.services import MAX_DURATION_MINUTES, MIN_DURATION_MINUTES

DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
UUID_TEXT = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
# Years the API accepts at all: outside, a date is a typo, and converting it between time
# zones could overflow.
FIRST_YEAR, LAST_YEAR = 2000, 2100

Language = Enum("Language", {code: code for code, _name in settings.LANGUAGES}, type=str)  # type: ignore[misc]
State = Enum("State", {value: value for value in Status.values}, type=str)  # type: ignore[misc]
ExtraRole = Literal["interpreter", "guardian", "legal_counsel", "trusted_person"]
InvitedRole = Literal["citizen", "interpreter", "guardian", "legal_counsel", "trusted_person"]
MemberState = Literal["invited", "consented", "declined", "checked", "withdrawn", "removed"]


def _email(value: str) -> str:
    try:
        validate_email(value)
    except DjangoValidationError:
        raise PydanticCustomError("email", "not an e-mail address") from None
    return value


def _iso_day(value: Any) -> Any:
    # Only YYYY-MM-DD: pydantic would also read "0" as the first day of 1970.
    if isinstance(value, str) and not DAY.fullmatch(value):
        raise PydanticCustomError("date_parsing", "not a date as YYYY-MM-DD")
    return value


def _canonical_uuid(value: Any) -> Any:
    # Only the form the API writes: pydantic would also read braces, URNs and bare hex.
    if isinstance(value, str) and not UUID_TEXT.fullmatch(value):
        raise PydanticCustomError("uuid_parsing", "not an id as the API writes it")
    return value


def _sane_year(value: datetime) -> datetime:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise PydanticCustomError("year_out_of_range", "a year from 2000 to 2100")
    return value


Id = Annotated[UUID, BeforeValidator(_canonical_uuid)]
Day = Annotated[date, BeforeValidator(_iso_day)]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S", strict=True)]
Email = Annotated[
    str,
    Field(min_length=3, max_length=254, strict=True, json_schema_extra={"format": "email"}),
    AfterValidator(_email),
]
CustomerNumber = Annotated[str, Field(max_length=40, strict=True)]
Start = Annotated[AwareDatetime, AfterValidator(_sane_year)]
Duration = Annotated[StrictInt, Field(ge=MIN_DURATION_MINUTES, le=MAX_DURATION_MINUTES)]


class In(Schema):
    model_config = ConfigDict(extra="forbid")


class CitizenIn(In):
    name: Name
    email: Email
    language: Language = Language("de")  # type: ignore[assignment]
    customer_number: CustomerNumber = ""


class ParticipantIn(In):
    role: ExtraRole
    name: Name
    email: Email
    language: Language = Language("de")  # type: ignore[assignment]


class AppointmentIn(In):
    location: Id = Field(description="The location's id (GET /locations).")
    counselor: Id = Field(description="The host's id among the agency's staff (GET /counselors).")
    starts_at: Start = Field(description="RFC 3339 with offset, e.g. 2026-03-02T09:30:00+01:00.")
    duration_minutes: Duration = 30
    citizen: CitizenIn
    participants: list[ParticipantIn] = Field(
        default_factory=list, max_length=4, description="Interpreters, guardians, counsel…"
    )
    send_invitation: StrictBool = Field(
        True, description="E-mail everyone their invitation; false: your system hands out links."
    )


class AppointmentChange(In):
    starts_at: Start | None = None
    duration_minutes: Duration | None = None
    location: Id | None = None


class MemberIn(In):
    role: InvitedRole
    name: Name
    email: Email
    language: Language = Language("de")  # type: ignore[assignment]
    customer_number: CustomerNumber = Field("", description="Only kept for the citizen.")


class MemberChange(In):
    name: Name | None = None
    email: Email | None = None
    language: Language | None = None
    customer_number: CustomerNumber | None = None


class MemberOut(Schema):
    id: UUID
    role: Literal[tuple(Member.Role.values)]  # type: ignore[valid-type]
    # People invited by link; staff (host, colleague) are named by their staff id instead.
    state: MemberState | None
    presence: Literal[tuple(Member.Presence.values)]  # type: ignore[valid-type]
    name: str | None
    email: str | None
    language: str | None
    customer_number: str | None
    counselor: UUID | None
    waiting_since: datetime | None
    admitted_at: datetime | None
    left_at: datetime | None
    removed_at: datetime | None


class AppointmentOut(Schema):
    id: UUID
    location: UUID
    counselor: UUID | None
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    state: State
    created_at: datetime
    cancelled_at: datetime | None
    call_started_at: datetime | None
    call_ended_at: datetime | None
    members: list[MemberOut]


class PersonalLink(Schema):
    member: UUID
    role: str
    link: str = Field(description="The member's personal link; shown this once, never stored.")


class AppointmentCreated(AppointmentOut):
    links: list[PersonalLink]


class MemberCreated(MemberOut):
    link: str


class AppointmentPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[AppointmentOut]


class LocationOut(Schema):
    id: UUID
    name: str
    address: str
    open_for_booking: bool


class CounselorOut(Schema):
    id: UUID
    name: str
    role: Literal["counselor", "admin"]
    location: UUID | None
    active: bool


class ProblemItem(Schema):
    location: str
    type: str
    message: str


class ProblemOut(Schema):
    """RFC 9457 problem details (`application/problem+json`)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[ProblemItem] | None = None


def problems(*statuses: int) -> dict[int, Any]:
    """The error answers of an operation, for its `response=`."""
    return {status: ProblemOut for status in statuses}
