"""The analysis queue and its worker: restarts resume work, failures say why, progress reaches the DB.

A "restart" here is what happens to a real server: the process that claimed a job is gone (its worker
never reports again), and a new ``Database`` and ``Worker`` open the same SQLite file and data folder.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
import time
from pathlib import Path

import pytest

from kneefix.errors import InputError, VideoError
from kneefix.motion.types import Report
from kneefix.services import uploads
from kneefix.services.check_run import MISSING_UPLOAD, UNEXPECTED_FAILURE, fraction_done
from kneefix.services.worker import Worker
from kneefix.storage import check_queue as check_store
from kneefix.storage import users as user_store
from kneefix.storage.db import Database
from kneefix.storage.files import FolderStore
from kneefix.storage.profiles import create_profile
from kneefix.storage.records import TechniqueCheckInfo
from tests.web.technique_media import (
    Progress,
    failing_analysis,
    fake_analysis,
    sample_report,
    slow_analysis,
    tiny_mp4,
)

VIDEO = tiny_mp4()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def db_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'kneefix.db'}"


@pytest.fixture
def database(db_url: str) -> Database:
    return Database(db_url)


@pytest.fixture
def profile_id(database: Database) -> int:
    with database.session() as session:
        user = user_store.create_user(session, email="p@example.org", password_hash="x", role="person")
        return create_profile(session, "default", user_id=user.id).id


def submit(
    database: Database, data_dir: Path, profile_id: int, movement: str = "squat"
) -> TechniqueCheckInfo:
    with database.session() as session:
        submission = uploads.submit_check(
            session,
            FolderStore(data_dir),
            profile_id,
            io.BytesIO(VIDEO),
            movement=movement,
            filename="squat.mp4",
            max_bytes=10_000_000,
        )
    return submission.check


def load(database: Database, check_id: int) -> TechniqueCheckInfo:
    with database.session(write=False) as session:
        return check_store.get_check(session, check_id)


# ----- restart and recovery --------------------------------------------------------------------


def test_a_job_left_running_by_a_dead_worker_is_run_again_after_a_restart(
    database: Database, db_url: str, data_dir: Path, profile_id: int
) -> None:
    check = submit(database, data_dir, profile_id)
    dead = Worker(database, FolderStore(data_dir), worker_id="old-process", lease_s=30)
    claimed = dead.claim()  # the old process took the job, then the server stopped mid-analysis
    assert claimed is not None and claimed.id == check.id and load(database, check.id).status == "running"
    database.close()

    restarted_db = Database(db_url)
    expired = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=31)
    with restarted_db.session() as session:  # the old lease has run out by the time the new worker looks
        assert check_store.requeue_expired(session, now=expired) == 1
    fresh = Worker(restarted_db, FolderStore(data_dir), analyse=fake_analysis(VIDEO), worker_id="new-process")
    assert fresh.run_until_idle() == 1
    done = load(restarted_db, check.id)
    assert done.status == "done" and done.worker_id == "new-process"
    assert done.attempts == 2
    assert (data_dir / uploads.output_dir_for(profile_id, check.id) / "annotated.mp4").read_bytes() == VIDEO
    assert done.input_path is not None and (data_dir / done.input_path).is_file()  # the upload was kept


def test_a_job_whose_lease_is_still_live_is_not_taken_by_a_second_worker(
    database: Database, data_dir: Path, profile_id: int
) -> None:
    submit(database, data_dir, profile_id)
    first = Worker(database, FolderStore(data_dir), worker_id="first", lease_s=600)
    assert first.claim() is not None
    second = Worker(
        database, FolderStore(data_dir), analyse=fake_analysis(VIDEO), worker_id="second", lease_s=600
    )
    assert second.run_until_idle() == 0


def test_a_job_that_keeps_dying_is_failed_with_a_message(
    database: Database, data_dir: Path, profile_id: int
) -> None:
    check = submit(database, data_dir, profile_id)
    later = dt.datetime.now(dt.UTC)
    for attempt in range(3):
        with database.session() as session:
            assert (
                check_store.claim_next_check(session, f"crashing-{attempt}", lease_s=1, now=later) is not None
            )
        later += dt.timedelta(seconds=5)
    with database.session() as session:
        check_store.requeue_expired(session, now=later)
    failed = load(database, check.id)
    assert failed.status == "failed"
    assert failed.error is not None and "stopped before finishing 3 times" in failed.error


def test_a_worker_stopping_mid_job_hands_it_back(database: Database, data_dir: Path, profile_id: int) -> None:
    check = submit(database, data_dir, profile_id)
    started = threading.Event()
    release = threading.Event()

    def slow(input_path: Path, movement: str, side: str, out_dir: Path, progress: Progress) -> Report:
        started.set()
        release.wait(10)
        return sample_report(movement)

    worker = Worker(database, FolderStore(data_dir), analyse=slow, poll_s=0.05)
    worker.start()
    try:
        assert started.wait(10)
        worker.stop(timeout=0.2)  # the analysis is still going: the job goes back to the queue
        assert load(database, check.id).status == "queued"
    finally:
        release.set()
    next_worker = Worker(database, FolderStore(data_dir), analyse=fake_analysis(VIDEO))
    assert next_worker.run_until_idle() == 1
    assert load(database, check.id).status == "done"


# ----- failures --------------------------------------------------------------------------------


def test_a_failing_analysis_is_marked_failed_with_its_message(
    database: Database, data_dir: Path, profile_id: int
) -> None:
    check = submit(database, data_dir, profile_id)
    worker = Worker(
        database, FolderStore(data_dir), analyse=failing_analysis("no person was found in any frame.")
    )
    worker.run_until_idle()
    failed = load(database, check.id)
    assert failed.status == "failed"
    assert failed.error == "squat.mp4: no person was found in any frame."


def test_a_crash_in_the_analysis_becomes_a_plain_message(
    database: Database, data_dir: Path, profile_id: int
) -> None:
    check = submit(database, data_dir, profile_id)

    def broken(input_path: Path, movement: str, side: str, out_dir: Path, progress: Progress) -> Report:
        raise ZeroDivisionError("division by zero")

    Worker(database, FolderStore(data_dir), analyse=broken).run_until_idle()
    failed = load(database, check.id)
    assert failed.status == "failed" and failed.error == UNEXPECTED_FAILURE
    assert "division" not in (failed.error or "")


def test_a_missing_upload_fails_the_job_clearly(database: Database, data_dir: Path, profile_id: int) -> None:
    check = submit(database, data_dir, profile_id)
    assert check.input_path is not None
    (data_dir / check.input_path).unlink()
    Worker(database, FolderStore(data_dir), analyse=fake_analysis(VIDEO)).run_until_idle()
    failed = load(database, check.id)
    assert failed.status == "failed" and failed.error == MISSING_UPLOAD


# ----- progress and the embedded thread ----------------------------------------------------------


def test_progress_is_written_to_the_database_while_the_analysis_runs(
    database: Database, data_dir: Path, profile_id: int
) -> None:
    check = submit(database, data_dir, profile_id)
    seen: list[float] = []

    def watching(input_path: Path, movement: str, side: str, out_dir: Path, progress: Progress) -> Report:
        progress(0.35)
        seen.append(load(database, check.id).progress)
        return fake_analysis(VIDEO)(input_path, movement, side, out_dir, progress)

    Worker(database, FolderStore(data_dir), analyse=watching).run_until_idle()
    assert seen == [0.35]
    assert load(database, check.id).progress == 1.0


def test_the_background_thread_picks_up_a_new_job_when_woken(
    database: Database, data_dir: Path, profile_id: int
) -> None:
    finished = threading.Event()
    analyse = fake_analysis(VIDEO)

    def signalling(input_path: Path, movement: str, side: str, out_dir: Path, progress: Progress) -> Report:
        report = analyse(input_path, movement, side, out_dir, progress)
        finished.set()
        return report

    worker = Worker(database, FolderStore(data_dir), analyse=signalling, poll_s=30)
    worker.start()
    try:
        check = submit(database, data_dir, profile_id)
        worker.wake()
        assert finished.wait(20), "the woken worker never ran the job"
    finally:
        worker.stop(timeout=5)
    assert not worker.alive
    for _ in range(100):  # the result is stored right after the analysis returns
        if load(database, check.id).status == "done":
            break
        threading.Event().wait(0.05)
    assert load(database, check.id).status == "done"


class _Update:
    """Shaped like the pipeline's ProgressUpdate."""

    def __init__(self, stage: str, done: int, total: int) -> None:
        self.stage, self.done, self.total = stage, done, total


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        (0.5, 0.5),
        (_Update("pose", 0, 10), 0.02),
        (_Update("pose", 10, 10), 0.80),
        (_Update("overlay", 5, 10), 0.89),
        (_Update("pose", 3, 0), None),
    ],
)
def test_pipeline_progress_maps_to_one_bar(update: object, expected: float | None) -> None:
    value = fraction_done(update)
    if expected is None:
        assert value is None
    else:
        assert value == pytest.approx(expected)


