"""`make bench`: what the citizen downloads, how fast a call starts, what a call costs the server,
and how the room of many behaves with three and six people.

Prints `metric: value unit` lines and writes bench/results/latest.json (`python -m bench PART...`
runs only some of the parts `calls`, `echoes`, `groups`, `weights`, `webhooks` (bench/webhooks.py),
`api` (bench/api.py) and `scale` (bench/scale.py, docs/decisions/scale.md), prints, and writes
nothing).

A real server (uvicorn in a subprocess, its own SQLite database, bench/server.py), a real coturn,
a real Janus and Debian's Chromium with a fake camera and microphone (one browser context per
person). The machine is shared, so the numbers are noisy: they show the order of magnitude and
regressions, not a tight measurement. Performance goals are checked here, never in timed tests.

Two people (the host and the citizen), as in every consultation:

- citizen_download_compressed: the weight of every page, script and style sheet of her first
  visit, from her personal link through the start page (consent), the device check and the
  waiting room to the running call, compressed as sent; the network check's measurement payloads
  and the media are not part of it (see PROBE). Budget: 100 KB.
- citizen_download_compressed_heaviest_language (part `weights`): the same first visit in each of
  the twelve languages, for an agency showing the heaviest logo it may upload (a PNG of noise
  just under the limit); the heaviest language's weight. Budget: 100 KB in every language.
- admit_to_first_remote_frame_median (RUNS calls): from the host's click on "Admit" in the people
  panel until the citizen's page decodes video and receives audio from the host.
- join_time_via_turn_relay_median (RELAY_RUNS): the same for an agency that sends all media
  through coturn (`relay_only`); both ends' selected candidate pairs must be relay/relay.
- recovery_after_websocket_drop_median, recovery_after_reload_median (RECOVERY_RUNS): the
  citizen's signaling socket is cut as a network would (close code 4000): until her page is in
  the room again under the same session (`?resume=`) and the host's page still decodes new video
  frames on the same peer connection (the media never stopped); then her page reloads: until it
  decodes again. The page reconnects after its own backoff (0.5 s ± 25 % for the first
  attempt).
- test_call_round_trip_median (aiortc) and test_call_round_trip_janus_median (TEST_CALL_RUNS):
  on the device check, from "Start test call" to the first own frame back from the server.
- server_cpu_for_2min_call: the server process's CPU seconds during CALL_SECONDS of a running
  two-person call (media goes peer to peer; the server only keeps the sockets).
- video_bitrate_data_saver, video_bitrate_audio_only: the citizen's outbound camera video in the
  same call after she chooses the mode in the settings panel.
- server_cpu_per_test_call_minute_aiortc / _janus: CPU seconds per minute of one running test
  call, the application's (with Janus: the application's and Janus's together).

The room of many (one browser, one context per person, a server of its own that counts its
database queries, bench/queries.py):

- mesh_join_3_people_median, mesh_join_6_people_median (GROUP_RUNS each): the host and the
  citizen with one (three people) or four (six people: interpreter, guardian, legal counsel,
  trusted person) more invited people, all having agreed to the consent text already and waiting
  in the waiting room. From the host's first click on "Admit" (the host then admits everyone in
  turn, each click as soon as the page takes it) until every page has a peer connection to every
  other page and each of them decodes video (inbound-rtp framesDecoded > 0) and receives audio
  (inbound-rtp packetsReceived > 0). Every page checks its own connections every 50 ms and notes
  the moment (performance.timeOrigin + now(): one clock for all pages of the machine). The time
  the host's clicks took is in latest.json (`admit_clicks_ms`).
- member_change_frames_6_people, member_change_queries_6_people (median of CHANGES changes, in
  the last six-person call): the citizen turns her microphone off and on again (the button in
  her control bar; the camera's may be disabled when a starved page steps down to audio
  only). Frames: every WebSocket message the server sends to any of the six pages from the
  click until all six pages know the new state, plus CHANGE_GRACE for late or duplicate
  ones, counted in the pages by a wrapper around WebSocket (FRAMES); replies to the page's own
  pings (`pong`) and relayed network samples and signals, which come from the pages' own timers
  and peers, are counted apart as background (in latest.json). Queries: the SQL statements the
  server process sent through Django's cursors in the same window (bench/queries.py), SQLite's
  BEGIN included; an idle window of the same length before the changes gives the background.
- sending_bitrate_6_people_per_browser_median/_max, sending_bitrate_6_people_per_peer_median:
  in the same call, in the default mode (above four people every page sends data saver unless
  the person chose otherwise; each page's mode is in latest.json), outbound-rtp bytesSent plus
  headerBytesSent of every page, audio and video, over SENDING_SECONDS, per page (what its
  uplink carries to its five peers) and per peer connection. Budget: every page at most half of
  a 2 Mbit/s uplink (UPLINK_BUDGET_KBPS), printed as sending_6_people_uplink_budget.

Six pages with fake media on two cores are heavy; each group run ends (and fails) after
GROUP_TIMEOUT seconds, and all five six-person runs are made.
"""

