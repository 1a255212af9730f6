"""A citizen whose camera is blocked or missing gets specific help, not a dead end."""

import pytest
from playwright.sync_api import expect
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

# Without the fake permission prompt, headless Chromium answers every request with "denied".
BLOCKED = [arg for arg in CHROMIUM_ARGS if arg != "--use-fake-ui-for-media-stream"]
# Without fake devices (but with the prompt accepted), the machine has no camera at all.
MISSING = [arg for arg in CHROMIUM_ARGS if arg != "--use-fake-device-for-media-stream"]


@pytest.fixture
def launch(browser, server, consented):
    """Open the check page in a second Chromium started with other flags."""
    started = []

    def open_check_page(args):
        other = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=args)
        started.append(other)
        page = other.new_context(locale="de-DE").new_page()
        page.goto(f"{server.url}/j/{consented.token}/")
        page.goto(page.url + "check/")
        return page

    yield open_check_page
    for other in started:
        other.close()


@pytest.fixture
def blocked_page(launch):
    return launch(BLOCKED)


@pytest.fixture
def missing_page(launch):
    return launch(MISSING)


def test_a_blocked_camera_gets_browser_specific_help_and_the_support_contact(blocked_page):
    help_section = blocked_page.locator("#device-help")
    expect(help_section).to_be_visible()
    expect(help_section.locator("[data-browser=chrome]")).to_be_visible()
    expect(blocked_page.locator("[data-remedy=camera-denied]")).to_be_visible()
    expect(blocked_page.locator("#result-light")).to_have_class("light red")
    expect(blocked_page.locator("body")).to_contain_text("0800 4 555501")


def test_a_missing_camera_is_named_as_missing_not_as_blocked(missing_page):
    expect(missing_page.locator("[data-remedy=camera-missing]")).to_be_visible()
    expect(missing_page.locator("[data-remedy=camera-denied]")).to_be_hidden()
    expect(missing_page.locator("#result-light")).to_have_class("light red")
