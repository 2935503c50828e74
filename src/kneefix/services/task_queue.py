"""Technique analyses on PostgreSQL: jobs of Procrastinate, run by workers on any machine.

Why Procrastinate (3.10, pinned): it keeps its queue in PostgreSQL, which a clinic already runs, so
there is no broker to install, and a job is deferred on the same connection and in the same
transaction as the check row (an upload that fails to commit leaves no job, and a job never waits
for a check that does not exist). It brings what a home-made queue lacks: workers that LISTEN for new
jobs, heartbeats that tell a dead worker from a slow one, retries with a strategy, per-lock
exclusion, cancellation that reaches a running job, and a ``failed`` state that keeps dead jobs
for inspection.

How kneefix uses it:

- one job per check (:data:`TASK_NAME`), locked by ``kneefix-check-N``: two jobs of one check
  never run at once, and at most one waits (:mod:`kneefix.storage.task_jobs`);
- the job runs the same task code as the embedded queue (:func:`kneefix.services.check_run.run_check`)
  and keeps the check row up to date, which is what pages and the API read;
- a stopping worker (SIGTERM, Ctrl-C) aborts its job, which goes back to the queue at once without
  spending one of the check's attempts;
- an unexpected error is retried after a growing pause (:data:`RETRY_DELAYS_S`); a check out of
  attempts ends failed with its reason, and its job ``failed``: the dead letter;
- a worker that dies (SIGKILL, power cut) stops sending heartbeats; after
  ``worker_stalled_after_s`` any other worker puts its job back (:func:`recover_stalled`), and that
  try counts;
- deleting a check (or the profile or account it belongs to) cancels its jobs in the same
  transaction, by a trigger (migration 0005); a running one stops at its next progress step and
  leaves no files.

SQLite (the embedded default) has no Procrastinate; its queue is the check table itself
(:mod:`kneefix.services.worker`), running the same task code in the web process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading

import procrastinate
from procrastinate import exceptions as queue_errors
from procrastinate.job_context import AbortReason, JobContext
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from kneefix.errors import KneefixError
from kneefix.services.check_run import Analyse, StopReason, run_check, run_video_analysis
from kneefix.settings import Settings
from kneefix.storage import check_queue as check_store
from kneefix.storage import task_jobs
from kneefix.storage.db import Database
from kneefix.storage.files import FileStore, open_store

log = logging.getLogger("kneefix.worker")

TASK_NAME = task_jobs.TASK_NAME
QUEUE_NAME = task_jobs.QUEUE_NAME
#: Pause before the 2nd, 3rd, ... try after an unexpected error (the last figure repeats).
RETRY_DELAYS_S = (15, 60, 300)
#: Safety net: a job is retried at most this many times by the queue, whatever happens. The check's
#: own attempts (3) end it long before, except for shutdowns, which do not count there.
MAX_QUEUE_RETRIES = 50
RECOVER_EVERY_S = 5.0


def uses_task_queue(database: Database) -> bool:
    """True where analyses go through Procrastinate (PostgreSQL); SQLite uses its own table."""
    return database.backend == "postgresql"


class RetryLaterError(Exception):
    """An unexpected failure with attempts left: the queue runs the job again after a pause."""


class OutOfAttemptsError(Exception):
    """The check is out of attempts: the job ends ``failed``; the person's message is on the check."""


