"""Scale on one node: idle room sockets, signaling for many concurrent 1:1 calls, an admission
burst, and the database queries a relayed message costs (issue 12, item 7).

A real server (uvicorn in a subprocess, `bench.queries:application`, which counts its SQL
statements) on a database of its own, and a load client of our own beside it on the same cores:
one or two processes of asyncio with the `websockets` library, which connect as the pages do
(`/ws/room/<appointment>/` and `/ws/staff/`, the site's Origin, a session cookie: a staff
user's session, or a browser session that opened the member's personal link, made directly in
the session store). Every page pings every PING_SECONDS, as protocol.js does.

- scale_idle_sockets, scale_idle_sockets_opened_per_second (and _last_1000): room sockets
  opened one after the other by IDLE_CONCURRENCY connecting pages at once, until IDLE_SOCKETS
  or IDLE_BUDGET seconds; a socket counts when its page got `joined`. The rooms are real: a
  counselor (host) and up to five people invited by link, nobody admitted, so most wait.
- scale_idle_memory_per_socket, scale_idle_sockets_per_gib: the server processes' resident
  memory (RSS) after the sockets are open and HOLD seconds have passed, less before (after a
  warm-up), per socket; the sockets a GiB holds at that rate. The client offers
  permessage-deflate as browsers do, and the server declines it, as deployed
  (`--ws-per-message-deflate false`).
- scale_calls_<K>_relay_p50/_p99, scale_calls_<K>_relays_lost (K in CALLS): K calls, each a
  host and an admitted citizen, both sockets open. Every side pings every PING_SECONDS and
  sends a network sample every SAMPLE_SECONDS (`status` with `network`; the citizen's reaches
  the host as `network`) and an ICE candidate to the other side every CANDIDATE_SECONDS (after
  an offer, an answer and SETUP_CANDIDATES candidates each when the call starts). Relay latency:
  from one side's send to the other side's receipt, in the client (one clock), of every
  candidate and citizen's network sample sent during CALL_SECONDS; lost: those not received
  GRACE seconds after the window. The calls are added in steps (100, then 400 more, …) and
  all keep running; before each window the server settles (until a second passes without a
  statement of the setup, SETTLE at most). A step whose calls do not all come up within its
  time (SETUP_BUDGET, or what is left of CALLS_BUDGET) is measured with those that did, and the next
  step is skipped. scale_calls_<K>_server_cpu: the server processes' CPU in the window. The
  hosts connect to the first server process and the citizens to the last,
  so with two processes every relay crosses between them.
- scale_burst_<N>_all_joined, scale_burst_<N>_day_view_updates_missing: N counselors, each
  with their day view (`/ws/staff/`) open; N citizens, one per counselor, connect into their
  waiting rooms within one second (evenly spread). Until the last one got `joined`; and how
  many (day view, appointment) pairs did not show the citizen waiting BURST_TIMEOUT seconds
  after the first arrival (0 when every day view got every update); the time until they all
  did is scale_burst_<N>_day_views_complete.
- scale_queries_per_relayed_message: the server's SQL statements during the window of the
  largest step whose calls all came up that are neither its presence lease (`calls_node`, a
  few a minute per process, none per message) nor transaction control, per relayed message.
  The target is 0.

`details` gets, per variant, what explains the numbers: the server's CPU per opened socket and
per received frame, its RSS as the sockets grow, the client's own CPU and event-loop lag (a
busy client adds to the latency it measures), errors the pages got, sockets the server closed,
the statements of each window, the failures the servers logged, and the machine's load average
(the machine may be shared: the numbers are then pessimistic and noisy).

Variants: `embedded` (SQLite, the in-memory channel layer, one process: what a demo runs) and
`redis_pg` (PostgreSQL, Redis, two server processes; metrics with the suffix `_redis_pg`):
PostgreSQL on 127.0.0.1:5432 (a database PG_DATABASE of its own, made afresh) and Redis on
127.0.0.1:6379 (database REDIS_DB, emptied first). `run_scale` runs the variants named in
VIDEOTERMIN_BENCH_SCALE (comma list; default `embedded`), `python -m bench.scale [VARIANT...]`
the ones named (default: both). Each server is started afresh for each part (its members put
back to "away" in between), so one part's sockets do not weigh on the next. Each variant takes
about six minutes; VIDEOTERMIN_BENCH_SCALE_PARTS (comma list of idle, calls and burst; default
all three) measures only some parts. DJANGO_SETTINGS_MODULE (with PYTHONPATH) runs the server
with other settings, to try a change before making it.
"""

import asyncio
import json
import math
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import psutil

from bench.server import COUNTING_APP, QUERIES_PATH, free_port
from videotermin.calls.protocol import PING_FRAME

ROOT = Path(__file__).resolve().parent.parent

IDLE_SOCKETS = 10_000
IDLE_BUDGET = 120.0
IDLE_CONCURRENCY = 32
IDLE_WARMUP = 40
HOLD = 5.0
CALLS = (100, 500, 1500)
CALL_SECONDS = 20.0
SETUP_BUDGET = 90.0
# The calls' steps together aim at this many seconds (set up, settle, measure), less RESERVE
# for the burst; a step with less than MIN_SETUP left for its setup is skipped.
CALLS_BUDGET = 210.0
RESERVE = 30.0
MIN_SETUP = 15.0
SETUP_CONCURRENCY = 32
SETTLE = 10.0
PING_SECONDS = 4.5
SAMPLE_SECONDS = 5
CANDIDATE_SECONDS = 5
SETUP_CANDIDATES = 8
GRACE = 5.0
BURST = 100
BURST_SPREAD = 1.0
BURST_TIMEOUT = 30.0
COUNSELORS = 50
CLIENTS = 2
PG_DATABASE = "vt_scale_bench"
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
REDIS_DB = 12
REDIS_SERVER = "redis://127.0.0.1:6379"
VARIANTS = ("embedded", "redis_pg")
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}
# The client's clock ticks this often; pings, samples and candidates fall on its ticks.
TICK = 0.1

