"""The statistics pages of the staff workspace (A4): for an agency's administrators and
analysts, with charts, tables, a CSV and a JSON download. Everything comes from reports.py."""

import csv
import io
from collections.abc import Callable
from datetime import date, timedelta
from functools import wraps
from uuid import UUID
from zoneinfo import ZoneInfo

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from videotermin.agencies.models import Agency, Location, StaffMember
from videotermin.lib.spreadsheet import BYTE_ORDER_MARK, safe
from videotermin.stats import charts, services
from videotermin.stats.schemas import StatisticsReport

DEFAULT_DAYS = 30
# Earlier or later days hold no consultation anybody can have booked.
EARLIEST = date(2000, 1, 1)


def statistics_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in administrators and analysts of an agency only (a counselor gets 403); days
    are the agency's days."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        staff = getattr(request.user, "staff", None)
        if staff is None or not request.user.is_active or not staff.sees_statistics:
            raise PermissionDenied
        with timezone.override(ZoneInfo(staff.agency.time_zone)):
            return view(request, *args, **kwargs)

    return wrapper


def _staff(request: HttpRequest) -> StaffMember:
    return request.user.staff  # type: ignore[union-attr]


def presets(today: date) -> list[tuple[str, str, date, date]]:
    """The periods a button away: (key, label, first day, last day)."""
    quarter = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return [
        ("last_7_days", _("Last 7 days"), today - timedelta(days=6), today),
        ("last_30_days", _("Last 30 days"), today - timedelta(days=DEFAULT_DAYS - 1), today),
        ("this_quarter", _("This quarter"), quarter, today),
    ]


