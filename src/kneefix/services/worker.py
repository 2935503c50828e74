"""The analysis worker: takes queued technique checks from the database and runs the video pipeline.

Jobs live in the database (see :mod:`kneefix.storage.check_queue`), so nothing depends on this process
staying up: a worker claims a job with a lease and keeps renewing it while the analysis runs. If the
process dies, the lease runs out and the next worker to look (this one after a restart, or another
machine sharing the database and data folder) puts the job back in the queue and runs it again. A job
that keeps dying is failed after a few attempts with a message, rather than retried forever.

The embedded default runs one :class:`Worker` in a thread inside the web process
(:func:`start_embedded_worker`); ``kneefix worker`` runs the same class as a process of its own.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kneefix.errors import KneefixError
from kneefix.motion.types import Report
from kneefix.services.uploads import output_dir_for, summarise_report
from kneefix.storage import check_queue as check_store
from kneefix.storage.db import Database
from kneefix.storage.records import TechniqueCheckInfo

log = logging.getLogger("kneefix.worker")

DEFAULT_LEASE_S = 60.0
DEFAULT_POLL_S = 1.0
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

    report: Report = run_analysis(input_path, movement, side, out_dir, progress=on_update, quiet=False)
    return report


def new_worker_id() -> str:
    """Host, process and a random part: unique across machines sharing one database."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class _Lease:
    """Keeps a claimed job's lease alive from a side thread and writes progress at a calm rate."""

    def __init__(self, database: Database, check_id: int, worker_id: str, lease_s: float) -> None:
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

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.lease_s)

    def progress(self, value: float) -> None:
        with self._lock:
            if value <= self._progress:
                return
            self._progress = min(1.0, value)
            due = time.monotonic() - self._written_at >= PROGRESS_WRITE_EVERY_S
        if due:
            self._renew()

    def _renew(self) -> None:
        with self._lock:
            self._written_at = time.monotonic()
            value = self._progress
        try:
            with self.database.session() as session:
                ours = check_store.renew_lease(
                    session, self.check_id, self.worker_id, progress=value, lease_s=self.lease_s
                )
        except KneefixError as error:  # a busy database: the next beat tries again
            log.warning("could not renew the lease of check %s: %s", self.check_id, error)
            return
        if not ours:
            self.lost = True

    def _beat(self) -> None:
        while not self._stop.wait(self.lease_s / 4):
            self._renew()