class _AnalysisRetries(BaseRetryStrategy):
    """A shutdown goes straight back to the queue; an unexpected error waits; nothing else retries."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if job.attempts >= MAX_QUEUE_RETRIES:
            return None
        if isinstance(exception, queue_errors.JobAborted):  # only shutdowns are offered a retry
            return RetryDecision(retry_in={"seconds": 0})
        if isinstance(exception, RetryLaterError):
            delay = RETRY_DELAYS_S[min(job.attempts, len(RETRY_DELAYS_S) - 1)]
            return RetryDecision(retry_in={"seconds": delay})
        return None


def conninfo(database: Database) -> str:
    """The libpq address of the database (Procrastinate's own pool connects with it)."""
    return database.url.set(drivername="postgresql").render_as_string(hide_password=False)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def build_app(
    database: Database,
    files: FileStore,
    *,
    analyse: Analyse = run_video_analysis,
    max_attempts: int = check_store.DEFAULT_MAX_ATTEMPTS,
) -> procrastinate.App:
    """A Procrastinate app whose one task analyses a check with the shared task code."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(database)))

    @app.task(name=TASK_NAME, queue=QUEUE_NAME, pass_context=True, retry=_AnalysisRetries())
    def analyse_check(context: JobContext, check_id: int) -> str:
        return _analyse(context, database, files, analyse, max_attempts, check_id)

    return app


def _analyse(
    context: JobContext,
    database: Database,
    files: FileStore,
    analyse: Analyse,
    max_attempts: int,
    check_id: int,
) -> str:
    runner = f"queue:{worker_name()}:job-{context.job.id}"
    with database.session() as session:
        job = check_store.start_check(session, check_id, runner, max_attempts=max_attempts)
    if job == "out_of_attempts":
        raise OutOfAttemptsError(f"check {check_id} stopped before finishing {max_attempts} times")
    if isinstance(job, str):
        return job  # deleted or already finished: nothing to do

    def stop_reason() -> StopReason | None:
        reason = context.abort_reason()
        if reason is None:
            return None
        return "stop" if reason == AbortReason.SHUTDOWN else "cancel"

    outcome = run_check(
        database,
        files,
        job,
        runner,
        analyse=analyse,
        should_stop=stop_reason,
        retry_unexpected=job.attempts < max_attempts,
    )
    if outcome == "handed_back" or (outcome == "gone" and context.should_abort()):
        raise queue_errors.JobAborted(outcome)
    if outcome == "retry":
        raise RetryLaterError(f"check {check_id}: unexpected error on try {job.attempts} of {max_attempts}")
    if outcome == "error":
        raise OutOfAttemptsError(f"check {check_id}: unexpected error on the last of {max_attempts} tries")
    return outcome


async def recover_stalled(app: procrastinate.App, stalled_after_s: float) -> int:
    """Put back in the queue the jobs of workers that stopped sending heartbeats; returns how many.

    Every worker does this, so two may find the same job: the second one's retry is refused by the
    database and skipped.
    """
    stalled = await app.job_manager.get_stalled_jobs(
        task_name=TASK_NAME, seconds_since_heartbeat=stalled_after_s
    )
    count = 0
    for job in stalled:
        try:
            await app.job_manager.retry_job(job)
        except queue_errors.ConnectorException:  # another worker took it back first
            continue
        log.warning("job %s of a worker that stopped answering went back to the queue", job.id)
        count += 1
    return count


async def _recover_forever(app: procrastinate.App, stalled_after_s: float) -> None:
    while True:
        await asyncio.sleep(RECOVER_EVERY_S)
        try:
            await recover_stalled(app, stalled_after_s)
        except Exception as error:  # the database may be restarting: try again next round
            log.warning("could not look for stalled analyses: %s", error)


async def serve(
    app: procrastinate.App,
    settings: Settings,
    *,
    once: bool = False,
    install_signal_handlers: bool = True,
) -> None:
    """Run one worker until stopped (or, with ``once``, until the queue is empty).

    One job at a time: the pose model already uses the machine's cores. The worker takes back the
    jobs of dead workers when it starts and every few seconds, and comes back by itself when the
    database restarts.
    """
    while True:
        try:
            async with app.open_async():
                await recover_stalled(app, settings.worker_stalled_after_s)
                recovery = asyncio.create_task(_recover_forever(app, settings.worker_stalled_after_s))
                try:
                    await app.run_worker_async(
                        queues=[QUEUE_NAME],
                        name=worker_name(),
                        concurrency=1,
                        wait=not once,
                        shutdown_graceful_timeout=0,
                        install_signal_handlers=install_signal_handlers,
                        update_heartbeat_interval=settings.worker_heartbeat_s,
                        stalled_worker_timeout=settings.worker_stalled_after_s,
                        listen_notify=True,
                    )
                finally:
                    recovery.cancel()
            return
        except (queue_errors.ConnectorException, OSError, KneefixError) as error:
            if once:
                raise
            log.warning("the analysis queue lost its database (%s); reconnecting in 2 s", error)
            await asyncio.sleep(2.0)


class EmbeddedQueueWorker:
    """A Procrastinate worker in a thread of the web process (PostgreSQL without separate workers)."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        analyse: Analyse = run_video_analysis,
        files: FileStore | None = None,
    ):
        """``files`` defaults to the store the settings name (the web app passes its own)."""
        self.app = build_app(database, files or open_store(settings), analyse=analyse)
        self.settings = settings
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kneefix-queue-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(timeout=10)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._task = loop.create_task(serve(self.app, self.settings, install_signal_handlers=False))
        self._ready.set()
        try:
            loop.run_until_complete(self._task)
        except (asyncio.CancelledError, Exception) as error:
            if not isinstance(error, asyncio.CancelledError):
                log.exception("the embedded analysis worker stopped")
        finally:
            loop.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop: a running analysis is aborted and goes back to the queue (the try not counted)."""
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)
        self._thread.join(timeout=timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
