"""Recording what a person did: sessions, pain during and after, and the next morning's pain.

Every change to the log is followed by a plan refresh, so the person is told at once when their
answers made the plan progress, hold or ease, and the stored "why the plan changed" stays in step
with the log (an edited or deleted entry takes its change with it).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from kneefix.content.loader import Content
from kneefix.errors import InputError, NotFoundError
from kneefix.jsonvalues import record_fields
from kneefix.programme.records import LOG_KIND_RUN, PlanChange, RunCheck, SessionLog
from kneefix.programme.replay import PlanState
from kneefix.programme.scoring import validate_nprs
from kneefix.services import audit
from kneefix.services.plan import refresh_plan, replay, session_for
from kneefix.services.profiles import require_settings
from kneefix.storage import logs as log_store
from kneefix.storage import profiles as profile_store
from kneefix.storage import run_checks as run_check_store

_UNSET: Any = object()


@dataclass(frozen=True)
class LogResult:
    """A stored log entry and the plan changes it caused (empty when the plan stayed as it was)."""

    log: SessionLog
    plan_changes: tuple[PlanChange, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"log": record_fields(self.log), "plan_changes": record_fields(self.plan_changes)}


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
    hurt: Sequence[str] = (),
) -> LogResult:
    """Record a session on ``day``: ``completed`` (0..1) and/or the exercise ids ``done``.

    With only ``done`` the fraction is the share of the planned exercises among them; with neither,
    the whole session counts as done. ``hurt`` are exercise ids the person marked "this hurt"; they
    move to their easier version. One session per day: a second one is refused (edit the first).
    """
    _check_day(session, profile_id, day, today, "session", request_id)
    planned = session_for(session, content, profile_id, day)
    if planned is None:
        raise InputError(
            "Your plan is paused, so there is no session to log. See `kneefix today` for why and what to do."
        )
    planned_ids = [item.exercise_id for item in planned.exercises]
    hurt_ids = tuple(dict.fromkeys(hurt))
    unknown_hurt = [item for item in hurt_ids if item not in planned_ids]
    if unknown_hurt:
        raise InputError(
            f"'This hurt' must name exercises of this session; not in it: {', '.join(unknown_hurt)}. "
            f"This session's exercises: {', '.join(planned_ids)}."
        )
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
        hurt=hurt_ids,
    )
    stored = log_store.add_log(session, profile_id, entry, request_id=request_id)
    return LogResult(stored, _refresh(session, content, profile_id, today))


def _check_day(
    session: Session, profile_id: int, day: dt.date, today: dt.date, kind: str, request_id: str | None
) -> None:
    """A log's date must fall inside the plan: not in the future, not before the start, one per day."""
    what = "a run" if kind == LOG_KIND_RUN else "a session"
    if day > today:
        raise InputError(f"{day.isoformat()} is in the future; {what} can be logged once it is done.")
    settings = require_settings(profile_store.get_profile(session, profile_id))
    if day < settings.start_date:
        raise InputError(
            f"{day.isoformat()} is before your plan started ({settings.start_date.isoformat()}), so it "
            "cannot be logged."
        )
    same_day = [log for log in log_store.list_logs(session, profile_id, kind=kind) if log.date == day]
    if same_day and not (request_id and log_store.has_request(session, profile_id, request_id)):
        existing = same_day[0]
        raise InputError(
            f"{what.capitalize()} is already logged on {day.isoformat()} (entry {existing.id}). Change it "
            f"with `kneefix log edit {existing.id} ...` instead of logging it twice."
        )


def log_run(
    session: Session,
    content: Content,
    profile_id: int,
    *,
    day: dt.date,
    today: dt.date,
    minutes: float,
    distance_km: float | None = None,
    pain_during: int | None = None,
    pain_after: int | None = None,
    completed: bool = True,
    note: str = "",
    request_id: str | None = None,
) -> LogResult:
    """Record a return-to-running run; it counts towards the ladder's stage by the same pain rules."""
    _check_day(session, profile_id, day, today, LOG_KIND_RUN, request_id)
    state = session_state_on(session, content, profile_id, day)
    if state.paused:
        raise InputError(
            "Your plan is paused, and running with it. See `kneefix today` for why and what to do."
        )
    if not state.running.available:
        raise InputError(
            "Return to running is not part of your plan (you said you do not run). Turn it on with "
            "`kneefix settings --runs`."
        )
    if not state.running.open:
        raise InputError("Return to running is not open yet. " + " ".join(state.running.missing))
    if isinstance(minutes, bool) or not math.isfinite(minutes) or not 0 < minutes <= 600:
        raise InputError(f"Minutes must be more than 0 and at most 600, not {minutes}.")
    if distance_km is not None and (
        isinstance(distance_km, bool) or not math.isfinite(distance_km) or not 0 < distance_km <= 100
    ):
        raise InputError(f"Distance must be more than 0 and at most 100 km, not {distance_km}.")
    entry = SessionLog(
        date=day,
        completed=1.0 if completed else 0.5,
        pain_during=_pain(pain_during, "Pain during"),
        pain_after=_pain(pain_after, "Pain after"),
        note=note,
        kind=LOG_KIND_RUN,
        run_minutes=round(float(minutes), 2),
        run_distance_km=None if distance_km is None else round(float(distance_km), 3),
    )
    stored = log_store.add_log(session, profile_id, entry, request_id=request_id)
    return LogResult(stored, _refresh(session, content, profile_id, today))