import json
import os
import re
import signal
import statistics
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
from playwright.sync_api import BrowserContext, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from tests.janusserver import JanusServer
from tests.turnserver import TurnServer

from bench.server import COUNTING_APP, QUERIES_PATH, BenchServer

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
EXTRA_ROLES = ["interpreter", "guardian", "legal_counsel", "trusted_person"]

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


# Steps of a page wait this long at most (Playwright's default is 30 s): the machine is shared.
STEP_TIMEOUT_MS = 60_000


def new_context(browser, init_script: str = "") -> BrowserContext:
    """A person's own browser context (a first visit: no cache, no cookies)."""
    context = browser.new_context(locale="en-GB")
    context.set_default_timeout(STEP_TIMEOUT_MS)
    if init_script:
        context.add_init_script(init_script)
    return context


STARTED = time.monotonic()


def note(message: str) -> None:
    """Progress on stderr: the whole bench takes many minutes."""
    print(f"[bench {time.monotonic() - STARTED:6.0f} s] {message}", file=sys.stderr, flush=True)


def in_worker(function, *args, **kwargs):
    """Run Django code that publishes events in a worker thread: Playwright's sync API keeps an
    event loop in this one, and async_to_sync refuses to run beside it."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args, **kwargs).result()


def setup_counselor(slug: str = "bench", relay_only: bool = False):
    from django.contrib.auth import get_user_model

    from videotermin.agencies.models import Agency, Location, StaffMember

    agency = Agency.objects.create(name=f"Agentur {slug}", slug=slug, relay_only=relay_only)
    location = Location.objects.create(agency=agency, name="Bench")
    user = get_user_model().objects.create_user(slug, password=PASSWORD)
    StaffMember.objects.create(user=user, agency=agency, location=location)
    return user, location


def book(counselor, location, extras: int = 0, language: str = "de"):
    """An appointment hosted by the counselor in two minutes (the room is open) for a citizen
    speaking `language` and `extras` more people invited by link, without e-mails."""
    from django.utils import timezone

    from videotermin.appointments.services import Invitee, create_appointment

    return in_worker(
        create_appointment,
        by=counselor,
        location=location,
        starts_at=timezone.now() + timedelta(minutes=2),
        citizen=Invitee("Bench Bürger", "bench@example.org", language=language),
        extras=[
            Invitee(f"Bench {role}", f"{role}@example.org", role=role, language="en")
            for role in EXTRA_ROLES[:extras]
        ],
        send_invitation=False,
    )


def agree(member) -> None:
    """The member agrees to the consent text, as on the start page (for the group runs only:
    the citizen of the two-person calls clicks "I agree" herself)."""
    from videotermin.consent import services as consent

    def decide() -> None:
        consent.decide(
            member, consent.current_text(member.appointment.agency, member.language), accepted=True
        )

    in_worker(decide)


def wait_for_media(page: Page, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = page.evaluate(STATS)
        if stats["frames"] > 0 and stats["packets"] > 0:
            return
        time.sleep(0.02)
    raise RuntimeError("no media arrived")


def citizen_to_waiting_room(page: Page, url: str, token: str) -> None:
    """Her first visit: the link, the start page ("I agree"), the device check, the room."""
    page.goto(f"{url}/j/{token}/")
    page.locator("button[name=decision][value=accept]").click()
    page.locator("#enter-link").click()
    page.wait_for_url("**/room/")
    page.locator("#room[data-view='waiting']").wait_for()


def open_host_room(page: Page, url: str, appointment) -> None:
    """The staff's room page, with the people panel open (it opens by itself on a wide window)."""
    page.goto(f"{url}/staff/appointments/{appointment.public_id}/room/")
    page.locator("#room[data-view='call']").wait_for()
    if page.locator("#open-people").get_attribute("aria-expanded") != "true":
        page.locator("#open-people").click()
    page.locator("#panel-people").wait_for()


def admit_button(host: Page, member):
    return host.locator(f"#people-list [data-member='{member.public_id}'] button.admit")


# The network check's own measurements: random bytes sized to the link (64 KB on a slow one,
# 1 MB more on a fast one), like the call's media not part of the pages' weight. Whether they
# finish before the citizen moves on is a matter of timing, so they are never counted.
PROBE = re.compile(r"/check/(ping|download|upload)/")


