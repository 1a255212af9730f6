"""Quality modes in real browsers: data saver caps the citizen's video, audio only stops it, and
the counselor sees the citizen's connection live (J11, N8, S3)."""

import re
import time

import pytest
from playwright.sync_api import expect
from tests.browser.test_call import admit_and_connect, open_citizen_room, open_counselor_room

from videotermin.appointments.models import Participant

pytestmark = pytest.mark.browser

# What the page sends and receives, summed over its peer connections.
RTP_SCRIPT = """async () => {
    const totals = {videoBytesSent: 0, framesEncoded: 0, frameWidth: 0, audioPacketsSent: 0,
                    framesDecoded: 0, audioPacketsReceived: 0};
    for (const peer of window.videoterminPeers.values()) {
        (await peer.pc.getStats()).forEach((r) => {
            if (r.type === 'outbound-rtp' && r.kind === 'video') {
                totals.videoBytesSent += r.bytesSent || 0;
                totals.framesEncoded += r.framesEncoded || 0;
                totals.frameWidth = Math.max(totals.frameWidth, r.frameWidth || 0);
            } else if (r.type === 'outbound-rtp' && r.kind === 'audio') {
                totals.audioPacketsSent += r.packetsSent || 0;
            } else if (r.type === 'inbound-rtp' && r.kind === 'video') {
                totals.framesDecoded += r.framesDecoded || 0;
            } else if (r.type === 'inbound-rtp' && r.kind === 'audio') {
                totals.audioPacketsReceived += r.packetsReceived || 0;
            }
        });
    }
    totals.at = performance.now();
    return totals;
}"""


def rtp(page) -> dict:
    return page.evaluate(RTP_SCRIPT)


def video_kbps(page, seconds: float) -> tuple[float, dict, dict]:
    """The page's outbound video bit rate over `seconds`, with the totals before and after."""
    before = rtp(page)
    page.wait_for_timeout(seconds * 1000)
    after = rtp(page)
    elapsed = (after["at"] - before["at"]) / 1000
    return 8 * (after["videoBytesSent"] - before["videoBytesSent"]) / 1000 / elapsed, before, after


def wait_for_rtp(page, condition, timeout: float = 10, message: str = "statistics") -> dict:
    deadline = time.monotonic() + timeout
    while not condition(stats := rtp(page)):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}: {stats}")
        page.wait_for_timeout(200)
    return stats


