"""Run one technique check that a worker has taken: the task code every queue shares.

Two queues hand out checks: the database lease queue of the embedded default (SQLite, one machine;
:mod:`kneefix.services.worker`) and Procrastinate on PostgreSQL (:mod:`kneefix.services.task_queue`).
Both call :func:`run_check`, so a video is analysed, stopped, cancelled and failed the same way
whichever runs it:

- the results are built in a private work folder, then published under the check's key in the
  file store all at once, in the transaction that locks the check row and marks it done (or, if
  the row is gone or no longer this run's, not at all);
- a problem with the video fails the check with a message the person can act on;
- a worker that is stopping (SIGTERM, Ctrl-C) hands the check back, and that try does not count;
- a check deleted while it runs (by the person, or with their profile or account) is abandoned at
  the next progress step (the progress write finds no row) and leaves no files behind; one that
  finishes first publishes nothing (see :func:`_publish`);
- an unexpected error is retried when the queue asks for it, else fails with a neutral message.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path, PurePath, PurePosixPath
from typing import Any, Literal

from kneefix.errors import KneefixError, NotFoundError
from kneefix.motion.types import Report
from kneefix.services.uploads import output_dir_for, summarise_report
from kneefix.storage import check_queue as check_store
from kneefix.storage.db import Database
from kneefix.storage.files import FileStore, Workspace
from kneefix.storage.records import TechniqueCheckInfo

log = logging.getLogger("kneefix.worker")

PROGRESS_WRITE_EVERY_S = 0.5  # at most two progress writes a second, whatever the pipeline reports
UNEXPECTED_FAILURE = (
    "The analysis stopped because of a problem on the server, not with your video. "
    "Try again; if it happens again, the server's log has the details."
)
MISSING_UPLOAD = (
    "The uploaded video is no longer on the server, so it cannot be analysed. Please upload it again."
)

ProgressSink = Callable[[float], None]

#: Runs one analysis: ``(input_path, movement, side, out_dir, progress)``; writes results into
#: ``out_dir`` and reports 0-1 progress. The real one is :func:`run_video_analysis`.
Analyse = Callable[[Path, str, str, Path, ProgressSink], Report]

#: Why a run should end early: the worker is stopping, or the check was cancelled (deleted).
StopReason = Literal["stop", "cancel"]
StopSignal = Callable[[], StopReason | None]

#: How a run ended. ``handed_back``: queued again for another worker, the try not counted.
#: ``gone``: the check was deleted or taken over; nothing was kept. ``retry``: queued again after
#: an unexpected error (the queue schedules the next try). ``error``: an unexpected error with no
#: retry left; the check failed with a neutral message.
Outcome = Literal["done", "failed", "error", "handed_back", "gone", "retry"]


class _InterruptedError(Exception):
    """Raised from the progress callback to unwind the pipeline (its ``finally`` reaps the pose
    processes), carrying why."""

    def __init__(self, reason: StopReason) -> None:
        super().__init__(reason)
        self.reason = reason


def never_stop() -> StopReason | None:
    """The stop signal of a run nobody interrupts."""
    return None


def fraction_done(update: Any) -> float | None:
    """Turn the pipeline's progress messages into one 0-1 figure for the progress bar.

    Pose estimation is most of the work (to 80 %); drawing the annotated video is the rest.
    """
    if isinstance(update, int | float):
        return float(update)
    stage = getattr(update, "stage", None)
    done = getattr(update, "done", None)
    total = getattr(update, "total", None)
    if not isinstance(done, int | float) or not isinstance(total, int | float) or total <= 0:
        return None
    part = min(1.0, max(0.0, float(done) / float(total)))
    if stage == "overlay":
        return 0.80 + 0.18 * part
    return 0.02 + 0.78 * part


def run_video_analysis(
    input_path: Path, movement: str, side: str, out_dir: Path, progress: ProgressSink
) -> Report:
    """The real pipeline (:func:`kneefix.services.technique.run_analysis`), quiet, with progress."""
    from kneefix.services.technique import run_analysis

    def on_update(update: Any) -> None:
        value = fraction_done(update)
        if value is not None:
            progress(value)

    def between_stages() -> None:
        progress(0.0)  # records nothing new; lets the worker stop a run whose check is gone

    report: Report = run_analysis(
        input_path, movement, side, out_dir, progress=on_update, quiet=False, checkpoint=between_stages
    )
    return report


class _Progress:
    """Writes progress at a calm rate and, with a lease, keeps it alive from a side thread.

    A write that finds the check no longer this worker's (deleted, or taken over after a lost
    lease) sets ``lost``, which ends the run at its next progress step.
    """

    def __init__(self, database: Database, check_id: int, worker_id: str, lease_s: float | None) -> None:
        self.database = database
        self.check_id = check_id
        self.worker_id = worker_id
        self.lease_s = lease_s
        self.lost = False
        self._progress = 0.0
        self._written_at = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"kneefix-lease-{check_id}", daemon=True)

    def __enter__(self) -> _Progress:
        if self.lease_s is not None:
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.lease_s)

    def report(self, value: float) -> None:
        """Record ``value`` (progress never goes back) and write it if the last write is old enough;
        a call with no new progress still writes when due, which checks the row is still ours."""
        with self._lock:
            self._progress = max(self._progress, min(1.0, value))
            due = time.monotonic() - self._written_at >= PROGRESS_WRITE_EVERY_S
        if due:
            self._write()

    def _write(self) -> None:
        with self._lock:
            self._written_at = time.monotonic()
            value = self._progress
        try:
            with self.database.session() as session:
                ours = check_store.renew_lease(
                    session, self.check_id, self.worker_id, progress=value, lease_s=self.lease_s
                )
        except KneefixError as error:  # a busy database: the next beat tries again
            log.warning("could not record the progress of check %s: %s", self.check_id, error)
            return
        if not ours:
            self.lost = True

    def _beat(self) -> None:
        assert self.lease_s is not None
        while not self._stop.wait(self.lease_s / 4):
            self._write()


def work_tag(check_id: int, worker_id: str) -> str:
    """The start of a run's work folder name: ``c<check id>-<16 hex digits of its worker id>``.

    The clean-up tells a live work folder from a dead worker's by it: live while the check is
    running for that worker (:func:`parse_work_tag`).
    """
    return f"c{check_id}-{_runner_digest(worker_id)}"


_WORK_FOLDER = re.compile(r"^c(?P<check>[0-9]{1,19})-(?P<runner>[0-9a-f]{16})-[0-9a-f]{32}$")


def parse_work_tag(folder_name: str) -> tuple[int, str] | None:
    """(check id, worker digest) of a folder :func:`work_tag` named; None for any other name."""
    match = _WORK_FOLDER.match(folder_name)
    return (int(match["check"]), match["runner"]) if match else None


def _runner_digest(worker_id: str) -> str:
    return hashlib.sha256(worker_id.encode("utf-8")).hexdigest()[:16]


def is_live_work(folder_name: str, running: Iterable[tuple[int, str]]) -> bool:
    """Whether a work folder belongs to a run whose check is still running for its worker."""
    parsed = parse_work_tag(folder_name)
    return parsed is not None and any(
        check_id == parsed[0] and _runner_digest(worker) == parsed[1] for check_id, worker in running
    )


def run_check(
    database: Database,
    files: FileStore,
    job: TechniqueCheckInfo,
    worker_id: str,
    *,
    analyse: Analyse = run_video_analysis,
    lease_s: float | None = None,
    should_stop: StopSignal = never_stop,
    retry_unexpected: bool = False,
) -> Outcome:
    """Run a taken check to one of the ends listed in the module docstring; returns which.

    The analysis works in a private folder of the file store (:meth:`FileStore.workspace`), so
    nothing appears under the check's key until :func:`_publish`, and the folder goes whatever the
    end.
    """
    results = output_dir_for(job.profile_id, job.id)
    if not job.input_path or not files.exists(job.input_path):
        return _fail(database, job, worker_id, MISSING_UPLOAD)
    _discard(files, results)  # results of an earlier run of this check: this run replaces them
    log.info("worker %s analysing check %s (%s)", worker_id, job.id, job.movement)
    upload_name = shown_name(job, PurePosixPath(job.input_path))
    with (
        _Progress(database, job.id, worker_id, lease_s) as progress,
        files.workspace(work_tag(job.id, worker_id)) as work,
    ):

        def on_progress(value: float) -> None:
            progress.report(value)  # the write that finds the row gone sets ``lost`` at once
            reason = should_stop()
            if reason is None and progress.lost:
                reason = "cancel"
            if reason is not None:
                raise _InterruptedError(reason)

        try:
            named = work.fetch(job.input_path, name=upload_name)
        except NotFoundError:  # the upload went between the look above and now: deleted
            return _fail(database, job, worker_id, MISSING_UPLOAD)
        try:
            report = analyse(named, job.movement, job.side or "auto", work.output, on_progress)
        except _InterruptedError as interrupted:
            return _end_early(database, job, worker_id, interrupted.reason)
        except KneefixError as error:
            message = _person_message(str(error), named, job)
            return _fail(database, job, worker_id, message)
        except Exception:
            log.exception("analysis of check %s failed unexpectedly", job.id)
            if retry_unexpected:
                with database.session() as session:
                    if check_store.queue_again(session, job.id, worker_id):
                        return "retry"
            outcome = _fail(database, job, worker_id, UNEXPECTED_FAILURE)
            return "error" if outcome == "failed" else outcome
        return _publish(database, files, work, job, worker_id, report, results)


def _publish(
    database: Database,
    files: FileStore,
    work: Workspace,
    job: TechniqueCheckInfo,
    worker_id: str,
    report: Report,
    results: str,
) -> Outcome:
    """Move the results under the check's key and mark it done, in one transaction that first
    locks the check and checks it is still this run's: a deletion commits wholly before (and
    nothing is published: the work folder goes) or after (and finds the results to remove).

    A commit that fails after the rename takes the results back out, so a key never holds results
    its row does not name.
    """
    data = report.model_dump(mode="json")
    published = False
    try:
        with database.session() as session:
            if not check_store.hold_own_check(session, job.id, worker_id):
                log.warning("check %s was deleted or taken over while it ran; results dropped", job.id)
                return "gone"
            work.publish(results)
            published = True
            finished = check_store.finish_check(
                session,
                job.id,
                worker_id,
                output_dir=results,
                report=data,
                summary=summarise_report(data),
            )
            if not finished:  # cannot happen while the row is held; never publish without it
                raise RuntimeError(f"check {job.id} could not be marked done")
    except BaseException:
        if published:
            _discard(files, results)
        raise
    return "done"


def _discard(files: FileStore, results: str) -> None:
    """Remove a check's results folder; a failure to do so is logged (the run's outcome stands)."""
    try:
        files.delete_prefix(results)
    except OSError as error:
        log.warning("could not remove %s from the file store: %s", results, error)


def _end_early(database: Database, job: TechniqueCheckInfo, worker_id: str, reason: StopReason) -> Outcome:
    """Nothing of the run was published, so there is nothing to remove: the work folder goes."""
    if reason == "cancel":
        log.info("check %s was deleted or taken over while it ran; nothing was kept", job.id)
        return "gone"
    with database.session() as session:
        handed = check_store.hand_back(session, job.id, worker_id)
    log.info("worker %s stopping: check %s %s", worker_id, job.id, "handed back" if handed else "gone")
    return "handed_back" if handed else "gone"


def _fail(database: Database, job: TechniqueCheckInfo, worker_id: str, message: str) -> Outcome:
    with database.session() as session:
        failed = check_store.fail_check(session, job.id, worker_id, message)
    return "failed" if failed else "gone"


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def shown_name(job: TechniqueCheckInfo, source: PurePath) -> str:
    """The person's own file name, made safe for a path, with the stored (sniffed) extension.

    The analysis reads the upload under this name (:meth:`FileStore.local_path`), so reports and
    charts show the name the person knows.
    """
    stem = Path(job.original_filename or "").stem
    cleaned = _SAFE_NAME.sub("_", stem).strip(" ._")[:80] or "video"
    return f"{cleaned}{source.suffix}"


def _person_message(message: str, source: Path, job: TechniqueCheckInfo) -> str:
    """The pipeline's message with the server's file path replaced by the name the person knows."""
    shown = job.original_filename or "your video"
    return message.replace(str(source), shown).replace(source.name, shown)
