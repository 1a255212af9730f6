"""The analyst signs in and lands on the statistics: on a laptop and on a phone nothing scrolls
sideways, every chart is an image with its words and a table beside it, and axe-core finds
nothing to fault. Screenshots go to var/screenshots/ for a person to look at."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from tests.browser.conftest import log_in
from tests.browser.test_accessibility import violations
from tests.statistics_helpers import answers, cancelled, held, make_analyst, no_show

from videotermin.agencies.models import Location

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SCREENS = {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def a_month(agency, location):
    """A month of consultations at two locations: one large, one with three only."""
    north = Location.objects.create(agency=agency, name="Musterstadt Nord (Zweigstelle)")
    today = timezone.localdate()
    for days_ago in range(0, 28, 3):
        day = today - timedelta(days=days_ago)
        held(agency, location, 4, day=day, held_minutes=20 + days_ago)
        held(
            agency,
            location,
            2,
            day=day,
            held_minutes=45,
            seconds_to_admit=240,
            browsers={"Chrome Mobile": 1},
            systems={"Android": 1},
            quality="saver",
            quality_steps_down=1,
        )
        no_show(agency, location, 1, day=day)
        answers(agency, location, 3, day=day, easy_to_use="yes", would_recommend="yes")
        answers(agency, location, 1, day=day, easy_to_use="partly", next_mode="video")
    cancelled(agency, location, 6, day=today)
    held(agency, north, 3, day=today, browsers={"Samsung Internet": 1}, systems={"Android": 1})
    held(agency, location, 2, day=today, browsers={"Opera": 1}, systems={"Linux": 1})
    return north


@pytest.mark.parametrize("screen", SCREENS)
def test_the_statistics_fit_a_laptop_and_a_phone(screen, a_month, agency, location, new_context):
    make_analyst(agency, location)
    size = SCREENS[screen]
    page = new_context(viewport=size, locale="de-DE").new_page()

    log_in(page, "greta")

    assert page.url.endswith("/staff/statistics/")
    # Once more, without the note that the sign-in worked.
    page.reload()
    page.wait_for_selector("svg.chart")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"statistics-{screen}.png")
    page.screenshot(path=SCREENSHOTS / f"statistics-{screen}-full.png", full_page=True)
    for table in ("outcomes", "browsers"):
        page.locator(f"[data-table={table}]").screenshot(
            path=SCREENSHOTS / f"statistics-{screen}-{table}.png"
        )
    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    assert page.locator("svg.chart[role=img]").count() == 12
    assert page.locator(".stats-section table").count() == 12
    # The small location and the rare browser are there by name, their figures are not.
    locations = page.locator("[data-table=locations] table").inner_text()
    assert "Musterstadt Nord (Zweigstelle)\tweniger als 5" in locations
    assert "Opera\tweniger als 5" in page.locator("[data-table=browsers] table").inner_text()
    found = violations(page)
    assert found == [], found
