"""Deletion that deletes (issue 11, "Headers, audit, files"; ASVS 8.3.2 "users can remove their data").

A check or an account deleted while its video is analysed gets no files back from the worker, on
SQLite (the embedded lease queue) and on PostgreSQL (Procrastinate); a run that lost its check to
another worker does not publish over that worker's results; what crashed processes leave in the
file store is cleaned up, and what is live is kept; uploads and results are for their owner only.

The analyses here are stand-ins held mid-run by an event (or a landmark CSV through the real
pipeline), so each test takes a fraction of a second of work.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from kneefix.errors import InputError
from kneefix.motion.landmarks_csv import write_landmarks_csv
from kneefix.motion.types import Report
from kneefix.services import accounts, leftovers, task_queue, uploads
from kneefix.services.check_run import Outcome, run_check, run_video_analysis, work_tag
from kneefix.services.worker import Worker, start_embedded_worker, stop_embedded_worker
from kneefix.settings import Settings, load_settings
from kneefix.storage import check_queue as check_store
from kneefix.storage import task_jobs
from kneefix.storage import users as user_store
from kneefix.storage.columns import utc_now
from kneefix.storage.db import Database
from kneefix.storage.files import FolderStore
from kneefix.storage.profiles import create_profile
from kneefix.storage.records import TechniqueCheckInfo
from tests.cli.helpers import Kneefix
from tests.motion.synthetic import random_reps, squat_clip
from tests.pg import fresh_postgres_url, postgres_url
from tests.web.technique_media import Progress, fake_analysis, tiny_mp4

__all__ = ["fresh_postgres_url", "postgres_url"]

VIDEO = tiny_mp4()
HOUR = 3600.0


class Held:
    """An analysis that writes part of its results, then waits to be released, reporting no
    progress at all (as a stage of the real pipeline that reports none), then finishes them."""

    def __init__(self, marker: str = "partial.json") -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()
        self.marker = marker

    def __call__(
        self, input_path: Path, movement: str, side: str, out_dir: Path, progress: Progress
    ) -> Report:
        (out_dir / self.marker).write_text("{}")
        self.started.set()
        assert self.release.wait(10), "the test never released the analysis"
        report = fake_analysis(VIDEO)(input_path, movement, side, out_dir, lambda _value: None)
        self.finished.set()
        return report


def wait_for(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.02)


def stored(data_dir: Path, profile_id: int) -> list[str]:
    """Every file the store holds for one profile, and every work folder of any run."""
    places = [data_dir / "uploads" / str(profile_id), data_dir / "analyses" / str(profile_id)]
    found = [path for place in places for path in place.rglob("*") if not path.is_dir()]
    if (data_dir / "work").exists():
        found += list((data_dir / "work").iterdir())
    return [path.relative_to(data_dir).as_posix() for path in found]


def new_person(database: Database, email: str = "p@example.org") -> tuple[int, int]:
    """(user id, profile id) of a fresh account."""
    with database.session() as session:
        user = user_store.create_user(session, email=email, password_hash="x", role="person")
        return user.id, create_profile(session, "default", user_id=user.id).id


def submit(database: Database, files: FolderStore, profile_id: int) -> TechniqueCheckInfo:
    with database.session() as session:
        return uploads.submit_check(
            session,
            files,
            profile_id,
            io.BytesIO(VIDEO),
            movement="squat",
            filename="squat.mp4",
            max_bytes=10_000_000,
        ).check


def row_exists(database: Database, check_id: int) -> bool:
    with database.session(write=False) as session:
        return check_id in {check.id for check in _all_checks(session)}


def _all_checks(session: object) -> list[TechniqueCheckInfo]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from kneefix.storage.convert import technique_check_info
    from kneefix.storage.models import TechniqueCheck

    assert isinstance(session, Session)
    return [technique_check_info(row) for row in session.scalars(select(TechniqueCheck))]


def delete_account(database: Database, files: FolderStore, user_id: int) -> None:
    """What the account page does: the rows in one transaction, then the files."""
    with database.session() as session:
        profile_ids = user_store.delete_user(session, user_id)
    accounts.delete_user_files(files, profile_ids)


def delete_check(database: Database, files: FolderStore, profile_id: int, check_id: int) -> None:
    """What the check page does: the row, then its files."""
    with database.session() as session:
        removed = uploads.delete_check(session, profile_id, check_id)
    uploads.remove_check_files(files, removed)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def files(data_dir: Path) -> FolderStore:
    return FolderStore(data_dir)


@pytest.fixture
def database(data_dir: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{data_dir / 'kneefix.db'}")
    yield database
    database.close()


# ----- a deletion while the analysis runs (SQLite) ------------------------------------------------


@pytest.mark.parametrize("what", ["check", "account"])
def test_deleting_while_the_analysis_runs_leaves_no_files_even_when_it_runs_to_its_end(
    database: Database, files: FolderStore, data_dir: Path, what: str
) -> None:
    """Issue 11: "deleting a check or an account while its analysis runs ... leaves no files"; the
    analysis here reports no progress, so it cannot be stopped and finishes after the deletion."""
    user_id, profile_id = new_person(database)
    check = submit(database, files, profile_id)
    held = Held()
    worker = Worker(database, files, analyse=held, poll_s=0.05)
    worker.start()
    try:
        assert held.started.wait(10)
        if what == "check":
            delete_check(database, files, profile_id, check.id)
        else:
            delete_account(database, files, user_id)
        held.release.set()
        wait_for(lambda: worker.current is None)
    finally:
        held.release.set()
        worker.stop()
    assert held.finished.is_set()  # it ran to its end, and still
    assert stored(data_dir, profile_id) == []  # nothing: no upload, no results, no work folder
    if what == "account":  # not even an empty folder named after the profile
        assert not (data_dir / "uploads" / str(profile_id)).exists()
        assert not (data_dir / "analyses" / str(profile_id)).exists()
    assert not row_exists(database, check.id)


def test_a_deleted_check_stops_a_landmark_csv_analysis_between_its_stages(
    database: Database, files: FolderStore, data_dir: Path, tmp_path: Path
) -> None:
    """Issue 11: "a running analysis notices its check was deleted and stops": a landmark CSV
    reports no progress, so the real pipeline checks between its stages (read, analysis, outputs)."""
    _user_id, profile_id = new_person(database)
    csv = tmp_path / "clip.csv"
    write_landmarks_csv(
        squat_clip(random_reps(np.random.default_rng(5), 2), np.random.default_rng(5)).series, csv
    )
    with files.receive(f"uploads/{profile_id}", csv.open("rb")) as draft:
        key = draft.keep("clip.csv")
    with database.session() as session:
        check_store.enqueue_check(session, profile_id, movement="squat", input_path=key)
        job = check_store.claim_next_check(session, "worker-1", lease_s=60)
    assert job is not None
    with database.session() as session:  # deleted; its files are removed only after this
        check_store.delete_check(session, profile_id, job.id)
    ran_to_the_end: list[bool] = []

    def analysis(input_path: Path, movement: str, side: str, out_dir: Path, progress: Progress) -> Report:
        report = run_video_analysis(input_path, movement, side, out_dir, progress)
        ran_to_the_end.append(True)
        return report

    outcome: Outcome = run_check(database, files, job, "worker-1", analyse=analysis, lease_s=60)
    assert outcome == "gone" and ran_to_the_end == []
    assert not (data_dir / uploads.output_dir_for(profile_id, job.id)).exists()
    assert list((data_dir / "work").iterdir()) == []


def test_a_run_that_lost_its_check_to_another_worker_does_not_publish_over_its_results(
    database: Database, files: FolderStore, data_dir: Path
) -> None:
    """Issue 11 leftover: "overlapping runs of the same check publish last". The first worker's lease
    ran out (it looked dead), a second one finished the check; the first then finishes too."""
    _user_id, profile_id = new_person(database)
    check = submit(database, files, profile_id)
    held = Held(marker="slow-run.txt")
    slow = Worker(database, files, analyse=held, worker_id="slow", lease_s=30)
    first = threading.Thread(target=slow.run_one)
    first.start()
    try:
        assert held.started.wait(10)
        with database.session() as session:  # as if "slow" had died: its lease is over
            check_store.requeue_expired(session, now=utc_now() + dt.timedelta(seconds=60))
        assert Worker(database, files, analyse=fake_analysis(VIDEO), worker_id="fast").run_one()
    finally:
        held.release.set()
        first.join(10)
    results = data_dir / uploads.output_dir_for(profile_id, check.id)
    assert held.finished.is_set()
    assert sorted(path.name for path in results.iterdir()) == ["angles.png", "annotated.mp4", "report.json"]
    with database.session(write=False) as session:
        done = check_store.get_check(session, check.id)
    assert done.status == "done" and done.output_dir == uploads.output_dir_for(profile_id, check.id)


# ----- file modes -------------------------------------------------------------------------------


def test_uploads_results_and_work_folders_are_the_owners_alone(
    database: Database, files: FolderStore, data_dir: Path
) -> None:
    """Issue 11: "the database and uploads are created 0600/0700, like the secret key"; here the
    uploads, the results (written by tools with their own modes) and the work folders."""
    previous = os.umask(0o022)
    try:
        _user_id, profile_id = new_person(database)
        submit(database, files, profile_id)
        assert Worker(database, files, analyse=fake_analysis(VIDEO)).run_until_idle() == 1
    finally:
        os.umask(previous)
    modes: dict[str, int] = {}
    for top in ("uploads", "analyses", "work"):
        modes[top] = stat.S_IMODE((data_dir / top).stat().st_mode)
        for path in (data_dir / top).rglob("*"):
            modes[path.relative_to(data_dir).as_posix()] = stat.S_IMODE(path.stat().st_mode)
    assert len(modes) >= 9  # uploads/P/<video>, analyses/P/C/<three files> and their folders
    wrong = {
        path: oct(mode)
        for path, mode in modes.items()
        if mode != (0o700 if (data_dir / path).is_dir() else 0o600)
    }
    assert wrong == {}


# ----- the clean-up of crash leftovers ----------------------------------------------------------


def _make(path: Path, *, age_s: float = 0.0, folder: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if folder:
        path.mkdir()
        (path / "in").mkdir()
        (path / "in" / "squat.mp4").write_bytes(b"link")
    else:
        path.write_bytes(b"left over")
    if age_s:
        moment = time.time() - age_s
        os.utime(path, (moment, moment))
    return path


def test_the_clean_up_removes_what_crashes_left_and_keeps_what_is_live(
    database: Database, files: FolderStore, data_dir: Path, tmp_path: Path
) -> None:
    """Issue 11: "uploads interrupted by a crash (.part files, files with no row) are cleaned up";
    and work folders of no running analysis. Live ones (a row names them, a run holds them, or they
    are too new to judge) are kept, and a link is never followed or removed."""
    _user_id, profile_id = new_person(database)
    done = submit(database, files, profile_id)
    assert Worker(database, files, analyse=fake_analysis(VIDEO)).run_until_idle() == 1
    running = submit(database, files, profile_id)
    with database.session() as session:
        claimed = check_store.claim_next_check(session, "live-worker")
    assert claimed is not None and claimed.id == running.id
    assert done.input_path is not None and running.input_path is not None
    for key in (done.input_path, running.input_path, uploads.output_dir_for(profile_id, done.id)):
        moment = time.time() - HOUR  # old, but named by a row
        os.utime(data_dir / key, (moment, moment))
    outside = tmp_path / "outside" / "precious.mp4"
    _make(outside)
    uploads_here, analyses_here, work = (
        data_dir / "uploads" / str(profile_id),
        data_dir / "analyses" / str(profile_id),
        data_dir / "work",
    )
    (uploads_here / "planted.mp4").symlink_to(outside)
    live_work = _make(work / f"{work_tag(running.id, 'live-worker')}-{uuid.uuid4().hex}", folder=True)
    expected = {
        _make(uploads_here / ".0a1b.part", age_s=HOUR): "unfinished upload or results (.part)",
        _make(uploads_here / "orphan.mp4", age_s=HOUR): "upload of no check",
        _make(analyses_here / "999" / "report.json", age_s=HOUR).parent: "results of no check",
        _make(analyses_here / ".12.0a1b.part" / "report.json").parent: "temporary",
        _make(work / f"{work_tag(running.id, 'dead-worker')}-{uuid.uuid4().hex}", folder=True): (
            "work folder of no running analysis"
        ),
        _make(work / f"{work_tag(done.id, 'live-worker')}-{uuid.uuid4().hex}", folder=True): (
            "work folder of no running analysis"
        ),
        _make(work / uuid.uuid4().hex, folder=True, age_s=HOUR): "work folder of no running analysis",
        _make(data_dir / "uploads" / "99999" / "gone.mp4", age_s=HOUR): "upload of no check",
    }
    for folder in (analyses_here / ".12.0a1b.part", analyses_here / "999"):
        os.utime(folder, (time.time() - HOUR,) * 2)
    os.utime(data_dir / "uploads" / "99999", (time.time() - HOUR,) * 2)
    expected[data_dir / "uploads" / "99999"] = "folder of a deleted profile"
    kept = [
        _make(uploads_here / ".f00d.part"),  # an upload being received now
        _make(uploads_here / "just-stored.mp4"),  # kept a moment ago; its row commits next
        _make(work / uuid.uuid4().hex, folder=True),  # too new to judge
        live_work,
        data_dir / done.input_path,
        data_dir / running.input_path,
        data_dir / uploads.output_dir_for(profile_id, done.id) / "report.json",
        data_dir / "kneefix.db",  # not kneefix's file-store folders: never looked at
    ]
    wanted = {path.relative_to(data_dir).as_posix(): why for path, why in expected.items()}

    dry = leftovers.clean_files(database, files, dry_run=True)
    assert {removal.path: removal.reason for removal in dry.removed} == wanted
    assert all(path.exists() for path in expected) and dry.links == [f"uploads/{profile_id}/planted.mp4"]

    report = leftovers.clean_files(database, files)
    assert {removal.path: removal.reason for removal in report.removed} == wanted and report.failed == []
    assert [path for path in expected if path.exists() or path.is_symlink()] == []
    assert [path for path in kept if not path.exists()] == []
    assert (uploads_here / "planted.mp4").is_symlink() and outside.read_bytes() == b"left over"
    assert leftovers.clean_files(database, files).removed == []  # nothing left to do


def test_kneefix_worker_clean_lists_then_removes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 11: the clean-up on demand, with a dry run that lists what it would remove."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("KNEEFIX_DATA_DIR", str(data_dir))
    monkeypatch.delenv("KNEEFIX_DATABASE_URL", raising=False)
    kneefix = Kneefix(tmp_path / "kneefix.db")
    Database(kneefix.url).close()
    part = _make(data_dir / "uploads" / "7" / ".0a1b.part", age_s=HOUR)
    fresh = _make(data_dir / "uploads" / "7" / ".f00d.part", age_s=60)

    listed = kneefix.ok("worker", "--clean", "--dry-run")
    assert "Would remove uploads/7/.0a1b.part (unfinished upload or results (.part))" in listed.stdout
    assert "f00d" not in listed.stdout and part.exists()
    assert "--dry-run goes with --clean" in kneefix("worker", "--dry-run").output

    assert "f00d" in kneefix.ok("worker", "--clean", "--min-age", "0.5", "--dry-run").stdout
    removed = kneefix.ok("worker", "--clean")
    assert "Removed uploads/7/.0a1b.part" in removed.stdout and "Removed 1 leftover" in removed.stderr
    assert not part.exists() and fresh.exists()

    dead = _make(data_dir / "work" / f"{work_tag(3, 'killed-worker')}-{uuid.uuid4().hex}", folder=True)
    assert "no more are waiting" in kneefix.ok("worker", "--once").stderr
    assert not dead.exists()  # a starting worker cleans up too


def test_the_web_apps_own_worker_cleans_up_when_it_starts(
    database: Database, files: FolderStore, data_dir: Path
) -> None:
    """Issue 11: leftovers "are cleaned up ... at worker/app start" (the app's lifecycle hook)."""
    dead = _make(data_dir / "work" / f"{work_tag(3, 'killed-worker')}-{uuid.uuid4().hex}", folder=True)
    state = SimpleNamespace(settings=SimpleNamespace(run_worker=True), database=database, files=files)
    app = SimpleNamespace(state=state)
    start_embedded_worker(app)
    try:
        state.cleaner.join(10)
    finally:
        stop_embedded_worker(app)
    assert not dead.exists()


def test_the_clean_up_never_goes_through_a_link_out_of_the_store(
    database: Database, files: FolderStore, data_dir: Path, tmp_path: Path
) -> None:
    """Issue 11: the clean-up stays "inside kneefix's own folders, never follow symlinks out"."""
    outside = tmp_path / "elsewhere"
    old_file = _make(outside / "7" / "old.mp4", age_s=HOUR)
    old_work = _make(outside / "work" / uuid.uuid4().hex, folder=True, age_s=HOUR)
    data_dir.mkdir(exist_ok=True)
    (data_dir / "uploads").symlink_to(outside, target_is_directory=True)
    (data_dir / "work").symlink_to(outside / "work", target_is_directory=True)
    report = leftovers.clean_files(database, files, min_age_s=0)
    assert report.removed == [] and old_file.exists() and old_work.exists()
    with pytest.raises(InputError):
        files.remove_entry("uploads/7/old.mp4")
    assert old_file.exists()


# ----- PostgreSQL (Procrastinate) -----------------------------------------------------------------


@pytest.mark.postgres
def test_deleting_an_account_while_a_queue_worker_analyses_its_video_leaves_no_files(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    """Issue 11: the same on PostgreSQL: the account goes while a Procrastinate job runs an analysis
    that cannot be stopped; the job ends and its results are never published."""
    database = Database(fresh_postgres_url)
    data_dir = tmp_path / "data"
    files = FolderStore(data_dir)
    settings: Settings = load_settings(
        database_url=database.url.render_as_string(hide_password=False),
        data_dir=data_dir,
        worker_heartbeat_s=0.5,
        worker_stalled_after_s=2.0,
    )
    try:
        user_id, profile_id = new_person(database, "q@example.org")
        check = submit(database, files, profile_id)
        held = Held()
        worker = task_queue.EmbeddedQueueWorker(database, settings, analyse=held, files=files)
        worker.start()
        try:
            assert held.started.wait(20)
            delete_account(database, files, user_id)
            held.release.set()

            def job_statuses() -> list[str]:
                with database.session(write=False) as session:
                    return [job.status for job in task_jobs.jobs_of_check(session, check.id)]

            # "aborted" when the worker saw the abort request before the analysis returned, else
            # "succeeded" (it found its check gone and published nothing): which one is a race under
            # load, and either way the job is over and nothing was kept (asserted below).
            wait_for(lambda: job_statuses() in (["aborted"], ["succeeded"]))
        finally:
            held.release.set()
            worker.stop()
        assert held.finished.is_set()
        assert stored(data_dir, profile_id) == []
        assert not (data_dir / "analyses" / str(profile_id)).exists()
        assert not row_exists(database, check.id)
    finally:
        database.close()
