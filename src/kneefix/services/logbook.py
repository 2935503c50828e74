"""Recording what a person did: sessions, pain during and after, and the next morning's pain.

Every change to the log is followed by a plan refresh, so the person is told at once when their
answers made the plan progress, hold or ease, and the stored "why the plan changed" stays in step
with the log (an edited or deleted entry takes its change with it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from kneefix.content.loader import Content
from kneefix.errors import InputError, NotFoundError
from kneefix.programme.jsonable import to_jsonable
from kneefix.programme.records import PlanChange, SessionLog
from kneefix.programme.scoring import validate_nprs
from kneefix.services.plan import refresh_plan, session_for
from kneefix.storage import logs as log_store
from kneefix.storage import profiles as profile_store

_UNSET: Any = object()


@dataclass(frozen=True)
class LogResult:
    """A stored log entry and the plan changes it caused (empty when the plan stayed as it was)."""

    log: SessionLog
    plan_changes: tuple[PlanChange, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"log": to_jsonable(self.log), "plan_changes": to_jsonable(self.plan_changes)}


def _pain(value: int | None, what: str) -> int | None:
    return None if value is None else validate_nprs(value, what)


def _fraction(value: float) -> float:
    if isinstance(value, bool) or not 0 <= value <= 1:
        raise InputError(f"Completed must be a fraction from 0 to 1 (e.g. 0.8 for 80%), not {value}.")
    return round(float(value), 3)


def completed_from_done(planned_ids: Sequence[str], done: Sequence[str], known_ids: Sequence[str]) -> float:
    """The share of the planned exercises among ``done``; an id the content lacks is an error."""
    unknown = [item for item in done if item not in known_ids]
    if unknown:
        listed = ", ".join(planned_ids)
        raise InputError(f"Unknown exercise id(s): {', '.join(unknown)}. This session's exercises: {listed}.")
    if not planned_ids:
        return 1.0
    hits = len(set(done) & set(planned_ids))
    return round(hits / len(planned_ids), 3)


def _refresh(session: Session, content: Content, profile_id: int, today: dt.date) -> tuple[PlanChange, ...]:
    return refresh_plan(session, content, profile_id, today).new_changes


def log_session(
    session: Session,
    content: Content,
    profile_id: int,
    *,
    day: dt.date,
    today: dt.date,
    completed: float | None = None,
    done: Sequence[str] | None = None,
    pain_during: int | None = None,
    pain_after: int | None = None,
    note: str = "",
    request_id: str | None = None,
) -> LogResult:
    """Record a session on ``day``: ``completed`` (0..1) and/or the exercise ids ``done``.

    With only ``done`` the fraction is the share of the planned exercises among them; with neither,
    the whole session counts as done.
    """
    if day > today:
        raise InputError(f"{day.isoformat()} is in the future; a session can be logged once it is done.")
    planned = session_for(session, content, profile_id, day)
    planned_ids = [item.exercise_id for item in planned.exercises]
    if done is not None:
        computed = completed_from_done(planned_ids, done, list(content.exercises))
        fraction = computed if completed is None else _fraction(completed)
        exercises = tuple(dict.fromkeys(done))
    else:
        fraction = 1.0 if completed is None else _fraction(completed)
        exercises = tuple(planned_ids) if fraction >= 1.0 else ()
    entry = SessionLog(
        date=day,
        completed=fraction,
        pain_during=_pain(pain_during, "Pain during"),
        pain_after=_pain(pain_after, "Pain after"),
        exercises_done=exercises,
        note=note,
    )
    stored = log_store.add_log(session, profile_id, entry, request_id=request_id)
    return LogResult(stored, _refresh(session, content, profile_id, today))


def latest_session_before(session: Session, profile_id: int, morning: dt.date) -> SessionLog:
    """The most recent logged session before ``morning``: the one a next-morning rating is about."""
    earlier = [log for log in log_store.list_logs(session, profile_id) if log.date < morning]
    if not earlier:
        raise NotFoundError(
            "No session is logged before today, so there is nothing to rate the next morning. Log the "
            "session first (`kneefix log --date YYYY-MM-DD ...`)."
        )
    return earlier[-1]


def record_morning_pain(
    session: Session,
    content: Content,
    profile_id: int,
    *,
    pain: int,
    today: dt.date,
    session_day: dt.date | None = None,
) -> LogResult:
    """Next-morning pain for the session on ``session_day`` (default: the latest one before today)."""
    value = validate_nprs(pain, "Next-morning pain")
    day = session_day or latest_session_before(session, profile_id, today).date
    stored = log_store.set_next_morning_pain(session, profile_id, day, value)
    return LogResult(stored, _refresh(session, content, profile_id, today))


def list_logs(session: Session, profile_id: int) -> list[SessionLog]:
    profile_store.get_profile(session, profile_id)
    return log_store.list_logs(session, profile_id)


def edit_log(
    session: Session,
    content: Content,
    profile_id: int,
    log_id: int,
    *,
    today: dt.date,
    day: dt.date | None = None,
    completed: float | None = None,
    pain_during: int | None = _UNSET,
    pain_after: int | None = _UNSET,
    next_morning_pain: int | None = _UNSET,
    note: str | None = None,
) -> LogResult:
    """Correct a logged entry; only the given fields change (pass ``None`` to clear a pain rating)."""
    current = log_store.get_log(session, profile_id, log_id)
    changes: dict[str, Any] = {}
    if day is not None:
        if day > today:
            raise InputError(f"{day.isoformat()} is in the future; a session can only be logged once done.")
        changes["date"] = day
    if completed is not None:
        changes["completed"] = _fraction(completed)
    if pain_during is not _UNSET:
        changes["pain_during"] = _pain(pain_during, "Pain during")
    if pain_after is not _UNSET:
        changes["pain_after"] = _pain(pain_after, "Pain after")
    if next_morning_pain is not _UNSET:
        changes["next_morning_pain"] = _pain(next_morning_pain, "Next-morning pain")
    if note is not None:
        changes["note"] = note
    if not changes:
        raise InputError("Nothing to change: give at least one new value (e.g. --pain-during 3).")
    stored = log_store.update_log(session, profile_id, replace(current, **changes))
    return LogResult(stored, _refresh(session, content, profile_id, today))


def delete_log(
    session: Session, content: Content, profile_id: int, log_id: int, *, today: dt.date
) -> LogResult:
    """Remove a wrong entry; returns what was removed."""
    removed = log_store.get_log(session, profile_id, log_id)
    log_store.delete_log(session, profile_id, log_id)
    return LogResult(removed, _refresh(session, content, profile_id, today))