UNITS = {
    "scale_idle_sockets": "sockets",
    "scale_idle_sockets_opened_per_second": "sockets/s",
    "scale_idle_sockets_opened_per_second_last_1000": "sockets/s",
    "scale_idle_memory_per_socket": "KiB",
    "scale_idle_sockets_per_gib": "sockets",
    **{
        f"scale_calls_{calls}_{name}": unit
        for calls in CALLS
        for name, unit in (
            ("up", "calls"),
            ("relay_p50", "ms"),
            ("relay_p99", "ms"),
            ("relays_lost", "relays"),
            ("server_cpu", "% of a core"),
        )
    },
    f"scale_burst_{BURST}_all_joined": "ms",
    f"scale_burst_{BURST}_day_views_complete": "ms",
    f"scale_burst_{BURST}_day_view_updates_missing": "updates",
    "scale_queries_per_relayed_message": "queries",
}
UNITS.update({f"{name}_redis_pg": unit for name, unit in list(UNITS.items())})


def note(message: str) -> None:
    print(f"[scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# The coordinator ------------------------------------------------------------------------------


class Nodes:
    """Server processes (the query-counting application) on one database, started afresh for
    each part of the run and killed after it."""

    def __init__(self, env: dict[str, str], count: int, directory: str) -> None:
        self.env, self.count, self.directory = env, count, directory
        self.ports = [free_port() for _ in range(count)]
        self.urls = [f"http://127.0.0.1:{port}" for port in self.ports]
        self.processes: list[subprocess.Popen] = []
        self.started = 0

    @property
    def origin(self) -> str:
        # Every process is the same site (as behind a proxy): the first one's address.
        return self.urls[0]

    def start(self) -> None:
        self.started += 1
        for port in self.ports:
            env = {**self.env, "SITE_URL": self.origin, "PORT": str(port)}
            log = open(f"{self.directory}/server-{port}-{self.started}.log", "w")  # noqa: SIM115
            self.processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        COUNTING_APP,
                        "--app-dir",
                        str(ROOT),
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--no-access-log",
                        "--no-proxy-headers",
                        "--log-level",
                        "warning",
                        "--ws-per-message-deflate",
                        "false",
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        for url in self.urls:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(url + QUERIES_PATH, timeout=2)  # noqa: S310
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        self.kill()
                        raise RuntimeError("the scale benchmark's server did not start") from None
                    time.sleep(0.2)

    def kill(self) -> None:
        """Killed, not stopped: a graceful stop would close every socket, one by one."""
        for process in self.processes:
            process.kill()
            process.wait(timeout=30)
        self.processes = []

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def rss(self) -> int:
        return sum(psutil.Process(pid).memory_info().rss for pid in self.pids)

    def cpu(self) -> float:
        times = [psutil.Process(pid).cpu_times() for pid in self.pids]
        return sum(t.user + t.system for t in times)

    def queries(self, since: list[int] | None = None) -> tuple[list[int], list[str]]:
        """Each process's count so far and, with `since`, the statements after it."""
        counts, statements = [], []
        for number, url in enumerate(self.urls):
            after = since[number] if since else 0
            with urllib.request.urlopen(f"{url}{QUERIES_PATH}?since={after}", timeout=30) as r:  # noqa: S310
                body = json.load(r)
            counts.append(body["count"])
            if since:
                statements += body["statements"]
        return counts, statements

    def errors(self) -> dict[str, int]:
        """What the servers logged as failing: each exception with the last line of our code
        (or of Channels) it went through, and how often."""
        found: Counter = Counter()
        for path in Path(self.directory).glob("server-*.log"):
            where = ""
            for line in path.read_text(errors="replace").splitlines():
                if line.startswith("  File "):
                    if "/videotermin/" in line or "/channels" in line:
                        where = line.strip()
                elif (
                    line
                    and not line.startswith((" ", "Traceback"))
                    and ("Error" in line or "Full" in line)
                ):
                    found[f"{line.strip()[:160]} <- {where[-120:]}"] += 1
                    where = ""
        return dict(found.most_common(20))


class Client:
    """A load client process; commands and answers are JSON lines."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.scale", "client"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def tell(self, op: str, **command: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"op": op, **command}) + "\n")
        self.process.stdin.flush()

    def answer(self) -> dict:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the load client stopped")
        return json.loads(line)

    def ask(self, op: str, **command: Any) -> dict:
        self.tell(op, **command)
        return self.answer()

    def cpu(self) -> float:
        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


def database(env: dict[str, str], command: str, payload: dict) -> dict:
    """Run `command` (populate, reset) in a Django process on the variant's database. Without
    REDIS_URL: what it publishes goes nowhere, and the servers are not running meanwhile."""
    with tempfile.NamedTemporaryFile("w+", suffix=".json") as file:
        json.dump(payload, file)
        file.flush()
        subprocess.run(
            [sys.executable, "-m", "bench.scale", "db", command, file.name],
            cwd=ROOT,
            env={**env, "REDIS_URL": ""},
            check=True,
        )
        file.seek(0)
        return json.load(file)


def environment(variant: str, directory: str) -> dict[str, str]:
    env = {
        **os.environ,
        # Another settings module (and PYTHONPATH) tries a change without touching src/.
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "videotermin.settings"),
        "VIDEOTERMIN_VAR": directory,
        "EMAIL_FILE_PATH": f"{directory}/mail",
        # Both processes of a variant, and the process that makes the sessions, sign alike.
        "SECRET_KEY": secrets.token_urlsafe(50),
        "REDIS_URL": "",
        "DATABASE_URL": f"sqlite:///{directory}/scale.sqlite3",
    }
    # The bench's own process may allow Django's sync calls in its loop; the servers must not.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    if variant == "redis_pg":
        env["DATABASE_URL"] = f"{PG_SERVER}/{PG_DATABASE}"
        env["REDIS_URL"] = f"{REDIS_SERVER}/{REDIS_DB}"
    return env


def prepare(variant: str, env: dict[str, str]) -> None:
    """A fresh database of the variant's own, migrated; its Redis database emptied."""
    if variant == "redis_pg":
        import psycopg
        import redis

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
            connection.execute(f"CREATE DATABASE {PG_DATABASE}")
        redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"], env=env, check=True
    )


