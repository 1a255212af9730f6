"""`make bench`: what the citizen downloads, how fast the call starts, what a call costs the server.

Prints `metric: value unit` lines and writes bench/results/latest.json (and a dated copy).
"""

import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
from playwright.sync_api import Page, sync_playwright

from bench.server import BenchServer

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = 10
CALL_SECONDS = 120
PASSWORD = "bench-password-4711-lang"
CHROMIUM_ARGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-loopback-in-peer-connection",
    "--no-sandbox",
]

STATS = """async () => {
  let frames = 0, packets = 0;
  for (const peer of (globalThis.videoterminPeers || new Map()).values()) {
    const report = await peer.pc.getStats();
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
      if (s.type === 'inbound-rtp' && s.kind === 'audio') packets += s.packetsReceived || 0;
    });
  }
  return {frames, packets};
}"""


def setup_counselor():
    from django.contrib.auth import get_user_model

    from videotermin.agencies.models import Agency, Location, StaffMember

    agency = Agency.objects.create(name="Bench Agentur", slug="bench")
    location = Location.objects.create(agency=agency, name="Bench")
    user = get_user_model().objects.create_user("bench", password=PASSWORD)
    StaffMember.objects.create(user=user, agency=agency, location=location)
    return user, location


def book(counselor, location):
    """Book in a worker thread: Playwright's sync API keeps an event loop in this one."""
    from django.utils import timezone

    from videotermin.appointments.services import create_appointment

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(
            create_appointment,
            counselor=counselor,
            location=location,
            starts_at=timezone.now() + timedelta(minutes=2),
            citizen_name="Bench Bürger",
            citizen_email="bench@example.org",
            send_invitation=False,
        ).result()


def wait_for_media(page: Page, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = page.evaluate(STATS)
        if stats["frames"] > 0 and stats["packets"] > 0:
            return
        time.sleep(0.02)
    raise RuntimeError("no media arrived")


def citizen_to_waiting_room(page: Page, url: str, token: str) -> None:
    page.goto(f"{url}/j/{token}/")
    page.locator("button[name=decision][value=accept]").click()
    page.locator("#enter-link").click()
    page.wait_for_url("**/room/")


def one_call(browser, url: str, counselor_page: Page, booking, measure_bytes: bool) -> dict:
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    downloaded = {"bytes": 0}
    if measure_bytes:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on(
            "Network.loadingFinished",
            lambda event: downloaded.__setitem__(
                "bytes", downloaded["bytes"] + event["encodedDataLength"]
            ),
        )
    citizen_to_waiting_room(page, url, booking.token)
    counselor_page.goto(f"{url}/staff/appointments/{booking.appointment.public_id}/room/")
    admit = counselor_page.locator("button.admit")
    admit.wait_for()
    started = time.monotonic()
    admit.click()
    wait_for_media(page)
    elapsed_ms = (time.monotonic() - started) * 1000
    wait_for_media(counselor_page)
    return {"context": context, "page": page, "admit_ms": elapsed_ms, "bytes": downloaded["bytes"]}


def main() -> int:
    results: dict[str, float] = {}
    with BenchServer() as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        counselor, location = setup_counselor()
        staff = browser.new_context(locale="en-GB")
        counselor_page = staff.new_page()
        counselor_page.goto(f"{server.url}/staff/login/")
        counselor_page.fill("input[name=username]", "bench")
        counselor_page.fill("input[name=password]", PASSWORD)
        counselor_page.locator("form button[type=submit]").click()
        counselor_page.wait_for_load_state()

        admit_times = []
        for run in range(RUNS):
            call = one_call(
                browser,
                server.url,
                counselor_page,
                book(counselor, location),
                measure_bytes=run == 0,
            )
            if run == 0:
                results["citizen_download_compressed"] = round(call["bytes"] / 1024, 1)
            admit_times.append(call["admit_ms"])
            if run < RUNS - 1:
                call["context"].close()

        results["admit_to_first_remote_frame_median"] = round(statistics.median(admit_times), 1)

        # The last call stays up: measure what the server spends on it.
        server_process = psutil.Process(server.process.pid)
        before = server_process.cpu_times()
        time.sleep(CALL_SECONDS)
        after = server_process.cpu_times()
        wait_for_media(call["page"])
        results["server_cpu_for_2min_call"] = round(
            (after.user - before.user) + (after.system - before.system), 3
        )
        browser.close()

    units = {
        "citizen_download_compressed": "KB",
        "admit_to_first_remote_frame_median": "ms",
        "server_cpu_for_2min_call": "s",
    }
    for metric, value in results.items():
        print(f"{metric}: {value} {units[metric]}")
    budget_ok = results["citizen_download_compressed"] <= 100
    print(f"citizen_download_budget_100KB: {'met' if budget_ok else 'EXCEEDED'}")
    RESULTS.mkdir(exist_ok=True)
    record = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "results": results,
        "units": units,
        "runs": RUNS,
        "call_seconds": CALL_SECONDS,
    }
    (RESULTS / "latest.json").write_text(json.dumps(record, indent=2) + "\n")
    return 0 if budget_ok else 1


if __name__ == "__main__":
    sys.exit(main())
