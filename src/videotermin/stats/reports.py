"""The statistics of an agency (A4), built only from anonymous facts: ConsultationFact and the
survey's answers. Nothing here reads an appointment or a person, so a report is the same
before and after their personal data are deleted (N3).

No figure singles anybody out (docs/privacy.md, "Statistics"):

- a count of 1 to 4 (consultations, people, answers), and any figure derived from fewer than
  five of them (minutes, averages, medians, shares), is suppressed: shown as "fewer than 5";
- every other count is rounded to a multiple of COUNT_BASE, sums of minutes to a multiple of
  MINUTES_BASE, and shares are computed from the rounded counts. So neither a total minus the
  other cells of a table, nor one report minus another (a day more, a location less) gives back
  a suppressed figure exactly.

`report()` returns plain JSON data (stats/schemas.py describes it); the page, the CSV and the
API all show this one result.
"""

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from videotermin.agencies.models import Agency, Location
from videotermin.appointments.models import Member
from videotermin.stats.models import ConsultationFact
from videotermin.survey.models import Answer, NextMode, SurveyResponse

# No group smaller than this is shown.
MINIMUM = 5
# Counts are rounded to a multiple of this, sums of minutes to a multiple of MINUTES_BASE.
COUNT_BASE = 5
MINUTES_BASE = 60

Outcome = ConsultationFact.Outcome
Quality = ConsultationFact.Quality
STAFF_ROLES = {str(role) for role in Member.STAFF_ROLES}

# Held minutes: (key, lowest minute) of each class of the distribution.
DURATIONS = (
    ("under_10", 0),
    ("10_19", 10),
    ("20_29", 20),
    ("30_44", 30),
    ("45_59", 45),
    ("60_plus", 60),
)
# Waiting until admitted: (key, lowest second).
WAITS = (
    ("under_1", 0),
    ("1_2", 60),
    ("2_5", 120),
    ("5_10", 300),
    ("10_plus", 600),
)
CHECKS = ("green", "yellow", "red", "missing")
# Where a family list ends: the rare ones.
OTHER = "Other"


def _half_up(value: float, base: int = 1) -> int:
    return int(value / base + 0.5) * base


def suppressed() -> dict[str, Any]:
    return {"value": None, "suppressed": True}


def empty() -> dict[str, Any]:
    """Nothing to count from (no consultation held, nobody waited): no figure, nothing hidden."""
    return {"value": None, "suppressed": False}


def count_cell(number: int) -> dict[str, Any]:
    """A count as it may be shown: 0, suppressed below MINIMUM, else rounded."""
    if number <= 0:
        return {"value": 0, "suppressed": False}
    if number < MINIMUM:
        return suppressed()
    return {"value": _half_up(number, COUNT_BASE), "suppressed": False}


def derived_cell(value: float | None, base: int, *, step: int = 1) -> dict[str, Any]:
    """A figure computed from `base` consultations (or answers): none without any, suppressed
    below MINIMUM, else rounded to `step`."""
    if base <= 0 or value is None:
        return empty()
    if base < MINIMUM:
        return suppressed()
    return {"value": _half_up(value, step), "suppressed": False}


def percent_cell(part: dict[str, Any], whole: dict[str, Any]) -> dict[str, Any]:
    """A share in whole percent, from the rounded counts as shown, so it tells nothing more."""
    if part["suppressed"] or whole["suppressed"]:
        return suppressed()
    if not whole["value"] or part["value"] is None:
        return empty()
    return {"value": _half_up(100 * part["value"] / whole["value"]), "suppressed": False}


@dataclass
class Tally:
    """What the facts of the period add up to, before anything is rounded or suppressed."""

    outcomes: Counter = field(default_factory=Counter)
    minutes: list[int] = field(default_factory=list)
    waits: list[int] = field(default_factory=list)
    funnel: Counter = field(default_factory=Counter)
    checks: Counter = field(default_factory=Counter)
    browsers: Counter = field(default_factory=Counter)
    systems: Counter = field(default_factory=Counter)
    quality: Counter = field(default_factory=Counter)
    steps_down: int = 0
    locations: Counter = field(default_factory=Counter)
    easy: Counter = field(default_factory=Counter)
    recommend: Counter = field(default_factory=Counter)
    next_mode: Counter = field(default_factory=Counter)


def _counts(value: Any) -> dict[str, int]:
    """A fact's counts by name, ignoring anything that is not a positive whole number."""
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, int) and v > 0}