def percentile(values: list[float], share: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def room_url(node: str, appointment: str) -> str:
    return f"{node.replace('http://', 'ws://')}/ws/room/{appointment}/"


def run_variant(variant: str, results: dict, details: dict) -> None:
    suffix = "" if variant == "embedded" else f"_{variant}"
    nodes_count = 1 if variant == "embedded" else 2
    mine: dict[str, Any] = details.setdefault(f"scale_{variant}", {})

    def put(name: str, value: float) -> None:
        results[f"scale_{name}{suffix}"] = value

    with tempfile.TemporaryDirectory(prefix="videotermin-scale-") as directory:
        env = environment(variant, directory)
        started = time.monotonic()
        # The machine may be shared: how busy it was says how far to trust the numbers.
        mine["load_average_before"] = os.getloadavg()
        prepare(variant, env)
        plan = database(
            env,
            "populate",
            {"calls": max(CALLS), "idle": IDLE_SOCKETS, "counselors": COUNSELORS, "burst": BURST},
        )
        mine["setup_seconds"] = round(time.monotonic() - started, 1)
        note(f"{variant}: database ready in {mine['setup_seconds']} s")
        cookie = plan["cookie"]
        nodes = Nodes(env, nodes_count, directory)
        parts = os.environ.get("VIDEOTERMIN_BENCH_SCALE_PARTS", "idle,calls,burst").split(",")
        try:
            if "idle" in parts:
                measure_idle(nodes, plan, cookie, env, put, mine)
            if "calls" in parts:
                measure_calls(
                    nodes, plan, cookie, env, put, mine, deadline=time.monotonic() + CALLS_BUDGET
                )
            if "burst" in parts:
                measure_burst(nodes, plan, cookie, put, mine)
        finally:
            nodes.kill()
            mine["server_errors"] = nodes.errors()
        mine["seconds"] = round(time.monotonic() - started, 1)
        mine["load_average_after"] = os.getloadavg()
        note(f"{variant}: done in {mine['seconds']} s")


def measure_idle(nodes: Nodes, plan: dict, cookie: str, env: dict, put, mine: dict) -> None:
    idle = run_idle(nodes, plan, cookie)
    mine["idle"] = idle
    put("idle_sockets", idle["opened"])
    put("idle_sockets_opened_per_second", idle["per_second"])
    put("idle_sockets_opened_per_second_last_1000", idle["per_second_last_1000"])
    put("idle_memory_per_socket", idle["kib_per_socket"])
    put("idle_sockets_per_gib", idle["per_gib"])
    database(env, "reset", {})


def measure_calls(
    nodes: Nodes, plan: dict, cookie: str, env: dict, put, mine: dict, deadline: float
) -> None:
    calls = run_calls(nodes, plan, cookie, deadline=deadline)
    mine["calls"] = calls
    for step in calls["steps"]:
        count = step["calls"]
        put(f"calls_{count}_up", step["up"])
        put(f"calls_{count}_relay_p50", step["p50"])
        put(f"calls_{count}_relay_p99", step["p99"])
        put(f"calls_{count}_relays_lost", step["lost"])
        put(f"calls_{count}_server_cpu", step["server_cpu"])
    put("queries_per_relayed_message", calls["queries_per_relayed_message"])
    database(env, "reset", {})


def measure_burst(nodes: Nodes, plan: dict, cookie: str, put, mine: dict) -> None:
    burst = run_burst(nodes, plan, cookie)
    mine["burst"] = burst
    put(f"burst_{BURST}_all_joined", burst["all_joined_ms"])
    if burst["day_views_complete_ms"] is not None:
        put(f"burst_{BURST}_day_views_complete", burst["day_views_complete_ms"])
    put(f"burst_{BURST}_day_view_updates_missing", burst["missing"])


def run_idle(nodes: Nodes, plan: dict, cookie: str) -> dict:
    sockets = []
    for appointment in plan["appointments"]:
        for key in (appointment["host"], appointment["citizen"]["cookie"], *appointment["extras"]):
            node = nodes.urls[len(sockets) % len(nodes.urls)]
            sockets.append({"url": room_url(node, appointment["id"]), "cookie": key})
    nodes.start()
    client = Client()
    try:
        # Warm up (imports, caches, the first connections of a pool), then close again.
        client.ask(
            "idle",
            sockets=sockets[:IDLE_WARMUP],
            origin=nodes.origin,
            cookie=cookie,
            pids=nodes.pids,
            budget=30,
            concurrency=8,
            hold=0,
        )
        client.ask("close")
        time.sleep(2)
        note(f"idle: opening up to {IDLE_SOCKETS} sockets for at most {IDLE_BUDGET:.0f} s")
        cpu = nodes.cpu()
        answer = client.ask(
            "idle",
            sockets=sockets[:IDLE_SOCKETS],
            origin=nodes.origin,
            cookie=cookie,
            pids=nodes.pids,
            budget=IDLE_BUDGET,
            concurrency=IDLE_CONCURRENCY,
            hold=HOLD,
        )
        answer["server_cpu_seconds"] = round(nodes.cpu() - cpu, 1)
        answer["server_cpu_ms_per_socket"] = round(
            1000 * answer["server_cpu_seconds"] / max(1, answer["opened"]), 1
        )
    finally:
        client.close()
        nodes.kill()
    opened = answer["opened"]
    grown = answer["rss_after"] - answer["rss_before"]
    per_socket = grown / opened if opened else math.nan
    times = answer["times"]
    last = times[-1001:] if len(times) > 1000 else times
    answer.update(
        {
            "per_second": round(opened / times[-1], 1) if times else 0,
            "per_second_last_1000": round((len(last) - 1) / (last[-1] - last[0]), 1)
            if len(last) > 1
            else 0,
            "kib_per_socket": round(per_socket / 1024, 1),
            "per_gib": int(2**30 / per_socket) if opened and per_socket > 0 else 0,
        }
    )
    # The opening times are many: keep one in a hundred.
    answer["times"] = [round(t, 2) for t in times[::100]]
    note(
        f"idle: {opened} sockets, {answer['per_second']}/s (last 1000: "
        f"{answer['per_second_last_1000']}/s), {answer['kib_per_socket']} KiB each"
    )
    return answer


def run_calls(nodes: Nodes, plan: dict, cookie: str, deadline: float) -> dict:
    specs = [
        {
            "host": room_url(nodes.urls[0], appointment["id"]),
            "host_cookie": appointment["host"],
            "citizen": room_url(nodes.urls[-1], appointment["id"]),
            "citizen_cookie": appointment["citizen"]["cookie"],
            "citizen_id": appointment["citizen"]["id"],
        }
        for appointment in plan["appointments"]
    ]
    nodes.start()
    clients = [Client() for _ in range(CLIENTS)]
    steps, queries = [], math.nan
    try:
        done = up = 0
        for count in CALLS:
            # What is left of the variant's time, less the window and the burst after it.
            budget = min(SETUP_BUDGET, deadline - time.monotonic() - CALL_SECONDS - RESERVE)
            if budget < MIN_SETUP:
                note(f"calls: no time left for {count} calls")
                break
            added = specs[done:count]
            note(f"calls: setting up {len(added)} more, {count} in all, in at most {budget:.0f} s")
            began = time.monotonic()
            for number, client in enumerate(clients):
                client.tell(
                    "calls",
                    add=added[number::CLIENTS],
                    origin=nodes.origin,
                    cookie=cookie,
                    budget=budget,
                )
            setups = [client.answer() for client in clients]
            done = count
            up += sum(setup["up"] for setup in setups)
            settled = settle(nodes)
            note(
                f"calls: {up} of {count} up after {time.monotonic() - began:.0f} s, the server "
                f"settled in {settled:.0f} s; measuring"
            )
            start = time.time() + 1.0
            end = start + CALL_SECONDS
            for client in clients:
                client.tell("measure", start=start, end=end, grace=GRACE)
            time.sleep(max(0.0, start - time.time()))
            cpu, client_cpu = nodes.cpu(), sum(client.cpu() for client in clients)
            counts, _ = nodes.queries()
            time.sleep(max(0.0, end - time.time()))
            cpu = nodes.cpu() - cpu
            client_cpu = sum(client.cpu() for client in clients) - client_cpu
            _, statements = nodes.queries(counts)
            measured = [client.answer() for client in clients]
            step = summarise(count, up, setups, measured, statements)
            step["server_cpu"] = round(100 * cpu / CALL_SECONDS, 0)
            step["server_cpu_us_per_frame_received"] = (
                round(1e6 * cpu / (step["frames_sent_per_second"] * CALL_SECONDS))
                if step["frames_sent_per_second"]
                else None
            )
            step["client_cpu"] = round(100 * client_cpu / CALL_SECONDS, 0)
            step["setup_seconds"] = round(time.monotonic() - began, 1)
            steps.append(step)
            # The largest step whose calls all came up: no setup runs during its window.
            if step["up"] == count or math.isnan(queries):
                queries = step["queries_per_relayed_message"]
            note(
                f"calls {count}: p50 {step['p50']} ms, p99 {step['p99']} ms, lost "
                f"{step['lost']} of {step['sent']}, server {step['server_cpu']:.0f} % of a core, "
                f"{step['queries']} queries"
            )
            if up < count:
                break  # more calls would not come up either
    finally:
        for client in clients:
            client.close()
        nodes.kill()
    return {"steps": steps, "queries_per_relayed_message": queries}


def settle(nodes: Nodes) -> float:
    """Wait (SETTLE at most) until a second passes without a statement of the calls' setup
    (the first network samples' mode notes, late admissions): the window then measures calls
    that run, not calls that start. How long it took."""
    began = time.monotonic()
    counts, _ = nodes.queries()
    while time.monotonic() - began < SETTLE:
        time.sleep(1.0)
        counts, statements = nodes.queries(counts)
        if not not_lease(statements):
            break
    return time.monotonic() - began


def not_lease(statements: list[str]) -> list[str]:
    """The statements that are not the presence lease's nor transaction control."""
    return [
        sql
        for sql in statements
        if "calls_node" not in sql and sql.split(" ", 1)[0] not in TRANSACTION_CONTROL
    ]


def summarise(
    count: int, up: int, setups: list[dict], measured: list[dict], statements: list[str]
) -> dict:
    latencies = [value for answer in measured for value in answer["latencies"]]
    sent = sum(answer["sent"] for answer in measured)
    lost = sum(answer["lost"] for answer in measured)
    relayed = sent - lost
    # The presence lease's statements and transaction control are not the messages' doing.
    other = not_lease(statements)
    errors: Counter = Counter()
    for answer in [*setups, *measured]:
        errors.update(answer.get("errors", {}))
    return {
        "calls": count,
        "up": up,
        "setup_failures": dict(sum((Counter(s["failed"]) for s in setups), Counter())),
        "sent": sent,
        "lost": lost,
        "p50": round(percentile(latencies, 0.5), 1),
        "p99": round(percentile(latencies, 0.99), 1),
        "max": round(max(latencies), 1) if latencies else math.nan,
        "by_kind": {
            kind: {
                "sent": sum(answer["by_kind"][kind]["sent"] for answer in measured),
                "lost": sum(answer["by_kind"][kind]["lost"] for answer in measured),
                "p99": round(
                    percentile([v for a in measured for v in a["by_kind"][kind]["ms"]], 0.99), 1
                ),
            }
            for kind in ("signal", "network")
        },
        "frames_sent_per_second": round(sum(a["frames"] for a in measured) / CALL_SECONDS),
        "client_loop_lag_p99_ms": max(answer["lag_p99"] for answer in measured),
        "errors": dict(errors),
        "dropped_sockets": sum(answer["dropped"] for answer in measured),
        "queries": len(statements),
        "queries_not_lease": dict(Counter(sql[:90] for sql in other).most_common(20)),
        "queries_per_relayed_message": round(len(other) / relayed, 4) if relayed else math.nan,
    }


def run_burst(nodes: Nodes, plan: dict, cookie: str) -> dict:
    burst = plan["burst"]
    staff_url = [f"{node.replace('http://', 'ws://')}/ws/staff/" for node in nodes.urls]
    views = [staff_url[n % len(staff_url)] for n in range(len(burst["views"]))]
    citizens = [
        {
            "url": room_url(nodes.urls[n % len(nodes.urls)], appointment["id"]),
            "cookie": appointment["citizen"]["cookie"],
            "appointment": appointment["id"],
        }
        for n, appointment in enumerate(burst["appointments"])
    ]
    nodes.start()
    client = Client()
    try:
        note(f"burst: {len(views)} day views open, {len(citizens)} citizens arrive")
        answer = client.ask(
            "burst",
            views=[
                {"url": url, "cookie": key} for url, key in zip(views, burst["views"], strict=True)
            ],
            citizens=citizens,
            origin=nodes.origin,
            cookie=cookie,
            spread=BURST_SPREAD,
            timeout=BURST_TIMEOUT,
        )
    finally:
        client.close()
        nodes.kill()
    note(
        f"burst: all joined after {answer['all_joined_ms']} ms, day views complete after "
        f"{answer['day_views_complete_ms']} ms, {answer['missing']} updates missing"
    )
    return answer


def run_scale(results: dict, details: dict, variants: list[str] | None = None) -> None:
    """The scale benchmark: its metrics into `results`, what explains them into `details`."""
    if variants is None:
        named = os.environ.get("VIDEOTERMIN_BENCH_SCALE", "embedded")
        variants = [v.strip() for v in named.split(",") if v.strip()]
    for variant in variants:
        if variant not in VARIANTS:
            raise ValueError(f"unknown scale variant {variant!r}; choose from {VARIANTS}")
        run_variant(variant, results, details)


def main(arguments: list[str]) -> int:
    results: dict = {}
    details: dict = {}
    run_scale(results, details, arguments or list(VARIANTS))
    print(json.dumps(details, indent=1, default=str), file=sys.stderr)
    for metric, value in results.items():
        print(f"{metric}: {value} {UNITS[metric]}")
    return 0


# The database process ------------------------------------------------------------------------


def populate(plan: dict) -> dict:
    """Agencies, counselors, appointments and members who agreed to the consent text, made by
    the services; sessions made in the session store as signing in and opening a link would."""
    from datetime import timedelta
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, get_user_model
    from django.contrib.auth import SESSION_KEY as USER_SESSION_KEY
    from django.db import transaction
    from django.utils import timezone

    from videotermin.agencies.models import Agency, Location, StaffMember
    from videotermin.appointments.services import Invitee, create_appointment
    from videotermin.calls.state import SESSION_KEY
    from videotermin.consent import services as consent

    store = import_module(settings.SESSION_ENGINE).SessionStore
    roles = ["interpreter", "guardian", "legal_counsel", "trusted_person"]
    texts: dict[tuple[int, str], Any] = {}

    def staff(agency: Agency, location: Location, name: str):
        user = get_user_model().objects.create_user(name, password=None)
        StaffMember.objects.create(user=user, agency=agency, location=location)
        session = store()
        session[USER_SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        return user, session.session_key

    def agreed(member) -> str:
        """The member agrees; the key of a browser session that opened their link."""
        key = (member.appointment.agency_id, member.language)
        if key not in texts:
            texts[key] = consent.current_text(member.appointment.agency, member.language)
        consent.decide(member, texts[key], accepted=True)
        session = store()
        session[SESSION_KEY] = {str(member.public_id): member.links.order_by("pk").first().pk}
        session.create()
        return session.session_key

    def book(counselor, location, extras: int) -> dict:
        booking = create_appointment(
            by=counselor,
            location=location,
            starts_at=timezone.now() + timedelta(minutes=2),
            citizen=Invitee("Bench Bürger", "citizen@example.org", language="de"),
            extras=[
                Invitee(f"Bench {role}", f"{role}@example.org", role=role, language="en")
                for role in roles[:extras]
            ],
            duration_minutes=120,
            send_invitation=False,
        )
        return {
            "id": str(booking.appointment.public_id),
            "citizen": {"id": str(booking.citizen.public_id), "cookie": agreed(booking.citizen)},
            "extras": [agreed(member) for member, _token in booking.extras],
        }

    with transaction.atomic():
        agency = Agency.objects.create(name="Agentur scale", slug="scale")
        location = Location.objects.create(agency=agency, name="Scale")
        counselors = [staff(agency, location, f"scale-{n}") for n in range(plan["counselors"])]
        # Appointments for the calls, and enough six-person rooms among them (more if need be)
        # that hosts, citizens and extras make `idle` sockets.
        count = max(plan["calls"], math.ceil(plan["idle"] / 6))
        rooms = math.ceil(max(0, plan["idle"] - 2 * count) / 4)
        appointments = []
        for number in range(count):
            user, key = counselors[number % len(counselors)]
            appointment = book(user, location, 4 if number < rooms else 0)
            appointments.append({**appointment, "host": key})

        burst_agency = Agency.objects.create(name="Agentur scale burst", slug="scale-burst")
        burst_location = Location.objects.create(agency=burst_agency, name="Scale burst")
        views, arrivals = [], []
        for number in range(plan["burst"]):
            user, key = staff(burst_agency, burst_location, f"scale-burst-{number}")
            views.append(key)
            arrivals.append(book(user, burst_location, 0))
    return {
        "cookie": settings.SESSION_COOKIE_NAME,
        "appointments": appointments,
        "burst": {"views": views, "appointments": arrivals},
    }


def reset(plan: dict) -> dict:
    """After a server was killed: nobody connected, nobody admitted, no call started, no lease."""
    from videotermin.appointments.models import Appointment, Member
    from videotermin.calls.models import Node

    agencies = ["scale", "scale-burst"]
    members = Member.objects.filter(appointment__agency__slug__in=agencies).update(
        presence=Member.Presence.AWAY,
        session="",
        channel="",
        node="",
        waiting_since=None,
        admitted_at=None,
    )
    Appointment.objects.filter(agency__slug__in=agencies).update(call_started_at=None)
    Node.objects.all().delete()
    return {"members": members}


def database_main(command: str, path: str) -> int:
    import django

    django.setup()
    payload = json.loads(Path(path).read_text())
    answer = {"populate": populate, "reset": reset}[command](payload)
    Path(path).write_text(json.dumps(answer))
    return 0


# The load client -----------------------------------------------------------------------------


def sdp(kind: str) -> str:
    """A description as large as a browser's with audio, two videos and data channels."""
    lines = ["v=0", f"o=- {random.getrandbits(62)} 2 IN IP4 127.0.0.1", "s=-", "t=0 0"]
    for media in (
        "audio 9 UDP/TLS/RTP/SAVPF 111",
        "video 9 UDP/TLS/RTP/SAVPF 96 97",
        "video 9 UDP/TLS/RTP/SAVPF 96 97",
        "application 9 UDP/DTLS/SCTP webrtc-datachannel",
    ):
        lines += [
            f"m={media}",
            "c=IN IP4 0.0.0.0",
            f"a=ice-ufrag:{secrets.token_hex(2)}",
            f"a=ice-pwd:{secrets.token_hex(12)}",
            "a=fingerprint:sha-256 " + ":".join(secrets.token_hex(1).upper() for _ in range(32)),
            f"a=setup:{kind}",
        ]
        lines += [f"a=rtpmap:{96 + n} VP8/90000" for n in range(12)]
        lines += [f"a=rtcp-fb:{96 + n} nack" for n in range(12)]
    return "\r\n".join(lines) + "\r\n"


class Side:
    """One end of a call: a page's socket."""

    __slots__ = ("ws", "session", "peer", "host", "call")

    def __init__(self, ws, session: str, host: bool, call: "Call") -> None:
        self.ws, self.session, self.host, self.call = ws, session, host, call
        self.peer = ""


class Call:
    __slots__ = ("citizen_id", "waiting", "host_knows", "citizen_knows", "host", "citizen")

    def __init__(self, citizen_id: str) -> None:
        loop = asyncio.get_running_loop()
        self.citizen_id = citizen_id
        self.waiting, self.host_knows, self.citizen_knows = (loop.create_future() for _ in "abc")
        self.host: Side | None = None
        self.citizen: Side | None = None

    def heard(self, side: Side, member: dict) -> None:
        if member.get("id") != self.citizen_id:
            return
        presence = member.get("presence")
        if side.host:
            if presence == "waiting" and not self.waiting.done():
                self.waiting.set_result(True)
            elif presence == "in_call" and member.get("session") and not self.host_knows.done():
                self.host_knows.set_result(member["session"])
        elif presence == "in_call" and not self.citizen_knows.done():
            self.citizen_knows.set_result(True)


class Load:
    """What one client process holds: idle sockets, calls and their sides, day views."""

    def __init__(self) -> None:
        self.idle_sockets: list = []
        self.tasks: set[asyncio.Task] = set()
        self.sides: list[Side] = []
        # The sides due at each tick: pings, samples, candidates (in slots of their period).
        self.pings: list[list[Side]] = [[] for _ in range(round(PING_SECONDS / TICK))]
        self.samples: list[list[Side]] = [[] for _ in range(round(SAMPLE_SECONDS / TICK))]
        self.candidates: list[list[Side]] = [[] for _ in range(round(CANDIDATE_SECONDS / TICK))]
        self.sequence = 0
        # sequence -> (sent at, in the window, kind)
        self.sent: dict[int, tuple[float, bool, str]] = {}
        self.window = (math.inf, -math.inf)
        self.latencies: dict[str, list[float]] = {"signal": [], "network": []}
        self.errors: Counter = Counter()
        self.frames = 0
        self.dropped = 0
        self.lag: list[float] = []
        self.ticker: asyncio.Task | None = None
        self.idle_pinger: asyncio.Task | None = None

    def spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def connect(self, url: str, key: str, origin: str, cookie: str):
        from websockets.asyncio.client import connect

        return await connect(
            url,
            origin=origin,  # type: ignore[arg-type]
            additional_headers={"Cookie": f"{cookie}={key}"},
            user_agent_header=USER_AGENT,
            proxy=None,
            open_timeout=60,
            ping_interval=None,
            close_timeout=1,
            max_size=2**20,
            compression="deflate",  # offered as browsers do
        )

    async def enter(self, url: str, key: str, origin: str, cookie: str) -> tuple[Any, dict]:
        """A room socket and its first message (`joined`, or the error before a close)."""
        ws = await self.connect(url, key, origin, cookie)
        first = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if first.get("type") != "joined":
            await ws.close()
            raise RuntimeError(f"refused: {first.get('code') or first.get('type')}")
        return ws, first

    # Idle sockets ------------------------------------------------------------------------------

    async def idle(self, sockets, origin, cookie, pids, budget, concurrency, hold) -> dict:
        processes = [psutil.Process(pid) for pid in pids]

        def rss() -> int:
            return sum(process.memory_info().rss for process in processes)

        before = rss()
        started = time.perf_counter()
        times: list[float] = []
        samples: list[tuple[int, float, int]] = []
        failed: Counter = Counter()
        pending = iter(sockets)
        pinger = self.spawn(self._ping_idle())

        async def opener() -> None:
            for spec in pending:
                if time.perf_counter() - started > budget:
                    return
                try:
                    ws, _joined = await self.enter(spec["url"], spec["cookie"], origin, cookie)
                except Exception as error:  # noqa: BLE001 (counted and reported)
                    failed[f"{type(error).__name__}: {str(error)[:60]}"] += 1
                    continue
                self.idle_sockets.append(ws)
                self.spawn(self._drain(ws))
                times.append(time.perf_counter() - started)
                if len(times) % 500 == 0:
                    samples.append((len(times), round(times[-1], 2), rss()))

        await asyncio.gather(*(opener() for _ in range(concurrency)))
        await asyncio.sleep(hold)
        after = rss()
        answer = {
            "opened": len(times),
            "failed": dict(failed),
            "times": times,
            "rss_before": before,
            "rss_after": after,
            "rss_samples": samples,
            "closed_by_server": self.dropped,
        }
        # The sockets stay open (and ping) until `close`.
        self.idle_pinger = pinger
        return answer

    async def close(self) -> dict:
        if self.idle_pinger is not None:
            self.idle_pinger.cancel()
            self.idle_pinger = None
        sockets, self.idle_sockets = self.idle_sockets, []
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        self.dropped = 0
        return {"closed": len(sockets)}

    async def _drain(self, ws) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for _message in ws:
                pass
        except ConnectionClosed:
            pass
        self.dropped += 1

    async def _ping_idle(self) -> None:
        """Every socket pings every PING_SECONDS, spread over the ticks."""
        ping = PING_FRAME  # as protocol.js writes it
        slots = round(PING_SECONDS / TICK)
        tick = 0
        while True:
            await asyncio.sleep(TICK)
            tick += 1
            for ws in self.idle_sockets[tick % slots :: slots]:
                try:
                    await ws.send(ping)
                except Exception:  # noqa: BLE001, S112 (closed; counted by _drain)
                    continue

    # Calls -------------------------------------------------------------------------------------

    async def calls(self, add, origin, cookie, budget) -> dict:
        if self.ticker is None:
            self.ticker = self.spawn(self._tick())
            self.spawn(self._watch_lag())
        semaphore = asyncio.Semaphore(SETUP_CONCURRENCY)
        failed: Counter = Counter()
        up = 0

        async def one(spec: dict) -> None:
            nonlocal up
            try:
                async with semaphore:
                    await self._start_call(spec, origin, cookie)
                up += 1
            except Exception as error:  # noqa: BLE001 (counted and reported)
                failed[f"{type(error).__name__}: {str(error)[:60]}"] += 1

        started = time.perf_counter()
        tasks = [self.spawn(one(spec)) for spec in add]
        _done, late = await asyncio.wait(tasks, timeout=budget) if tasks else (set(), set())
        for task in late:
            task.cancel()
            failed["not up within the budget"] += 1
        return {
            "up": up,
            "failed": dict(failed),
            "seconds": round(time.perf_counter() - started, 1),
            "errors": dict(self.errors),
        }

    async def _start_call(self, spec: dict, origin: str, cookie: str) -> None:
        call = Call(spec["citizen_id"])
        ws, joined = await self.enter(spec["host"], spec["host_cookie"], origin, cookie)
        host = call.host = Side(ws, joined["session"], True, call)
        self.spawn(self._read(host))
        for member in joined["members"]:
            call.heard(host, member)
        ws, joined = await self.enter(spec["citizen"], spec["citizen_cookie"], origin, cookie)
        citizen = call.citizen = Side(ws, joined["session"], False, call)
        self.spawn(self._read(citizen))
        # Pings from now on, as the pages do while the host decides.
        for side in (host, citizen):
            self.pings[random.randrange(len(self.pings))].append(side)
        await asyncio.wait_for(call.waiting, 60)
        await host.ws.send(json.dumps({"v": 2, "type": "admit", "member": call.citizen_id}))
        host.peer = await asyncio.wait_for(call.host_knows, 60)
        await asyncio.wait_for(call.citizen_knows, 60)
        citizen.peer = host.session
        # The impolite side's offer, the answer, and each side's first candidates.
        await host.ws.send(self._signal(host, description={"type": "offer", "sdp": sdp("actpass")}))
        await citizen.ws.send(
            self._signal(citizen, description={"type": "answer", "sdp": sdp("active")})
        )
        for _ in range(SETUP_CANDIDATES):
            for side in (host, citizen):
                await side.ws.send(self._candidate(side, track=False))
        for side in (host, citizen):
            # A page reports its sending mode as soon as its first connection is up.
            await side.ws.send(self._sample(side, track=False))
            self.samples[random.randrange(len(self.samples))].append(side)
            self.candidates[random.randrange(len(self.candidates))].append(side)

    def _next(self) -> int:
        self.sequence = self.sequence % 999_999 + 1
        return self.sequence

    def _signal(self, side: Side, **body: Any) -> str:
        return json.dumps({"v": 2, "type": "signal", "to": side.peer, **body})

    def _candidate(self, side: Side, *, track: bool = True) -> str:
        number = self._next()
        if track:
            self._sending(number, "signal")
        candidate = {
            "candidate": f"candidate:{number} 1 udp 2122260223 192.0.2.{number % 250 + 1} "
            f"{40000 + number % 20000} typ host generation 0 ufrag abcd network-id 1",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
            "usernameFragment": "abcd",
        }
        return self._signal(side, candidate=candidate)

    def _sample(self, side: Side, *, track: bool = True) -> str:
        number = self._next()
        if track and not side.host:  # the host's sample reaches nobody in a 1:1 call
            self._sending(number, "network")
        network = {"rttMs": 48.5, "lossPct": 0.4, "kbpsOut": 151, "kbpsIn": number, "mode": "high"}
        return json.dumps({"v": 2, "type": "status", "network": network})

    def _sending(self, number: int, kind: str) -> None:
        now = time.perf_counter()
        self.sent[number] = (now, self.window[0] <= now < self.window[1], kind)

    def _arrived(self, number: int, now: float) -> None:
        sent = self.sent.pop(number, None)
        if sent is not None and sent[1]:
            self.latencies[sent[2]].append((now - sent[0]) * 1000)

    async def _read(self, side: Side) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in side.ws:
                now = time.perf_counter()
                message = json.loads(raw)
                kind = message["type"]
                if kind == "signal":
                    candidate = message.get("candidate")
                    if candidate:
                        self._arrived(int(candidate["candidate"].split(" ", 1)[0][10:]), now)
                elif kind == "network":
                    self._arrived(int(message["network"]["kbpsIn"]), now)
                elif kind == "member":
                    side.call.heard(side, message["member"])
                elif kind == "error":
                    self.errors[message["code"]] += 1
                elif kind == "closed":
                    self.errors[f"closed {message['reason']}"] += 1
        except ConnectionClosed:
            pass
        self.dropped += 1

    async def _tick(self) -> None:
        """Open-loop load: what falls due is sent, however late the loop runs."""
        ping = PING_FRAME  # as protocol.js writes it
        started = time.perf_counter()
        done = 0
        while True:
            await asyncio.sleep(TICK)
            due = int((time.perf_counter() - started) / TICK)
            while done < due:
                done += 1
                for side in self.pings[done % len(self.pings)]:
                    await self._send(side, ping)
                for side in self.samples[done % len(self.samples)]:
                    await self._send(side, self._sample(side))
                for side in self.candidates[done % len(self.candidates)]:
                    await self._send(side, self._candidate(side))

    async def _send(self, side: Side, text: str) -> None:
        try:
            await side.ws.send(text)
            self.frames += 1
        except Exception:  # noqa: BLE001 (a closed socket: counted by _read)
            self.errors["send failed"] += 1

    async def _watch_lag(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.05)
            self.lag.append((time.perf_counter() - before - 0.05) * 1000)

    async def measure(self, start: float, end: float, grace: float) -> dict:
        offset = time.time() - time.perf_counter()
        self.window = (start - offset, end - offset)
        self.latencies = {"signal": [], "network": []}
        self.errors = Counter()
        await asyncio.sleep(max(0.0, start - time.time()))
        self.frames, self.lag, dropped = 0, [], self.dropped
        await asyncio.sleep(max(0.0, end - time.time()))
        frames = self.frames
        lag = sorted(self.lag)
        await asyncio.sleep(grace)
        lost = Counter(kind for _at, within, kind in self.sent.values() if within)
        self.sent = {n: s for n, s in self.sent.items() if not s[1]}
        by_kind = {
            kind: {
                "sent": len(self.latencies[kind]) + lost[kind],
                "lost": lost[kind],
                "ms": [round(v, 2) for v in self.latencies[kind]],
            }
            for kind in ("signal", "network")
        }
        return {
            "latencies": [v for kind in by_kind.values() for v in kind["ms"]],
            "sent": sum(kind["sent"] for kind in by_kind.values()),
            "lost": sum(lost.values()),
            "by_kind": by_kind,
            "frames": frames,
            "lag_p99": round(percentile(lag, 0.99), 1),
            "errors": dict(self.errors),
            "dropped": self.dropped - dropped,
        }

    # The admission burst -----------------------------------------------------------------------

    async def burst(self, views, citizens, origin, cookie, spread, timeout) -> dict:
        from websockets.exceptions import ConnectionClosed

        expected = {citizen["appointment"] for citizen in citizens}
        # Per day view: appointment -> (the citizen's presence it shows last, when it came).
        shown: list[dict[str, tuple[str, float]]] = [{} for _ in views]
        received = [0] * len(views)

        async def watch(number: int, ws) -> None:
            try:
                async for raw in ws:
                    message = json.loads(raw)
                    if message.get("type") == "appointment":
                        received[number] += 1
                        row = message["appointment"]
                        presence = (row.get("citizen") or {}).get("presence") or ""
                        shown[number][row["id"]] = (presence, time.perf_counter())
            except ConnectionClosed:
                pass

        sockets = await asyncio.gather(
            *(self.connect(view["url"], view["cookie"], origin, cookie) for view in views)
        )
        for number, ws in enumerate(sockets):
            self.spawn(watch(number, ws))
        await asyncio.sleep(1.0)
        started = time.perf_counter()
        joined_at: list[float] = []
        failed: Counter = Counter()
        arrived = []

        async def arrive(number: int, citizen: dict) -> None:
            await asyncio.sleep(
                max(0.0, started + number * spread / len(citizens) - time.perf_counter())
            )
            try:
                ws, _joined = await self.enter(citizen["url"], citizen["cookie"], origin, cookie)
            except Exception as error:  # noqa: BLE001 (counted and reported)
                failed[f"{type(error).__name__}: {str(error)[:60]}"] += 1
                return
            joined_at.append(time.perf_counter() - started)
            arrived.append(ws)
            self.idle_sockets.append(ws)
            self.spawn(self._drain(ws))

        pinger = self.spawn(self._ping_idle())
        await asyncio.gather(*(arrive(n, c) for n, c in enumerate(citizens)))

        def complete() -> bool:
            return all(all(view.get(a, ("",))[0] == "waiting" for a in expected) for view in shown)

        while not complete() and time.perf_counter() - started < timeout:
            await asyncio.sleep(0.02)
        missing = sum(1 for view in shown for a in expected if view.get(a, ("",))[0] != "waiting")
        last_update = max(
            (at for view in shown for presence, at in view.values() if presence == "waiting"),
            default=math.nan,
        )
        pinger.cancel()
        return {
            "views": len(views),
            "citizens": len(citizens),
            "joined": len(joined_at),
            "failed": dict(failed),
            "all_joined_ms": round(max(joined_at) * 1000) if joined_at else math.nan,
            "joined_median_ms": round(statistics.median(joined_at) * 1000) if joined_at else None,
            "day_views_complete_ms": round((last_update - started) * 1000) if not missing else None,
            "missing": missing,
            "day_view_messages": sum(received),
        }


async def client_main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    load = Load()
    while line := await reader.readline():
        command = json.loads(line)
        operation = command.pop("op")
        answer = await getattr(load, operation)(**command)
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    if sys.argv[1:2] == ["client"]:
        import uvloop

        uvloop.run(client_main())
    elif sys.argv[1:2] == ["db"]:
        sys.exit(database_main(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(main(sys.argv[1:]))
