"""Statistics at the push of a button (A4): every figure from the anonymous facts of the chosen
period and location, no group of fewer than five shown, the same figures in the page's charts
and tables, the CSV and the JSON."""

import csv
import io
import json
import re
from datetime import date

import pytest
from django.urls import reverse
from django.utils import translation
from tests.statistics_helpers import (
    MARCH,
    answers,
    cancelled,
    counts,
    figure,
    held,
    make_analyst,
    no_show,
    percents,
    table,
)

from videotermin.agencies.models import Location
from videotermin.lib.spreadsheet import FORMULA_STARTS
from videotermin.stats import charts
from videotermin.stats.reports import report
from videotermin.stats.schemas import StatisticsReport

START, END = MARCH


@pytest.fixture
def north(agency):
    return Location.objects.create(agency=agency, name="Musterstadt Nord")


@pytest.fixture
def greta(client, agency, location):
    """The agency's analyst, signed in."""
    client.force_login(make_analyst(agency, location))
    return client


def page_url() -> str:
    return reverse("stats:index") + f"?start={START}&end={END}"


@pytest.fixture
def a_month_of_consultations(agency, location):
    """March at Mitte: 35 appointments over, 20 of them held; 20 answers to the survey."""
    held(agency, location, 5, held_minutes=8, seconds_to_admit=30)
    held(
        agency,
        location,
        5,
        held_minutes=25,
        seconds_to_admit=30,
        browsers={"Chrome Mobile": 1},
        systems={"Android": 1},
        quality="saver",
        quality_steps_down=1,
    )
    held(
        agency,
        location,
        5,
        held_minutes=40,
        seconds_to_admit=200,
        browsers={"Chrome Mobile": 1},
        systems={"Android": 1},
        quality="",
    )
    held(agency, location, 5, held_minutes=40, seconds_to_admit=200)
    no_show(agency, location, 5, consents_accepted=1, checks_missing=0, checks_yellow=1)
    no_show(agency, location, 5)
    cancelled(agency, location, 5)
    answers(agency, location, 15, easy_to_use="yes", would_recommend="yes", next_mode="video")
    answers(agency, location, 5, easy_to_use="partly", would_recommend="yes", next_mode="none")
    answers(agency, location, 5, next_mode="in_person")


def test_every_figure_comes_from_the_facts_of_the_period(agency, a_month_of_consultations):
    data = report(agency, start=START, end=END)

    assert counts(data, "outcomes") == {"held": 20, "no_show": 10, "cancelled": 5, "total": 35}
    assert percents(data, "outcomes") == {"held": 57, "no_show": 29, "cancelled": 14}
    assert counts(data, "durations") == {
        "under_10": 5,
        "10_19": 0,
        "20_29": 5,
        "30_44": 10,
        "45_59": 0,
        "60_plus": 0,
        "total": 20,
    }
    # 5 x 8 + 5 x 25 + 10 x 40 = 565 minutes, shown in whole hours.
    assert figure(data, "held_minutes") == 540
    assert figure(data, "average_minutes") == 28
    assert figure(data, "median_minutes") == 33
    assert figure(data, "no_show_rate") == 33
    # The cancelled appointments' citizens could not join: they count nowhere here.
    assert counts(data, "join") == {
        "invited": 30,
        "consented": 25,
        "checked": 25,
        "entered": 20,
        "took_part": 20,
        "total": 30,
    }
    assert percents(data, "join") == {
        "invited": 100,
        "consented": 83,
        "checked": 83,
        "entered": 67,
        "took_part": 67,
    }
    assert figure(data, "join_success") == 100
    assert counts(data, "waiting") == {
        "under_1": 10,
        "1_2": 0,
        "2_5": 10,
        "5_10": 0,
        "10_plus": 0,
        "total": 20,
    }
    assert figure(data, "median_wait_seconds") == 115
    assert counts(data, "checks") == {"green": 20, "yellow": 5, "red": 0, "missing": 5, "total": 30}
    assert counts(data, "browsers") == {"Chrome Mobile": 10, "Firefox": 10, "total": 20}
    assert counts(data, "systems") == {"Android": 10, "Windows": 10, "total": 20}
    assert counts(data, "quality") == {
        "kept": 10,
        "saver": 5,
        "audio": 0,
        "unknown": 5,
        "total": 20,
    }
    assert figure(data, "quality_steps_down") == 5
    assert counts(data, "survey_easy_to_use") == {"yes": 15, "partly": 5, "no": 0, "total": 20}
    assert counts(data, "survey_would_recommend") == {"yes": 20, "partly": 0, "no": 0, "total": 20}
    assert counts(data, "survey_next_mode") == {
        "video": 15,
        "in_person": 5,
        "phone": 0,
        "none": 5,
        "total": 25,
    }
    # As in the agency's figures: easy to use, would recommend, video or open to it.
    assert figure(data, "easy_to_use") == 75
    assert figure(data, "would_recommend") == 100
    assert figure(data, "video_or_open") == 80


