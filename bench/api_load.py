"""The JSON API under a steady request rate: latency, errors and achieved rate of the real server.

The question is how the web app holds up when many phones and API clients read at once: does it keep
up with a given rate, how long do answers take at the median and in the tail, and does anything fail
("database is busy", timeouts)? So this starts the real thing, ``kneefix serve --no-worker`` under
uvicorn on a loopback port in its own process (SQLite in a temporary data folder by default; ``--db``
for PostgreSQL, ``--workers`` for several web processes), on a database seeded first with people who
have a month of history (the seeding of ``bench/scale.py``). One more person signs up through the API
and screens, so the path a new client takes is exercised too.

The load is open-loop and bounded: requests are sent on a fixed schedule (``--rate`` a second for
``--seconds``), whether or not earlier ones have been answered, so a slow server cannot slow the
generator down and hide its own queueing; at most ``--max-in-flight`` are outstanding (more are
counted as dropped). Latency runs from each request's scheduled send time to its answer, so it
includes any wait in the client. Reads are Bearer-token JSON GETs spread over the people's tokens;
``--writes`` mixes in that share of changes (a new Kujala score, a corrected log), which take the
database's one write lock on SQLite.

The load generator and the server share this machine's CPU cores, so the figures are for both on one
host; the output says how many cores there were and how much CPU each side used.

Run: ``.venv/bin/python bench/api_load.py [--rate 200] [--seconds 30] [--writes 0.1] [--workers N]
[--db postgresql+psycopg://...] [--people 1000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

# The seeding lives in bench/scale.py, beside this file (on sys.path when run as a script).
from scale import DOMAIN, PASSWORD, STORIES, Population, table_counts

from kneefix.content.loader import Content, load_content
from kneefix.services import accounts
from kneefix.storage.db import Database

KNEEFIX = str(Path(sys.executable).with_name("kneefix"))
READS = ("/api/v1/me", "/api/v1/today", "/api/v1/plan", "/api/v1/logs", "/api/v1/progress", "/api/v1/scores")
KUJALA = ["a"] * 4 + ["b"] * 4 + ["a"] * 5
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Call:
    """One scheduled request."""

    method: str
    path: str
    token: str
    body: dict[str, Any] | None = None
    expected: int = 200

    @property
    def label(self) -> str:
        shown = self.path if not self.path.startswith("/api/v1/logs/") else "/api/v1/logs/{id}"
        return f"{self.method} {shown}"


@dataclass(frozen=True)
class Outcome:
    call: Call
    due: float  # scheduled send time (loop clock)
    started: float
    finished: float
    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status == self.call.expected


@dataclass
class LoadResult:
    outcomes: list[Outcome] = field(default_factory=list)
    dropped: int = 0
    unfinished: int = 0
    began: float = 0.0
    scheduled: int = 0


@dataclass(frozen=True)
class Limits:
    """How bounded the load is: connections, requests outstanding, and seconds before one fails."""

    connections: int
    max_in_flight: int
    timeout_s: float


# ----- the server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(data_dir: Path, port: int, db: str | None, workers: int) -> subprocess.Popen[bytes]:
    """``kneefix serve`` in its own session (so it and its worker processes stop together)."""
    command = [KNEEFIX, "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--no-worker", "--workers", str(workers)]
    if db:
        command += ["--db", db]
    log = (data_dir / "server.log").open("wb")
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_until_up(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/api/v1/screening/questions", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer within {START_TIMEOUT_S:g} s:\n{log.read_text()[-3000:]}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGINT)  # uvicorn's graceful shutdown
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)


def tree_cpu_s(root: int) -> float:
    """User + system CPU seconds of ``root`` and its live descendants, from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    tree, frontier = {root}, [root]
    while frontier:
        current = frontier.pop()
        children = [pid for pid, parent in parents.items() if parent == current and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(pid, 0.0) for pid in tree)


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ----- set-up through the API --------------------------------------------------------------------


