"""Several application nodes behind a real haproxy, sharing PostgreSQL and Redis: the cluster of
docs/operations.md ("A cluster") on one machine, for the failover tests.

- haproxy (Debian package) runs the configuration operators install,
  deploy/haproxy/videotermin.cfg; only what must differ here is rewritten, as
  tests/janusserver.py does for Janus: the listening addresses (plain http on loopback, no
  certificate), the servers (the nodes' loopback ports), the admin socket, and what needs root
  (chroot, user, daemon, syslog).
- Each node is one uvicorn process of the project on a port of its own (a production node runs
  several such processes, deploy/systemd/videotermin.service); `kill()` is `kill -9`.
- A PostgreSQL database of the cluster's own on the server at TEST_POSTGRES_URL (default
  127.0.0.1:5432), and a private redis-server: SQLite and the in-memory channel layer cannot be
  shared by two processes.
- The test's own steps on the database (booking, reading a member's row) run in a Django process
  on the cluster's database (`Cluster.ask`), as the test process itself may be set up with
  another database (SQLite in `make test`).

Every process is killed when the cluster closes, however the test ended, and dies with the
test run should that itself be killed (PR_SET_PDEATHSIG); the database is dropped.
"""

import contextlib
import csv
import ctypes
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.redisserver import answers as redis_answers
from tests.serverprocess import free_tcp_port

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy" / "haproxy" / "videotermin.cfg"
BACKEND = "videotermin"
POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/videotermin")
DATABASE_PREFIX = "videotermin_cluster_"
# What the test process's own environment must not pass on to the nodes.
PRIVATE = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY_FILE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "PROMETHEUS_MULTIPROC_DIR",
)

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the test process goes, however it goes."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _spawn(argv: list[str], log: Path, env: dict[str, str] | None = None, **options):
    with open(log, "ab") as output:
        return subprocess.Popen(
            argv,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 (only a C call, no Python state)
            **options,
        )


def _end(process: subprocess.Popen | None) -> None:
    """Kill the process's whole session and reap it."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def _wait(condition, timeout: float, what: str, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited ({process.returncode})")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def _answers_http(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (loopback)
            return response.status == 200
    except OSError:
        return False


def rewrite_haproxy(text: str, *, folder: Path, port: int, servers: dict[str, int]) -> str:
    """deploy/haproxy/videotermin.cfg for this machine: the `https` frontend on plain http at
    127.0.0.1:port, every other frontend on a free loopback port, the backend's servers
    replaced by `servers` (name -> loopback port), the admin socket in `folder`, and nothing
    that needs root. Fails loudly when the shipped file lost what the test relies on."""
    out: list[str] = []
    section = ""
    seen = {"https bind": 0, "servers": 0, "stats socket": 0}
    bound: set[str] = set()
    for line in text.splitlines():
        words = line.split()
        key = words[0] if words else ""
        if line and not line[0].isspace():
            section = " ".join(words[:2])
        elif key in ("chroot", "user", "group", "daemon") and section == "global":
            continue
        elif key == "log" and section == "global":
            line = "    log stderr format short local0 notice"
        elif key == "stats" and words[1:2] == ["socket"]:
            line = f"    stats socket {folder}/admin.sock mode 600 level admin"
            seen["stats socket"] += 1
        elif key == "bind":
            if section in bound:
                continue  # one address per frontend here
            bound.add(section)
            if section == "frontend https":
                line = f"    bind 127.0.0.1:{port}"
                seen["https bind"] += 1
            else:
                line = f"    bind 127.0.0.1:{free_tcp_port()}"
        elif key == "server" and section == f"backend {BACKEND}":
            if seen["servers"]:
                continue
            seen["servers"] = len(servers)
            out += [f"    server {name} 127.0.0.1:{p}" for name, p in servers.items()]
            continue
        out.append(line)
    missing = [what for what, count in seen.items() if not count]
    if missing:
        raise RuntimeError(f"{DEPLOY} has no {', '.join(missing)} where the test expects it")
    return "\n".join(out) + "\n"


class Node:
    """One application process (uvicorn) in a haproxy server slot."""

    def __init__(self, cluster: "Cluster", slot: str, process: subprocess.Popen) -> None:
        self.cluster, self.slot, self.process = cluster, slot, process

    @property
    def port(self) -> int:
        return self.cluster.slots[self.slot]

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """kill -9: no socket is closed, no database row written; the node is just gone."""
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, as `systemctl stop` sends: uvicorn closes its sockets (1012) and exits."""
        os.kill(self.pid, signal.SIGTERM)
        self.process.wait(timeout=30)

    def __repr__(self) -> str:
        return f"<Node {self.slot} pid {self.pid}{'' if self.alive else ' dead'}>"


