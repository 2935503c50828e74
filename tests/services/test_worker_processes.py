"""``kneefix worker`` as real processes with the real pose model: stopped by SIGTERM, killed by SIGKILL.

What systemd and docker do to a worker: SIGTERM on a restart (the video must go back to the queue
without using an attempt, and the pose processes must not be left running), and, on a crash or an
out-of-memory kill, SIGKILL (another worker must take the video up and finish it exactly once).
The clip is a synthetic 360-frame video with nobody in it: the pose model works through every
frame (about 10 s here) and the analysis then ends with "no person found", a normal final state.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from kneefix.services import uploads
from kneefix.settings import sqlite_url
from kneefix.storage import check_queue as check_store
from kneefix.storage import users as user_store
from kneefix.storage.db import Database
from kneefix.storage.files import FolderStore
from kneefix.storage.profiles import create_profile
from kneefix.storage.records import TechniqueCheckInfo
from tests.pg import PostgresServer, create_database, fresh_postgres_url, postgres_url
from tests.web.helpers import PASSWORD, bearer, start_two_web_processes
from tests.web.technique_media import tiny_mp4

__all__ = ["fresh_postgres_url", "postgres_url"]

pytestmark = pytest.mark.slow

CLIP = tiny_mp4(360, 128)
KNEEFIX = str(Path(sys.executable).parent / "kneefix")


def add_person_and_check(
    database: Database, data_dir: Path, count: int = 1, email: str = "w@example.org"
) -> list[int]:
    with database.session() as session:
        user = user_store.create_user(session, email=email, password_hash="x", role="person")
        profile = create_profile(session, "default", user_id=user.id)
        return [
            uploads.submit_check(
                session,
                FolderStore(data_dir),
                profile.id,
                io.BytesIO(CLIP),
                movement="squat",
                filename=f"clip{n}.mp4",
                max_bytes=50_000_000,
            ).check.id
            for n in range(count)
        ]


def load(database: Database, check_id: int) -> TechniqueCheckInfo:
    with database.session(write=False) as session:
        return check_store.get_check(session, check_id)


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def processes_marked(mark: str) -> list[int]:
    """Pids of live processes whose environment carries ``mark`` (a worker and its children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if f"KNEEFIX_TEST_MARK={mark}".encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[[str, Path], tuple[subprocess.Popen[bytes], str]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(database_url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
        mark = uuid.uuid4().hex
        env = {
            **os.environ,
            "KNEEFIX_TEST_MARK": mark,
            "KNEEFIX_WORKER_HEARTBEAT_S": "0.5",
            "KNEEFIX_WORKER_STALLED_AFTER_S": "3",
        }
        log = (tmp_path / f"worker-{len(started)}.log").open("wb")
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "kneefix"),
                "worker",
                "--db",
                database_url,
                "--data-dir",
                str(data_dir),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process, mark

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_sigterm_hands_the_video_back_and_leaves_no_pose_process(
    tmp_path: Path, start_worker: Callable[[str, Path], tuple[subprocess.Popen[bytes], str]]
) -> None:
    data_dir = tmp_path / "data"
    url = sqlite_url(data_dir / "kneefix.db")
    database = Database(url)
    [check_id] = add_person_and_check(database, data_dir)
    worker, mark = start_worker(url, data_dir)
    wait_for(lambda: load(database, check_id).progress > 0.03, 90, "the pose model to start")
    assert len(processes_marked(mark)) >= 2  # the worker and at least one pose process
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    wait_for(lambda: not processes_marked(mark), 10, "every pose process to end")
    back = load(database, check_id)
    assert back.status == "queued" and back.attempts == 0 and back.progress == 0.0
    database.close()


SHORT_CLIP = tiny_mp4(36, 96)  # about a second of pose work: thirty of them fit in a test
LONG_CLIP = tiny_mp4(200, 128)  # long enough to be killed in the middle of
CHECKS = 30


def upload(client: httpx.Client, clip: bytes, number: int) -> int:
    sent = client.post(
        "/api/v1/checks",
        data={"movement": "squat", "request_id": f"bench-upload-{number:04d}"},
        files={"video": (f"clip{number}.mp4", clip, "video/mp4")},
    )
    assert sent.status_code == 202, sent.text
    return int(sent.json()["id"])


@pytest.mark.postgres
def test_thirty_videos_through_two_web_processes_and_two_workers_one_killed_each_ends_once(
    tmp_path: Path,
    fresh_postgres_url: str,
    start_worker: Callable[[str, Path], tuple[subprocess.Popen[bytes], str]],
) -> None:
    """The clinic set-up end to end: videos sent through the API to either of two web processes,
    analysed by two worker processes on the shared database and folder; one worker is killed with
    SIGKILL mid-analysis and systemd starts a new one. Every check ends exactly once with its result,
    none is lost, and none ran in two places at once (one attempt each, two for the one cut short)."""
    data_dir = tmp_path / "data"
    base, web = start_two_web_processes(tmp_path, "--db", fresh_postgres_url, "--data-dir", str(data_dir))
    database = Database(fresh_postgres_url)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            made = client.post("/api/v1/auth/signup", json={"email": "w@example.org", "password": PASSWORD})
            assert made.status_code == 201, made.text
            client.headers["Authorization"] = f"Bearer {made.json()['token']}"
            # Two long clips first, so each worker is busy with one when the first is killed.
            check_ids = [upload(client, LONG_CLIP, number) for number in range(2)]
            check_ids += [upload(client, SHORT_CLIP, number) for number in range(2, CHECKS)]
        first, first_mark = start_worker(fresh_postgres_url, data_dir)
        start_worker(fresh_postgres_url, data_dir)

        def running() -> list[TechniqueCheckInfo]:
            return [c for c in (load(database, i) for i in check_ids[:2]) if c.status == "running"]

        wait_for(
            lambda: len(running()) == 2 and all(c.progress > 0.03 for c in running()), 120, "two analyses"
        )
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        start_worker(fresh_postgres_url, data_dir)  # the replacement systemd or docker would start
        wait_for(
            lambda: all(load(database, i).status == "failed" for i in check_ids), 300, "every check to end"
        )

        ends = [load(database, i) for i in check_ids]
        assert all(c.error is not None and "No person found" in c.error for c in ends)
        assert sorted(c.attempts for c in ends) == [1] * (CHECKS - 1) + [2]  # only the killed one ran again
        assert {c.attempts for c in ends[:2]} == {1, 2}
        with database.session(write=False) as session:
            from sqlalchemy import text

            jobs = session.execute(text("SELECT status::text FROM procrastinate_jobs")).scalars().all()
        assert sorted(jobs) == ["succeeded"] * CHECKS  # one job per check, and each ran to its end
        wait_for(lambda: not processes_marked(first_mark), 15, "the killed worker's pose processes to stop")
    finally:
        web.terminate()
        web.wait(timeout=30)
        database.close()


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A server of this test's own, since the test restarts it."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL server programs (initdb, pg_ctl) are not installed")
    server = PostgresServer(initdb, pg_ctl)
    yield server
    server.stop()


@pytest.mark.postgres
def test_a_postgresql_restart_mid_analysis_is_recovered_without_manual_steps(
    tmp_path: Path,
    private_postgres: PostgresServer,
    start_worker: Callable[[str, Path], tuple[subprocess.Popen[bytes], str]],
) -> None:
    """The server restarts while a worker analyses and two web processes hold pooled connections:
    the analysis ends with its result, and the web tier answers and takes a new video through the API
    afterwards, with nobody restarting anything."""
    data_dir = tmp_path / "data"
    url = create_database(private_postgres.url)
    base, web = start_two_web_processes(tmp_path, "--db", url, "--data-dir", str(data_dir))
    database = Database(url)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            made = client.post("/api/v1/auth/signup", json={"email": "w2@example.org", "password": PASSWORD})
            assert made.status_code == 201, made.text
            token = made.json()["token"]
        [check_id] = add_person_and_check(database, data_dir)
        worker, _ = start_worker(url, data_dir)
        wait_for(lambda: load(database, check_id).progress > 0.03, 90, "the analysis to start")
        private_postgres.restart()
        wait_for(lambda: load(database, check_id).status == "failed", 180, "the analysis to end")
        end = load(database, check_id)
        assert end.error is not None and "No person found" in end.error
        assert worker.poll() is None  # still up, and still taking work
        answers = []
        for number in range(10):  # new connections, so both web processes answer after the restart
            with httpx.Client(base_url=base, timeout=30, headers=bearer(token)) as client:
                answers.append(client.get("/api/v1/me").status_code)
                if number == 0:
                    third = upload(client, SHORT_CLIP, 99)
        assert answers == [200] * 10
        wait_for(lambda: load(database, third).status == "failed", 120, "a video sent after the restart")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        web.terminate()
        web.wait(timeout=30)
        database.close()