def test_counts_are_rounded_to_fives_and_shares_come_from_the_rounded_counts(agency, location):
    held(agency, location, 7, held_minutes=31)
    no_show(agency, location, 1)

    data = report(agency, start=START, end=END)

    assert counts(data, "outcomes") == {
        "held": 5,
        "no_show": "fewer than 5",
        "cancelled": 0,
        "total": 10,
    }
    assert percents(data, "outcomes") == {"held": 50, "no_show": "fewer than 5", "cancelled": 0}
    # 7 x 31 = 217 minutes: 240 in whole hours; average and median from seven consultations.
    assert figure(data, "held_minutes") == 240
    assert figure(data, "average_minutes") == 31
    assert figure(data, "median_minutes") == 31


def test_a_location_with_three_consultations_is_fewer_than_five_everywhere(
    agency, location, north, greta
):
    held(agency, location, 20)
    held(agency, north, 3, held_minutes=17, browsers={"Safari": 1}, systems={"Mac OS X": 1})

    data = report(agency, start=START, end=END)
    assert counts(data, "locations") == {
        str(location.public_id): 20,
        str(north.public_id): "fewer than 5",
        "total": 25,
    }
    # Reported on its own, nothing of the location is shown: not its minutes, not its browsers.
    alone = report(agency, location=north, start=START, end=END)
    assert counts(alone, "outcomes") == {
        "held": "fewer than 5",
        "no_show": 0,
        "cancelled": 0,
        "total": "fewer than 5",
    }
    for key in ("held_minutes", "average_minutes", "median_minutes", "median_wait_seconds"):
        assert figure(alone, key) == "fewer than 5"
    assert counts(alone, "browsers") == {"Safari": "fewer than 5", "total": "fewer than 5"}

    # The page, its charts and the downloads say the same.
    params = {"start": START, "end": END, "location": north.public_id}
    page = greta.get(reverse("stats:index"), params).content.decode()
    assert re.search(r"<dt>Durchschnittliche Dauer</dt><dd>weniger als 5</dd>", page)
    durations = re.search(r'data-table="durations".*?</section>', page, re.S).group(0)
    assert "<rect" not in durations
    assert "weniger als 5" in durations
    download = greta.get(reverse("stats:csv"), params).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(download)))
    assert ["Termine nach Ausgang", "Durchgeführt", "weniger als 5", "weniger als 5"] in rows
    body = json.loads(greta.get(reverse("stats:json"), params).content)
    assert table(body, "outcomes")["rows"][0]["count"] == {"value": None, "suppressed": True}


def test_a_browser_family_seen_twice_is_suppressed(agency, location):
    held(agency, location, 10)
    held(agency, location, 2, browsers={"Opera": 1}, systems={"Linux": 1})

    data = report(agency, start=START, end=END)

    assert counts(data, "browsers") == {"Firefox": 10, "Opera": "fewer than 5", "total": 10}
    assert counts(data, "systems") == {"Windows": 10, "Linux": "fewer than 5", "total": 10}


def test_a_total_minus_the_other_cells_never_gives_back_a_suppressed_one(agency, location):
    """Months that differ only in a suppressed cell look exactly the same: 1 or 4 no-shows."""
    held(agency, location, 37)
    cancelled(agency, location, 5)
    no_show(agency, location, 1)
    one = report(agency, start=START, end=END)

    no_show(agency, location, 3)
    four = report(agency, start=START, end=END)

    assert table(one, "outcomes") == table(four, "outcomes")
    assert counts(one, "outcomes") == {
        "held": 35,
        "no_show": "fewer than 5",
        "cancelled": 5,
        "total": 45,
    }
    # What a reader could take for the no-shows, 45 - 35 - 5 = 5, is neither 1 nor 4.


def test_the_agency_total_minus_the_other_locations_never_gives_back_a_small_one(
    agency, location, north
):
    held(agency, location, 43)
    held(agency, north, 1, day=date(2026, 3, 20))
    one = report(agency, start=START, end=END)

    held(agency, north, 2, day=date(2026, 3, 21))
    three = report(agency, start=START, end=END)

    assert table(one, "locations") == table(three, "locations")
    assert counts(one, "locations") == {
        str(location.public_id): 45,
        str(north.public_id): "fewer than 5",
        "total": 45,
    }


def test_the_period_and_the_location_choose_the_facts(agency, location, north):
    held(agency, location, 5, day=date(2026, 2, 28))
    held(agency, location, 10, day=date(2026, 3, 1))
    held(agency, location, 15, day=date(2026, 3, 31))
    held(agency, location, 20, day=date(2026, 4, 1))
    held(agency, north, 5, day=date(2026, 3, 15))
    answers(agency, location, 5, day=date(2026, 3, 2), would_recommend="yes")
    answers(agency, north, 10, day=date(2026, 3, 2), would_recommend="no")
    answers(agency, location, 20, day=date(2026, 4, 2), would_recommend="no")

    march = report(agency, start=START, end=END)
    mitte = report(agency, location=location, start=START, end=END)
    first = report(agency, start=date(2026, 3, 1), end=date(2026, 3, 1))

    assert counts(march, "outcomes")["held"] == 30
    assert counts(mitte, "outcomes")["held"] == 25
    assert counts(first, "outcomes")["held"] == 10
    assert counts(march, "survey_would_recommend") == {"yes": 5, "partly": 0, "no": 10, "total": 15}
    assert counts(mitte, "survey_would_recommend") == {"yes": 5, "partly": 0, "no": 0, "total": 5}
    assert "locations" not in {t["key"] for t in mitte["tables"]}
    assert mitte["location"] == {"id": str(location.public_id), "name": location.name}