FACT_FIELDS = (
    "outcome",
    "location_id",
    "held_minutes",
    "seconds_to_admit",
    "invited",
    "took_part",
    "entered",
    "consents_accepted",
    "checks_green",
    "checks_yellow",
    "checks_red",
    "checks_missing",
    "browsers",
    "systems",
    "quality",
    "quality_steps_down",
)


def _add_fact(tally: Tally, fact: dict[str, Any]) -> None:
    outcome = fact["outcome"]
    tally.outcomes[outcome] += 1
    tally.locations[fact["location_id"]] += 1
    for name, number in _counts(fact["browsers"]).items():
        tally.browsers[name] += number
    for name, number in _counts(fact["systems"]).items():
        tally.systems[name] += number
    if outcome == Outcome.HELD:
        if fact["held_minutes"] is not None:
            tally.minutes.append(fact["held_minutes"])
        tally.quality[fact["quality"] or ""] += 1
        tally.steps_down += fact["quality_steps_down"]
    if fact["seconds_to_admit"] is not None:
        tally.waits.append(fact["seconds_to_admit"])
    if outcome == Outcome.CANCELLED:
        # Nobody could join a cancelled consultation: it would only lower every share.
        return
    invited = sum(_counts(fact["invited"]).values())
    took_part = sum(n for role, n in _counts(fact["took_part"]).items() if role not in STAFF_ROLES)
    checks = {name: fact[f"checks_{name}"] for name in CHECKS}
    tally.funnel["invited"] += invited
    tally.funnel["consented"] += min(fact["consents_accepted"], invited)
    tally.funnel["checked"] += min(checks["green"] + checks["yellow"] + checks["red"], invited)
    tally.funnel["entered"] += min(max(fact["entered"], took_part), invited)
    tally.funnel["took_part"] += min(took_part, invited)
    tally.checks.update(checks)


def _tally(agency: Agency, location: Location | None, start: date, end: date) -> Tally:
    tally = Tally()
    scope = Q(agency=agency, day__gte=start, day__lte=end)
    if location is not None:
        scope &= Q(location=location)
    for fact in ConsultationFact.objects.filter(scope).values(*FACT_FIELDS).iterator(2000):
        _add_fact(tally, fact)
    answers = SurveyResponse.objects.filter(scope).values_list(
        "easy_to_use", "would_recommend", "next_mode"
    )
    for easy, recommend, next_mode in answers.iterator(2000):
        if easy:
            tally.easy[easy] += 1
        if recommend:
            tally.recommend[recommend] += 1
        if next_mode:
            tally.next_mode[next_mode] += 1
    return tally


def _table(
    key: str,
    title: str,
    description: str,
    unit: str,
    rows: list[tuple[str, str, int]],
    total: int | None = None,
) -> dict[str, Any]:
    """One table: its rows' counts and their shares of the (rounded) total."""
    total_cell = count_cell(
        sum(number for _key, _label, number in rows) if total is None else total
    )
    return {
        "key": key,
        "title": title,
        "description": description,
        "unit": unit,
        "rows": [
            {
                "key": row_key,
                "label": label,
                "count": (cell := count_cell(number)),
                "percent": percent_cell(cell, total_cell),
            }
            for row_key, label, number in rows
        ],
        "total": total_cell,
    }


def _figure(key: str, label: str, unit: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "label": label, "unit": unit, "value": value}


def _classes(values: list[int], classes: tuple[tuple[str, int], ...]) -> dict[str, int]:
    found = dict.fromkeys((key for key, _lowest in classes), 0)
    for value in values:
        key = classes[0][0]
        for class_key, lowest in classes:
            if value >= lowest:
                key = class_key
        found[key] += 1
    return found


def _families(counts: Counter) -> list[tuple[str, str, int]]:
    """Most seen first; "Other" (the rare and unknown ones) last."""
    named = sorted(
        ((name, number) for name, number in counts.items() if name != OTHER),
        key=lambda item: (-item[1], item[0]),
    )
    rows = [(name, name, number) for name, number in named]
    if counts.get(OTHER):
        rows.append((OTHER, _("Other"), counts[OTHER]))
    return rows


def _outcome_table(tally: Tally) -> dict[str, Any]:
    labels = {
        Outcome.HELD: _("Held"),
        Outcome.NO_SHOW: _("Not held (no-show)"),
        Outcome.CANCELLED: pgettext("appointment outcome", "Cancelled"),
    }
    return _table(
        "outcomes",
        _("Appointments by outcome"),
        _("Every appointment of the period that is over: held, not held, or cancelled."),
        "consultations",
        [(str(key), str(label), tally.outcomes[key]) for key, label in labels.items()],
    )