def one_call(
    browser, url: str, counselor_page: Page, booking, measure_bytes: bool, init_script: str = ""
) -> dict:
    context = new_context(browser, init_script)
    page = context.new_page()
    downloaded = {"bytes": 0}
    files: dict[str, int] = {}
    if measure_bytes:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        probes: set[str] = set()
        urls: dict[str, str] = {}

        def sent(event: dict) -> None:
            urls[event["requestId"]] = event["request"]["url"]
            if PROBE.search(event["request"]["url"]):
                probes.add(event["requestId"])

        def finished(event: dict) -> None:
            if event["requestId"] not in probes:
                downloaded["bytes"] += event["encodedDataLength"]
                name = re.sub(r"^https?://[^/]+", "", urls.get(event["requestId"], "?"))
                files[name] = files.get(name, 0) + event["encodedDataLength"]

        cdp.on("Network.requestWillBeSent", sent)
        cdp.on("Network.loadingFinished", finished)
    citizen_to_waiting_room(page, url, booking.token)
    open_host_room(counselor_page, url, booking.appointment)
    admit = admit_button(counselor_page, booking.citizen)
    admit.wait_for()
    started = time.monotonic()
    admit.click()
    wait_for_media(page)
    elapsed_ms = (time.monotonic() - started) * 1000
    wait_for_media(counselor_page)
    return {
        "context": context,
        "page": page,
        "admit_ms": elapsed_ms,
        "bytes": downloaded["bytes"],
        "files": files,
    }


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
    page = new_context(browser).new_page()
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
# On the counselor's page: video frames decoded so far on the peer connection to a session.
PEER_FRAMES = """async (session) => {
  const peer = (globalThis.videoterminPeers || new Map()).get(session);
  if (!peer) return -1;
  let frames = 0;
  (await peer.pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
  });
  return frames;
}"""
# On the citizen's page: a socket after the cut one, in the room again under the same session.
RESUMED = """([count, session]) => {
  const connection = globalThis.videoterminConnection;
  return window.__sockets.length > count && connection.state === 'open'
    && connection.session === session;
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
        sockets = page.evaluate("window.__sockets.length")
        session = page.evaluate("globalThis.videoterminConnection.session")
        frames = counselor_page.evaluate(PEER_FRAMES, session)
        started = time.monotonic()
        page.evaluate("window.__sockets.at(-1).close(4000, 'network gone')")
        # Until the page is in the room again under its session (resumed, so the peer
        # connections carry on) and the host still decodes her on the same peer connection.
        page.wait_for_function(RESUMED, arg=[sockets, session], polling=20, timeout=30_000)
        counselor_page.wait_for_function(
            f"async (session) => (await ({PEER_FRAMES})(session)) > {frames}",
            arg=session,
            polling=20,
            timeout=30_000,
        )
        times["drop"].append((time.monotonic() - started) * 1000)
        started = time.monotonic()
        page.reload()
        wait_for_media(page)
        times["reload"].append((time.monotonic() - started) * 1000)
        call["context"].close()
    counselor_page.context.close()
    return times


def counselor_page_of(browser, url: str, username: str, init_script: str = "") -> Page:
    page = new_context(browser, init_script).new_page()
    page.goto(f"{url}/staff/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()
    if "/login/" in page.url:
        raise RuntimeError(f"the staff sign-in of {username} failed")
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
    open_panel(page, "settings")
    page.locator(f"input[name=quality-mode][value={mode}]").check()
    time.sleep(3)  # the encoder settles at the new rate
    before = page.evaluate(OUTBOUND_VIDEO_BYTES)
    time.sleep(MODE_SECONDS)
    after = page.evaluate(OUTBOUND_VIDEO_BYTES)
    seconds = (after["at"] - before["at"]) / 1000
    return round(8 * (after["bytes"] - before["bytes"]) / 1000 / seconds, 1)


def open_panel(page: Page, name: str) -> None:
    button = page.locator(f"#open-{name}")
    if button.get_attribute("aria-expanded") != "true":
        button.click()
    page.locator(f"#panel-{name}").wait_for()


# The room of many --------------------------------------------------------------------------

GROUP_SIZES = (3, 6)
GROUP_RUNS = 5
GROUP_TIMEOUT = int(os.environ.get("BENCH_GROUP_TIMEOUT", "180"))
CHANGES = 6  # off and on three times: the microphone is on again afterwards
CHANGE_GRACE = 1.0
SENDING_SECONDS = 10
UPLINK_KBPS = 2000
UPLINK_BUDGET_KBPS = UPLINK_KBPS / 2

# Every WebSocket message the server sends the page: when, its type and the member it is about.
FRAMES = """
window.__frames = [];
const Original = window.WebSocket;
window.WebSocket = class extends Original {
    constructor(...args) {
        super(...args);
        this.addEventListener('message', (event) => {
            let type = '?', member = null, code = null;
            try {
                const message = JSON.parse(event.data);
                type = message.type;
                member = message.member && typeof message.member === 'object'
                    ? message.member.id : message.member || null;
                code = message.code || null;
            } catch {}
            window.__frames.push({at: performance.timeOrigin + performance.now(), type, member,
                                  code, bytes: event.data.length});
        });
    }
};
"""
# Frames that are not caused by a change of a member: replies to the page's own pings, and
# network samples and signals relayed from other pages' timers and peer connections.
BACKGROUND = {"pong", "network", "signal"}

# Each page notes when it first decodes video from and receives audio from `count` others, on
# every one of its peer connections. A connection once seen flowing is not asked again, and the
# page asks every 100 ms, one connection at a time: getStats on thirty connections is not free
# on two cores.
MEDIA_MONITOR = """(count) => {
  window.__mediaAt = null;
  window.__mediaProgress = 'not yet';
  const flowing = new WeakSet();
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const peers = [...(globalThis.videoterminPeers || new Map()).values()];
      if (peers.length < count) return;
      for (const peer of peers) {
        if (flowing.has(peer.pc)) continue;
        let frames = 0, packets = 0;
        const report = await Promise.race([peer.pc.getStats(), new Promise((resolve) => {
          setTimeout(() => resolve(new Map()), 2000);  // a connection that does not answer
        })]);
        report.forEach((s) => {
          if (s.type !== 'inbound-rtp') return;
          if (s.kind === 'video') frames += s.framesDecoded || 0;
          if (s.kind === 'audio') packets += s.packetsReceived || 0;
        });
        if (frames > 0 && packets > 0) flowing.add(peer.pc);
      }
      window.__mediaProgress = `${peers.filter((p) => flowing.has(p.pc)).length}/${peers.length}`;
      if (peers.every((peer) => flowing.has(peer.pc))) {
        window.__mediaAt = performance.timeOrigin + performance.now();
        clearInterval(timer);
      }
    } finally {
      busy = false;
    }
  }, 100);
}"""
# The host lets everybody in at once: a click on each "Admit" of the people panel, in order, in
# one task of the page (Playwright's own clicks wait for each button to stand still, which took
# seconds apiece on the loaded machine and would be measured with the room). Returns when the
# first click was made.
ADMIT_ALL = """(ids) => {
  const buttons = ids.map((id) =>
    document.querySelector(`#people-list [data-member="${id}"] button.admit`));
  if (buttons.some((b) => !b || b.hidden || b.disabled)) return null;
  const at = performance.timeOrigin + performance.now();
  for (const button of buttons) button.click();
  return at;
}"""
RESTARTS = """() => [...(globalThis.videoterminPeers || new Map()).values()]
    .reduce((sum, peer) => sum + peer.restarts, 0)"""
RESTART_STATES = """() => [...(globalThis.videoterminPeers || new Map()).values()]
    .flatMap((peer) => peer.restartStates.map((states) => ({polite: peer.polite, ...states})))"""
# Each peer connection's media, for the report when a run does not come together.
PAIRS = """async () => {
  const pairs = {};
  for (const [session, peer] of (globalThis.videoterminPeers || new Map())) {
    const own = {member: peer.member, state: peer.pc.connectionState,
                 signaling: peer.pc.signalingState, frames: 0, packets: 0,
                 videoPackets: 0, keyFrames: 0, pli: 0, encoded: 0, sent: 0, limit: null,
                 camera: null, stats: 'answered'};
    const report = await Promise.race([peer.pc.getStats(), new Promise((resolve) => {
      setTimeout(() => { own.stats = 'no answer in 5 s'; resolve(new Map()); }, 5000);
    })]);
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        own.frames += s.framesDecoded || 0;
        own.videoPackets += s.packetsReceived || 0;
        own.keyFrames += s.keyFramesDecoded || 0;
        own.pli += s.pliCount || 0;
      }
      if (s.type === 'inbound-rtp' && s.kind === 'audio') own.packets += s.packetsReceived || 0;
      if (s.type === 'outbound-rtp' && s.kind === 'video' && (s.bytesSent || 0) > 0) {
        own.encoded += s.framesEncoded || 0;
        own.sent += s.bytesSent || 0;
        own.limit = s.qualityLimitationReason || null;
      }
    });
    const camera = peer.sections && peer.sections.camera;
    if (camera) {
      const track = camera.sender.track;
      own.camera = {mid: camera.mid, direction: camera.currentDirection,
                    track: track ? `${track.readyState}/${track.enabled}` : null};
    }
    pairs[session] = own;
  }
  const frames = {};
  for (const f of window.__frames || []) {
    const key = f.code ? `${f.type}:${f.code}` : f.type;
    frames[key] = (frames[key] || 0) + 1;
  }
  const quality = globalThis.videoterminQuality;
  return {mode: quality ? quality.current : null, frames, pairs};
}"""
OUTBOUND = """async () => {
  const peers = {};
  for (const [session, peer] of (globalThis.videoterminPeers || new Map())) {
    const own = {bytes: 0, video: 0};
    (await peer.pc.getStats()).forEach((s) => {
      if (s.type !== 'outbound-rtp') return;
      const bytes = (s.bytesSent || 0) + (s.headerBytesSent || 0);
      own.bytes += bytes;
      if (s.kind === 'video') own.video += bytes;
    });
    peers[session] = own;
  }
  const quality = globalThis.videoterminQuality;
  return {peers, at: performance.now(), mode: quality ? quality.current : null,
          chosen: quality && quality.explicit ? quality.chosen : null};
}"""


class CountedServer:
    """The group runs' server: its address, and the count of its database queries."""

    def __init__(self, url: str) -> None:
        self.url = url

    def queries(self, since: int = 0) -> dict:
        with urllib.request.urlopen(f"{self.url}{QUERIES_PATH}?since={since}") as answer:  # noqa: S310
            return json.load(answer)


