"""A real OpenID Connect provider (npm oidc-provider, tests/oidc/provider.mjs) on a free
loopback port, with the clients and accounts a test gives it."""

import json
import secrets
import shutil
import urllib.request
from pathlib import Path

from tests.serverprocess import ServerProcess, free_tcp_port

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "oidc" / "provider.mjs"


class OIDCProvider(ServerProcess):
    name = "oidc-provider"

    def __init__(self, clients: list[dict], accounts: dict[str, dict]) -> None:
        self.port = free_tcp_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.config = {
            "port": self.port,
            "clients": clients,
            "accounts": accounts,
            "cookieKey": secrets.token_hex(16),
        }

    def __enter__(self) -> "OIDCProvider":
        node = shutil.which("node")
        if node is None or not (ROOT / "node_modules" / "oidc-provider").exists():
            raise RuntimeError("needs node and `make node-packages` (npm oidc-provider)")
        folder = self.make_folder()
        config = folder / "config.json"
        config.write_text(json.dumps(self.config))
        self.start([node, str(SCRIPT), str(config)], self._answers, timeout=20)
        return self

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.discovery_url, timeout=1) as response:  # noqa: S310
                return json.load(response)["issuer"] == self.issuer
        except OSError:
            return False

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"