def _duration_table(tally: Tally) -> dict[str, Any]:
    labels = {
        "under_10": _("under 10 minutes"),
        "10_19": _("10 to 19 minutes"),
        "20_29": _("20 to 29 minutes"),
        "30_44": _("30 to 44 minutes"),
        "45_59": _("45 to 59 minutes"),
        "60_plus": _("60 minutes or more"),
    }
    found = _classes(tally.minutes, DURATIONS)
    return _table(
        "durations",
        _("Held consultations by duration"),
        _("From the first person let in to the end of the consultation."),
        "consultations",
        [(key, str(labels[key]), found[key]) for key, _lowest in DURATIONS],
    )


def _join_table(tally: Tally) -> dict[str, Any]:
    steps = (
        ("invited", _("Invited")),
        ("consented", _("Agreed to the consent text")),
        ("checked", _("Checked their devices")),
        ("entered", _("Entered the waiting room")),
        ("took_part", _("Took part in the consultation")),
    )
    return _table(
        "join",
        _("Joining, step by step"),
        _(
            "People invited by link (citizens, interpreters and others) to consultations that "
            "were not cancelled; shares of everyone invited."
        ),
        "people",
        [(key, str(label), tally.funnel[key]) for key, label in steps],
        total=tally.funnel["invited"],
    )


def _wait_table(tally: Tally) -> dict[str, Any]:
    labels = {
        "under_1": _("under 1 minute"),
        "1_2": _("1 to 2 minutes"),
        "2_5": _("2 to 5 minutes"),
        "5_10": _("5 to 10 minutes"),
        "10_plus": _("10 minutes or more"),
    }
    found = _classes(tally.waits, WAITS)
    return _table(
        "waiting",
        _("Time to join: waiting until let in"),
        _("How long the first person let in waited in the waiting room, per consultation."),
        "consultations",
        [(key, str(labels[key]), found[key]) for key, _lowest in WAITS],
    )


def _check_table(tally: Tally) -> dict[str, Any]:
    labels = {
        "green": _("Green: everything works"),
        "yellow": _("Yellow: works with limitations"),
        "red": _("Red: does not work"),
        "missing": _("No device check"),
    }
    return _table(
        "checks",
        _("Device checks"),
        _(
            "The result of the device check of each person invited by link to a consultation "
            "that was not cancelled."
        ),
        "people",
        [(key, str(labels[key]), tally.checks[key]) for key in CHECKS],
    )


def _quality_table(tally: Tally) -> dict[str, Any]:
    labels = {
        Quality.KEPT: _("Kept their quality"),
        Quality.SAVER: _("Stepped down to data saver"),
        Quality.AUDIO: _("Stepped down to audio only"),
        "": _("No quality reports"),
    }
    return _table(
        "quality",
        _("Quality steps"),
        _(
            "Held consultations by the lowest mode that a page of someone invited by link "
            "stepped down to on a weak connection."
        ),
        "consultations",
        [(str(key) or "unknown", str(label), tally.quality[key]) for key, label in labels.items()],
    )


def _answer_table(key: str, title: str, counts: Counter) -> dict[str, Any]:
    return _table(
        key,
        title,
        _("Answers to the voluntary, anonymous survey after the consultation."),
        "responses",
        [(str(value), str(label), counts[value]) for value, label in Answer.choices],
    )


def _next_mode_table(counts: Counter) -> dict[str, Any]:
    return _table(
        "survey_next_mode",
        _("How would you like to hold your next consultation?"),
        _("Answers to the voluntary, anonymous survey after the consultation."),
        "responses",
        [(str(value), str(label), counts[value]) for value, label in NextMode.choices],
    )


def _location_table(agency: Agency, tally: Tally) -> dict[str, Any]:
    locations = agency.locations.order_by("name")
    rows = [
        (str(place.public_id), place.name, tally.locations[place.pk])
        for place in locations
        if place.active or tally.locations[place.pk]
    ]
    if tally.locations[None]:
        rows.append(("removed", _("Removed locations"), tally.locations[None]))
    return _table(
        "locations",
        _("Appointments by location"),
        _("Every appointment of the period that is over, by the location it was booked for."),
        "consultations",
        rows,
    )