# ----- intake ----------------------------------------------------------------------------------


def test_an_over_size_stream_leaves_no_partial_file(data_dir: Path) -> None:
    with pytest.raises(InputError, match="larger than the 1 KB limit"):
        uploads.store_upload(io.BytesIO(VIDEO + b"\x00" * 2048), FolderStore(data_dir), 7, max_bytes=1024)
    assert list((data_dir / "uploads" / "7").iterdir()) == []


def test_a_file_named_mp4_holding_text_is_refused(data_dir: Path) -> None:
    with pytest.raises(InputError, match="not a video"):
        uploads.store_upload(
            io.BytesIO(b"ftyp? no, plain text\n" * 30), FolderStore(data_dir), 7, max_bytes=10_000
        )
    assert list((data_dir / "uploads" / "7").iterdir()) == []


def test_a_damaged_video_is_refused_before_it_is_queued(data_dir: Path) -> None:
    with pytest.raises(VideoError, match="cannot be read") as caught:
        uploads.store_upload(
            io.BytesIO(VIDEO[:600]), FolderStore(data_dir), 7, max_bytes=10_000, filename="cut.mp4"
        )
    assert str(data_dir) not in str(caught.value)


def test_an_unknown_movement_is_refused_before_anything_is_stored(
    database: Database, data_dir: Path, profile_id: int
) -> None:
    with pytest.raises(InputError, match="Choose the movement"):
        submit(database, data_dir, profile_id, movement="cartwheel")
    assert not (data_dir / "uploads").exists() or not any((data_dir / "uploads").rglob("*.mp4"))


