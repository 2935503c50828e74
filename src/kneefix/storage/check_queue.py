"""Technique checks and their analysis jobs, queued in the database.

On SQLite this table is the whole queue, as described below. On PostgreSQL each queued check also
gets a Procrastinate job in the same transaction (:mod:`kneefix.storage.task_jobs`); its workers
call :func:`start_check` and the rest of the run functions here, and the lease columns stay empty.

A job is ``queued`` until a worker claims it; the claim is one conditional UPDATE (``... WHERE
status = 'queued'``), so two workers can never take the same job, on SQLite or PostgreSQL. A claimed
job holds a lease that the worker renews while it reports progress. If the worker dies, the lease runs
out and the next claim (or :func:`requeue_expired` at start-up) puts the job back in the queue, until
it has been tried ``max_attempts`` times; then it is marked failed with a message a person can act on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Select, case, func, select, update
from sqlalchemy.orm import Session

from kneefix.errors import InputError, NotFoundError
from kneefix.jsonvalues import to_json_value
from kneefix.storage import task_jobs
from kneefix.storage.batches import rows_by_profile
from kneefix.storage.columns import utc_now
from kneefix.storage.convert import technique_check_info
from kneefix.storage.guards import add_or_earlier, check_text, require_profile
from kneefix.storage.models import CHECK_STATUSES, Profile, TechniqueCheck
from kneefix.storage.records import TechniqueCheckInfo

DEFAULT_LEASE_S = 120.0
DEFAULT_MAX_ATTEMPTS = 3
#: Why :func:`start_check` did not start a check.
NotStarted = Literal["missing", "finished", "out_of_attempts"]
GAVE_UP_MESSAGE = (
    "The analysis stopped before finishing {attempts} times (the server may have restarted while it "
    "ran). Please try this video again, or a shorter clip."
)


def _row(session: Session, check_id: int, profile_id: int | None, *, lock: bool = False) -> TechniqueCheck:
    row = session.get(TechniqueCheck, check_id, with_for_update=lock)
    if row is None or (profile_id is not None and row.profile_id != profile_id):
        raise NotFoundError(f"There is no technique check with id {check_id}.")
    return row


def _relative_path(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = check_text(name, value, max_length=500, allow_empty=False)
    if cleaned.startswith(("/", "\\")) or ".." in cleaned.replace("\\", "/").split("/"):
        raise InputError(f"{name} must be a path inside the data folder, got {value!r}.")
    return cleaned


def enqueue_check(
    session: Session,
    profile_id: int,
    *,
    movement: str,
    input_path: str,
    side: str | None = None,
    original_filename: str | None = None,
    request_id: str | None = None,
) -> TechniqueCheckInfo:
    """Queue an analysis of the video at ``input_path`` (relative to the data folder).

    With ``request_id``, submitting the same upload form twice returns the first check.
    """
    require_profile(session, profile_id)
    if request_id is not None:
        request_id = check_text("Request id", request_id, max_length=100, allow_empty=False)
        earlier = _by_request(session, profile_id, request_id)
        if earlier is not None:
            return technique_check_info(earlier)
    row = TechniqueCheck(
        profile_id=profile_id,
        movement=check_text("Movement", movement, max_length=40, allow_empty=False),
        side=None if side is None else check_text("Side", side, max_length=10, allow_empty=False),
        status="queued",
        progress=0.0,
        input_path=_relative_path("Input path", input_path),
        original_filename=None
        if original_filename is None
        else check_text("File name", original_filename, max_length=255),
        request_id=request_id,
        attempts=0,
    )
    stored = add_or_earlier(
        session, row, lambda: _by_request(session, profile_id, request_id) if request_id else None
    )
    if stored is row:
        task_jobs.defer_analysis(session, row.id)
    return technique_check_info(stored)


def _by_request(session: Session, profile_id: int, request_id: str) -> TechniqueCheck | None:
    return session.scalar(
        select(TechniqueCheck).where(
            TechniqueCheck.profile_id == profile_id, TechniqueCheck.request_id == request_id
        )
    )


def get_check(session: Session, check_id: int, *, profile_id: int | None = None) -> TechniqueCheckInfo:
    """One check; with ``profile_id``, only if it belongs to that profile (else NotFoundError)."""
    return technique_check_info(_row(session, check_id, profile_id))


def list_checks(session: Session, profile_id: int, *, limit: int | None = None) -> list[TechniqueCheckInfo]:
    """The profile's checks, newest first."""
    require_profile(session, profile_id)
    query = (
        select(TechniqueCheck)
        .where(TechniqueCheck.profile_id == profile_id)
        .order_by(TechniqueCheck.created_at.desc(), TechniqueCheck.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return [technique_check_info(row) for row in session.scalars(query)]


def recent_checks_by_profile(
    session: Session, profile_ids: Sequence[int], *, per_profile: int
) -> dict[int, list[TechniqueCheckInfo]]:
    """Each profile's ``per_profile`` newest checks, newest first (as :func:`list_checks` with a limit),
    in one query for all: a window numbers each profile's checks, so a long history is not read."""

    def query_for(ids: list[int]) -> Select[TechniqueCheck]:
        newest_first = (TechniqueCheck.created_at.desc(), TechniqueCheck.id.desc())
        place = func.row_number().over(partition_by=TechniqueCheck.profile_id, order_by=newest_first)
        ranked = (
            select(TechniqueCheck.id, place.label("place"))
            .where(TechniqueCheck.profile_id.in_(ids))
            .subquery()
        )
        return (
            select(TechniqueCheck)
            .join(ranked, ranked.c.id == TechniqueCheck.id)
            .where(ranked.c.place <= per_profile)
            .order_by(*newest_first)
        )

    return rows_by_profile(session, profile_ids, query_for, technique_check_info)


def delete_check(session: Session, profile_id: int, check_id: int) -> TechniqueCheckInfo:
    """Remove a check; returns it so the caller can delete its files after the commit.

    The row is read locked (PostgreSQL; SQLite's write lock is the whole database), so a worker
    publishing its results at this moment finishes first and the returned record names them.
    """
    row = _row(session, check_id, profile_id, lock=True)
    info = technique_check_info(row)
    session.delete(row)
    session.flush()
    return info


def requeue_expired(
    session: Session, *, now: dt.datetime | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS
) -> int:
    """Take back running jobs whose lease ran out: re-queue them, or fail those out of attempts.

    Returns how many jobs were touched. Safe to call from several workers at once.
    """
    moment = now or utc_now()
    expired = (
        TechniqueCheck.status == "running",
        TechniqueCheck.lease_expires_at.is_not(None),
        TechniqueCheck.lease_expires_at < moment,
    )
    gave_up = session.execute(
        update(TechniqueCheck)
        .where(*expired, TechniqueCheck.attempts >= max_attempts)
        .values(
            status="failed",
            error=GAVE_UP_MESSAGE.format(attempts=max_attempts),
            worker_id=None,
            lease_expires_at=None,
            finished_at=moment,
        )
        .execution_options(synchronize_session=False)
    )
    requeued = session.execute(
        update(TechniqueCheck)
        .where(*expired)
        .values(status="queued", worker_id=None, lease_expires_at=None, progress=0.0)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return int(gave_up.rowcount or 0) + int(requeued.rowcount or 0)  # type: ignore[attr-defined]


def claim_next_check(
    session: Session,
    worker_id: str,
    *,
    lease_s: float = DEFAULT_LEASE_S,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    now: dt.datetime | None = None,
) -> TechniqueCheckInfo | None:
    """Atomically take the oldest queued job for ``worker_id``; None when the queue is empty.

    Commit right after claiming (a short session of its own), so other workers see the claim.
    """
    worker = check_text("Worker id", worker_id, max_length=200, allow_empty=False)
    moment = now or utc_now()
    requeue_expired(session, now=moment, max_attempts=max_attempts)
    for _ in range(10):
        candidate = session.scalar(
            select(TechniqueCheck.id)
            .where(TechniqueCheck.status == "queued")
            .order_by(TechniqueCheck.created_at, TechniqueCheck.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if candidate is None:
            return None
        taken = session.execute(
            update(TechniqueCheck)
            .where(TechniqueCheck.id == candidate, TechniqueCheck.status == "queued")
            .values(
                status="running",
                worker_id=worker,
                lease_expires_at=moment + dt.timedelta(seconds=lease_s),
                started_at=moment,
                finished_at=None,
                progress=0.0,
                error=None,
                attempts=TechniqueCheck.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            session.expire_all()
            return get_check(session, candidate)
    return None


def start_check(
    session: Session,
    check_id: int,
    worker_id: str,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    now: dt.datetime | None = None,
) -> TechniqueCheckInfo | NotStarted:
    """Mark one given check as running for ``worker_id`` (the distributed queue picked it).

    Returns why not when there is nothing to run: the check was deleted (``missing``), has finished
    (``finished``), or has already been tried ``max_attempts`` times (``out_of_attempts``; it is
    failed here with the reason). A check still marked running is taken over: the queue only hands
    it out again once its last worker is known dead.
    """
    worker = check_text("Worker id", worker_id, max_length=200, allow_empty=False)
    moment = now or utc_now()
    row = session.get(TechniqueCheck, check_id, with_for_update=True)
    if row is None:
        return "missing"
    if row.status not in ("queued", "running"):
        return "finished"
    if row.attempts >= max_attempts:
        row.status = "failed"
        row.error = GAVE_UP_MESSAGE.format(attempts=row.attempts)
        row.worker_id = None
        row.lease_expires_at = None
        row.finished_at = moment
        session.flush()
        return "out_of_attempts"
    row.status = "running"
    row.worker_id = worker
    row.lease_expires_at = None
    row.started_at = moment
    row.finished_at = None
    row.progress = 0.0
    row.error = None
    row.attempts = row.attempts + 1
    session.flush()
    return technique_check_info(row)


#: A running check back in the queue, waiting for any worker.
_BACK_IN_QUEUE: dict[str, Any] = {
    "status": "queued",
    "worker_id": None,
    "lease_expires_at": None,
    "progress": 0.0,
}
#: The try that was cut short by a stopping worker is given back.
_ONE_TRY_LESS = case((TechniqueCheck.attempts > 0, TechniqueCheck.attempts - 1), else_=0)


def hand_back(session: Session, check_id: int, worker_id: str) -> bool:
    """Put a running check back in the queue; the try that was cut short does not count.

    For a worker that is stopping (SIGTERM from systemd or docker): a restart must not use up a
    good video's attempts. False when the check is no longer this worker's.
    """
    return _update_one(session, _owned(check_id, worker_id), **_BACK_IN_QUEUE, attempts=_ONE_TRY_LESS)


def queue_again(session: Session, check_id: int, worker_id: str) -> bool:
    """Put a running check back in the queue after a failure worth retrying (the try counts)."""
    return _update_one(session, _owned(check_id, worker_id), **_BACK_IN_QUEUE)


def _owned(check_id: int, worker_id: str) -> tuple[Any, ...]:
    return (
        TechniqueCheck.id == check_id,
        TechniqueCheck.worker_id == worker_id,
        TechniqueCheck.status == "running",
    )


def _update_one(session: Session, conditions: tuple[Any, ...], **values: Any) -> bool:
    """Set ``values`` on the check the conditions pick; True if exactly one row changed."""
    result = session.execute(
        update(TechniqueCheck)
        .where(*conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def hold_own_check(session: Session, check_id: int, worker_id: str) -> bool:
    """Lock the check for the rest of the transaction if it is still running for ``worker_id``.

    A worker calls this in the transaction that publishes its results and marks the check done: a
    deletion (of the check, its profile or its account) then commits wholly before, and this says
    False, or waits until after, and finds the results to remove. On SQLite the write transaction
    already holds the database's one write lock.
    """
    held = session.scalar(select(TechniqueCheck.id).where(*_owned(check_id, worker_id)).with_for_update())
    return held is not None


def renew_lease(
    session: Session,
    check_id: int,
    worker_id: str,
    *,
    progress: float | None = None,
    lease_s: float | None = DEFAULT_LEASE_S,
    now: dt.datetime | None = None,
) -> bool:
    """Extend the lease (and record progress, clamped to 0-1). False: the job is no longer ours.

    ``lease_s=None`` records progress only: a job run by the distributed queue has no lease here,
    because that queue tells a dead worker by its heartbeat instead.
    """
    moment = now or utc_now()
    values: dict[str, Any] = {}
    if lease_s is not None:
        values["lease_expires_at"] = moment + dt.timedelta(seconds=lease_s)
    if progress is not None:
        values["progress"] = min(1.0, max(0.0, float(progress)))
    return _update_one(session, _owned(check_id, worker_id), **values)


def finish_check(
    session: Session,
    check_id: int,
    worker_id: str,
    *,
    output_dir: str | None,
    report: Mapping[str, Any] | None,
    summary: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Mark the job done with its results. False: the job is no longer ours (lease lost)."""
    return _update_one(
        session,
        _owned(check_id, worker_id),
        status="done",
        progress=1.0,
        error=None,
        output_dir=_relative_path("Output folder", output_dir),
        report=None if report is None else to_json_value(report, strict=True, where="Report"),
        summary=None if summary is None else to_json_value(summary, strict=True, where="Summary"),
        lease_expires_at=None,
        finished_at=now or utc_now(),
    )


def fail_check(
    session: Session,
    check_id: int,
    worker_id: str | None,
    error: str,
    *,
    now: dt.datetime | None = None,
) -> bool:
    """Mark the job failed with a message for the person. ``worker_id=None`` fails it whoever holds it."""
    message = check_text("Error message", error, max_length=5000, allow_empty=False)
    conditions: tuple[Any, ...] = (
        _owned(check_id, worker_id)
        if worker_id is not None
        else (TechniqueCheck.id == check_id, TechniqueCheck.status.in_(("queued", "running")))
    )
    return _update_one(
        session,
        conditions,
        status="failed",
        error=message,
        lease_expires_at=None,
        finished_at=now or utc_now(),
    )


def retry_check(session: Session, profile_id: int, check_id: int) -> TechniqueCheckInfo:
    """Put a failed check back in the queue with fresh attempts (InputError if it did not fail)."""
    row = _row(session, check_id, profile_id)
    if row.status != "failed":
        raise InputError(f"Only a failed check can be tried again; this one is {row.status}.")
    row.status = "queued"
    row.error = None
    row.progress = 0.0
    row.attempts = 0
    row.worker_id = None
    row.started_at = None
    row.finished_at = None
    session.flush()
    task_jobs.defer_analysis(session, row.id)
    return technique_check_info(row)


def release_worker(session: Session, worker_id: str) -> int:
    """A worker shutting down hands its running jobs back (that try does not count as an attempt)."""
    result = session.execute(
        update(TechniqueCheck)
        .where(TechniqueCheck.worker_id == worker_id, TechniqueCheck.status == "running")
        .values(**_BACK_IN_QUEUE, attempts=_ONE_TRY_LESS)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class FileOwners:
    """What the database says the file store should hold: the clean-up keeps exactly these.

    ``input_paths`` and ``output_dirs`` are keys named by checks; ``checks`` are (profile id, check
    id) pairs, whose results folder may exist; ``running`` are (check id, worker id) of the checks
    being analysed now, whose work folders are live.
    """

    profile_ids: frozenset[int]
    checks: frozenset[tuple[int, int]]
    input_paths: frozenset[str]
    output_dirs: frozenset[str]
    running: frozenset[tuple[int, str]]


def file_owners(session: Session) -> FileOwners:
    """Every check's keys and every profile id, read in two queries (ids and short keys only)."""
    rows = session.execute(
        select(
            TechniqueCheck.id,
            TechniqueCheck.profile_id,
            TechniqueCheck.input_path,
            TechniqueCheck.output_dir,
            TechniqueCheck.status,
            TechniqueCheck.worker_id,
        )
    ).all()
    return FileOwners(
        profile_ids=frozenset(int(value) for value in session.scalars(select(Profile.id))),
        checks=frozenset((int(row.profile_id), int(row.id)) for row in rows),
        input_paths=frozenset(str(row.input_path) for row in rows if row.input_path),
        output_dirs=frozenset(str(row.output_dir) for row in rows if row.output_dir),
        running=frozenset(
            (int(row.id), str(row.worker_id)) for row in rows if row.status == "running" and row.worker_id
        ),
    )


def count_by_status(session: Session) -> dict[str, int]:
    """How many checks are in each state (all four keys present), for status pages and tests."""
    counts = dict.fromkeys(CHECK_STATUSES, 0)
    rows = session.execute(select(TechniqueCheck.status, func.count()).group_by(TechniqueCheck.status))
    for status, count in rows:
        counts[str(status)] = int(count)
    return counts