def _figures(tables: dict[str, dict[str, Any]], tally: Tally) -> list[dict[str, Any]]:
    def row(table: str, key: str) -> dict[str, Any]:
        return next(r for r in tables[table]["rows"] if r["key"] == key)

    held = len(tally.minutes)
    attended = count_cell(tally.outcomes[Outcome.HELD] + tally.outcomes[Outcome.NO_SHOW])
    answered_next = count_cell(sum(tally.next_mode.values()))
    video_or_open = count_cell(
        tally.next_mode[NextMode.VIDEO] + tally.next_mode[NextMode.NO_PREFERENCE]
    )
    reported = sum(n for key, n in tally.quality.items() if key)
    return [
        _figure(
            "consultations", _("Appointments over"), "consultations", tables["outcomes"]["total"]
        ),
        _figure("held", _("Consultations held"), "consultations", row("outcomes", "held")["count"]),
        _figure(
            "held_minutes",
            _("Minutes held"),
            "minutes",
            derived_cell(sum(tally.minutes), held, step=MINUTES_BASE),
        ),
        _figure(
            "average_minutes",
            _("Average duration"),
            "minutes",
            derived_cell(statistics.fmean(tally.minutes) if held else None, held),
        ),
        _figure(
            "median_minutes",
            _("Median duration"),
            "minutes",
            derived_cell(statistics.median(tally.minutes) if held else None, held),
        ),
        _figure(
            "no_show_rate",
            _("Not held (no-show), of the appointments not cancelled"),
            "percent",
            percent_cell(row("outcomes", "no_show")["count"], attended),
        ),
        _figure(
            "join_success",
            _("Join success: took part, of those who entered the waiting room"),
            "percent",
            percent_cell(row("join", "took_part")["count"], row("join", "entered")["count"]),
        ),
        _figure(
            "median_wait_seconds",
            _("Median waiting time until let in"),
            "seconds",
            derived_cell(statistics.median(tally.waits) if tally.waits else None, len(tally.waits)),
        ),
        _figure(
            "quality_steps_down",
            _("Steps down in quality"),
            "steps",
            derived_cell(tally.steps_down, reported, step=COUNT_BASE),
        ),
        _figure(
            "easy_to_use",
            _("Found the video consultation easy to use"),
            "percent",
            row("survey_easy_to_use", Answer.YES)["percent"],
        ),
        _figure(
            "would_recommend",
            _("Would recommend the video consultation"),
            "percent",
            row("survey_would_recommend", Answer.YES)["percent"],
        ),
        _figure(
            "video_or_open",
            _("Prefer video for the next consultation, or are open to it"),
            "percent",
            percent_cell(video_or_open, answered_next),
        ),
    ]


def report(
    agency: Agency, *, location: Location | None = None, start: date, end: date
) -> dict[str, Any]:
    """The agency's statistics for the days start to end (both included, the agency's days),
    of one of its locations or of all; in the active language, as JSON data."""
    if location is not None and location.agency_id != agency.pk:
        raise ValueError("the location belongs to another agency")
    if end < start:
        raise ValueError("the period ends before it starts")
    tally = _tally(agency, location, start, end)
    tables = [
        _outcome_table(tally),
        _duration_table(tally),
        _join_table(tally),
        _wait_table(tally),
        _check_table(tally),
        _table(
            "browsers",
            _("Browsers"),
            _("The browser family of each person invited by link whose room page connected."),
            "people",
            _families(tally.browsers),
        ),
        _table(
            "systems",
            _("Operating systems"),
            _(
                "The operating system family of each person invited by link whose room page "
                "connected."
            ),
            "people",
            _families(tally.systems),
        ),
        _quality_table(tally),
        _answer_table(
            "survey_easy_to_use", _("Was the video consultation easy to use?"), tally.easy
        ),
        _answer_table(
            "survey_would_recommend",
            _("Would you recommend video consultations to others?"),
            tally.recommend,
        ),
        _next_mode_table(tally.next_mode),
    ]
    if location is None:
        tables.append(_location_table(agency, tally))
    by_key = {table["key"]: table for table in tables}
    return {
        "agency": {"id": str(agency.public_id), "name": agency.name},
        "location": (
            {"id": str(location.public_id), "name": location.name} if location is not None else None
        ),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "rules": {"minimum": MINIMUM, "count_base": COUNT_BASE, "minutes_base": MINUTES_BASE},
        "figures": _figures(by_key, tally),
        "tables": tables,
    }
