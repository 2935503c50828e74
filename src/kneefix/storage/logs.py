"""Session logs: what a person did, how it felt, and the next morning's pain. Editable and deletable.

A log is a training session (``kind="session"``) or a return-to-running run (``kind="run"``); only
runs carry ``run_minutes`` and ``run_distance_km``. ``hurt`` lists the exercises marked "this hurt".

Every function takes the profile id as well as the log id, so a log can only be reached through the
profile that owns it: a wrong or foreign id is simply "not found".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from kneefix.errors import InputError, NotFoundError
from kneefix.programme.records import LOG_KIND_RUN, LOG_KINDS, SessionLog
from kneefix.storage.batches import rows_by_profile
from kneefix.storage.convert import session_log
from kneefix.storage.guards import (
    add_or_earlier,
    check_fraction,
    check_ids,
    check_pain,
    check_positive,
    check_text,
    require_profile,
)
from kneefix.storage.models import MAX_RUN_DISTANCE_KM, MAX_RUN_MINUTES, SessionLogRow

MAX_NOTE_LENGTH = 5000


def check_kind(kind: object) -> str:
    """``session`` or ``run``, else InputError."""
    if not isinstance(kind, str) or kind not in LOG_KINDS:
        raise InputError(f"A log is a {' or a '.join(repr(k) for k in LOG_KINDS)}, got {kind!r}.")
    return kind


def check_log(log: SessionLog) -> None:
    """InputError for values outside the scales (completed 0-1, pain 0-10, run time and distance)
    and for run time or distance on a training session.
    """
    if not isinstance(log.date, dt.date) or isinstance(log.date, dt.datetime):
        raise InputError(f"The session date must be a date, got {log.date!r}.")
    kind = check_kind(log.kind)
    check_fraction("Completed", log.completed)
    check_pain("Pain during", log.pain_during)
    check_pain("Pain after", log.pain_after)
    check_pain("Next-morning pain", log.next_morning_pain)
    check_ids("Exercises done", log.exercises_done)
    check_ids("Hurt", log.hurt)
    check_text("Note", log.note, max_length=MAX_NOTE_LENGTH)
    if kind != LOG_KIND_RUN and (log.run_minutes is not None or log.run_distance_km is not None):
        raise InputError(
            "Run minutes and run distance belong to runs only, and this entry is a training session. "
            f"Log it as a run (kind {LOG_KIND_RUN!r}) or leave them out."
        )
    check_positive("Run minutes", log.run_minutes, maximum=MAX_RUN_MINUTES, unit="minutes")
    check_positive("Run distance", log.run_distance_km, maximum=MAX_RUN_DISTANCE_KM, unit="km")


def _fill(row: SessionLogRow, log: SessionLog) -> None:
    row.date = log.date
    row.kind = log.kind
    row.completed = float(log.completed)
    row.pain_during = log.pain_during
    row.pain_after = log.pain_after
    row.next_morning_pain = log.next_morning_pain
    row.exercises_done = check_ids("Exercises done", log.exercises_done)
    row.hurt = check_ids("Hurt", log.hurt)
    row.note = check_text("Note", log.note, max_length=MAX_NOTE_LENGTH)
    row.run_minutes = None if log.run_minutes is None else float(log.run_minutes)
    row.run_distance_km = None if log.run_distance_km is None else float(log.run_distance_km)


def _row(session: Session, profile_id: int, log_id: int) -> SessionLogRow:
    row = session.get(SessionLogRow, log_id)
    if row is None or row.profile_id != profile_id:
        raise NotFoundError(f"There is no session log with id {log_id} for this profile.")
    return row


def _by_request(session: Session, profile_id: int, request_id: str) -> SessionLogRow | None:
    return session.scalar(
        select(SessionLogRow).where(
            SessionLogRow.profile_id == profile_id, SessionLogRow.request_id == request_id
        )
    )


def has_request(session: Session, profile_id: int, request_id: str) -> bool:
    """Whether a log was already stored for this request id (a repeated form submit)."""
    return _by_request(session, profile_id, request_id) is not None


def add_log(
    session: Session, profile_id: int, log: SessionLog, *, request_id: str | None = None
) -> SessionLog:
    """Store a session and return it with its id (``log.id`` is ignored).

    ``request_id`` (e.g. a token in the web form) makes a repeated submit return the first entry
    instead of storing it twice.
    """
    require_profile(session, profile_id)
    check_log(log)
    if request_id is not None:
        request_id = check_text("Request id", request_id, max_length=100, allow_empty=False)
        earlier = _by_request(session, profile_id, request_id)
        if earlier is not None:
            return session_log(earlier)
    row = SessionLogRow(profile_id=profile_id, request_id=request_id)
    _fill(row, log)
    stored = add_or_earlier(
        session, row, lambda: _by_request(session, profile_id, request_id) if request_id else None
    )
    return session_log(stored)


def get_log(session: Session, profile_id: int, log_id: int) -> SessionLog:
    """One log of this profile, or NotFoundError."""
    return session_log(_row(session, profile_id, log_id))


def update_log(session: Session, profile_id: int, log: SessionLog) -> SessionLog:
    """Replace the stored log with id ``log.id`` by ``log`` (edit = get, ``replace``, update)."""
    if log.id is None:
        raise InputError("Which log to change? The entry has no id.")
    check_log(log)
    row = _row(session, profile_id, log.id)
    _fill(row, log)
    session.flush()
    return session_log(row)


def delete_log(session: Session, profile_id: int, log_id: int) -> None:
    """Remove a wrong entry; NotFoundError if it is not this profile's."""
    row = _row(session, profile_id, log_id)
    session.delete(row)
    session.flush()