def within(page: Page, script: str, arg=None, timeout: float = 30.0):
    """A script's (truthy) value, or None when the page does not answer in time: under load a
    page's answer can take long, and Playwright's evaluate has no timeout of its own."""
    try:
        handle = page.wait_for_function(script, arg=arg, timeout=timeout * 1000, polling=250)
    except PlaywrightTimeoutError:
        return None
    return handle.json_value()


def group_call(browser, server: CountedServer, host: Page, counselor, location, size: int):
    """One consultation of `size` people: the pages (the host's first, the citizen's second),
    their contexts, the booking and what the run measured (`join_ms`, or `failed`)."""
    booking = book(counselor, location, extras=size - 2)
    invited = [(booking.citizen, booking.token), *booking.extras]
    for member, _token in invited:
        agree(member)
    open_host_room(host, server.url, booking.appointment)
    contexts: list[BrowserContext] = []
    pages = [host]
    for member, token in invited:
        context = new_context(browser, FRAMES)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{server.url}/j/{token}/")
        page.goto(f"{server.url}/a/{member.public_id}/room/")
        page.locator("#room[data-view='waiting']").wait_for()
        pages.append(page)
    for member, _token in invited:
        admit_button(host, member).wait_for()
    for page in pages:
        page.evaluate(MEDIA_MONITOR, size - 1)
    note(f"{size} people: all in the waiting room, the host admits them")
    load = round(os.getloadavg()[0], 1)
    admitted_at = host.evaluate(ADMIT_ALL, [str(member.public_id) for member, _token in invited])
    if admitted_at is None:
        raise RuntimeError("an Admit button was not there to click")
    deadline = time.monotonic() + GROUP_TIMEOUT
    ready = []
    for page in pages:
        at = within(page, "() => window.__mediaAt", timeout=max(1.0, deadline - time.monotonic()))
        if at is None:
            progress = [within(p, "() => window.__mediaProgress", timeout=10) for p in pages]
            pairs = [within(p, PAIRS, timeout=20) for p in pages]
            note(f"{size} people: no media on every pair in {GROUP_TIMEOUT} s: {progress}")
            failed = f"no media on every pair within {GROUP_TIMEOUT} s"
            run = {"failed": failed, "load": load, "flowing": progress, "pages": pairs}
            return pages, contexts, booking, run
        ready.append(at)
    run = {
        "join_ms": round(max(ready) - admitted_at, 1),
        "pages_ready_ms": [round(at - admitted_at, 1) for at in ready],
        "load": load,
        # ICE restarts of connections that did not come up in time (mesh.js), on all pages,
        # with the states each such connection was in.
        "restarts": sum(page.evaluate(RESTARTS) for page in pages),
        "restart_states": [page.evaluate(RESTART_STATES) for page in pages],
    }
    note(
        f"{size} people: media on every pair after {run['join_ms']:.0f} ms"
        f" ({run['restarts']} ICE restarts)"
    )
    return pages, contexts, booking, run


