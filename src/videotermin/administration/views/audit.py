"""The agency's audit log: who did what and when, filtered, paged, and exported as CSV.

Entries name people by pseudonym; the page shows a staff member's current name while the
account exists, and a member only by role and pseudonym, never by name, so the log reads the
same before and after the 14-day deletion.
"""

import csv
import json
import re
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from asgiref.sync import sync_to_async
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.core.handlers.asgi import ASGIRequest
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import get_language_info, gettext
from django.utils.translation import gettext_lazy as _

from videotermin.administration.access import admin_required, agency_of
from videotermin.agencies.models import Agency, Location, StaffMember
from videotermin.api.models import ApiKey
from videotermin.appointments.models import Appointment, Member
from videotermin.audit import actions
from videotermin.audit import services as audit
from videotermin.audit.models import AuditEntry
from videotermin.consent.models import ConsentText
from videotermin.lib.spreadsheet import BYTE_ORDER_MARK, safe
from videotermin.webhooks.models import Endpoint

PAGE_SIZE = 50
EXPORT_BATCH = 500
# The whole public id, or its first characters as the page shows them.
REFERENCE = re.compile(r"^[0-9a-f-]{4,36}$")
SHORT = 8
# Where the names of changed fields come from: by the action, else by its first part.
FIELD_MODELS: dict[str, Any] = {
    "agency.location_changed": Location,
    "agency": Agency,
    "appointment": Appointment,
    "member": Member,
    "staff": StaffMember,
    "webhook": Endpoint,
}


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