class Worker:
    """Claims and runs analysis jobs; one job at a time (the pose model already uses the cores).

    ``analyse`` is the pipeline to run (tests pass a small stand-in); ``lease_s`` is how long a job
    stays claimed without a sign of life before another worker may take it back.
    """

    def __init__(
        self,
        database: Database,
        data_dir: Path,
        *,
        analyse: Analyse = run_video_analysis,
        worker_id: str | None = None,
        lease_s: float = DEFAULT_LEASE_S,
        poll_s: float = DEFAULT_POLL_S,
        max_attempts: int = check_store.DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        self.database = database
        self.data_dir = Path(data_dir)
        self.analyse = analyse
        self.worker_id = worker_id or new_worker_id()
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.max_attempts = max_attempts
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.current: int | None = None

    # ----- one job ---------------------------------------------------------------------------

    def recover(self) -> int:
        """Put back in the queue the jobs whose worker died (lease expired); returns how many."""
        with self.database.session() as session:
            return check_store.requeue_expired(session, max_attempts=self.max_attempts)

    def claim(self) -> TechniqueCheckInfo | None:
        """Take the oldest queued job, or None when there is nothing to do."""
        with self.database.session() as session:
            return check_store.claim_next_check(
                session, self.worker_id, lease_s=self.lease_s, max_attempts=self.max_attempts
            )

    def run_one(self) -> bool:
        """Claim and run one job; False when the queue was empty."""
        job = self.claim()
        if job is None:
            return False
        self.current = job.id
        try:
            self.run_job(job)
        finally:
            self.current = None
        return True

    def run_job(self, job: TechniqueCheckInfo) -> None:
        """Run a claimed job to the end: its results stored and the job done, or failed with a reason."""
        relative_out = output_dir_for(job.profile_id, job.id)
        out_dir = self.data_dir / relative_out
        source = self.data_dir / job.input_path if job.input_path else None
        if source is None or not source.is_file():
            self._fail(job, MISSING_UPLOAD)
            return
        shutil.rmtree(out_dir, ignore_errors=True)  # half-written results of a run that died
        out_dir.mkdir(parents=True, exist_ok=True)
        log.info("worker %s analysing check %s (%s)", self.worker_id, job.id, job.movement)
        with (
            _Lease(self.database, job.id, self.worker_id, self.lease_s) as lease,
            _named_input(self.data_dir, source, job) as named,
        ):
            try:
                report = self.analyse(named, job.movement, job.side or "auto", out_dir, lease.progress)
            except KneefixError as error:
                self._fail(job, _person_message(str(error), named, job))
                return
            except Exception:
                log.exception("analysis of check %s failed unexpectedly", job.id)
                self._fail(job, UNEXPECTED_FAILURE)
                return
        data = report.model_dump(mode="json")
        with self.database.session() as session:
            finished = check_store.finish_check(
                session,
                job.id,
                self.worker_id,
                output_dir=relative_out,
                report=data,
                summary=summarise_report(data),
            )
        if not finished:
            log.warning("check %s was taken over by another worker; its result was discarded", job.id)

    def _fail(self, job: TechniqueCheckInfo, message: str) -> None:
        with self.database.session() as session:
            check_store.fail_check(session, job.id, self.worker_id, message)

    # ----- the loop --------------------------------------------------------------------------

    def run_until_idle(self) -> int:
        """Run jobs until the queue is empty; returns how many ran."""
        self.recover()
        count = 0
        while not self._stop.is_set() and self.run_one():
            count += 1
        return count

    def run_forever(self, stop: threading.Event | None = None) -> None:
        """Poll for jobs until ``stop`` (or :meth:`stop`) is set; database trouble is waited out."""
        stop_event = stop or self._stop
        try:
            self.recover()
        except KneefixError as error:
            log.warning("worker %s could not look for stale jobs: %s", self.worker_id, error)
        while not stop_event.is_set() and not self._stop.is_set():
            try:
                ran = self.run_one()
            except KneefixError as error:
                log.warning("worker %s: %s", self.worker_id, error)
                ran = False
            except Exception:
                log.exception("worker %s hit an unexpected error; carrying on", self.worker_id)
                ran = False
            if not ran:
                self._wake.wait(self.poll_s)
                self._wake.clear()

    def wake(self) -> None:
        """Look at the queue now (called right after an upload, so the job starts at once)."""
        self._wake.set()

    def start(self) -> None:
        """Run :meth:`run_forever` in a daemon thread."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run_forever, name="kneefix-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling; a job still running is handed back to the queue for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        if self.current is not None:
            try:
                with self.database.session() as session:
                    check_store.release_worker(session, self.worker_id)
            except KneefixError as error:
                log.warning("could not hand back running jobs: %s", error)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def shown_name(job: TechniqueCheckInfo, source: Path) -> str:
    """The person's own file name, made safe for a path, with the stored (sniffed) extension."""
    stem = Path(job.original_filename or "").stem
    cleaned = _SAFE_NAME.sub("_", stem).strip(" ._")[:80] or "video"
    return f"{cleaned}{source.suffix}"


@contextmanager
def _named_input(data_dir: Path, source: Path, job: TechniqueCheckInfo) -> Iterator[Path]:
    """The upload under the name the person gave it, so reports and charts show that name.

    A hard link in a scratch folder (a copy where links are not possible), removed afterwards.
    """
    folder = data_dir / "work" / str(job.id)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    named = folder / shown_name(job, source)
    try:
        try:
            os.link(source, named)
        except OSError:
            shutil.copyfile(source, named)
        yield named
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _person_message(message: str, source: Path, job: TechniqueCheckInfo) -> str:
    """The pipeline's message with the server's file path replaced by the name the person knows."""
    shown = job.original_filename or "your video"
    return message.replace(str(source), shown).replace(source.name, shown)


def start_embedded_worker(app: Any) -> None:
    """Lifecycle hook for the web app: start one worker thread when the settings ask for it."""
    settings = app.state.settings
    if not getattr(settings, "run_worker", True):
        app.state.worker = None
        return
    worker = Worker(app.state.database, settings.data_dir)
    app.state.worker = worker
    worker.start()


def stop_embedded_worker(app: Any) -> None:
    """Lifecycle hook: stop the worker thread (a running job goes back to the queue)."""
    worker = getattr(app.state, "worker", None)
    if isinstance(worker, Worker):
        worker.stop()
