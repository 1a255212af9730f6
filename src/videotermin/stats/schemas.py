"""The shape of a statistics report (stats/reports.py `report()`), for the API's OpenAPI schema:
`response=StatisticsReport`."""

from datetime import date
from typing import Literal
from uuid import UUID

from ninja import Schema
from pydantic import Field


class Cell(Schema):
    value: int | None = Field(
        description=(
            "The figure, rounded (counts to a multiple of rules.count_base, minutes to a "
            "multiple of rules.minutes_base); null when suppressed or when there is nothing "
            "to compute it from."
        )
    )
    suppressed: bool = Field(
        description=(
            "True when the figure rests on fewer than rules.minimum consultations, people or "
            "answers (shown as “fewer than 5”)."
        )
    )


class Row(Schema):
    key: str = Field(description="Stable key of the category (a location's id for locations).")
    label: str = Field(description="The category in the language of the request.")
    count: Cell
    percent: Cell = Field(description="Share of the table's total, in whole percent.")


class Table(Schema):
    key: Literal[
        "outcomes",
        "durations",
        "join",
        "waiting",
        "checks",
        "browsers",
        "systems",
        "quality",
        "survey_easy_to_use",
        "survey_would_recommend",
        "survey_next_mode",
        "locations",
    ]
    title: str
    description: str
    unit: Literal["consultations", "people", "responses"]
    rows: list[Row]
    total: Cell


class Figure(Schema):
    key: str
    label: str
    unit: Literal["consultations", "minutes", "seconds", "percent", "steps"]
    value: Cell


class Place(Schema):
    id: UUID
    name: str


class Rules(Schema):
    minimum: int = Field(description="Smaller groups are suppressed.")
    count_base: int = Field(description="Counts are rounded to a multiple of this.")
    minutes_base: int = Field(description="Sums of minutes are rounded to a multiple of this.")


class StatisticsReport(Schema):
    agency: Place
    location: Place | None = Field(description="The location reported on; null for all.")
    start: date = Field(description="First day of the period (the agency's days).")
    end: date = Field(description="Last day of the period, included.")
    rules: Rules
    figures: list[Figure]
    tables: list[Table] = Field(
        description="The locations table is there only in a report on all locations."
    )