def wait_until_still(page, key: str, quiet: float = 1.0, timeout: float = 10) -> dict:
    """Wait until a counter of the page's statistics stops growing for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    before = rtp(page)
    while True:
        page.wait_for_timeout(quiet * 1000)
        after = rtp(page)
        if after[key] == before[key]:
            return after
        if time.monotonic() > deadline:
            raise AssertionError(f"{key} still grows: {after}")
        before = after


@pytest.fixture
def call(new_context, consented, appointment):
    """Dana and Alice in a running call: (citizen page, counselor page)."""
    citizen = open_citizen_room(new_context(), consented)
    counselor = open_counselor_room(new_context(), appointment)
    admit_and_connect(counselor, citizen)
    return citizen, counselor


def test_data_saver_caps_the_citizens_video_while_the_counselor_still_sees_her(call):
    citizen, counselor = call
    # Without the cap the fake camera is sent well above it once the bandwidth estimate has
    # ramped up, so the cap is what the test measures.
    deadline = time.monotonic() + 15
    while (high := video_kbps(citizen, 1)[0]) < 300:
        assert time.monotonic() < deadline, f"full quality sends only {high:.0f} kbit/s"

    citizen.locator("input[name=quality-mode][value=saver]").check()

    wait_for_rtp(citizen, lambda s: 0 < s["frameWidth"] <= 320, message="a 320x240 picture")
    citizen.wait_for_timeout(1000)  # the encoder settles at the new rate
    decoded_before = rtp(counselor)["framesDecoded"]
    saver, before, after = video_kbps(citizen, 4)
    assert saver < 180, f"data saver sends {saver:.0f} kbit/s"
    assert after["framesEncoded"] - before["framesEncoded"] > 20, "the picture froze"
    assert rtp(counselor)["framesDecoded"] - decoded_before > 20, "the counselor lost the picture"


def test_audio_only_stops_the_citizens_video_but_not_her_voice(call):
    citizen, counselor = call
    counselor_heard = rtp(counselor)["audioPacketsReceived"]

    citizen.locator("input[name=quality-mode][value=audio]").check()

    # Frames already in flight may still go out; then nothing more.
    stopped = wait_until_still(citizen, "framesEncoded")
    kbps, before, after = video_kbps(citizen, 3)
    assert after["framesEncoded"] == before["framesEncoded"] == stopped["framesEncoded"]
    assert kbps == 0
    assert after["audioPacketsSent"] - before["audioPacketsSent"] > 50, "her voice stopped too"
    assert rtp(counselor)["audioPacketsReceived"] - counselor_heard > 50
    assert citizen.locator("#toggle-camera").is_disabled()
    # The counselor's page hears of her choice and stops sending video to her as well.
    wait_until_still(counselor, "framesEncoded")

    citizen.locator("input[name=quality-mode][value=high]").check()

    wait_for_rtp(
        citizen, lambda s: s["framesEncoded"] > after["framesEncoded"] + 10, message="video again"
    )
    assert citizen.locator("#toggle-camera").is_enabled()


def test_the_counselor_sees_the_citizens_connection_live(call, consented):
    citizen, counselor = call
    entry = counselor.locator(f"#network-list [data-participant='{consented.citizen.public_id}']")

    # The first sample may come before the first loss report; the numbers follow live.
    expect(entry.locator(".rtt")).to_have_text(re.compile(r"[\d.,]+ ms"), timeout=12_000)
    expect(entry.locator(".loss")).to_have_text(re.compile(r"[\d.,]+ %"), timeout=12_000)
    expect(entry.locator(".out")).to_have_text(re.compile(r"[\d.,]+ kbit/s"))
    expect(entry.locator(".in")).to_have_text(re.compile(r"[\d.,]+ kbit/s"))
    assert entry.locator(".name").text_content() == "Dana Yilmaz"
    expect(entry.locator(".grade")).to_have_text(re.compile(r"Connection: (good|fair|poor)"))
    assert entry.locator(".mode").text_content() == "High quality"
    # Dana's own page speaks her appointment's language, German.
    expect(citizen.locator("#quality-grade")).to_have_text(
        re.compile(r"Verbindung: (gut|mittel|schwach)")
    )

    # A change of mode is reported at once, not only with the next sample in 5 s.
    citizen.locator("input[name=quality-mode][value=saver]").check()

    entry.locator(".mode").filter(has_text="Data saver").wait_for(timeout=3_000)


def test_a_citizen_who_reloads_in_audio_only_stays_in_audio_only(call, consented):
    citizen, counselor = call
    citizen.locator("input[name=quality-mode][value=audio]").check()

    citizen.reload()

    citizen.locator("#call").wait_for()
    expect(citizen.locator("input[name=quality-mode][value=audio]")).to_be_checked()
    wait_for_rtp(citizen, lambda s: s["audioPacketsSent"] > 50, message="her voice again")
    stopped = wait_until_still(citizen, "framesEncoded")
    citizen.wait_for_timeout(2000)
    assert rtp(citizen)["framesEncoded"] == stopped["framesEncoded"]
    assert not Participant.objects.get(pk=consented.citizen.pk).camera_on


def test_alice_sees_the_round_trip_of_dana_waiting_live_and_in_her_own_language(
    new_context, consented, appointment
):
    citizen = open_citizen_room(new_context(), consented)
    counselor = open_counselor_room(new_context(locale="en-GB"), appointment)
    entry = counselor.locator(f"#participants [data-participant='{consented.citizen.public_id}']")
    live = entry.locator("dd.live")

    # Dana's page pings the server every 5 s while she waits and reports the round trip.
    expect(live).to_have_text(re.compile(r"^\d+ ms round trip to the server$"), timeout=12_000)
    # The next sample replaces whatever the entry showed.
    counselor.evaluate(
        "() => { document.querySelector('#participants dd.live').textContent = ''; }"
    )
    expect(live).to_have_text(re.compile(r"^\d+ ms round trip"), timeout=8_000)
    # Nothing of it is stored: only the device check's numbers are.
    assert "rtt_ms" not in (Participant.objects.get(pk=consented.citizen.pk).check_details or {})
    # Once admitted, the call's own numbers take over and the waiting room's line goes away.
    counselor.get_by_role("button", name="Admit").click()
    citizen.locator("#call").wait_for()
    expect(live).to_be_hidden()
    call_entry = counselor.locator(
        f"#network-list [data-participant='{consented.citizen.public_id}']"
    )
    expect(call_entry.locator(".loss")).to_have_text(re.compile(r"[\d.,]+ %"), timeout=12_000)