def list_logs(
    session: Session,
    profile_id: int,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    kind: str | None = None,
) -> list[SessionLog]:
    """The profile's logs in date order (then entry order), optionally within [since, until] and of
    one ``kind`` (``session`` or ``run``; None for both).
    """
    require_profile(session, profile_id)
    query = select(SessionLogRow).where(SessionLogRow.profile_id == profile_id)
    if since is not None:
        query = query.where(SessionLogRow.date >= since)
    if until is not None:
        query = query.where(SessionLogRow.date <= until)
    if kind is not None:
        query = query.where(SessionLogRow.kind == check_kind(kind))
    query = query.order_by(SessionLogRow.date, SessionLogRow.id)
    return [session_log(row) for row in session.scalars(query)]


def logs_by_profile(session: Session, profile_ids: Sequence[int]) -> dict[int, list[SessionLog]]:
    """Every log of each profile, in the order :func:`list_logs` gives, read in one query for all."""
    return rows_by_profile(
        session,
        profile_ids,
        lambda ids: (
            select(SessionLogRow)
            .where(SessionLogRow.profile_id.in_(ids))
            .order_by(SessionLogRow.date, SessionLogRow.id)
        ),
        session_log,
    )


def set_next_morning_pain(
    session: Session, profile_id: int, session_date: dt.date, pain: int, kind: str | None = None
) -> SessionLog:
    """Record the morning-after pain on the logs of ``session_date`` and return the latest of them.

    With ``kind`` None every log of that day gets it (a day may hold a session and a run, and the
    morning after is the same morning for both); with ``session`` or ``run`` only logs of that kind.
    NotFoundError when that day has no such log.
    """
    check_pain("Next-morning pain", pain)
    if kind is not None:
        check_kind(kind)
    require_profile(session, profile_id)
    query = select(SessionLogRow).where(
        SessionLogRow.profile_id == profile_id, SessionLogRow.date == session_date
    )
    if kind is not None:
        query = query.where(SessionLogRow.kind == kind)
    rows = list(session.scalars(query.order_by(SessionLogRow.id)))
    if not rows:
        what = "run" if kind == LOG_KIND_RUN else "session"
        raise NotFoundError(
            f"No {what} is logged for {session_date.isoformat()}; log that {what} first, then its "
            "next-morning pain."
        )
    for row in rows:
        row.next_morning_pain = pain
    session.flush()
    return session_log(rows[-1])