class PeriodForm(forms.Form):
    location = forms.ChoiceField(label=gettext_lazy("Location"), required=False)
    start = forms.DateField(
        label=gettext_lazy("First day"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        label=gettext_lazy("Last day"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, agency: Agency, today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        location = self.fields["location"]
        assert isinstance(location, forms.ChoiceField)
        location.choices = [("", _("All locations"))] + [
            (str(place.public_id), place.name) for place in agency.locations.order_by("name")
        ]

    def clean(self) -> dict:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        for name in ("start", "end"):
            day = data.get(name)
            if day and not EARLIEST <= day <= self.today + timedelta(days=366):
                self.add_error(name, _("Choose a day between 2000 and next year."))
        if start and end and end < start:
            self.add_error("end", _("The end of the period is before its start."))
        return data


def _location(agency: Agency, value: str | None) -> Location | None:
    """The chosen location of the agency; another agency's, or none at all, is a 404."""
    if not value:
        return None
    try:
        public_id = UUID(value)
    except ValueError:
        raise Http404 from None
    found = agency.locations.filter(public_id=public_id).first()
    if found is None:
        raise Http404
    return found


def _choice(request: HttpRequest) -> tuple[PeriodForm, Location | None, date, date]:
    """The filters asked for; the last 30 days when none (or wrong ones) are given."""
    agency = _staff(request).agency
    today = timezone.localdate()
    location = _location(agency, request.GET.get("location"))
    start, end = today - timedelta(days=DEFAULT_DAYS - 1), today
    if "start" in request.GET or "end" in request.GET:
        form = PeriodForm(request.GET, agency=agency, today=today)
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    else:
        initial = {"start": start, "end": end, "location": request.GET.get("location", "")}
        form = PeriodForm(initial=initial, agency=agency, today=today)
    return form, location, start, end


def _query(location: Location | None, start: date, end: date) -> str:
    values = {"start": start.isoformat(), "end": end.isoformat()}
    if location is not None:
        values["location"] = str(location.public_id)
    return urlencode(values)


def _shown(table: dict) -> dict:
    """A table with its figures as text and its chart."""
    rows = [
        {
            "label": row["label"],
            "count": charts.cell_text(row["count"]),
            "percent": charts.cell_text(row["percent"], "percent"),
            "suppressed": row["count"]["suppressed"],
        }
        for row in table["rows"]
    ]
    dom_id = f"chart-{table['key'].replace('_', '-')}"
    return {
        **table,
        "dom_id": dom_id,
        "shown_rows": rows,
        "shown_total": charts.cell_text(table["total"]),
        "chart": charts.bar_chart(table, dom_id=dom_id),
    }


@statistics_required
def index(request: HttpRequest) -> HttpResponse:
    """The statistics of the chosen period and location, at the push of a button."""
    agency = _staff(request).agency
    form, location, start, end = _choice(request)
    data = services.report_for(
        agency, by=request.user, location=location, start=start, end=end, kind="page"
    )
    today = timezone.localdate()
    query = _query(location, start, end)
    context = {
        "form": form,
        "report": data,
        "location": location,
        "start": start,
        "end": end,
        "figures": [
            {**figure, "text": charts.cell_text(figure["value"], figure["unit"])}
            for figure in data["figures"]
        ],
        "tables": [_shown(table) for table in data["tables"]],
        "presets": [
            {
                "label": label,
                "query": _query(location, first, last),
                "current": (first, last) == (start, end),
            }
            for _key, label, first, last in presets(today)
        ],
        "query": query,
    }
    return render(request, "stats/statistics.html", context)


def _csv(data: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    place = data["location"]["name"] if data["location"] else _("All locations")

    def row(*cells: object) -> None:
        writer.writerow([safe(cell) for cell in cells])

    row(_("Statistics"), data["agency"]["name"])
    row(_("Location"), place)
    row(_("Period"), data["start"], data["end"])
    row(
        _("Note"),
        _(
            "Figures resting on fewer than %(minimum)s consultations, people or answers are "
            "not shown; counts are rounded to a multiple of %(counts)s, minutes to a multiple "
            "of %(minutes)s."
        )
        % {
            "minimum": data["rules"]["minimum"],
            "counts": data["rules"]["count_base"],
            "minutes": data["rules"]["minutes_base"],
        },
    )
    row()
    row(_("Table"), _("Category"), _("Number"), _("Share (%)"))
    for figure in data["figures"]:
        row(_("Key figures"), figure["label"], _csv_cell(figure["value"]), "")
    for table in data["tables"]:
        for line in table["rows"]:
            row(table["title"], line["label"], _csv_cell(line["count"]), _csv_cell(line["percent"]))
        row(table["title"], _("Total"), _csv_cell(table["total"]), "")
    return BYTE_ORDER_MARK + out.getvalue()


def _csv_cell(cell: dict) -> str:
    if cell["suppressed"]:
        return charts.fewer_than_minimum()
    return "" if cell["value"] is None else str(cell["value"])


def _filename(agency: Agency, start: date, end: date, extension: str) -> str:
    return f"statistics-{agency.slug}-{start.isoformat()}-{end.isoformat()}.{extension}"


@statistics_required
def export_csv(request: HttpRequest) -> HttpResponse:
    """The report as CSV for a spreadsheet: UTF-8 with a byte order mark, no formulas."""
    agency = _staff(request).agency
    _form, location, start, end = _choice(request)
    data = services.report_for(
        agency, by=request.user, location=location, start=start, end=end, kind="csv"
    )
    response = HttpResponse(_csv(data), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{_filename(agency, start, end, "csv")}"'
    )
    return response


@statistics_required
def export_json(request: HttpRequest) -> HttpResponse:
    """The report as JSON, as the API gives it (stats/schemas.py)."""
    agency = _staff(request).agency
    _form, location, start, end = _choice(request)
    data = services.report_for(
        agency, by=request.user, location=location, start=start, end=end, kind="json"
    )
    body = StatisticsReport.model_validate(data).model_dump_json(indent=2)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = (
        f'attachment; filename="{_filename(agency, start, end, "json")}"'
    )
    return response