class Cluster:
    """Redis, a PostgreSQL database, haproxy and nodes; use as a context manager."""

    def __init__(self, nodes: int = 2, slots: int = 3) -> None:
        if shutil.which("haproxy") is None or shutil.which("redis-server") is None:
            raise RuntimeError(
                "haproxy and redis-server (Debian packages) are needed: run `make test`, which "
                "installs them, or `apt-get install -y haproxy redis-server`."
            )
        self.first_nodes = nodes
        self.slots = {f"app{index + 1}": free_tcp_port() for index in range(slots)}
        self.nodes: list[Node] = []
        self.port = free_tcp_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = f"{DATABASE_PREFIX}{os.getpid()}"
        self._stack = contextlib.ExitStack()
        self._django: subprocess.Popen | None = None

    # Lifecycle ---------------------------------------------------------------------------------

    def __enter__(self) -> "Cluster":
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self) -> None:
        self.dir = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="vt-cl-")))
        self._stack.callback(self._stop_processes)
        self._create_database()
        redis_port = self.redis_port = free_tcp_port()
        self.start_redis()
        base = {k: v for k, v in os.environ.items() if k not in PRIVATE}
        self.env = {
            **base,
            "DJANGO_SETTINGS_MODULE": "videotermin.settings",
            "VIDEOTERMIN_ENV": "demo",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SITE_URL": self.url,
            # The nodes believe haproxy's X-Forwarded-For, as behind the production proxies.
            "TRUSTED_PROXIES": "127.0.0.1",
            "VIDEOTERMIN_VAR": str(self.dir),
            "VIDEOTERMIN_STATIC_FROM_SOURCE": "1",
            "EMAIL_FILE_PATH": str(self.dir / "mail"),
            "LOG_LEVEL": "WARNING",
        }
        self.ask("migrate")
        self.ask("personas")
        for _ in range(self.first_nodes):
            self._launch()
        self._start_haproxy()
        for node in self.nodes:
            self.wait_for_haproxy(node, "UP")

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _stop_processes(self) -> None:
        if self._django is not None and self._django.stdin is not None:
            with contextlib.suppress(OSError):
                self._django.stdin.close()
        for process in [self._django, *(node.process for node in self.nodes)]:
            _end(process)
        _end(getattr(self, "haproxy", None))
        _end(getattr(self, "redis", None))
        self._drop_database()

    # PostgreSQL --------------------------------------------------------------------------------

    @property
    def database_url(self) -> str:
        parts = urlsplit(POSTGRES)
        return urlunsplit(parts._replace(path=f"/{self.database}"))

    def _admin(self):
        import psycopg

        parts = urlsplit(POSTGRES)
        return psycopg.connect(
            host=parts.hostname,
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password or None,
            dbname="postgres",
            autocommit=True,
        )

    def _create_database(self) -> None:
        with self._admin() as connection:
            # Databases of earlier runs that were killed before they could drop theirs.
            names = connection.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{DATABASE_PREFIX}%"]
            ).fetchall()
            for (name,) in names:
                pid = int(name.removeprefix(DATABASE_PREFIX) or 0)
                if pid == os.getpid() or not Path(f"/proc/{pid}").exists():
                    connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{self.database}"')

    def _drop_database(self) -> None:
        with contextlib.suppress(Exception), self._admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    # Redis --------------------------------------------------------------------------------------

    def start_redis(self) -> None:
        """Redis on the cluster's port, empty (it keeps nothing, as a restarted one in production
        may not)."""
        port = self.redis_port
        self.redis = _spawn(
            ["redis-server", "--port", str(port), "--dir", str(self.dir), "--save", ""]
            + ["--bind", "127.0.0.1", "--appendonly", "no"],
            self.dir / "redis.log",
        )
        _wait(lambda: redis_answers(port), 10, "redis-server", self.redis)

    def kill_redis(self) -> None:
        """kill -9 of Redis: every node's connections to it are cut."""
        self.redis.kill()
        self.redis.wait()

    # The test's hands on the database --------------------------------------------------------

    def ask(self, command: str, **arguments):
        """Run a command of `serve()` below in the Django process on the cluster's database."""
        if self._django is None or self._django.poll() is not None:
            with open(self.dir / "django.log", "ab") as log:
                self._django = subprocess.Popen(
                    [sys.executable, "-m", "tests.cluster"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    env=self.env,
                    cwd=ROOT,
                    text=True,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,  # noqa: PLW1509
                )
        assert self._django.stdin is not None and self._django.stdout is not None
        self._django.stdin.write(json.dumps({"command": command, "arguments": arguments}) + "\n")
        self._django.stdin.flush()
        line = self._django.stdout.readline()
        if not line:
            log = (self.dir / "django.log").read_text(errors="replace")
            raise RuntimeError(f"the cluster's Django process died at {command!r}:\n{log}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"{command}: {answer['error']}")
        return answer["result"]

    # Nodes -------------------------------------------------------------------------------------

    def _launch(self) -> Node:
        taken = {node.slot for node in self.nodes if node.alive}
        slot = next(name for name in self.slots if name not in taken)
        port = self.slots[slot]
        log = self.dir / f"{slot}.log"
        process = _spawn(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "videotermin.asgi:application",
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
                "--no-proxy-headers",
                "--no-access-log",
                "--lifespan",
                "off",
                "--log-level",
                "warning",
                "--timeout-graceful-shutdown",
                "20",
                "--ws-per-message-deflate",
                "false",
            ],
            log,
            self.env,
        )
        node = Node(self, slot, process)
        self.nodes.append(node)
        _wait(
            lambda: _answers_http(f"http://127.0.0.1:{port}/readyz?scope=node"),
            60,
            f"node {slot}",
            process,
        )
        return node

    def start_node(self) -> Node:
        """A fresh node in a free slot, once haproxy sends it connections."""
        node = self._launch()
        self.set_state(node, "ready")
        self.wait_for_haproxy(node, "UP")
        return node

    @property
    def running(self) -> list[Node]:
        return [node for node in self.nodes if node.alive]

    def ensure(self, count: int) -> list[Node]:
        """At least `count` nodes up and taking connections."""
        for node in self.running:
            self.set_state(node, "ready")
        while len(self.running) < count:
            self.start_node()
        for node in self.running:
            self.wait_for_haproxy(node, "UP")
        return self.running

    def node_of(self, node_field: str) -> Node:
        """The node whose process holds a socket: a member's `node` is `<host>:<pid>:<random>`."""
        pid = int(node_field.split(":")[1])
        return next(node for node in self.nodes if node.pid == pid)

    # haproxy -----------------------------------------------------------------------------------

    def _start_haproxy(self) -> None:
        config = rewrite_haproxy(
            DEPLOY.read_text(), folder=self.dir, port=self.port, servers=self.slots
        )
        path = self.dir / "haproxy.cfg"
        path.write_text(config)
        check = subprocess.run(
            ["haproxy", "-c", "-q", "-f", str(path)], capture_output=True, text=True
        )
        if check.returncode:
            raise RuntimeError(f"haproxy refused the configuration:\n{check.stderr}")
        # -db: in the foreground, without a daemon of its own.
        self.haproxy = _spawn(["haproxy", "-db", "-f", str(path)], self.dir / "haproxy.log")
        _wait(self._haproxy_answers, 10, "haproxy", self.haproxy)

    def _haproxy_answers(self) -> bool:
        try:
            return "Name: HAProxy" in self.command("show info")
        except OSError:
            return False

    def command(self, line: str) -> str:
        """One command on haproxy's admin socket (what `socat` would send)."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.dir / "admin.sock"))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def status(self, node: Node) -> str:
        """haproxy's word for the node's slot: UP, DOWN, DRAIN, or on the way (`UP 1/2`)."""
        table = self.command(f"show stat {BACKEND} 4 -1").lstrip("# ")
        for row in csv.DictReader(io.StringIO(table)):
            if row["svname"] == node.slot:
                return row["status"]
        raise LookupError(node.slot)

    def wait_for_haproxy(self, node: Node, status: str, timeout: float = 20) -> None:
        _wait(lambda: self.status(node) == status, timeout, f"haproxy: {node.slot} {status}")

    def set_state(self, node: Node, state: str) -> None:
        """`ready`, or `drain`: no new connection goes to the node, the open ones stay."""
        answer = self.command(f"set server {BACKEND}/{node.slot} state {state}").strip()
        if answer:
            raise RuntimeError(f"haproxy: {answer}")

    @contextlib.contextmanager
    def only(self, node: Node) -> Iterator[None]:
        """New connections (pages, sockets, reconnects) go to this node only meanwhile."""
        others = [other for other in self.running if other is not node]
        for other in others:
            self.set_state(other, "drain")
        try:
            yield
        finally:
            for other in others:
                if other.alive:
                    self.set_state(other, "ready")

    def logs(self) -> str:
        """The end of every process's log, for a failure message."""
        parts = []
        for log in sorted(self.dir.glob("*.log")):
            text = log.read_text(errors="replace")
            parts.append(f"--- {log.name}\n{text[-3000:]}")
        return "\n".join(parts)


# The Django process's side of `Cluster.ask` ----------------------------------------------------


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _personas() -> None:
    from tests.personas import make_staff

    from videotermin.agencies.models import Agency, Location

    agency = Agency.objects.create(name="Agentur für Arbeit Musterstadt", slug="musterstadt")
    location = Location.objects.create(agency=agency, name="Musterstadt Mitte")
    make_staff(agency, location, "alice", "Alice Berger")


def _book(interpreter: bool = False) -> dict:
    """Alice books Dana (and Olga as her interpreter) in two minutes; both agreed already."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from tests.personas import agree, interpreter_invitee

    from videotermin.agencies.models import Location
    from videotermin.appointments import services as appointments

    booking = appointments.create_appointment(
        by=get_user_model().objects.get(username="alice"),
        location=Location.objects.get(),
        starts_at=timezone.now() + timedelta(minutes=2),
        citizen=appointments.Invitee(name="Dana Yilmaz", email="dana@example.org"),
        extras=[interpreter_invitee()] if interpreter else [],
    )
    invited = [(booking.citizen, booking.token), *booking.extras]
    return {
        "appointment": str(booking.appointment.public_id),
        "members": [
            {"public_id": str(agree(member).public_id), "token": token} for member, token in invited
        ],
    }


def _member(public_id: str) -> dict:
    from videotermin.appointments.models import Member

    member = Member.objects.get(public_id=public_id)
    return {
        "presence": member.presence,
        "session": member.session,
        "node": member.node,
        "waiting_since": member.waiting_since.isoformat() if member.waiting_since else None,
        "admitted_at": member.admitted_at.isoformat() if member.admitted_at else None,
    }


def _host(appointment: str) -> dict:
    from videotermin.appointments.models import Member

    member = Member.objects.get(appointment__public_id=appointment, role="host")
    return {"public_id": str(member.public_id), **_member(str(member.public_id))}


COMMANDS = {
    "migrate": _migrate,
    "personas": _personas,
    "book": _book,
    "member": _member,
    "host": _host,
}


def serve() -> None:
    """Answer one JSON command a line on stdin with one JSON line on stdout."""
    import django

    answers = sys.stdout
    sys.stdout = sys.stderr  # whatever Django prints goes to the log, not into the answers
    django.setup()
    for line in sys.stdin:
        request = json.loads(line)
        try:
            result = COMMANDS[request["command"]](**request["arguments"])
            answer = {"result": result}
        except Exception as error:  # reported to the test, which fails with it
            answer = {"error": f"{type(error).__name__}: {error}"}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    serve()
