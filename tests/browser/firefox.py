"""Firefox for the browser tests: Debian's firefox-esr, driven like a person would use it.

Playwright's own Firefox cannot be installed here, so puppeteer-core drives firefox-esr over
WebDriver BiDi from a small Node process (firefox_driver.mjs); this module talks to it in JSON
lines over its stdin and stdout. One Firefox serves the whole session; each person gets a
browser context of her own (cookies, storage), with a fake camera and microphone::

    dana = firefox.new_context(server.url).new_page()
    dana.goto(f"/j/{booking.token}/")
    dana.click("button[name=decision][value=accept]")
    dana.wait_for_selector("#result")
    stats = dana.evaluate("async () => await window.videoterminTestCall.stats()")

An error in the page (a script that throws, a selector that never appears) raises
FirefoxError with the browser's message. Timeouts are in seconds, 15 unless told.

Headless Firefox has no screen to share. ``Firefox(screen=(1280, 800))`` runs it with a window
on a private Xvfb display of that size instead; getDisplayMedia() then shares that display
without asking, as the one screen there is (with the permission prompts turned off).
"""

import atexit
import contextlib
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("firefox_driver.mjs")
FIREFOX = "/usr/bin/firefox-esr"
XVFB = "/usr/bin/Xvfb"
DEFAULT_TIMEOUT = 15.0
# Launching Firefox with a fresh profile takes seconds, half a minute on two busy cores.
START_TIMEOUT = 90.0
# What the Node process may take beyond a command's own timeout before it counts as hung.
GRACE = 15.0


class FirefoxError(Exception):
    """Firefox or the page refused a command; the message is the browser's."""


def missing() -> str | None:
    """Why Firefox cannot run here, or None."""
    if not Path(FIREFOX).exists():
        return f"{FIREFOX} is missing: run `make test` (installs firefox-esr) or apt-get it"
    if shutil.which("node") is None:
        return "node is missing: run `make test` (installs nodejs)"
    if not (ROOT / "node_modules" / "puppeteer-core").is_dir():
        return "puppeteer-core is missing: run `make test` (runs npm ci)"
    return None


