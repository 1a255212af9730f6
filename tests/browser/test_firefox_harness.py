"""The Firefox the browser tests drive (tests/browser/firefox.py): errors reach the test, each
person has a browser of her own, and nothing of Firefox outlives the session."""

import re

import psutil
import pytest
from django.urls import reverse
from tests.browser.firefox import Firefox, FirefoxError

pytestmark = pytest.mark.browser


def test_a_page_error_in_firefox_reaches_the_test_with_its_message(new_firefox_context):
    page = new_firefox_context().new_page()
    page.goto(reverse("staff:login"))

    with pytest.raises(FirefoxError, match="no such appointment"):
        page.evaluate("() => { throw new Error('no such appointment'); }")
    with pytest.raises(FirefoxError, match=re.escape("#nothing-here")):
        page.wait_for_selector("#nothing-here", timeout=0.5)
    # A promise of the page that never settles is an error too, not a hung test.
    with pytest.raises(FirefoxError, match="timed out"):
        page.evaluate("() => new Promise(() => {})", timeout=1)
    # The page is still usable afterwards.
    assert page.evaluate("(a, b) => a + b", 2, 3) == 5
    assert page.errors() == []


def test_two_people_in_firefox_do_not_share_a_session(new_firefox_context, consented):
    dana, stranger = new_firefox_context().new_page(), new_firefox_context().new_page()
    check = reverse("journey:check", args=[consented.citizen.public_id])

    dana.goto(reverse("journey:link", args=[consented.token]))

    assert dana.goto(check) == 200
    assert stranger.goto(check) == 403
    dana.wait_for_selector("#check")
    stranger.wait_for_selector("#check", state="hidden")


def test_closing_firefox_ends_the_driver_and_every_firefox_process(server):
    firefox = Firefox()
    page = firefox.new_context(server.url).new_page()
    page.goto(reverse("staff:login"))
    driver = psutil.Process(firefox._process.pid)
    browser = psutil.Process(firefox._firefox_pid)
    processes = [driver, browser, *browser.children(recursive=True)]
    assert len(processes) > 2  # Firefox runs its pages in processes of their own

    firefox.close()

    gone, alive = psutil.wait_procs(processes, timeout=10)
    assert alive == [], alive
    with pytest.raises(FirefoxError, match="not running"):
        page.evaluate("1")