def sending_bitrates(pages: list[Page]) -> dict:
    """What every page sends, in kbit/s, over SENDING_SECONDS: in total and per peer."""
    before = [page.evaluate(OUTBOUND) for page in pages]
    time.sleep(SENDING_SECONDS)
    after = [page.evaluate(OUTBOUND) for page in pages]
    per_page, per_peer, video, modes = [], [], [], []
    for first, last in zip(before, after, strict=True):
        seconds = (last["at"] - first["at"]) / 1000
        peers = [
            (
                8 * (last["peers"][s]["bytes"] - first["peers"][s]["bytes"]) / 1000 / seconds,
                8 * (last["peers"][s]["video"] - first["peers"][s]["video"]) / 1000 / seconds,
            )
            for s in last["peers"]
            if s in first["peers"]
        ]
        per_page.append(round(sum(total for total, _video in peers), 1))
        per_peer += [round(total, 1) for total, _video in peers]
        video.append(round(sum(v for _total, v in peers), 1))
        modes.append({"mode": last["mode"], "chosen": last["chosen"], "peers": len(peers)})
    return {"per_page": per_page, "per_peer": per_peer, "video_per_page": video, "modes": modes}


def member_changes(server: CountedServer, pages: list[Page], citizen) -> dict:
    """The citizen turns her microphone off and on: frames to all pages, queries of the server."""
    member = str(citizen.public_id)
    citizen_page = pages[1]
    known = """([id, on]) => {
        const m = globalThis.videoterminRoom && globalThis.videoterminRoom.member(id);
        return !!m && m.microphone === on;
    }"""
    for page in pages:
        page.wait_for_function(known, arg=[member, True])
    changes = []
    window = 0.0
    for index in range(CHANGES):
        on = index % 2 == 1
        marks = [page.evaluate("window.__frames.length") for page in pages]
        count = server.queries()["count"]
        started = time.monotonic()
        citizen_page.locator("#toggle-microphone").click()
        for page in pages:
            page.wait_for_function(known, arg=[member, on], timeout=30_000)
        seen_ms = (time.monotonic() - started) * 1000
        time.sleep(CHANGE_GRACE)
        window = max(window, time.monotonic() - started)
        counted = server.queries(since=count)
        frames = [
            page.evaluate("(mark) => window.__frames.slice(mark)", mark)
            for page, mark in zip(pages, marks, strict=True)
        ]
        change = [f for own in frames for f in own if f["type"] not in BACKGROUND]
        background = [f["type"] for own in frames for f in own if f["type"] in BACKGROUND]
        changes.append(
            {
                "microphone": on,
                "frames": len(change),
                "frames_per_page": [
                    sum(f["type"] not in BACKGROUND for f in own) for own in frames
                ],
                "frame_types": sorted(
                    {
                        f"{f['type']}:{'citizen' if f['member'] == member else f['member']}"
                        for f in change
                    }
                ),
                "frame_bytes": sum(f["bytes"] for f in change),
                "background_frames": {t: background.count(t) for t in sorted(set(background))},
                "queries": counted["count"] - count,
                "statements": counted["statements"],
                "all_pages_knew_ms": round(seen_ms, 1),
            }
        )
        time.sleep(0.5)
    # The same length of time without any change: what the server queries by itself.
    count = server.queries()["count"]
    time.sleep(window)
    idle = server.queries(since=count)
    return {
        "changes": changes,
        "idle_window_s": round(window, 2),
        "idle_queries": idle["count"] - count,
        "idle_statements": idle["statements"],
    }