def test_summary_headlines() -> None:
    squat = uploads.summarise_report(sample_report("squat").model_dump(mode="json"))
    assert squat["headline"] == "Squat: 1 rep, hips led 1 of 1" and squat["reps"] == 1
    empty = uploads.summarise_report({"movement": "landing", "reps": [], "landings": []})
    assert empty["headline"] == "Jump landing: no complete rep or landing found"
    landing = uploads.summarise_report(
        {"movement": "landing", "landings": [{"less_total_measured": 4}, {"less_total_measured": 6}]}
    )
    assert landing["less_mean"] == 5.0 and landing["headline"].startswith("Jump landing: 2 landings")


def test_deleting_a_check_while_it_is_analysed_stops_the_run_and_leaves_no_files(
    database: Database, data_dir: Path, profile_id: int
) -> None:
    check = submit(database, data_dir, profile_id)
    started = threading.Event()
    steps: list[int] = []
    worker = Worker(database, FolderStore(data_dir), analyse=slow_analysis(started, steps), poll_s=0.05)
    worker.start()
    try:
        assert started.wait(10)
        with database.session() as session:
            removed = uploads.delete_check(session, profile_id, check.id)
        uploads.remove_check_files(FolderStore(data_dir), removed)
        deadline = time.monotonic() + 10
        while worker.current is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert worker.current is None  # the run ended long before its 20 s
    finally:
        worker.stop()
    assert len(steps) < 400
    assert not (data_dir / uploads.output_dir_for(profile_id, check.id)).exists()
    assert not list((data_dir / "work").glob("*"))  # no scratch copy of the upload is left
