"""Anonymous facts, survey answers and the analyst that the statistics' tests share."""

from datetime import date
from typing import Any

from tests.personas import make_staff

from videotermin.agencies.models import StaffMember
from videotermin.stats.models import ConsultationFact
from videotermin.survey.models import SurveyResponse

MARCH = (date(2026, 3, 1), date(2026, 3, 31))


def make_analyst(agency, location, username: str = "greta", name: str = "Greta Zahl"):
    """Greta, who reads the agency's statistics and nothing else."""
    user = make_staff(agency, location, username, name)
    StaffMember.objects.filter(user=user).update(role=StaffMember.Role.ANALYST)
    user.refresh_from_db()
    return user


def held(agency, location, times: int = 1, *, day: date = date(2026, 3, 10), **fields: Any):
    """`times` consultations held with one citizen who agreed, checked green, waited, took part."""
    values = {
        "held_minutes": 30,
        "seconds_to_admit": 30,
        "invited": {"citizen": 1},
        "took_part": {"host": 1, "citizen": 1},
        "entered": 1,
        "consents_accepted": 1,
        "checks_green": 1,
        "browsers": {"Firefox": 1},
        "systems": {"Windows": 1},
        "quality": "kept",
    }
    return facts(agency, location, times, day=day, outcome="held", **{**values, **fields})


def no_show(agency, location, times: int = 1, *, day: date = date(2026, 3, 10), **fields: Any):
    values = {"invited": {"citizen": 1}, "checks_missing": 1}
    return facts(agency, location, times, day=day, outcome="no_show", **{**values, **fields})


def cancelled(agency, location, times: int = 1, *, day: date = date(2026, 3, 10), **fields: Any):
    values = {"invited": {"citizen": 1}, "checks_missing": 1}
    return facts(agency, location, times, day=day, outcome="cancelled", **{**values, **fields})


def facts(agency, location, times: int, *, day: date, **fields: Any) -> list[ConsultationFact]:
    values = {"planned_minutes": 30, **fields}
    return ConsultationFact.objects.bulk_create(
        ConsultationFact(agency=agency, location=location, day=day, **values) for _ in range(times)
    )


def answers(agency, location, times: int = 1, *, day: date = date(2026, 3, 10), **fields: str):
    return SurveyResponse.objects.bulk_create(
        SurveyResponse(agency=agency, location=location, day=day, **fields) for _ in range(times)
    )


def table(data: dict, key: str) -> dict:
    return next(t for t in data["tables"] if t["key"] == key)


def shown(cell: dict) -> Any:
    """A cell as a reader sees it: its value, or that it is suppressed."""
    return "fewer than 5" if cell["suppressed"] else cell["value"]


def counts(data: dict, key: str) -> dict[str, Any]:
    """A table's rows as {key: shown count}, with its total."""
    found = table(data, key)
    return {row["key"]: shown(row["count"]) for row in found["rows"]} | {
        "total": shown(found["total"])
    }


def percents(data: dict, key: str) -> dict[str, Any]:
    return {row["key"]: shown(row["percent"]) for row in table(data, key)["rows"]}


def figure(data: dict, key: str) -> Any:
    return shown(next(f for f in data["figures"] if f["key"] == key)["value"])