def run_groups(server: BenchServer, playwright, results: dict, details: dict) -> None:
    browser = playwright.chromium.launch(
        executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
    )
    counselor, location = setup_counselor("bench-group")
    changes = sending = None
    with server.sibling(app=COUNTING_APP) as (url, _process):
        counted = CountedServer(url)
        host = counselor_page_of(browser, url, "bench-group", init_script=FRAMES)
        for size in GROUP_SIZES:
            runs = []
            for run in range(GROUP_RUNS):
                pages, contexts, booking, measured = group_call(
                    browser, counted, host, counselor, location, size
                )
                runs.append(measured)
                # The first six-person call that comes together is measured further.
                if size == 6 and changes is None and "join_ms" in measured:
                    time.sleep(3)  # every page has gone to data saver (checked every 2 s)
                    sending = sending_bitrates(pages)
                    note("6 people: sending bitrates measured")
                    changes = member_changes(counted, pages, booking.citizen)
                    note("6 people: member changes measured")
                for context in contexts:
                    context.close()
                note(f"{size} people: run {run + 1} of {GROUP_RUNS} done")
            details[f"mesh_join_{size}_people"] = runs
            joined = [r["join_ms"] for r in runs if "join_ms" in r]
            results[f"mesh_join_{size}_people_runs_ok"] = len(joined)
            if joined:
                results[f"mesh_join_{size}_people_median"] = round(statistics.median(joined), 1)
        host.context.close()
    browser.close()
    if changes is None or sending is None:
        return  # no six-person call came together: the runs' details say why
    details["member_change_6_people"] = changes
    details["sending_6_people"] = sending
    results["member_change_frames_6_people"] = statistics.median(
        c["frames"] for c in changes["changes"]
    )
    results["member_change_queries_6_people"] = statistics.median(
        c["queries"] for c in changes["changes"]
    )
    results["member_change_idle_queries_6_people"] = changes["idle_queries"]
    results["sending_bitrate_6_people_per_browser_median"] = round(
        statistics.median(sending["per_page"]), 1
    )
    results["sending_bitrate_6_people_per_browser_max"] = max(sending["per_page"])
    results["sending_bitrate_6_people_per_peer_median"] = round(
        statistics.median(sending["per_peer"]), 1
    )


