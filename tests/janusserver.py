"""A real Janus WebRTC Server with the project's own configuration (deploy/janus), for the tests.

The configuration is the one operators install; only what must differ per run is rewritten:
the folders (Debian's multiarch path), the API port, the API secret and the RTP port range.
"""

import json
import random
import re
import shutil
import urllib.request
from pathlib import Path

from tests.serverprocess import ServerProcess, free_tcp_port

DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "janus"


def _replace(text: str, pattern: str, value: str) -> str:
    """Set one `key = value` line; fail loudly when the shipped configuration lost the key."""
    changed, count = re.subn(rf"(?m)^(\s*){pattern}\s*=.*$", rf"\g<1>{pattern} = {value}", text)
    if count != 1:
        raise RuntimeError(f"deploy/janus has no single {pattern!r} setting")
    return changed


class JanusServer(ServerProcess):
    """`janus` in a temporary folder on a free loopback port; use as a context manager."""

    name = "janus"

    def __init__(self, api_secret: str) -> None:
        self.api_secret = api_secret
        self.port = free_tcp_port()
        # RTP ports: a random range, so that runs side by side rarely compete for them.
        self.min_port = random.randrange(40000, 60000, 200)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/janus"

    def __enter__(self) -> "JanusServer":
        binary = shutil.which("janus")
        libraries = sorted(Path("/usr/lib").glob("*/janus/plugins"))
        if binary is None or not libraries:
            raise RuntimeError(
                "janus (Debian package janus) is not installed: run `make test`, "
                "which installs it, or `apt-get install -y janus`."
            )
        lib = libraries[0].parent
        folder = self.make_folder()
        for source in DEPLOY.glob("*.jcfg"):
            shutil.copy(source, folder / source.name)
        core = (folder / "janus.jcfg").read_text()
        core = _replace(core, "configs_folder", json.dumps(str(folder)))
        for kind in ("plugins", "transports", "events", "loggers"):
            core = _replace(core, f"{kind}_folder", json.dumps(str(lib / kind)))
        core = _replace(core, "api_secret", json.dumps(self.api_secret))
        core = _replace(
            core, "rtp_port_range", json.dumps(f"{self.min_port}-{self.min_port + 199}")
        )
        (folder / "janus.jcfg").write_text(core)
        http = (folder / "janus.transport.http.jcfg").read_text()
        (folder / "janus.transport.http.jcfg").write_text(_replace(http, "port", str(self.port)))

        self.start([binary, "-F", str(folder), "-C", str(folder / "janus.jcfg")], self._answers)
        return self

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/info", timeout=0.5) as response:
                return json.load(response).get("janus") == "server_info"
        except OSError:
            return False

    def sessions(self) -> int:
        """How many Janus sessions exist now (the admin API is off: count via the log)."""
        log = self.output()
        return log.count("Creating new session") - log.count("Destroying session")