def seed(database: Database, content: Content, people: int, users: int) -> list[str]:
    """People with a month of history; returns API tokens for ``users`` of them who have a plan."""
    population = Population(database, content, dt.date.today())
    population.grow_to(people)
    planned = [user for user, _profile, story in population.people if STORIES[story].red_flag is None]
    step = max(1, len(planned) // max(users, 1))
    chosen = planned[::step][:users]
    with database.session() as session:
        return [accounts.create_api_token(session, user_id, "api_load")[0] for user_id in chosen]


def sign_up_and_screen(client: httpx.Client, content: Content) -> str:
    """A new person through the API: sign up, screen (typical, no red flags), check today."""
    response = client.post(
        "/api/v1/auth/signup",
        json={"email": f"load@{DOMAIN}", "password": PASSWORD, "role": "person"},
    )
    if response.status_code != 201:
        raise SystemExit(f"sign-up failed: {response.status_code} {response.text[:300]}")
    token: str = response.json()["token"]
    age = 30
    body = {
        "age": age,
        "symptoms": ["pain_around_kneecap", "pain_running"],
        "red_flags": {flag.id: False for flag in content.red_flags if flag.applies_to_age(age)},
        "kujala": ["a"] * 13,
        "pain": 2,
        "equipment": ["foam_roller"],
        "days": 3,
        "runs": True,
    }
    headers = {"Authorization": f"Bearer {token}"}
    screened = client.post("/api/v1/screening", json=body, headers=headers)
    if screened.status_code != 200:
        raise SystemExit(f"screening failed: {screened.status_code} {screened.text[:300]}")
    today = client.get("/api/v1/today", headers=headers)
    if today.status_code != 200:
        raise SystemExit(f"today after screening failed: {today.status_code} {today.text[:300]}")
    return token


def latest_log_ids(client: httpx.Client, tokens: Sequence[str]) -> dict[str, int]:
    """Each token's latest logged session (the writes correct it); tokens without logs are left out."""
    found: dict[str, int] = {}
    for token in tokens:
        logs = client.get("/api/v1/logs", headers={"Authorization": f"Bearer {token}"}).json()
        if logs:
            found[token] = int(logs[-1]["id"])
    return found


def warm_up(client: httpx.Client, tokens: Sequence[str], reads: Sequence[str]) -> None:
    """One read per token, then each path once, in turn: every token's last use is noted (the server
    writes it at most once a minute) and the server's first-request costs are paid before the load."""
    for number, token in enumerate(tokens):
        headers = {"Authorization": f"Bearer {token}"}
        client.get(reads[number % len(reads)], headers=headers)
    for path in reads:
        client.get(path, headers={"Authorization": f"Bearer {tokens[0]}"})


def schedule(
    count: int, tokens: Sequence[str], log_ids: dict[str, int], write_share: float, reads: Sequence[str]
) -> list[Call]:
    """The requests in sending order: reads round the paths and tokens, writes drawn at random."""
    chooser = random.Random(10)
    writers = list(log_ids)
    calls: list[Call] = []
    writes = 0
    for number in range(count):
        if writers and chooser.random() < write_share:
            token = chooser.choice(writers)
            if writes % 2 == 0:
                calls.append(Call("POST", "/api/v1/scores/kujala", token, {"answers": KUJALA}, 201))
            else:
                note = {"note": f"corrected by the load test ({writes})"}
                calls.append(Call("PATCH", f"/api/v1/logs/{log_ids[token]}", token, note))
            writes += 1
            continue
        path = reads[number % len(reads)]
        calls.append(Call("GET", path, tokens[(number // len(reads)) % len(tokens)]))
    return calls


# ----- the load ----------------------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection: a request out, its whole answer in.

    A hand-written client, because the load generator shares the CPU with the server: it costs a few
    tens of microseconds a request, where a full HTTP client library costs a large share of a core at
    these rates (and far more once hundreds of requests wait in its pool).
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def exchange(self, request: bytes) -> tuple[int, bool]:
        """Send ``request``; returns the answer's status and whether the server closes the connection."""
        self.writer.write(request)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("the server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length: int | None = None
        chunked = close = False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value
            elif name == b"connection":
                close = value == b"close"
        if chunked:
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                await self.reader.readexactly(size + 2)
            while (await self.reader.readline()) not in (b"\r\n", b""):
                pass
        elif length is not None:
            await self.reader.readexactly(length)
        else:
            await self.reader.read()
            close = True
        return status, close

    def close(self) -> None:
        self.writer.close()


class Pool:
    """At most ``size`` connections; a request waits (first come, first served) when all are busy.

    The most recently used idle connection goes first, and one idle for longer than ``max_idle_s``
    (below uvicorn's 5 s keep-alive) is closed instead of used, so no request is sent on a connection
    the server is closing.
    """

    def __init__(self, host: str, port: int, size: int, max_idle_s: float = 4.0) -> None:
        self.host, self.port, self.max_idle_s = host, port, max_idle_s
        self.slots = asyncio.Semaphore(size)
        self.idle: list[tuple[float, Connection]] = []

    async def acquire(self) -> Connection:
        await self.slots.acquire()
        try:
            now = asyncio.get_running_loop().time()
            while self.idle:
                used_at, connection = self.idle.pop()
                if now - used_at < self.max_idle_s:
                    return connection
                connection.close()
            reader, writer = await asyncio.open_connection(self.host, self.port)
            return Connection(reader, writer)
        except BaseException:
            self.slots.release()
            raise

    def release(self, connection: Connection) -> None:
        self.idle.append((asyncio.get_running_loop().time(), connection))
        self.slots.release()

    def discard(self, connection: Connection) -> None:
        connection.close()
        self.slots.release()

    def close(self) -> None:
        for _used_at, connection in self.idle:
            connection.close()
        self.idle.clear()


def encode(call: Call, host: str) -> bytes:
    """The request's bytes, made before the load starts so sending costs nothing but the write."""
    lines = [
        f"{call.method} {call.path} HTTP/1.1",
        f"Host: {host}",
        f"Authorization: Bearer {call.token}",
        "Accept: application/json",
    ]
    body = b""
    if call.body is not None:
        body = json.dumps(call.body).encode()
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def drive(host: str, port: int, calls: Sequence[Call], rate: float, limits: Limits) -> LoadResult:
    """Send ``calls`` on schedule, ``rate`` a second, never waiting for answers (open loop)."""
    loop = asyncio.get_running_loop()
    result = LoadResult(scheduled=len(calls))
    pool = Pool(host, port, limits.connections)
    requests = [encode(call, f"{host}:{port}") for call in calls]
    in_flight = 0

    async def one(call: Call, request: bytes, due: float) -> None:
        nonlocal in_flight
        in_flight += 1
        started = finished = due
        status: int | None = None
        error: str | None = None
        connection: Connection | None = None
        try:
            async with asyncio.timeout(limits.timeout_s):
                connection = await pool.acquire()
                started = loop.time()
                status, close = await connection.exchange(request)
            if close:
                pool.discard(connection)
            else:
                pool.release(connection)
            connection = None
        except TimeoutError:
            error = "timeout waiting for a client connection" if connection is None else "timeout (no answer)"
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as failure:
            error = type(failure).__name__
        finally:
            in_flight -= 1
            finished = loop.time()
            if connection is not None:
                pool.discard(connection)
        result.outcomes.append(Outcome(call, due, started, finished, status, error))

    tasks: list[asyncio.Task[None]] = []
    result.began = loop.time() + 0.2
    for number, (call, request) in enumerate(zip(calls, requests, strict=True)):
        due = result.began + number / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if in_flight >= limits.max_in_flight:
            result.dropped += 1
            continue
        tasks.append(asyncio.create_task(one(call, request, due)))
    if tasks:
        _done, pending = await asyncio.wait(tasks, timeout=limits.timeout_s + 5)
        for task in pending:
            task.cancel()
        result.unfinished = len(pending)
    pool.close()
    return result


def percentiles(values: Sequence[float]) -> tuple[float, float, float, float]:
    """p50, p90, p99 and max of ``values`` (milliseconds in, milliseconds out)."""
    if not values:
        return (float("nan"),) * 4
    if len(values) == 1:
        return values[0], values[0], values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[89], cuts[98], max(values)


def _ms(p50: float, p90: float, p99: float, top: float) -> str:
    return f"p50 {p50:.1f}  p90 {p90:.1f}  p99 {p99:.1f}  max {top:.1f}"


def report(
    result: LoadResult, seconds: float, rate: float, server_cpu: float, own_cpu: float, wall: float
) -> None:
    outcomes = result.outcomes
    ok = [item for item in outcomes if item.ok]
    statuses = Counter(item.status for item in outcomes if item.status is not None)
    errors = Counter(item.error for item in outcomes if item.error is not None)
    unexpected = Counter(
        (item.call.label, item.status) for item in outcomes if item.status is not None and not item.ok
    )
    answered = sum(statuses.values())
    end = max((item.finished for item in outcomes), default=result.began)
    span = max(end - result.began, 1e-9)
    print(
        f"sent {len(outcomes) + result.unfinished:,}   answered {answered:,} (as expected {len(ok):,})   "
        f"failed without an answer {sum(errors.values()):,}   still open at the end {result.unfinished:,}   "
        f"not sent (in-flight cap) {result.dropped:,}"
    )
    print(
        f"achieved {len(ok) / span:.1f} req/s answered as expected over {span:.2f} s "
        f"(scheduled {rate:g} req/s for {seconds:g} s; all answers {answered / span:.1f} req/s)"
    )
    print(
        "statuses: "
        + (", ".join(f"{code} x {count:,}" for code, count in sorted(statuses.items())) or "none")
    )
    print(
        "errors: "
        + (
            ", ".join(
                [f"{name} x {count:,}" for name, count in errors.most_common()]
                + [f"{label} -> {code} x {count:,}" for (label, code), count in unexpected.most_common()]
            )
            or "none"
        )
    )
    latencies = [(item.finished - item.due) * 1000 for item in outcomes]
    lags = [(item.started - item.due) * 1000 for item in outcomes]
    print(f"latency ms (scheduled send to answer or failure): {_ms(*percentiles(latencies))}")
    print(f"wait before sending ms (behind schedule or no free connection): {_ms(*percentiles(lags))}")
    by_label: dict[str, list[Outcome]] = defaultdict(list)
    for item in outcomes:
        by_label[item.call.label].append(item)
    print(f"{'request':28s} {'n':>6} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7} {'errors':>6}")
    for label in sorted(by_label):
        items = by_label[label]
        p50, p90, p99, top = percentiles([(item.finished - item.due) * 1000 for item in items])
        bad = sum(not item.ok for item in items)
        print(f"{label:28s} {len(items):>6,} {p50:>7.1f} {p90:>7.1f} {p99:>7.1f} {top:>7.1f} {bad:>6}")
    cores = os.cpu_count() or 1
    print(
        f"CPU cores used while loading ({wall:.1f} s): server {server_cpu / wall:.2f}, "
        f"load generator {own_cpu / wall:.2f}, of {cores} on this machine"
    )


def print_server_log(log: Path, shown: int = 3) -> None:
    """What the server said beyond its start-up lines: a count and the first few distinct lines."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return
    said = [
        line
        for line in lines
        if line.strip() and "kneefix is running" not in line and "Press Ctrl-C" not in line
    ]
    said = [line for line in said if not line.startswith("/") and "(data in" not in line]
    if not said:
        print("server log: nothing beyond start-up")
        return
    distinct = list(dict.fromkeys(line[:220] for line in said))
    print(f"server log: {len(said):,} lines, {len(distinct):,} distinct; the first:")
    for line in distinct[:shown]:
        print(f"  {line}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=200.0, help="requests a second (default 200)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to send (default 30)")
    parser.add_argument("--writes", type=float, default=0.0, help="share of writes, 0-1 (e.g. 0.1)")
    parser.add_argument("--workers", type=int, default=1, help="web processes (kneefix serve --workers)")
    parser.add_argument("--db", help="database URL passed to serve (an empty one); default SQLite")
    parser.add_argument("--people", type=int, default=1000, help="people seeded first (default 1000)")
    parser.add_argument("--users", type=int, default=20, help="seeded people whose tokens send reads")
    parser.add_argument("--max-in-flight", type=int, default=512, help="outstanding requests at most")
    parser.add_argument("--connections", type=int, default=256, help="client connections (keep-alive)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a request fails")
    parser.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    parser.add_argument(
        "--warm-up",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one read per token first, so no token's last use is written during the load (default on)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the data folder (and server.log)")
    args = parser.parse_args(argv)
    if not 0 <= args.writes <= 1 or args.rate <= 0 or args.seconds <= 0:
        parser.error("--writes is a share from 0 to 1; --rate and --seconds must be positive")

    data_dir = Path(tempfile.mkdtemp(prefix="kneefix-load-"))
    content = load_content()
    url = args.db or f"sqlite:///{data_dir / 'kneefix.db'}"
    began = time.perf_counter()
    with Database(url) as database:
        if table_counts(database)["users"]:
            print(f"{database.location} already holds users: give an empty database", file=sys.stderr)
            return 2
        location, backend = database.location, database.backend
        tokens = seed(database, content, args.people, args.users)
    seeded_s = time.perf_counter() - began
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(data_dir, port, args.db, args.workers)
    try:
        wait_until_up(base, server, data_dir / "server.log")
        with httpx.Client(base_url=base, timeout=30) as client:
            tokens.insert(0, sign_up_and_screen(client, content))
            log_ids = latest_log_ids(client, tokens) if args.writes else {}
            if args.warm_up:
                warm_up(client, tokens, READS)
        calls = schedule(round(args.rate * args.seconds), tokens, log_ids, args.writes, READS)
        load = os.getloadavg()
        print(
            f"kneefix API load: {args.rate:g} req/s for {args.seconds:g} s, open loop ({len(calls):,} "
            f"scheduled), {args.writes:.0%} writes, at most {args.max_in_flight} in flight, "
            f"{args.connections} connections, "
            + ("tokens warmed up first" if args.warm_up else "cold tokens")
        )
        print(
            f"server: kneefix serve --no-worker, {args.workers} web process(es), {backend} {location}; "
            f"{args.people:,} people seeded in {seeded_s:.1f} s, +1 signed up and screened through the API; "
            f"reads spread over {len(tokens)} tokens: {', '.join(READS)}"
        )
        print(
            f"machine: {os.cpu_count()} CPU cores, shared by this load generator and the server "
            f"(load average before: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f})"
        )
        server_before, own_before, wall_before = tree_cpu_s(server.pid), own_cpu_s(), time.perf_counter()
        limits = Limits(args.connections, args.max_in_flight, args.timeout)
        result = asyncio.run(drive("127.0.0.1", port, calls, args.rate, limits))
        wall = time.perf_counter() - wall_before
        server_cpu = tree_cpu_s(server.pid) - server_before
        own_cpu = own_cpu_s() - own_before
        report(result, args.seconds, args.rate, server_cpu, own_cpu, wall)
    finally:
        stop_server(server)
        print_server_log(data_dir / "server.log")
        if args.keep:
            print(f"data folder kept: {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