def session_state_on(session: Session, content: Content, profile_id: int, day: dt.date) -> PlanState:
    """The plan as it stood on ``day``, from the records before it."""
    return replay(session, content, profile_id, day, before=day)


@dataclass(frozen=True)
class RunCheckResult:
    """A stored readiness check, whether it passed, and what it changed."""

    check: RunCheck
    passed: bool
    message: str
    plan_changes: tuple[PlanChange, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": record_fields(self.check),
            "passed": self.passed,
            "message": self.message,
            "plan_changes": record_fields(self.plan_changes),
        }


def log_run_check(
    session: Session,
    content: Content,
    profile_id: int,
    *,
    day: dt.date,
    today: dt.date,
    walk_pain: int,
    hop_pain: int,
) -> RunCheckResult:
    """Record the return-to-running readiness check (pain on a brisk walk and on single-leg hops)."""
    if day > today:
        raise InputError(f"{day.isoformat()} is in the future; answer the check once you have done it.")
    profile = profile_store.get_profile(session, profile_id)
    settings = require_settings(profile)
    if not settings.runs:
        raise InputError(
            "Return to running is not part of your plan (you said you do not run). Turn it on with "
            "`kneefix settings --runs`."
        )
    check = RunCheck(day, validate_nprs(walk_pain, "Walk pain"), validate_nprs(hop_pain, "Hop pain"))
    same = [
        earlier
        for earlier in run_check_store.list_run_checks(session, profile_id)
        if (earlier.date, earlier.walk_pain, earlier.hop_pain)
        == (check.date, check.walk_pain, check.hop_pain)
    ]  # the same answers sent twice (a double submit, a retry) are one check
    stored = same[0] if same else run_check_store.add_run_check(session, profile_id, check)
    refreshed = refresh_plan(session, content, profile_id, today)
    running = refreshed.state.running
    protocol = content.protocols[settings.protocol_id]
    limits = protocol.return_to_running.check if protocol.return_to_running is not None else None
    passed = (
        limits is not None
        and check.walk_pain <= limits.walk_pain_max
        and check.hop_pain <= limits.hop_pain_max
    )
    if running.open:
        message = f"Return to running is open. {running.summary}"
    elif passed:
        message = (
            "The check passed. Running opens once your sessions also meet the plan's criteria: "
            + " ".join(item for item in running.missing if "readiness check" not in item)
        )
    else:
        most = f"{limits.walk_pain_max}/10 walking and {limits.hop_pain_max}/10 hopping" if limits else "low"
        message = (
            f"Not yet: pain must be at most {most}. Keep up your sessions and try the check again in a "
            "week or two."
        )
    return RunCheckResult(stored, passed, message, refreshed.new_changes)


def first_missing_morning(logs: Sequence[SessionLog], today: dt.date) -> SessionLog | None:
    """The latest session or run before today, when it still lacks its next-morning pain rating."""
    earlier = [log for log in logs if log.date < today]
    if not earlier:
        return None
    latest = earlier[-1]
    return latest if latest.next_morning_pain is None and (today - latest.date).days <= 3 else None


def morning_subject(logs: Sequence[SessionLog], day: dt.date) -> str:
    """What a next-morning rating for ``day`` is about: "session", "run" or "session and run"."""
    kinds = {log.is_run for log in logs if log.date == day}
    if kinds == {True, False}:
        return "session and run"
    return "run" if kinds == {True} else "session"


def latest_session_before(session: Session, profile_id: int, morning: dt.date) -> SessionLog:
    """The most recent logged session or run before ``morning``: what a next-morning rating is about."""
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
    """Next-morning pain for the session or run on ``session_day`` (default: the latest before today).

    A day with both a session and a run rates both: it is one knee and one morning.
    """
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
    if day is not None and day != current.date:
        if day > today:
            raise InputError(f"{day.isoformat()} is in the future; a session can only be logged once done.")
        _check_day(session, profile_id, day, today, current.kind, None)
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
    session: Session,
    content: Content,
    profile_id: int,
    log_id: int,
    *,
    today: dt.date,
    actor: audit.Actor | None = None,
) -> LogResult:
    """Remove a wrong entry; returns what was removed. ``actor`` (who deleted it) goes in the audit log."""
    removed = log_store.get_log(session, profile_id, log_id)
    log_store.delete_log(session, profile_id, log_id)
    if actor is not None:
        audit.record_deletion(session, actor, "log", profile_id=profile_id, record_id=log_id)
    return LogResult(removed, _refresh(session, content, profile_id, today))


def get_log(session: Session, profile_id: int, log_id: int) -> SessionLog:
    """One of this person's log entries; NotFoundError for an id that is not theirs."""
    return log_store.get_log(session, profile_id, log_id)
