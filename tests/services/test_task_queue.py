"""The distributed analysis queue (Procrastinate on a real PostgreSQL server started by the tests).

Each test runs real Procrastinate workers in this process against a fresh database; the analysis is a
stand-in (the pose pipeline has its own tests), so the queue's behaviour is what is measured: jobs
deferred with the check row, run once, retried with a pause, handed back on a stop without using an
attempt, recovered from a dead worker, cancelled with their check, and ended as a dead letter.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from kneefix.errors import StorageError
from kneefix.motion.types import Report
from kneefix.services import task_queue, uploads
from kneefix.services.check_run import UNEXPECTED_FAILURE, Analyse
from kneefix.settings import Settings, load_settings
from kneefix.storage import check_queue as check_store
from kneefix.storage import task_jobs
from kneefix.storage import users as user_store
from kneefix.storage.check_queue import GAVE_UP_MESSAGE
from kneefix.storage.db import Database
from kneefix.storage.files import FolderStore, open_store
from kneefix.storage.profiles import create_profile, delete_profile
from kneefix.storage.records import TechniqueCheckInfo
from tests.pg import fresh_postgres_url, postgres_url
from tests.web.technique_media import Progress, fake_analysis, slow_analysis, tiny_mp4

__all__ = ["fresh_postgres_url", "postgres_url"]

pytestmark = pytest.mark.postgres

VIDEO = tiny_mp4()


@pytest.fixture
def database(fresh_postgres_url: str) -> Iterator[Database]:
    database = Database(fresh_postgres_url)
    yield database
    database.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(database: Database, data_dir: Path) -> Settings:
    return load_settings(
        database_url=database.url.render_as_string(hide_password=False),
        data_dir=data_dir,
        worker_heartbeat_s=0.5,
        worker_stalled_after_s=2.0,
    )


@pytest.fixture
def profile_id(database: Database) -> int:
    with database.session() as session:
        user = user_store.create_user(session, email="q@example.org", password_hash="x", role="person")
        return create_profile(session, "default", user_id=user.id).id


def submit(database: Database, data_dir: Path, profile_id: int) -> TechniqueCheckInfo:
    with database.session() as session:
        return uploads.submit_check(
            session,
            FolderStore(data_dir),
            profile_id,
            io.BytesIO(VIDEO),
            movement="squat",
            filename="squat.mp4",
            max_bytes=10_000_000,
        ).check


def load(database: Database, check_id: int) -> TechniqueCheckInfo:
    with database.session(write=False) as session:
        return check_store.get_check(session, check_id)


def jobs(database: Database, check_id: int) -> list[task_jobs.TaskJob]:
    with database.session(write=False) as session:
        return task_jobs.jobs_of_check(session, check_id)


def run_until_empty(database: Database, settings: Settings, analyse: Analyse) -> None:
    """One worker, run until no job is waiting (what ``kneefix worker --once`` does).

    In a thread of its own: the browser tests keep Playwright's event loop running in the main thread
    of the same test process, and ``asyncio.run`` refuses to start inside a running loop.
    """
    app = task_queue.build_app(database, open_store(settings), analyse=analyse)
    failures: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(task_queue.serve(app, settings, once=True, install_signal_handlers=False))
        except BaseException as error:  # re-raised in the test's own thread below
            failures.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "the worker did not stop when the queue was empty"
    if failures:
        raise failures[0]


def wait_for(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.05)


def test_a_check_and_its_job_commit_or_roll_back_together(database: Database, profile_id: int) -> None:
    with pytest.raises(RuntimeError), database.session() as session:
        check = check_store.enqueue_check(session, profile_id, movement="squat", input_path="uploads/a.mp4")
        raise RuntimeError("the request failed after queueing")
    with database.session(write=False) as session:
        assert session.execute(text("SELECT count(*) FROM procrastinate_jobs")).scalar_one() == 0
    with database.session() as session:
        check = check_store.enqueue_check(session, profile_id, movement="squat", input_path="uploads/a.mp4")
    [job] = jobs(database, check.id)
    assert job.status == "todo" and job.attempts == 0


def test_a_queued_check_is_analysed_once_by_a_worker(
    database: Database, settings: Settings, data_dir: Path, profile_id: int
) -> None:
    check = submit(database, data_dir, profile_id)
    run_until_empty(database, settings, fake_analysis(VIDEO))
    done = load(database, check.id)
    assert done.status == "done" and done.attempts == 1 and done.output_dir is not None
    assert (data_dir / done.output_dir / "report.json").is_file()
    assert [job.status for job in jobs(database, check.id)] == ["succeeded"]


def test_at_most_one_job_of_a_check_waits(database: Database, data_dir: Path, profile_id: int) -> None:
    check = submit(database, data_dir, profile_id)
    with database.session() as session:
        task_jobs.defer_analysis(session, check.id)  # a second ask while the first job waits
        assert check_store.get_check(session, check.id).status == "queued"  # the transaction lives on
    assert [job.status for job in jobs(database, check.id)] == ["todo"]


def test_an_unexpected_error_is_retried_after_a_pause_then_ends_as_a_dead_letter(
    database: Database, settings: Settings, data_dir: Path, profile_id: int
) -> None:
    check = submit(database, data_dir, profile_id)
    calls: list[int] = []

    def broken(input_path: Path, movement: str, side: str, out_dir: Path, progress: Progress) -> Report:
        calls.append(1)
        raise ZeroDivisionError("division by zero")

    for attempt in (1, 2):
        run_until_empty(database, settings, broken)
        waiting = load(database, check.id)
        assert waiting.status == "queued" and waiting.attempts == attempt
        with database.session() as session:
            later = session.execute(
                text("SELECT scheduled_at - now() FROM procrastinate_jobs WHERE status = 'todo'")
            ).scalar_one()
            assert later.total_seconds() > task_queue.RETRY_DELAYS_S[attempt - 1] - 5  # backs off
            session.execute(text("UPDATE procrastinate_jobs SET scheduled_at = now()"))  # time passes
    run_until_empty(database, settings, broken)
    failed = load(database, check.id)
    assert len(calls) == 3
    assert failed.status == "failed" and failed.error == UNEXPECTED_FAILURE and failed.attempts == 3
    assert [job.status for job in jobs(database, check.id)] == ["failed"]


def test_a_stopping_worker_hands_its_check_back_without_using_an_attempt(
    database: Database, settings: Settings, data_dir: Path, profile_id: int
) -> None:
    check = submit(database, data_dir, profile_id)
    started = threading.Event()
    worker = task_queue.EmbeddedQueueWorker(database, settings, analyse=slow_analysis(started))
    worker.start()
    try:
        assert started.wait(20)
        worker.stop(timeout=20)  # what SIGTERM does to `kneefix worker`
        assert not worker.alive
    finally:
        worker.stop()
    back = load(database, check.id)
    assert back.status == "queued" and back.attempts == 0 and back.progress == 0.0
    assert [job.status for job in jobs(database, check.id)] == ["todo"]
    assert not (data_dir / uploads.output_dir_for(profile_id, check.id) / "partial.json").exists()
    run_until_empty(database, settings, fake_analysis(VIDEO))
    assert load(database, check.id).status == "done"


def test_deleting_a_running_check_aborts_its_job_and_leaves_no_files(
    database: Database, settings: Settings, data_dir: Path, profile_id: int
) -> None:
    check = submit(database, data_dir, profile_id)
    started = threading.Event()
    worker = task_queue.EmbeddedQueueWorker(database, settings, analyse=slow_analysis(started))
    worker.start()
    try:
        assert started.wait(20)
        with database.session() as session:
            removed = uploads.delete_check(session, profile_id, check.id)
        uploads.remove_check_files(FolderStore(data_dir), removed)
        wait_for(lambda: [job.status for job in jobs(database, check.id)] == ["aborted"])
    finally:
        worker.stop()
    assert not (data_dir / uploads.output_dir_for(profile_id, check.id)).exists()
    assert not list((data_dir / "work").glob("*"))  # no scratch copy of the upload is left


def test_deleting_a_profile_cancels_its_waiting_jobs(
    database: Database, data_dir: Path, profile_id: int
) -> None:
    check = submit(database, data_dir, profile_id)
    with database.session() as session:
        delete_profile(session, profile_id)  # the checks go by ON DELETE CASCADE; the trigger sees them
    assert [job.status for job in jobs(database, check.id)] == ["cancelled"]


def _as_if_its_worker_died(database: Database, check_id: int, attempts: int) -> None:
    """The state a SIGKILLed worker leaves: its job doing, its heartbeat old, the check running."""
    with database.session() as session:
        worker_id = session.execute(
            text(
                "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '1 hour') "
                "RETURNING id"
            )
        ).scalar_one()
        session.execute(
            text("UPDATE procrastinate_jobs SET status = 'doing', worker_id = :worker, attempts = 0"),
            {"worker": worker_id},
        )
        session.execute(
            text(
                "UPDATE technique_checks SET status = 'running', worker_id = 'dead', attempts = :n "
                "WHERE id = :id"
            ),
            {"n": attempts, "id": check_id},
        )


def test_a_dead_workers_job_is_run_again_and_that_try_counts(
    database: Database, settings: Settings, data_dir: Path, profile_id: int
) -> None:
    check = submit(database, data_dir, profile_id)
    _as_if_its_worker_died(database, check.id, attempts=1)
    run_until_empty(database, settings, fake_analysis(VIDEO))
    done = load(database, check.id)
    assert done.status == "done" and done.attempts == 2


def test_a_check_whose_workers_keep_dying_ends_failed_with_the_reason(
    database: Database, settings: Settings, data_dir: Path, profile_id: int
) -> None:
    check = submit(database, data_dir, profile_id)
    _as_if_its_worker_died(database, check.id, attempts=3)
    run_until_empty(database, settings, fake_analysis(VIDEO))
    failed = load(database, check.id)
    assert failed.status == "failed" and failed.error == GAVE_UP_MESSAGE.format(attempts=3)
    assert [job.status for job in jobs(database, check.id)] == ["failed"]


def test_the_queue_needs_postgresql(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'k.db'}")
    try:
        assert not task_queue.uses_task_queue(database)
        with database.session() as session, pytest.raises(StorageError, match="needs a PostgreSQL"):
            task_jobs.driver_connection(session)
    finally:
        database.close()