class AuditFilterForm(forms.Form):
    start = forms.DateField(
        label=_("First day"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        label=_("Last day"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    action = forms.ChoiceField(label=_("Action"), required=False)
    actor = StaffChoiceField(
        label=_("Staff member"),
        required=False,
        queryset=get_user_model().objects.none(),
        empty_label=_("Everybody"),
    )
    appointment = forms.CharField(
        label=_("Appointment reference"),
        required=False,
        max_length=36,
        help_text=_("The whole reference or its first characters."),
    )

    def __init__(self, *args, agency: Agency, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        action = self.fields["action"]
        assert isinstance(action, forms.ChoiceField)
        action.choices = [("", gettext("All actions")), *actions.grouped_choices()]
        actor = self.fields["actor"]
        assert isinstance(actor, forms.ModelChoiceField)
        actor.queryset = (
            get_user_model()
            .objects.filter(staff__agency=agency)
            .order_by("last_name", "first_name", "username")
        )

    def clean_appointment(self) -> str:
        value = self.cleaned_data["appointment"].strip().lower()
        if value and not REFERENCE.match(value):
            raise forms.ValidationError(
                _("Give the appointment's reference, or at least its first four characters.")
            )
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end of the period is before its start."))
        return data

    def filters(self) -> dict[str, Any]:
        """The filters given and valid; a wrong one is reported and left out, not guessed."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name not in self.errors and value not in (None, "")
        }


def entries_of(agency: Agency, filters: dict[str, Any]) -> QuerySet[AuditEntry]:
    """The agency's entries that pass the filters, newest first; nothing of another agency."""
    entries = AuditEntry.objects.filter(agency=agency)
    zone = ZoneInfo(agency.time_zone)
    # Days are the agency's days: midnight to midnight in its time zone.
    if "start" in filters:
        entries = entries.filter(at__gte=datetime.combine(filters["start"], time.min, zone))
    if "end" in filters:
        day_after = filters["end"] + timedelta(days=1)
        entries = entries.filter(at__lt=datetime.combine(day_after, time.min, zone))
    if "action" in filters:
        entries = entries.filter(action=actions.PREFIX + filters["action"])
    if "actor" in filters:
        ref = audit.actor_ref(filters["actor"])
        # A failed sign-in names the account tried, not an actor.
        entries = entries.filter(Q(actor_ref=ref) | Q(data__account=ref))
    if "appointment" in filters:
        entries = entries.filter(appointment_ref__startswith=filters["appointment"])
    return entries.order_by("-at", "-id")


def stored_filters(filters: dict[str, Any]) -> dict[str, str]:
    """The filters as the export's own entry keeps them: dates, names and pseudonyms."""
    stored = {}
    for name, value in filters.items():
        if isinstance(value, date):
            stored[name] = value.isoformat()
        elif name == "actor":
            stored[name] = audit.actor_ref(value)
        else:
            stored[name] = str(value)
    return stored


def short(ref: str) -> str:
    """A pseudonym or reference as the page shows it: enough to tell entries apart."""
    kind, colon, rest = ref.rpartition(":")
    return f"{kind}{colon}{rest[:SHORT]}" if len(rest) > SHORT else ref


def _uuids(values: Iterable[str]) -> set[uuid.UUID]:
    found = set()
    for value in values:
        try:
            found.add(uuid.UUID(value))
        except ValueError:
            continue
    return found


# Pseudonyms the log names by a person's or a key's current name or role.
PSEUDONYMS = ("staff:", "member:", "apikey:")


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, str) and value.startswith(PSEUDONYMS):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


class Reader:
    """Reads some entries for a person: names staff (in one query) and members by role only."""

    def __init__(self, agency: Agency, entries: Iterable[AuditEntry]) -> None:
        refs: set[str] = set()
        for entry in entries:
            refs.add(entry.actor_ref)
            refs.update(_refs(entry.data))
        staff_ids = {int(ref[6:]) for ref in refs if ref.startswith("staff:") and ref[6:].isdigit()}
        member_ids = _uuids(ref[7:] for ref in refs if ref.startswith("member:"))
        self.names = {
            f"staff:{user.pk}": user.get_full_name() or user.get_username()
            for user in get_user_model().objects.filter(pk__in=staff_ids)
        }
        # Only the role: a member's name never appears in the log.
        self.roles = {
            f"member:{public_id}": role
            for public_id, role in Member.objects.filter(
                appointment__agency=agency, public_id__in=member_ids
            ).values_list("public_id", "role")
        }
        # An API key by its name, also once it is revoked.
        self.keys = {
            f"apikey:{public_id}": name
            for public_id, name in ApiKey.objects.filter(
                agency=agency,
                public_id__in=[ref[7:] for ref in refs if ref.startswith("apikey:")],
            ).values_list("public_id", "name")
        }
        location_ids = _uuids(
            str(entry.data["location"])
            for entry in entries
            if isinstance(entry.data, dict) and entry.data.get("location")
        )
        self.locations = {
            str(public_id): name
            for public_id, name in Location.objects.filter(
                agency=agency, public_id__in=location_ids
            ).values_list("public_id", "name")
        }

    def person(self, ref: str, role: str = "") -> str:
        if ref in self.names:
            return self.names[ref]
        if ref.startswith("staff:"):
            return gettext("deleted account (%(ref)s)") % {"ref": ref}
        if ref.startswith("apikey:"):
            name = self.keys.get(ref)
            if name is None:
                return gettext("deleted API key (%(ref)s)") % {"ref": ref}
            return gettext("API key “%(name)s”") % {"name": name}
        if ref.startswith("member:"):
            role = self.roles.get(ref, role)
            label = (
                Member.Role(role).label
                if role in Member.Role.values
                else gettext("person invited by link")
            )
            return f"{capfirst(label)} ({short(ref)})"
        return ref

    def who(self, entry: AuditEntry, action: actions.Action) -> str:
        if entry.actor_ref:
            return self.person(entry.actor_ref, entry.actor_role)
        return gettext("unknown") if action.anonymous else gettext("System")

    def details(self, entry: AuditEntry, action: actions.Action) -> list[tuple[str, str]]:
        data = entry.data if isinstance(entry.data, dict) else {"data": entry.data}
        return [
            (str(actions.DETAILS.get(key, key)), self.value(key, value, action, data))
            for key, value in data.items()
        ]

    def value(self, key: str, value: Any, action: actions.Action, data: dict) -> str:
        if isinstance(value, bool):
            return gettext("yes") if value else gettext("no")
        if key == "role" and value in Member.Role.values:
            return str(capfirst(Member.Role(value).label))
        if key == "role" and value in StaffMember.Role.values:
            return str(capfirst(StaffMember.Role(value).label))
        if key == "kind" and value in ConsentText.Kind.values:
            return str(capfirst(ConsentText.Kind(value).label))
        if key == "type" and value in actions.SECOND_FACTORS:
            return str(actions.SECOND_FACTORS[value])
        if value == "":
            return "–"
        if key == "location" and isinstance(value, str):
            return self.locations.get(value, gettext("removed location"))
        if key == "reason" and value in actions.REASONS:
            return str(actions.REASONS[value])
        if key == "language" and isinstance(value, str):
            try:
                return get_language_info(value)["name_translated"]
            except KeyError:
                return value
        if key == "action" and isinstance(value, str):
            return str(actions.action_of(value).label)
        if key == "fields" and isinstance(value, list):
            return ", ".join(field_label(action, str(name)) for name in value)
        if key == "member" and isinstance(value, str):
            return self.person(value, str(data.get("role", "")))
        if key == "scope" and value in ApiKey.Scope.values:
            return str(ApiKey.Scope(value).label)
        if isinstance(value, str) and value.startswith(PSEUDONYMS):
            return self.person(value)
        if isinstance(value, list):
            return ", ".join(self.item(item, action) for item in value)
        if isinstance(value, dict):
            return ", ".join(
                f"{actions.DETAILS.get(name, name)}: {self.value(name, item, action, value)}"
                for name, item in value.items()
            )
        return str(value)

    def item(self, item: Any, action: actions.Action) -> str:
        # A list of members names each by pseudonym with its role.
        if isinstance(item, dict) and isinstance(item.get("member"), str):
            return self.person(item["member"], str(item.get("role", "")))
        return self.value("", item, action, {})

    def row(self, entry: AuditEntry) -> dict[str, Any]:
        action = actions.action_of(entry.action)
        return {
            "at": entry.at,
            "who": self.who(entry, action),
            "pseudonym": entry.actor_ref,
            "what": str(action.label),
            "action": entry.action.removeprefix(actions.PREFIX),
            "reference": entry.appointment_ref,
            "short_reference": entry.appointment_ref[:SHORT],
            # The link goes while the appointment exists; its deletion empties it.
            "appointment_exists": entry.appointment_id is not None,
            "details": self.details(entry, action),
        }


def field_label(action: actions.Action, name: str) -> str:
    model = FIELD_MODELS.get(action.name) or FIELD_MODELS.get(action.name.partition(".")[0])
    if model is None:
        return name
    try:
        return str(capfirst(model._meta.get_field(name).verbose_name))
    except FieldDoesNotExist:
        return name


@admin_required
def log(request: HttpRequest) -> HttpResponse:
    agency = agency_of(request)
    form = AuditFilterForm(request.GET or None, agency=agency)
    page = Paginator(entries_of(agency, form.filters()), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    reader = Reader(agency, page.object_list)
    context = {
        "form": form,
        "page": page,
        "rows": [reader.row(entry) for entry in page.object_list],
        "time_zone": agency.time_zone,
        "section": "audit",
    }
    return render(request, "administration/audit.html", context)


class _Line:
    """What csv.writer writes to: it hands back the line instead of storing it."""

    def write(self, line: str) -> str:
        return line


def _header() -> list[str]:
    return [
        gettext("Date and time"),
        gettext("Who"),
        gettext("Pseudonym"),
        gettext("What"),
        gettext("Action"),
        gettext("Appointment reference"),
        gettext("Details"),
        gettext("Data (JSON)"),
    ]


def _csv_row(reader: Reader, entry: AuditEntry, zone: ZoneInfo) -> list[str]:
    row = reader.row(entry)
    details = "; ".join(f"{label}: {value}" for label, value in row["details"])
    cells = [
        timezone.localtime(entry.at, zone).isoformat(timespec="seconds"),
        row["who"],
        row["pseudonym"],
        row["what"],
        row["action"],
        row["reference"],
        details,
        json.dumps(entry.data, ensure_ascii=False, sort_keys=True),
    ]
    return [safe(cell) for cell in cells]


def csv_chunks(entries: QuerySet[AuditEntry], agency: Agency, language: str) -> Iterator[bytes]:
    """The CSV, a batch of entries at a time: each batch its own query, so no cursor stays
    open between chunks and memory stays flat however long the log."""
    writer = csv.writer(_Line())
    zone = ZoneInfo(agency.time_zone)
    with translation.override(language):
        # The byte order mark tells Excel the file is UTF-8 (umlauts).
        head = BYTE_ORDER_MARK + writer.writerow(_header())
    yield head.encode("utf-8")
    batch_of = entries
    while True:
        batch = list(batch_of[:EXPORT_BATCH])
        if not batch:
            return
        with translation.override(language):
            reader = Reader(agency, batch)
            text = "".join(writer.writerow(_csv_row(reader, entry, zone)) for entry in batch)
        yield text.encode("utf-8")
        last = batch[-1]
        batch_of = entries.filter(Q(at__lt=last.at) | Q(at=last.at, id__lt=last.pk))


def _next_chunk(chunks: Iterator[bytes]) -> bytes:
    return next(chunks, b"")


async def _in_turn(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """The chunks under ASGI: Django would read a plain iterator whole before sending it."""
    while chunk := await sync_to_async(_next_chunk)(chunks):
        yield chunk


@admin_required  # type: ignore[arg-type]  # a streaming response is no HttpResponse
def export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered log as CSV; the export itself is audited, with its filters."""
    agency = agency_of(request)
    filters = AuditFilterForm(request.GET or None, agency=agency).filters()
    entries = entries_of(agency, filters)
    entry = audit.record(
        "audit.exported",
        agency=agency,
        by=request.user,
        filters=stored_filters(filters),
        entries=entries.count(),
    )
    chunks = csv_chunks(entries.exclude(pk=entry.pk), agency, translation.get_language())
    content = _in_turn(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    day = timezone.localdate(timezone.now(), ZoneInfo(agency.time_zone))
    response["Content-Disposition"] = (
        f'attachment; filename="audit-log-{agency.slug}-{day.isoformat()}.csv"'
    )
    return response
