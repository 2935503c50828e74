"""Technique analyses per minute with one and with two ``kneefix worker`` processes.

A clinic sizes its analysis machines by this: how many uploaded videos an hour one worker gets
through, and what a second worker on the same machine adds. So this starts a real PostgreSQL server
(the one the tests use, ``tests/pg.py``), queues the same batch of short real phone clips for each
run (the shortest side-view squats in ``../shared/data/videos``, cycled; a synthetic clip with nobody
in it where the shared data is absent), starts N real worker processes and times from their start
until every check has ended. The embedded SQLite worker (what ``make run`` uses) is timed too.

Each worker already spreads one clip's pose work over two processes (``motion/pipeline.py``), so on a
2-core machine a second worker cannot double the rate; the figure says how much it adds there.

Run: ``.venv/bin/python bench/queue_throughput.py [--checks 12] [--workers 1,2]``.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/pg.py starts the PostgreSQL server, as in the tests

from tests.pg import PostgresServer, create_database  # noqa: E402
from tests.web.technique_media import tiny_mp4  # noqa: E402

from kneefix.services import uploads  # noqa: E402
from kneefix.settings import sqlite_url  # noqa: E402
from kneefix.storage import check_queue as check_store  # noqa: E402
from kneefix.storage import users as user_store  # noqa: E402
from kneefix.storage.db import Database  # noqa: E402
from kneefix.storage.files import FolderStore  # noqa: E402
from kneefix.storage.profiles import create_profile  # noqa: E402

SHARED_SQUATS = HERE.parent.parent / "shared" / "data" / "videos" / "squat_side"
CLIP_NAMES = (  # 46-87 frames each: 1.8-2.9 s of phone video, from 450x450 to 1080x1920
    "squat_side_lnewco_ohs_p1_good_7026.mov",
    "squat_side_spotter_gif_woman_deep.mp4",
    "squat_side_lnewco_ohs_p2_good_7051.mov",
    "squat_side_spotter_gif_man_goblet_gym.mp4",
)
FINISHED = {"done", "failed"}
KNEEFIX = str(Path(sys.executable).with_name("kneefix"))


def clips() -> list[tuple[str, bytes]]:
    """The real clips when the shared data is here, else one synthetic clip (and a note saying so)."""
    found = [
        (name, (SHARED_SQUATS / name).read_bytes()) for name in CLIP_NAMES if (SHARED_SQUATS / name).exists()
    ]
    if found:
        return found
    print("shared clips not found: timing a synthetic 120-frame clip with nobody in it instead")
    return [("synthetic.mp4", tiny_mp4(120, 128))]


def queue_checks(database: Database, data_dir: Path, count: int, batch: list[tuple[str, bytes]]) -> list[int]:
    with database.session() as session:
        user = user_store.create_user(session, email=f"bench{time.time_ns()}@example.org", password_hash="x")
        profile = create_profile(session, "default", user_id=user.id)
        return [
            uploads.submit_check(
                session,
                FolderStore(data_dir),
                profile.id,
                io.BytesIO(batch[n % len(batch)][1]),
                movement="squat",
                filename=batch[n % len(batch)][0],
                max_bytes=500_000_000,
            ).check.id
            for n in range(count)
        ]


def statuses(database: Database, ids: list[int]) -> Counter[str]:
    with database.session(write=False) as session:
        return Counter(check_store.get_check(session, check_id).status for check_id in ids)


def time_workers(url: str, data_dir: Path, workers: int, ids: list[int], database: Database) -> float:
    """Seconds from starting ``workers`` worker processes until every check in ``ids`` has ended."""
    env = {**os.environ, "KNEEFIX_WORKER_HEARTBEAT_S": "1"}
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [KNEEFIX, "worker", "--db", url, "--data-dir", str(data_dir)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        while sum(count for status, count in statuses(database, ids).items() if status in FINISHED) < len(
            ids
        ):
            if any(process.poll() is not None for process in processes):
                raise SystemExit("a worker process ended early; run it by hand to see why")
            time.sleep(0.2)
        return time.perf_counter() - started
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)


def report(label: str, seconds: float, ids: list[int], database: Database) -> float:
    rate = len(ids) / seconds * 60
    ended = dict(statuses(database, ids))
    print(f"{label:<30} {len(ids):>3} checks in {seconds:6.1f} s = {rate:5.1f} analyses/min  {ended}")
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=12, help="checks queued per run (default 12)")
    parser.add_argument("--workers", default="1,2", help="worker process counts, comma-separated")
    args = parser.parse_args()
    batch = clips()
    print(f"{os.cpu_count()} cores; clips: {', '.join(name for name, _ in batch)}")
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="kneefix-bench-") as folder:
        root = Path(folder)
        # The embedded default: SQLite and one worker (what `make run` starts beside the web app).
        sqlite_dir = root / "sqlite"
        sqlite = Database(sqlite_url(sqlite_dir / "kneefix.db"))
        ids = queue_checks(sqlite, sqlite_dir, args.checks, batch)
        seconds = time_workers(sqlite.url.render_as_string(), sqlite_dir, 1, ids, sqlite)
        rates["sqlite-1"] = report("SQLite, 1 worker", seconds, ids, sqlite)
        sqlite.close()

        initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
        if initdb is None or pg_ctl is None:
            print("PostgreSQL server programs (initdb, pg_ctl) are not installed: no PostgreSQL figures")
            return 0
        server = PostgresServer(initdb, pg_ctl)
        try:
            for workers in (int(part) for part in args.workers.split(",")):
                url = create_database(server.url)
                data_dir = root / f"pg-{workers}"
                database = Database(url)
                ids = queue_checks(database, data_dir, args.checks, batch)
                seconds = time_workers(url, data_dir, workers, ids, database)
                rates[f"pg-{workers}"] = report(f"PostgreSQL, {workers} worker(s)", seconds, ids, database)
                database.close()
        finally:
            server.stop()
    if "pg-1" in rates and "pg-2" in rates:
        print(f"2 workers / 1 worker on PostgreSQL: {rates['pg-2'] / rates['pg-1']:.2f}x (same run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
