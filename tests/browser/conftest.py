"""Real browsers with fake camera and microphone against the real ASGI application.

Each test gets its own uvicorn server on a free 127.0.0.1 port (a secure context for WebRTC),
one Chromium (Playwright) and one Firefox (tests/browser/firefox.py) for the whole session, each
started when a test first needs it (Chromium again after a test had to close it), and one browser
context per party.
"""

import asyncio
import os
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes
from email.message import Message

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse
from tests.personas import PASSWORD
from tests.serverprocess import free_tcp_port

from videotermin.lib import events

CHROMIUM = "/usr/bin/chromium"
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
    "--autoplay-policy=no-user-gesture-required",
]

# Inbound media of every peer connection the page keeps in window.videoterminPeers: the sums,
# and per peer (by the remote session), so that a test can prove media on every pair.
STATS_SCRIPT = """async () => {
    const result = {framesDecoded: 0, packetsReceived: 0, peers: 0, bySession: {}};
    const peers = window.videoterminPeers ? [...window.videoterminPeers.entries()] : [];
    for (const [session, peer] of peers) {
        result.peers += 1;
        const own = {framesDecoded: 0, packetsReceived: 0, member: peer.member};
        const stats = await peer.pc.getStats();
        stats.forEach((report) => {
            if (report.type !== 'inbound-rtp') return;
            if (report.kind === 'video') own.framesDecoded += report.framesDecoded || 0;
            if (report.kind === 'audio') own.packetsReceived += report.packetsReceived || 0;
        });
        result.framesDecoded += own.framesDecoded;
        result.packetsReceived += own.packetsReceived;
        result.bySession[session] = own;
    }
    return result;
}"""