class Display:
    """A private X display (Xvfb) of the given size for a Firefox with a screen to share."""

    def __init__(self, width: int, height: int, timeout: float = 30.0) -> None:
        if not Path(XVFB).exists():
            raise FirefoxError(f"{XVFB} is missing: run `make test` (installs xvfb)")
        read, write = os.pipe()
        try:
            # -displayfd: Xvfb takes the first free display number and writes it there.
            self.process = subprocess.Popen(
                [
                    XVFB,
                    "-displayfd",
                    str(write),
                    "-screen",
                    "0",
                    f"{width}x{height}x24",
                    "-nolisten",
                    "tcp",
                    "-noreset",
                ],
                pass_fds=(write,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            os.close(write)
            write = -1
            number = b""
            deadline = time.monotonic() + timeout
            while not number.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([read], [], [], left)[0]:
                    self.close()
                    raise FirefoxError(f"Xvfb did not start within {timeout:.0f} s")
                chunk = os.read(read, 16)
                if not chunk:
                    self.close()
                    raise FirefoxError("Xvfb ended before it opened a display")
                number += chunk
        finally:
            os.close(read)
            if write >= 0:
                os.close(write)
        self.name = f":{int(number)}"

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Firefox:
    """The Node process and its Firefox; close() (or the end of the interpreter) ends both.

    Should the driver die or hang, the next new_context() starts a fresh Firefox, so that one
    broken test does not take the rest of the session with it. With a screen (width, height)
    Firefox runs with a window on a private Xvfb display of that size, which it can share.
    """

    def __init__(self, screen: tuple[int, int] | None = None) -> None:
        problem = missing()
        if problem:
            raise FirefoxError(problem)
        self.screen = screen
        self._display: Display | None = None
        self._lock = threading.Lock()
        self._next_id = 0
        self._process: subprocess.Popen | None = None
        # Which start of Firefox a context belongs to: the contexts of one that died are gone.
        self.generation = 0
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        self.generation += 1
        env = {**os.environ, "VIDEOTERMIN_FIREFOX": FIREFOX}
        if self.screen is not None:
            if self._display is None or self._display.process.poll() is not None:
                self._display = Display(*self.screen)
            env.update(DISPLAY=self._display.name, VIDEOTERMIN_FIREFOX_HEADLESS="0")
            env.pop("WAYLAND_DISPLAY", None)
        fd, self._log_path = tempfile.mkstemp(prefix="videotermin-firefox-", suffix=".log")
        with os.fdopen(fd, "w") as log:
            self._process = subprocess.Popen(
                ["node", str(DRIVER)],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=env,
                # Its own process group: a Ctrl-C in the terminal reaches pytest, which closes it.
                start_new_session=True,
            )
        self._answers: queue.Queue[dict | None] = queue.Queue()
        threading.Thread(
            target=self._read, args=(self._process, self._answers), daemon=True
        ).start()
        atexit.register(self.close)
        ready = self._answer(START_TIMEOUT, "Firefox to start")
        self.version: str = ready["version"]
        # Puppeteer starts Firefox in a process group of its own; kept to end it for sure.
        self._firefox_pid: int | None = ready.get("pid")

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @staticmethod
    def _read(process: subprocess.Popen, answers: queue.Queue) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            try:
                answers.put(json.loads(line))
            except ValueError:
                continue  # not ours: a library writing to stdout
        answers.put(None)

    def _answer(self, timeout: float, what: str) -> dict:
        try:
            answer = self._answers.get(timeout=timeout)
        except queue.Empty:
            log = self.log()
            self.close()
            message = f"Firefox did not answer within {timeout:.0f} s ({what}):\n{log}"
            raise FirefoxError(message) from None
        if answer is None:
            raise FirefoxError(f"the Firefox driver ended ({what}):\n{self.log()}")
        return answer

    def log(self) -> str:
        """What the driver and Firefox wrote to stderr (the last part)."""
        try:
            return Path(self._log_path).read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def call(self, method: str, timeout: float = DEFAULT_TIMEOUT, **params: Any) -> Any:
        """Run one command of the driver; its result, or FirefoxError with the page's message."""
        with self._lock:
            if not self.running:
                raise FirefoxError(f"the Firefox driver is not running:\n{self.log()}")
            assert self._process is not None and self._process.stdin is not None
            self._next_id += 1
            request = {
                "id": self._next_id,
                "method": method,
                "params": {**params, "timeout": int(timeout * 1000)},
            }
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            while True:
                answer = self._answer(timeout + GRACE, method)
                if answer.get("id") == self._next_id:
                    break
        if "error" in answer:
            raise FirefoxError(f"{method}: {answer['error']['message']}")
        return answer["result"]

    def new_context(self, base_url: str = "") -> "Context":
        """A fresh browser context, as a second person on another computer would have."""
        if not self.running:
            self._close_firefox()
            self._start()
        return Context(self, self.call("newContext"), base_url, self.generation)

    def close(self) -> None:
        """Close Firefox and end the driver (and its display); by force when they do not go."""
        self._close_firefox()
        if self._display is not None:
            self._display.close()
            self._display = None

    def _close_firefox(self) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            try:
                assert process.stdin is not None
                process.stdin.write(json.dumps({"id": 0, "method": "close"}) + "\n")
                process.stdin.close()
                process.wait(timeout=15)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                process.kill()
                process.wait()
        if self._firefox_pid is not None:
            # Normally it closed already and there is no such group left.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._firefox_pid, signal.SIGKILL)
            self._firefox_pid = None
        self._process = None
        Path(self._log_path).unlink(missing_ok=True)
        atexit.unregister(self.close)


class Context:
    """One person's browser: own cookies and storage; addresses relative to base_url."""

    def __init__(self, firefox: Firefox, context_id: int, base_url: str, generation: int) -> None:
        self.firefox = firefox
        self.id = context_id
        self.base_url = base_url
        self.generation = generation

    def new_page(self) -> "Page":
        return Page(self, self.firefox.call("newPage", context=self.id))

    def close(self) -> None:
        """Close its pages and forget its cookies; nothing to do once its Firefox has gone."""
        if self.firefox.running and self.firefox.generation == self.generation:
            self.firefox.call("closeContext", context=self.id)


# What a failed wait reports of the page.
SHOWN = """() => ({
  url: location.href,
  view: document.querySelector("#room")?.dataset.view ?? null,
  status: document.querySelector("[role=status], #status")?.innerText ?? null,
  alert: document.querySelector("[role=alert]:not([hidden])")?.innerText ?? null,
})"""


class Page:
    """A tab; every method waits like a person would (for the element to be there, visible)."""

    def __init__(self, context: Context, page_id: int) -> None:
        self.context = context
        self.id = page_id

    def _call(self, method: str, timeout: float = DEFAULT_TIMEOUT, **params: Any) -> Any:
        try:
            return self.context.firefox.call(method, timeout=timeout, page=self.id, **params)
        except FirefoxError as error:
            if not method.startswith("waitFor"):
                raise
            raise FirefoxError(f"{error}\n{self._showing()}") from None

    def _showing(self) -> str:
        """What the page showed when a wait failed: its address, view, status and complaints,
        so that a failure on a busy machine can be read after the fact."""
        try:
            shown = self.context.firefox.call(
                "evaluate", timeout=5, page=self.id, source=SHOWN, args=[]
            )
            complaints = self.warnings() + self.errors()
        except FirefoxError as error:
            return f"(the page could not be read: {error})"
        return (
            f"the page showed: {json.dumps(shown, ensure_ascii=False)}\nit complained: {complaints}"
        )

    def goto(self, url: str, timeout: float = DEFAULT_TIMEOUT) -> int | None:
        """Open the address (relative to the context's base_url); the response's status."""
        answer = self._call("goto", timeout, url=urljoin(self.context.base_url, url))
        return answer["status"]

    def click(
        self, selector: str | None = None, *, text: str | None = None, timeout=DEFAULT_TIMEOUT
    ) -> None:
        """Click the element matching the CSS selector, or the innermost one with the text."""
        if (selector is None) == (text is None):
            raise TypeError("click() takes a selector or a text")
        self._call("click", timeout, selector=selector, text=text)

    def fill(self, selector: str, value: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Type the value into the input field (its old value replaced)."""
        self._call("fill", timeout, selector=selector, value=value)

    def wait_for_selector(
        self, selector: str, state: str = "visible", timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        """Wait until an element matches and is "visible", "hidden" or just "attached"."""
        if state not in ("visible", "hidden", "attached"):
            raise ValueError(f"unknown state {state!r}")
        self._call("waitForSelector", timeout, selector=selector, state=state)

    def wait_for_text(
        self, text: str, selector: str = "body", timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        """Wait until an element matching the selector shows the text (as innerText)."""
        self._call("waitForText", timeout, text=text, selector=selector)

    def wait_for_function(self, source: str, *args: Any, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """Evaluate a JS function (or expression) until it is truthy; that value as JSON."""
        return self._call("waitForFunction", timeout, source=source, args=list(args))

    def evaluate(self, source: str, *args: Any, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """A JS function called with the args (awaited if async), or an expression; as JSON."""
        return self._call("evaluate", timeout, source=source, args=list(args))

    @property
    def url(self) -> str:
        return self._call("url")

    def screenshot(self, path: str | os.PathLike) -> Path:
        """The whole page as a PNG file."""
        return Path(self._call("screenshot", path=str(Path(path).resolve())))

    def errors(self) -> list[str]:
        """Messages of the errors the page's scripts threw and nobody caught."""
        return self._call("errors")

    def warnings(self) -> list[str]:
        """What the page logged with console.warn() and console.error(), as "warn: text"."""
        return self._call("warnings")

    def close(self) -> None:
        self._call("closePage")