UNITS = {
    "citizen_download_compressed": "KB",
    "citizen_download_compressed_heaviest_language": "KB",
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
    "mesh_join_3_people_median": "ms",
    "mesh_join_3_people_runs_ok": "runs",
    "mesh_join_6_people_median": "ms",
    "mesh_join_6_people_runs_ok": "runs",
    "member_change_frames_6_people": "frames",
    "member_change_queries_6_people": "queries",
    "member_change_idle_queries_6_people": "queries",
    "sending_bitrate_6_people_per_browser_median": "kbit/s",
    "sending_bitrate_6_people_per_browser_max": "kbit/s",
    "sending_bitrate_6_people_per_peer_median": "kbit/s",
}
PARTS = ("calls", "echoes", "groups", "weights", "webhooks", "api", "scale")


def main(parts: list[str]) -> int:
    # Stopped from outside (a timeout): end the servers and browsers on the way out, too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    unknown = set(parts) - set(PARTS)
    if unknown:
        print(f"unknown parts {sorted(unknown)}; choose from {PARTS}", file=sys.stderr)
        return 2
    results: dict[str, float] = {}
    details: dict = {}
    # A real coturn; only the relay-only agency's calls use it (the others connect directly).
    with TurnServer(TURN_SECRET) as turn, JanusServer(JANUS_SECRET) as janus:
        os.environ.update(TURN_URLS=",".join(turn.urls), TURN_SECRET=TURN_SECRET)
        with BenchServer() as server, sync_playwright() as playwright:
            if not parts or "calls" in parts:
                run_calls(server, playwright, results, details)
            if not parts or "echoes" in parts:
                run_echoes(server, janus, playwright, results)
            if not parts or "groups" in parts:
                run_groups(server, playwright, results, details)
            if not parts or "weights" in parts:
                run_weights(server, playwright, results, details)
            if not parts or "webhooks" in parts:
                from bench.webhooks import UNITS as WEBHOOK_UNITS
                from bench.webhooks import run_webhooks

                UNITS.update(WEBHOOK_UNITS)
                run_webhooks(results, details)
            if not parts or "api" in parts:
                from bench.api import UNITS as API_UNITS
                from bench.api import run_api

                UNITS.update(API_UNITS)
                run_api(results, details)
            if not parts or "scale" in parts:
                from bench.scale import UNITS as SCALE_UNITS
                from bench.scale import run_scale

                UNITS.update(SCALE_UNITS)
                run_scale(results, details)
    for metric, value in results.items():
        print(f"{metric}: {value} {UNITS[metric]}")
    budgets = {}
    if "citizen_download_compressed" in results:
        budgets["citizen_download_budget_100KB"] = results["citizen_download_compressed"] <= 100
        if not budgets["citizen_download_budget_100KB"]:
            print("citizen_download_heaviest (compressed bytes):")
            for name, size in sorted(
                details["citizen_download_files"].items(), key=lambda item: -item[1]
            )[:10]:
                print(f"  {size:>8} {name}")
    if "citizen_download_compressed_heaviest_language" in results:
        budgets["citizen_download_every_language_with_logo_budget_100KB"] = (
            results["citizen_download_compressed_heaviest_language"] <= 100
        )
        print(
            f"citizen_download_heaviest_language: {details['citizen_download_heaviest_language']}"
        )
    if "sending_bitrate_6_people_per_browser_max" in results:
        budgets["sending_6_people_uplink_budget"] = (
            results["sending_bitrate_6_people_per_browser_max"] <= UPLINK_BUDGET_KBPS
        )
        share = 100 * results["sending_bitrate_6_people_per_browser_max"] / UPLINK_KBPS
        print(f"sending_6_people_share_of_2Mbit_uplink: {share:.0f} % (the busiest page)")
        modes = {m["mode"] for m in details["sending_6_people"]["modes"]}
        print(f"sending_6_people_modes: {', '.join(sorted(str(m) for m in modes))}")
    for name, met in budgets.items():
        print(f"{name}: {'met' if met else 'EXCEEDED'}")
    if parts:
        print("(a partial run: bench/results/latest.json is left as it was)")
        return 0 if all(budgets.values()) else 1
    RESULTS.mkdir(exist_ok=True)
    record = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "results": results,
        "units": UNITS,
        "runs": RUNS,
        "relay_runs": RELAY_RUNS,
        "call_seconds": CALL_SECONDS,
        "echo_cpu_seconds": ECHO_CPU_SECONDS,
        "group_runs": GROUP_RUNS,
        "member_changes": CHANGES,
        "sending_seconds": SENDING_SECONDS,
        "load_average": os.getloadavg(),
        "details": details,
    }
    temporary = RESULTS / "latest.json.tmp"
    temporary.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    temporary.replace(RESULTS / "latest.json")
    return 0 if all(budgets.values()) else 1


