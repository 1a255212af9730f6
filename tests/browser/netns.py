"""Test hosts in network namespaces of their own, joined to this host by a veth pair.

A browser started inside such a namespace reaches the server over the veth link only, so the
link can be shaped like a poor mobile connection: a rate limit with tc's token bucket filter and
random loss with nftables (the kernel here has no netem). Needs root, iproute2 and nftables.
"""

import itertools
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

_numbers = itertools.count(1)


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=20)


class LinkedHost:
    """A namespace with one veth link to this host: this host is .1, the test host .2."""

    def __init__(self) -> None:
        number = (os.getpid() + next(_numbers)) % 250 + 1
        self.name = f"vt-test-{os.getpid()}-{number}"
        self.outside = f"vto{number}"
        self.inside = f"vti{number}"
        self.host_address = f"10.231.{number}.1"
        self.address = f"10.231.{number}.2"
        self.dir = Path(tempfile.mkdtemp(prefix="vt-netns-"))

    def __enter__(self) -> "LinkedHost":
        for tool in ("ip", "tc", "nft"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} is missing: `make test` installs iproute2 and nftables")
        run("ip", "netns", "add", self.name)
        run("ip", "link", "add", self.outside, "type", "veth", "peer", "name", self.inside)
        run("ip", "link", "set", self.inside, "netns", self.name)
        run("ip", "addr", "add", f"{self.host_address}/30", "dev", self.outside)
        run("ip", "link", "set", self.outside, "up")
        self.exec("ip", "addr", "add", f"{self.address}/30", "dev", self.inside)
        self.exec("ip", "link", "set", self.inside, "up")
        self.exec("ip", "link", "set", "lo", "up")
        return self

    def __exit__(self, *exc: object) -> None:
        self.unshape()
        subprocess.run(
            ["nft", "delete", "table", "inet", self._cut_table], capture_output=True, timeout=20
        )
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=20)
        subprocess.run(["ip", "link", "del", self.outside], capture_output=True, timeout=20)
        shutil.rmtree(self.dir, ignore_errors=True)

    def exec(self, *command: str) -> None:
        run("ip", "netns", "exec", self.name, *command)

    def shape(self, *, rate: str = "400kbit", loss_percent: int = 2) -> None:
        """Limit both directions of the link to `rate` and drop `loss_percent` of packets."""
        for device, inside in ((self.outside, False), (self.inside, True)):
            command = (
                "tc",
                "qdisc",
                "add",
                "dev",
                device,
                "root",
                "tbf",
                "rate",
                rate,
                "burst",
                "4kb",
                "latency",
                "300ms",
            )
            self.exec(*command) if inside else run(*command)
        # Loss on the receiving side of each direction: the test host's input, and this host's
        # input from the link only (nothing else on this machine is touched).
        self.exec("nft", "add", "table", "inet", "vtloss")
        self.exec(
            "nft",
            "add",
            "chain",
            "inet",
            "vtloss",
            "input",
            "{ type filter hook input priority 0 ; }",
        )
        self.exec(
            "nft",
            "add",
            "rule",
            "inet",
            "vtloss",
            "input",
            "numgen",
            "random",
            "mod",
            "100",
            "<",
            str(loss_percent),
            "drop",
        )
        table = f"vtloss{self.outside}"
        run("nft", "add", "table", "inet", table)
        run(
            "nft", "add", "chain", "inet", table, "input", "{ type filter hook input priority 0 ; }"
        )
        run(
            "nft",
            "add",
            "rule",
            "inet",
            table,
            "input",
            "iifname",
            self.outside,
            "numgen",
            "random",
            "mod",
            "100",
            "<",
            str(loss_percent),
            "drop",
        )
        self._table = table

    def cut(self) -> None:
        """Drop everything crossing the link, both ways, as a tunnel or a lift would."""
        self.exec("nft", "add", "table", "inet", "vtcut")
        self.exec(
            "nft",
            "add",
            "chain",
            "inet",
            "vtcut",
            "input",
            "{ type filter hook input priority -10 ; }",
        )
        self.exec("nft", "add", "rule", "inet", "vtcut", "input", "iifname", self.inside, "drop")
        run("nft", "add", "table", "inet", self._cut_table)
        run(
            "nft",
            "add",
            "chain",
            "inet",
            self._cut_table,
            "input",
            "{ type filter hook input priority -10 ; }",
        )
        run("nft", "add", "rule", "inet", self._cut_table, "input", "iifname", self.outside, "drop")

    def restore(self) -> None:
        """Let traffic cross the link again."""
        subprocess.run(
            ["nft", "delete", "table", "inet", self._cut_table], capture_output=True, timeout=20
        )
        self.exec("nft", "delete", "table", "inet", "vtcut")

    @property
    def _cut_table(self) -> str:
        return f"vtcut{self.outside}"

    def unshape(self) -> None:
        subprocess.run(
            ["nft", "delete", "table", "inet", getattr(self, "_table", "none")],
            capture_output=True,
            timeout=20,
        )

    def wrap(self, executable: str) -> str:
        """A launcher that starts `executable` inside this namespace (file descriptors kept)."""
        launcher = self.dir / "launch"
        launcher.write_text(f'#!/bin/sh\nexec ip netns exec {self.name} {executable} "$@"\n')
        launcher.chmod(launcher.stat().st_mode | stat.S_IEXEC)
        return str(launcher)
