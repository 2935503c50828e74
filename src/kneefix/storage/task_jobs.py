"""The distributed queue's rows as kneefix sees them (PostgreSQL only; see migration 0005).

Procrastinate owns the ``procrastinate_*`` tables; kneefix only needs three things from them inside
its own transactions: the psycopg connection to defer a job on (so the job and the check row commit
or roll back together), and reading a check's jobs for status pages and tests. Every job of check N
carries the lock ``kneefix-check-N``: Procrastinate runs no two jobs with one lock at once, and
queues at most one waiting job per queueing lock. Deleting a check cancels its jobs by that lock,
in a database trigger (migration 0005), so every way of deleting one does it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import procrastinate
from procrastinate import exceptions as queue_errors
from sqlalchemy import text
from sqlalchemy.orm import Session

from kneefix.errors import StorageError

TASK_NAME = "kneefix.analyse_check"
QUEUE_NAME = "analyses"
# Deferring needs only the task's name and the caller's own connection; this app is never opened.
_DEFERRER = procrastinate.App(connector=procrastinate.PsycopgConnector())


def job_lock(check_id: int) -> str:
    """The lock (and queueing lock) of every job of one check."""
    return f"kneefix-check-{int(check_id)}"


def driver_connection(session: Session) -> Any:
    """The session's own psycopg connection, inside its open transaction."""
    connection = session.connection().connection.driver_connection
    if connection is None or session.get_bind().dialect.name != "postgresql":
        raise StorageError("The distributed analysis queue needs a PostgreSQL database.")
    return connection


def uses_task_queue(session: Session) -> bool:
    """True where analyses are Procrastinate jobs (PostgreSQL); SQLite's queue is the check table."""
    return session.get_bind().dialect.name == "postgresql"


def defer_analysis(session: Session, check_id: int) -> None:
    """Queue the check's analysis job in the session's transaction; a job already waiting is kept.

    Does nothing on SQLite, where the queued check row is the job.
    """
    if not uses_task_queue(session):
        return
    deferrer = _DEFERRER.configure_task(
        TASK_NAME,
        queue=QUEUE_NAME,
        lock=job_lock(check_id),
        queueing_lock=job_lock(check_id),
        connection=driver_connection(session),
    )
    # A savepoint, so that "already queued" does not poison the caller's transaction. SQLAlchemy
    # emits the SAVEPOINT only when the nested transaction first uses the connection, so ask for it.
    savepoint = session.begin_nested()
    session.connection()
    try:
        deferrer.defer(check_id=check_id)
    except queue_errors.AlreadyEnqueued:
        savepoint.rollback()
        return
    savepoint.commit()


@dataclass(frozen=True)
class TaskJob:
    """One Procrastinate job of a check, as stored."""

    id: int
    status: str
    attempts: int
    abort_requested: bool


def jobs_of_check(session: Session, check_id: int) -> list[TaskJob]:
    """The check's jobs, oldest first."""
    rows = session.execute(
        text(
            "SELECT id, status::text, attempts, abort_requested FROM procrastinate_jobs "
            "WHERE lock = :lock ORDER BY id"
        ),
        {"lock": job_lock(check_id)},
    ).all()
    return [TaskJob(int(r[0]), str(r[1]), int(r[2]), bool(r[3])) for r in rows]
