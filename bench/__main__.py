"""`make bench`: what the citizen downloads, how fast the call starts, what a call costs the server.

Prints `metric: value unit` lines and writes bench/results/latest.json.

The citizen's download is the weight of every page, script and style sheet from her link to the
running call, compressed as sent; the network check's measurement payloads and the media are
not part of it (see PROBE).
"""

import json
import os
import re
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
from playwright.sync_api import Page, sync_playwright
from tests.janusserver import JanusServer
from tests.turnserver import TurnServer

from bench.server import BenchServer

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = 10
RELAY_RUNS = 5
TURN_SECRET = "bench-turn-secret-0815"
JANUS_SECRET = "bench-janus-secret-0815"
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


# The selected candidate pair of every peer: both ends must be TURN relay candidates.
RELAYED = """async () => {
  const types = [];
  for (const peer of (globalThis.videoterminPeers || new Map()).values()) {
    const report = await peer.pc.getStats();
    report.forEach((s) => {
      if (s.type !== 'transport' || !s.selectedCandidatePairId) return;
      const pair = report.get(s.selectedCandidatePairId);
      types.push(report.get(pair.localCandidateId).candidateType,
                 report.get(pair.remoteCandidateId).candidateType);
    });
  }
  return types.length > 0 && types.every((t) => t === 'relay');
}"""


def setup_counselor(slug: str = "bench", relay_only: bool = False):
    from django.contrib.auth import get_user_model

    from videotermin.agencies.models import Agency, Location, StaffMember

    agency = Agency.objects.create(name=f"Agentur {slug}", slug=slug, relay_only=relay_only)
    location = Location.objects.create(agency=agency, name="Bench")
    user = get_user_model().objects.create_user(slug, password=PASSWORD)
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


# The network check's own measurements: random bytes sized to the link (64 KB on a slow one,
# 1 MB more on a fast one), like the call's media not part of the pages' weight. Whether they
# finish before the citizen moves on is a matter of timing, so they are never counted.
PROBE = re.compile(r"/check/(ping|download|upload)/")


def one_call(
    browser, url: str, counselor_page: Page, booking, measure_bytes: bool, init_script: str = ""
) -> dict:
    context = browser.new_context(locale="en-GB")
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    downloaded = {"bytes": 0}
    if measure_bytes:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        probes: set[str] = set()

        def sent(event: dict) -> None:
            if PROBE.search(event["request"]["url"]):
                probes.add(event["requestId"])

        def finished(event: dict) -> None:
            if event["requestId"] not in probes:
                downloaded["bytes"] += event["encodedDataLength"]

        cdp.on("Network.requestWillBeSent", sent)
        cdp.on("Network.loadingFinished", finished)
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


TEST_CALL_RUNS = 5
ECHO_FRAMES = """async () => {
  const call = globalThis.videoterminTestCall;
  return call ? (await call.stats()).framesDecoded : 0;
}"""


def test_call_round_trips(browser, url: str, booking) -> list[float]:
    """From "Start test call" to the first own frame back from the server's echo, several times."""
    page = open_check_page(browser, url, booking)
    times = []
    for _ in range(TEST_CALL_RUNS):
        page.reload()
        page.locator("#preview").wait_for()
        page.wait_for_function("() => document.querySelector('#preview').srcObject !== null")
        started = time.monotonic()
        page.locator("#test-call").click()
        deadline = started + 30
        while page.evaluate(ECHO_FRAMES) == 0:
            if time.monotonic() > deadline:
                raise RuntimeError("no echo came back")
            time.sleep(0.01)
        times.append((time.monotonic() - started) * 1000)
    page.context.close()
    return times


ECHO_CPU_SECONDS = 20


def open_check_page(browser, url: str, booking) -> Page:
    """The citizen's device check, after her consent, with her camera showing."""
    page = browser.new_context(locale="en-GB").new_page()
    page.goto(f"{url}/j/{booking.token}/")
    page.locator("button[name=decision][value=accept]").click()
    page.locator("#test-call").wait_for()
    page.wait_for_function("() => document.querySelector('#preview').srcObject !== null")
    return page