def run_calls(server: BenchServer, playwright, results: dict[str, float], details: dict) -> None:
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
            details["citizen_download_files"] = call["files"]
        admit_times.append(call["admit_ms"])
        if run < RUNS - 1:
            call["context"].close()

    results["admit_to_first_remote_frame_median"] = round(statistics.median(admit_times), 1)
    note(f"two people: {RUNS} calls admitted")
    relay_times = relay_join_times(browser, server.url)
    results["join_time_via_turn_relay_median"] = round(statistics.median(relay_times), 1)
    note("two people: relayed calls done")
    recovery = recovery_times(browser, server.url, counselor, location)
    results["recovery_after_websocket_drop_median"] = round(statistics.median(recovery["drop"]), 1)
    results["recovery_after_reload_median"] = round(statistics.median(recovery["reload"]), 1)
    note("two people: recoveries done")
    echo_times = test_call_round_trips(browser, server.url, book(counselor, location))
    results["test_call_round_trip_median"] = round(statistics.median(echo_times), 1)

    # The last call stays up: measure what the server spends on it.
    note(f"two people: the server's CPU over {CALL_SECONDS} s of a call")
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
    note("test calls: aiortc, then Janus")
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


def largest_logo() -> bytes:
    """A PNG logo as heavy as an agency may upload: noise does not compress, so every byte of
    it travels."""
    import random
    import struct
    import zlib

    from videotermin.agencies.logos import PNG_MAX_BYTES

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    noise = random.Random(4711)
    side, last = 16, b""
    while True:
        rows = b"".join(b"\0" + noise.randbytes(side * 3) for _ in range(side))
        png = b"".join(
            (
                b"\x89PNG\r\n\x1a\n",
                chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)),
                chunk(b"IDAT", zlib.compress(rows, 9)),
                chunk(b"IEND", b""),
            )
        )
        if len(png) > PNG_MAX_BYTES:
            return last
        last, side = png, side + 2


def run_weights(server: BenchServer, playwright, results: dict, details: dict) -> None:
    """The citizen's first visit from the link into the call in each of the twelve languages, for
    an agency that shows the heaviest logo it may upload."""
    from django.conf import settings

    from videotermin.administration.services import change_look
    from videotermin.agencies.logos import read_png

    browser = playwright.chromium.launch(
        executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
    )
    counselor, location = setup_counselor("weights")
    counselor.staff.role = "admin"
    counselor.staff.save(update_fields=["role"])
    logo = read_png(largest_logo())
    in_worker(
        change_look,
        location.agency,
        by=counselor,
        primary_color="#00526e",
        text_color="#ffffff",
        logo=logo,
    )
    counselor_page = counselor_page_of(browser, server.url, "weights")
    weights: dict[str, float] = {}
    for code, _name in settings.LANGUAGES:
        call = one_call(
            browser,
            server.url,
            counselor_page,
            book(counselor, location, language=code),
            measure_bytes=True,
        )
        weights[code] = round(call["bytes"] / 1024, 1)
        details.setdefault("citizen_download_files_by_language", {})[code] = call["files"]
        call["context"].close()
    heaviest = max(weights, key=weights.__getitem__)
    results["citizen_download_compressed_heaviest_language"] = weights[heaviest]
    details["citizen_download_by_language"] = weights
    details["citizen_download_heaviest_language"] = heaviest
    details["citizen_download_logo_bytes"] = len(logo.data)
    note(f"weights: {weights}")
    for name, size in sorted(details["citizen_download_files_by_language"][heaviest].items()):
        note(f"  {size:>8} {name}")
    browser.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
