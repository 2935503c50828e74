"""The embedded analysis queue: technique checks taken from their own table and analysed here.

This is the queue of the embedded default (SQLite, one machine), where no queue server can be
assumed. Jobs live in the ``technique_checks`` table (see :mod:`kneefix.storage.check_queue`): a
worker claims one with a lease and keeps renewing it while the analysis runs. If the process dies,
the lease runs out and the next worker to look puts the job back in the queue; a job that keeps
dying is failed after a few attempts with a message, rather than retried forever. A worker asked to
stop hands its job back at the next progress step, and that try does not count.

On PostgreSQL, Procrastinate is the queue instead (:mod:`kneefix.services.task_queue`); both run
the same task code, :func:`kneefix.services.check_run.run_check`.

The web app runs one worker in a thread of its own process (:func:`start_embedded_worker`);
``kneefix worker`` runs one as a process of its own. Both first clean up what crashed processes
left in the file store (:mod:`kneefix.services.leftovers`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from typing import Any

from kneefix.errors import KneefixError
from kneefix.services.check_run import Analyse, Outcome, StopReason, run_check, run_video_analysis
from kneefix.services.leftovers import clean_at_start
from kneefix.services.task_queue import EmbeddedQueueWorker, uses_task_queue
from kneefix.storage import check_queue as check_store
from kneefix.storage.db import Database
from kneefix.storage.files import FileStore
from kneefix.storage.records import TechniqueCheckInfo

log = logging.getLogger("kneefix.worker")

DEFAULT_LEASE_S = 60.0
DEFAULT_POLL_S = 1.0


def new_worker_id() -> str:
    """Host, process and a random part: unique across machines sharing one database."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Claims and runs analysis jobs; one job at a time (the pose model already uses the cores).

    ``files`` is the file store the uploads are read from and the results published to (the web
    side's, or the same volume mounted on this machine). ``analyse`` is the pipeline to run (tests
    pass a small stand-in); ``lease_s`` is how long a job stays claimed without a sign of life
    before another worker may take it back.
    """

    def __init__(
        self,
        database: Database,
        files: FileStore,
        *,
        analyse: Analyse = run_video_analysis,
        worker_id: str | None = None,
        lease_s: float = DEFAULT_LEASE_S,
        poll_s: float = DEFAULT_POLL_S,
        max_attempts: int = check_store.DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        self.database = database
        self.files = files
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

    def run_job(self, job: TechniqueCheckInfo) -> Outcome:
        """Run a claimed job to its end (see :func:`kneefix.services.check_run.run_check`)."""
        return run_check(
            self.database,
            self.files,
            job,
            self.worker_id,
            analyse=self.analyse,
            lease_s=self.lease_s,
            should_stop=self._stop_reason,
        )

    def _stop_reason(self) -> StopReason | None:
        return "stop" if self._stop.is_set() else None

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

    def stop_soon(self) -> None:
        """Ask the loop to end, from anywhere (a signal handler too): the running job is handed back
        at its next progress step and no new one is taken."""
        self._stop.set()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop; a running job is handed back at its next progress step, for the next start."""
        self.stop_soon()
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


def start_embedded_worker(app: Any) -> None:
    """Lifecycle hook for the web app: start one worker thread when the settings ask for it, and
    clean up what crashed processes left in the file store (in a thread of its own).

    On PostgreSQL it is a Procrastinate worker, so it shares the queue with ``kneefix worker``
    processes on other machines; on SQLite it is the embedded lease queue.
    """
    settings = app.state.settings
    database: Database = app.state.database
    if not settings.run_worker:
        app.state.worker = None
        return
    cleaner = threading.Thread(
        target=clean_at_start, args=(database, app.state.files), name="kneefix-clean", daemon=True
    )
    cleaner.start()  # crash leftovers (see kneefix.services.leftovers); the page need not wait
    app.state.cleaner = cleaner
    worker: Worker | EmbeddedQueueWorker
    if uses_task_queue(database):
        worker = EmbeddedQueueWorker(database, settings, files=app.state.files)
    else:
        worker = Worker(database, app.state.files)
    app.state.worker = worker
    worker.start()


def stop_embedded_worker(app: Any) -> None:
    """Lifecycle hook: stop the worker thread (a running job goes back to the queue)."""
    worker = getattr(app.state, "worker", None)
    if isinstance(worker, Worker | EmbeddedQueueWorker):
        worker.stop()