def echo_cpu_per_minute(browser, url: str, booking, processes: list[psutil.Process]) -> float:
    """CPU seconds the given processes spend per minute of one running test call."""
    page = open_check_page(browser, url, booking)
    page.locator("#test-call").click()
    deadline = time.monotonic() + 30
    while page.evaluate(ECHO_FRAMES) == 0:
        if time.monotonic() > deadline:
            raise RuntimeError("no echo came back")
        time.sleep(0.05)

    def spent() -> float:
        return sum(sum(p.cpu_times()[:2]) for p in processes)

    before = spent()
    time.sleep(ECHO_CPU_SECONDS)
    cpu = spent() - before
    if page.evaluate(ECHO_FRAMES) == 0:
        raise RuntimeError("the echo stopped during the measurement")
    page.context.close()
    return round(cpu * 60 / ECHO_CPU_SECONDS, 2)


RECOVERY_RUNS = 5
# Keep a handle on the page's WebSockets, so that one can be cut as a network would.
RECORD_SOCKETS = """
window.__sockets = [];
const Original = window.WebSocket;
window.WebSocket = class extends Original {
    constructor(...args) { super(...args); window.__sockets.push(this); }
};
"""
# On the counselor's page: a peer for a session not seen before already decodes video.
NEW_PEER_DECODING = """async (old) => {
  for (const [session, peer] of (globalThis.videoterminPeers || new Map())) {
    if (old.includes(session)) continue;
    let frames = 0;
    (await peer.pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
    });
    if (frames > 0) return true;
  }
  return false;
}"""


def recovery_times(browser, url: str, counselor, location) -> dict:
    """How long a call takes to come back after its WebSocket drops, and after a reload."""
    # A counselor's tab of its own: the first one keeps the call whose server cost is measured.
    counselor_page = counselor_page_of(browser, url, "bench")
    times: dict[str, list[float]] = {"drop": [], "reload": []}
    for _ in range(RECOVERY_RUNS):
        booking = book(counselor, location)
        call = one_call(browser, url, counselor_page, booking, False, init_script=RECORD_SOCKETS)
        page = call["page"]
        old = counselor_page.evaluate("[...globalThis.videoterminPeers.keys()]")
        started = time.monotonic()
        page.evaluate("window.__sockets.at(-1).close(4000, 'network gone')")
        counselor_page.wait_for_function(NEW_PEER_DECODING, arg=old, polling=20, timeout=30_000)
        times["drop"].append((time.monotonic() - started) * 1000)
        started = time.monotonic()
        page.reload()
        wait_for_media(page)
        times["reload"].append((time.monotonic() - started) * 1000)
        call["context"].close()
    counselor_page.context.close()
    return times