def test_the_statistics_of_another_agency_never_mix_in(agency, location, other_agency):
    held(agency, location, 5)
    elsewhere = Location.objects.create(agency=other_agency, name="Anderswo")
    held(other_agency, elsewhere, 50)
    answers(other_agency, elsewhere, 50, would_recommend="no")

    data = report(agency, start=START, end=END)

    assert counts(data, "outcomes")["total"] == 5
    assert counts(data, "survey_would_recommend")["total"] == 0
    with pytest.raises(ValueError):
        report(agency, location=elsewhere, start=START, end=END)


def test_the_report_matches_its_schema_and_the_json_download(agency, location, greta):
    held(agency, location, 12)
    no_show(agency, location, 2)

    data = report(agency, start=START, end=END)
    StatisticsReport.model_validate(data)
    response = greta.get(reverse("stats:json"), {"start": START, "end": END})

    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == json.loads(json.dumps(data))


def test_the_csv_opens_in_a_spreadsheet_as_text_without_formulas(agency, location, greta):
    for name in ('=HYPERLINK("http://evil.example")', "+49 Zweigstelle", "-Nord", "@Süd"):
        place = Location.objects.create(agency=agency, name=name)
        held(agency, place, 5)
    held(agency, location, 5)

    response = greta.get(reverse("stats:csv"), {"start": START, "end": END})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8")[1:])))
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    assert '\'=HYPERLINK("http://evil.example")' in cells
    assert "'@Süd" in cells
    assert "Musterstadt Mitte" in cells


def test_each_chart_is_an_image_with_a_title_a_description_and_a_table_beside_it(
    agency, location, greta
):
    held(agency, location, 20)
    no_show(agency, location, 2)

    html = greta.get(page_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    sections = re.findall(r'<section class="stats-section".*?</section>', html, re.S)
    assert len(sections) == 12
    for section in sections:
        svg = re.search(r"<svg[^>]*>", section).group(0)
        assert 'role="img"' in svg
        title_id, desc_id = re.search(r'aria-labelledby="([^" ]+) ([^"]+)"', svg).groups()
        assert f'<title id="{title_id}">' in section
        assert f'<desc id="{desc_id}">' in section
        assert "<table" in section and "<caption" in section
        assert "style=" not in section
    outcomes = next(s for s in sections if 'data-table="outcomes"' in s)
    description = re.search(r"<desc[^>]*>(.*?)</desc>", outcomes).group(1)
    assert description == (
        "Held: 20 (100 %); Not held (no-show): fewer than 5; Cancelled: 0 (0 %); Total: 20."
    )
    # A label at every bar, the figure at its end; the suppressed figure has no bar at all.
    assert outcomes.count("<rect") == 1
    assert ">Held<" in outcomes and ">fewer than 5<" in outcomes


def test_the_bars_stand_out_from_the_page_by_more_than_three_to_one():
    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    contrast = (1.05) / (luminance(charts.BAR_COLOUR) + 0.05)

    assert contrast >= 3


def test_the_page_speaks_german_and_english(agency, location, greta):
    held(agency, location, 5)

    german = greta.get(page_url()).content.decode()
    english = greta.get(page_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Termine nach Ausgang" in german and "Letzte 7 Tage" in german
    assert "Appointments by outcome" in english and "Last 7 days" in english
    with translation.override("de"):
        assert report(agency, start=START, end=END)["tables"][0]["title"] == "Termine nach Ausgang"


def test_the_presets_choose_the_last_7_and_30_days_and_this_quarter(greta, monkeypatch):
    from django.utils import timezone

    from videotermin.stats import views

    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: date(2026, 5, 20))
    html = greta.get(reverse("stats:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert [(p[0], p[2], p[3]) for p in views.presets(date(2026, 5, 20))] == [
        ("last_7_days", date(2026, 5, 14), date(2026, 5, 20)),
        ("last_30_days", date(2026, 4, 21), date(2026, 5, 20)),
        ("this_quarter", date(2026, 4, 1), date(2026, 5, 20)),
    ]
    # Without a choice: the last 30 days, marked as the current preset.
    assert 'start=2026-04-21&amp;end=2026-05-20" aria-current="true">Last 30 days' in html
    assert 'value="2026-04-21"' in html


def test_a_wrong_period_is_reported_and_the_last_30_days_are_shown(greta):
    response = greta.get(reverse("stats:index"), {"start": "2026-03-31", "end": "2026-03-01"})

    assert response.status_code == 200
    assert "Das Ende des Zeitraums liegt vor seinem Beginn." in response.content.decode()