class Server:
    """videotermin.asgi.application under uvicorn in a background thread."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        import uvicorn

        from videotermin.asgi import application

        self.port = free_tcp_port()
        self.url = f"http://{host}:{self.port}"
        # As in production: forwarded headers are the application's concern (lib/proxies.py).
        config = uvicorn.Config(
            application,
            host=host,
            port=self.port,
            log_level="warning",
            lifespan="off",
            proxy_headers=False,
            # As the service unit runs it (deploy/systemd): no compression on the sockets.
            ws_per_message_deflate=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _async_to_sync_from_any_thread(function):
    """async_to_sync that also works in a thread with a running loop (Playwright's sync API)."""
    call = async_to_sync(function)

    def run(*args, **kwargs):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return call(*args, **kwargs)
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(call, *args, **kwargs).result()

    return run


@pytest.fixture(autouse=True)
def publish_from_the_test(monkeypatch):
    """Let service calls in the test itself publish their events while Playwright runs."""
    monkeypatch.setattr(events, "async_to_sync", _async_to_sync_from_any_thread)


@pytest.fixture
def consented(booking, consenting_citizen):
    """The booking, its citizen having agreed already: her link leads straight to the check."""
    return booking


@pytest.fixture
def server(transactional_db, settings):
    """The whole application on a free port; settings.SITE_URL points at it."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    running = Server()
    settings.SITE_URL = running.url
    settings.CSRF_TRUSTED_ORIGINS = [running.url]
    running.start()
    yield running
    running.stop()


class Chromium:
    """The session's Chromium, launched when a test first needs it, and again after a test had
    to close it (see close_contexts)."""

    def __init__(self, playwright) -> None:
        self.playwright = playwright
        self.running = None

    def get(self):
        if self.running is None or not self.running.is_connected():
            self.running = self.playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
        return self.running

    def close(self) -> None:
        if self.running is not None and self.running.is_connected():
            closed_within(self.running)


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in the test's thread; the ORM calls of the test
    # itself are still plain synchronous calls. Browser tests run last (tests/conftest.py), so
    # this never hides an unsafe call in the other tests.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        launcher = Chromium(playwright)
        yield launcher
        launcher.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def browser(chromium):
    return chromium.get()


# Chromium now and then never answers the closing of a context whose pages held a call (one
# close in some hundreds, on a loaded machine); Playwright waits for it without a limit.
CLOSE_SECONDS = 30


def closed_within(closable, seconds: float = CLOSE_SECONDS) -> bool:
    """Close a Playwright browser context or browser; False if it did not close in time."""
    try:
        closable._sync(asyncio.wait_for(closable._impl_obj.close(reason=None), seconds))
    except TimeoutError:
        return False
    return True


def close_contexts(browser, contexts) -> None:
    """Close the contexts a test opened. One that does not close takes its browser with it,
    which is launched afresh for the next test; the test's own outcome stands."""
    for context in contexts:
        if not closed_within(context):
            warnings.warn(
                f"A Chromium context did not close within {CLOSE_SECONDS} s: Chromium is "
                "launched again for the next test",
                stacklevel=1,
            )
            closed_within(browser)
            return


@pytest.fixture(scope="session")
def firefox():
    """Debian's firefox-esr with fake camera and microphone, driven over WebDriver BiDi."""
    from tests.browser.firefox import Firefox

    running = Firefox()
    yield running
    running.close()


@pytest.fixture(scope="session")
def firefox_with_screen():
    """Firefox as above, but with a window on a 1280x800 display of its own (Xvfb), the screen
    that its getDisplayMedia() shares without asking."""
    from tests.browser.firefox import Firefox

    running = Firefox(screen=(1280, 800))
    yield running
    running.close()


def firefox_contexts(firefox, server):
    """A factory of Firefox contexts on the test's server, then closing them after the test."""
    contexts = []

    def make():
        context = firefox.new_context(base_url=server.url)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def new_firefox_context(firefox, server):
    """A factory of Firefox contexts on the test's server, one per party; closed after the test."""
    yield from firefox_contexts(firefox, server)


@pytest.fixture
def new_screen_firefox_context(firefox_with_screen, server):
    """Contexts of the Firefox with a screen to share, one per party; closed after the test."""
    yield from firefox_contexts(firefox_with_screen, server)


@pytest.fixture
def new_context(browser, server):
    """A factory of browser contexts, one per party; all closed after the test."""
    contexts = []

    def make(**options):
        context = browser.new_context(base_url=server.url, **options)
        # Generous: the machines that run these share two cores with other test runs.
        context.set_default_timeout(30_000)
        context.set_default_navigation_timeout(60_000)
        contexts.append(context)
        return context

    yield make
    close_contexts(browser, contexts)


def log_in(page, username: str = "alice", password: str = PASSWORD) -> None:
    """Sign in through the staff login form, as the counselor would."""
    page.goto(reverse("staff:login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form [type=submit]")
    page.wait_for_load_state()
    assert "/login/" not in page.url, "the staff login failed"


def wait_until(condition, timeout: float = 15, message: str = "condition"):
    """Poll a condition of the server's side (the database) until it holds; return its value."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.1)
    return result


def media_stats(page) -> dict:
    """Inbound video frames decoded and audio packets received over all the page's peers."""
    return page.evaluate(STATS_SCRIPT)


def wait_for_media(page, timeout: float = 20, peers: int = 1) -> dict:
    """Wait until the page decodes video and receives audio from each of `peers` others, on
    every one of its peer connections; return the last statistics."""
    deadline = time.monotonic() + timeout
    stats = media_stats(page)

    def flowing(s) -> bool:
        pairs = s["bySession"].values()
        return len(pairs) >= peers and all(
            p["framesDecoded"] > 0 and p["packetsReceived"] > 0 for p in pairs
        )

    while not flowing(stats):
        if time.monotonic() > deadline:
            raise AssertionError(f"no media arrived from {peers} peer(s): {stats}")
        page.wait_for_timeout(250)
        stats = media_stats(page)
    return stats


class Mailbox:
    """What the SMTP sink received, parsed as e-mail messages."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 OK"

    def wait(self, count: int = 1, timeout: float = 10) -> list[Message]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@pytest.fixture
def smtp(settings):
    """A real SMTP server on a free port; Django sends its e-mails there."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_tcp_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield mailbox
    controller.stop()