def counselor_page_of(browser, url: str, username: str) -> Page:
    page = browser.new_context(locale="en-GB").new_page()
    page.goto(f"{url}/staff/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()
    return page


def relay_join_times(browser, url: str) -> list[float]:
    """Admit to first remote frame when the agency sends everything through coturn."""
    counselor, location = setup_counselor("bench-relay", relay_only=True)
    counselor_page = counselor_page_of(browser, url, "bench-relay")
    times = []
    for _ in range(RELAY_RUNS):
        call = one_call(browser, url, counselor_page, book(counselor, location), False)
        if not (call["page"].evaluate(RELAYED) and counselor_page.evaluate(RELAYED)):
            raise RuntimeError("the relay-only call did not go through the TURN relay")
        times.append(call["admit_ms"])
        call["context"].close()
    counselor_page.context.close()
    return times


OUTBOUND_VIDEO_BYTES = """async () => {
  let bytes = 0;
  for (const peer of (globalThis.videoterminPeers || new Map()).values()) {
    (await peer.pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') bytes += s.bytesSent || 0;
    });
  }
  return {bytes, at: performance.now()};
}"""
MODE_SECONDS = 10


def video_bitrate_in_mode(page: Page, mode: str) -> float:
    """The citizen's outbound video in kbit/s over MODE_SECONDS after choosing a quality mode."""
    page.locator(f"input[name=quality-mode][value={mode}]").check()
    time.sleep(3)  # the encoder settles at the new rate
    before = page.evaluate(OUTBOUND_VIDEO_BYTES)
    time.sleep(MODE_SECONDS)
    after = page.evaluate(OUTBOUND_VIDEO_BYTES)
    seconds = (after["at"] - before["at"]) / 1000
    return round(8 * (after["bytes"] - before["bytes"]) / 1000 / seconds, 1)


def main() -> int:
    results: dict[str, float] = {}
    # A real coturn; only the relay-only agency's calls use it (the others connect directly).
    with TurnServer(TURN_SECRET) as turn, JanusServer(JANUS_SECRET) as janus:
        os.environ.update(TURN_URLS=",".join(turn.urls), TURN_SECRET=TURN_SECRET)
        with BenchServer() as server, sync_playwright() as playwright:
            run_calls(server, playwright, results)
            run_echoes(server, janus, playwright, results)
    units = {
        "citizen_download_compressed": "KB",
        "admit_to_first_remote_frame_median": "ms",
        "join_time_via_turn_relay_median": "ms",
        "test_call_round_trip_median": "ms",
        "test_call_round_trip_janus_median": "ms",
        "server_cpu_per_test_call_minute_aiortc": "s",
        "server_cpu_per_test_call_minute_janus": "s",
        "recovery_after_websocket_drop_median": "ms",
        "recovery_after_reload_median": "ms",
        "server_cpu_for_2min_call": "s",
        "video_bitrate_data_saver": "kbit/s",
        "video_bitrate_audio_only": "kbit/s",
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
        "relay_runs": RELAY_RUNS,
        "call_seconds": CALL_SECONDS,
        "echo_cpu_seconds": ECHO_CPU_SECONDS,
    }
    (RESULTS / "latest.json").write_text(json.dumps(record, indent=2) + "\n")
    return 0 if budget_ok else 1


def run_calls(server: BenchServer, playwright, results: dict[str, float]) -> None:
    browser = playwright.chromium.launch(
        executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
    )
    counselor, location = setup_counselor()
    counselor_page = counselor_page_of(browser, server.url, "bench")

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
    relay_times = relay_join_times(browser, server.url)
    results["join_time_via_turn_relay_median"] = round(statistics.median(relay_times), 1)
    recovery = recovery_times(browser, server.url, counselor, location)
    results["recovery_after_websocket_drop_median"] = round(statistics.median(recovery["drop"]), 1)
    results["recovery_after_reload_median"] = round(statistics.median(recovery["reload"]), 1)
    echo_times = test_call_round_trips(browser, server.url, book(counselor, location))
    results["test_call_round_trip_median"] = round(statistics.median(echo_times), 1)

    # The last call stays up: measure what the server spends on it.
    server_process = psutil.Process(server.process.pid)
    before = server_process.cpu_times()
    time.sleep(CALL_SECONDS)
    after = server_process.cpu_times()
    wait_for_media(call["page"])
    results["server_cpu_for_2min_call"] = round(
        (after.user - before.user) + (after.system - before.system), 3
    )
    # Still the same call: what the citizen's camera costs in the frugal quality modes.
    results["video_bitrate_data_saver"] = video_bitrate_in_mode(call["page"], "saver")
    results["video_bitrate_audio_only"] = video_bitrate_in_mode(call["page"], "audio")
    browser.close()


def run_echoes(server: BenchServer, janus: JanusServer, playwright, results: dict) -> None:
    """The test call through each echo backend, each served by a server of its own.

    For Janus, the CPU counted is the application's and Janus's together: the work moves, and
    the number shows how much of it remains.
    """
    browser = playwright.chromium.launch(
        executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
    )
    counselor, location = setup_counselor("bench-echo")
    with server.sibling(VIDEOTERMIN_ECHO_BACKEND="aiortc") as (url, process):
        results["server_cpu_per_test_call_minute_aiortc"] = echo_cpu_per_minute(
            browser, url, book(counselor, location), [psutil.Process(process.pid)]
        )
    janus_settings = {
        "VIDEOTERMIN_ECHO_BACKEND": "janus",
        "VIDEOTERMIN_JANUS_URL": janus.url,
        "VIDEOTERMIN_JANUS_API_SECRET": janus.api_secret,
    }
    with server.sibling(**janus_settings) as (url, process):
        times = test_call_round_trips(browser, url, book(counselor, location))
        results["test_call_round_trip_janus_median"] = round(statistics.median(times), 1)
        assert janus.process is not None
        both = [psutil.Process(process.pid), psutil.Process(janus.process.pid)]
        results["server_cpu_per_test_call_minute_janus"] = echo_cpu_per_minute(
            browser, url, book(counselor, location), both
        )
    browser.close()


if __name__ == "__main__":
    sys.exit(main())
