"""The person's plan as it stands today: replay the logs, keep the plan's changes, find today's session.

The plan is derived data: it is recomputed from the settings, the logs and the protocol every time.
What the rules changed is stored too (``sync_rule_changes``), so "why did my plan change" stays
readable in exports and for a clinician, and an edited or deleted log takes its change with it.

The stored records are read once per replay (:class:`PlanRecords`) and the replay itself is pure
(:func:`replay_records`), so a clinician's table can read everyone's records together and replay each
person exactly as their own pages do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from kneefix.content.loader import Content
from kneefix.content.schemas import Protocol
from kneefix.errors import ContentError
from kneefix.jsonvalues import record_fields
from kneefix.programme.adjustments import AdjustedProgramme, fold_adjustments
from kneefix.programme.planner import PlannedSession
from kneefix.programme.records import (
    PersonSettings,
    PlanChange,
    ReviewEvent,
    RunCheck,
    ScoreRecord,
    SessionLog,
)
from kneefix.programme.replay import PlanState, RunningState, current_state, is_planned_day
from kneefix.programme.screening import severity
from kneefix.services.profiles import require_settings
from kneefix.storage import logs as log_store
from kneefix.storage import plans as plan_store
from kneefix.storage import profiles as profile_store
from kneefix.storage import run_checks as run_check_store
from kneefix.storage import scores as score_store
from kneefix.storage import screenings as screening_store
from kneefix.storage.db import writes_beside
from kneefix.storage.records import PlanAdjustmentEntry, PlanChangeEntry, ProfileInfo, ScreeningEntry


def protocol_for(content: Content, settings: PersonSettings) -> Protocol:
    try:
        return content.protocols[settings.protocol_id]
    except KeyError:
        raise ContentError(
            f"This profile follows the programme '{settings.protocol_id}', which the content no longer "
            f"has (available: {', '.join(sorted(content.protocols))})."
        ) from None


@dataclass(frozen=True)
class PlanRecords:
    """Everything stored that a person's plan is replayed from, each kind read once.

    One page replays the plan once but used to read the same rows several times over (the profile for
    every read, the screenings for the replay, the warning and the referral note); a clinician's table
    reads these for all of its people at once (:func:`plan_records_for`).
    """

    profile: ProfileInfo
    screenings: tuple[ScreeningEntry, ...]  # oldest first
    scores: tuple[ScoreRecord, ...]  # in date order, every instrument
    logs: tuple[SessionLog, ...]  # in date order
    run_checks: tuple[RunCheck, ...]  # in date order
    adjustments: tuple[PlanAdjustmentEntry, ...]  # the active ones, oldest first

    @property
    def latest_screening(self) -> ScreeningEntry | None:
        return self.screenings[-1] if self.screenings else None


def plan_records(session: Session, profile_id: int) -> PlanRecords:
    """One person's records (NotFoundError for an unknown profile)."""
    profile = profile_store.get_profile(session, profile_id)
    return plan_records_for(session, [profile])[profile.id]


def plan_records_for(session: Session, profiles: Sequence[ProfileInfo]) -> dict[int, PlanRecords]:
    """Several people's records by profile id, a query per kind of record for all of them together."""
    ids = [profile.id for profile in profiles]
    screenings = screening_store.screenings_by_profile(session, ids)
    scores = score_store.scores_by_profile(session, ids)
    logs = log_store.logs_by_profile(session, ids)
    run_checks = run_check_store.run_checks_by_profile(session, ids)
    adjustments = plan_store.adjustments_by_profile(session, ids, active_only=True)
    return {
        profile.id: PlanRecords(
            profile=profile,
            screenings=tuple(screenings[profile.id]),
            scores=tuple(scores[profile.id]),
            logs=tuple(logs[profile.id]),
            run_checks=tuple(run_checks[profile.id]),
            adjustments=tuple(adjustments[profile.id]),
        )
        for profile in profiles
    }


@dataclass(frozen=True)
class ProgrammeRecords:
    """Everything the replay reads besides the logs: baseline, severity, re-screenings, scores, checks."""

    baseline_pain: int | None
    severity: str
    events: tuple[ReviewEvent, ...]
    scores: tuple[ScoreRecord, ...]
    run_checks: tuple[RunCheck, ...]


def _pain_of(entry: ScreeningEntry) -> int | None:
    value = entry.answers.get("pain_now")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _kujala_of(entry: ScreeningEntry) -> int | None:
    value = entry.answers.get("kujala_score")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def programme_records(content: Content, records: PlanRecords, settings: PersonSettings) -> ProgrammeRecords:
    """The baseline screening (the latest on or before the start date, else the first), and what came after.

    Every later screening is a re-screening: with a red flag it pauses the plan, and a clear one after
    a pause resumes it. A clinician's "resume" is an adjustment of kind ``resume``.
    """
    screenings = records.screenings
    before = [entry for entry in screenings if entry.taken_at.date() <= settings.start_date]
    baseline_entry = before[-1] if before else (screenings[0] if screenings else None)
    later = [
        entry
        for entry in screenings
        if baseline_entry is not None
        and entry.id != baseline_entry.id
        and (entry.taken_at, entry.id) > (baseline_entry.taken_at, baseline_entry.id)
    ]
    scores = records.scores
    pain = _pain_of(baseline_entry) if baseline_entry is not None else None
    if pain is None:
        nprs = [score for score in scores if score.instrument == "nprs"]
        pain = round(nprs[0].score) if nprs else None
    kujala = _kujala_of(baseline_entry) if baseline_entry is not None else None
    if kujala is None:
        first_kujala = [score for score in scores if score.instrument == "kujala"]
        kujala = round(first_kujala[0].score) if first_kujala else None
    level = severity(pain, kujala).level if pain is not None else "mild"
    # Each event with the moment it happened: a clearance comes after its own screening, and a red-flag
    # screening taken after a clearance (even on the same day) pauses the plan again.
    timed: list[tuple[dt.date, dt.datetime, ReviewEvent]] = []
    for entry in later:
        event = ReviewEvent(
            date=entry.taken_at.date(),
            kind="screening",
            red_flag=entry.verdict == "refer_now",
            pain=_pain_of(entry),
            reason=_flag_reason(content, entry),
        )
        timed.append((event.date, entry.taken_at, event))
        if entry.verdict == "refer_now" and entry.cleared_at is not None:
            cleared = ReviewEvent(
                date=entry.cleared_at.date(),
                kind="red_flag_cleared",
                reason=clearance_text(entry),
                screened=event.date,
            )
            timed.append((cleared.date, entry.cleared_at, cleared))
    for adjustment in records.adjustments:
        if adjustment.kind == "resume":
            day = dt.date.fromisoformat(str(adjustment.payload.get("date")))
            note = f"Their note: {adjustment.note}" if adjustment.note else ""
            # after the screenings of its day, as before clearances existed
            timed.append(
                (
                    day,
                    dt.datetime.max.replace(tzinfo=dt.UTC),
                    ReviewEvent(day, "clinician_resume", reason=note),
                )
            )
    timed.sort(key=lambda item: (item[0], item[1]))
    return ProgrammeRecords(pain, level, tuple(item[2] for item in timed), scores, records.run_checks)


def clearance_text(entry: ScreeningEntry) -> str:
    """ "Red flags cleared by Dr X on 3 Mar 2025: <note>", the line the person and clinicians read."""
    if entry.cleared_at is None:
        return ""
    who = entry.cleared_by_name or "your clinician"
    note = f": {entry.clearance_note}" if entry.clearance_note else "."
    return f"Red flags cleared by {who} on {entry.cleared_at:%d %b %Y}{note}"


def _flag_reason(content: Content, entry: ScreeningEntry) -> str:
    titles = [flag.title for flag in content.red_flags if flag.id in entry.red_flags]
    if titles:
        return "it raised a warning sign (" + "; ".join(titles) + ")."
    return "it raised a warning sign."


def replay(
    session: Session, content: Content, profile_id: int, today: dt.date, *, before: dt.date | None = None
) -> PlanState:
    """Replay the stored records of a profile to ``today`` (only logs before ``before`` when given)."""
    return replay_records(content, plan_records(session, profile_id), today, before=before)


def replay_records(
    content: Content, records: PlanRecords, today: dt.date, *, before: dt.date | None = None
) -> PlanState:
    """:func:`replay` from records already read (pure: the same records always give the same plan)."""
    settings = require_settings(records.profile)
    adjusted = fold_active(content, settings.protocol_id, records.adjustments)
    content = adjusted.content
    overrides = tuple((move.start, move.phase_index) for move in adjusted.phase_overrides)
    protocol = protocol_for(content, settings)
    programme = programme_records(content, records, settings)
    logs: Sequence[SessionLog] = records.logs
    if before is not None:
        logs = [log for log in logs if log.date < before]
        start = min(today, settings.start_date)
        settings = settings if start == settings.start_date else replace(settings, start_date=start)
    return current_state(
        protocol,
        content,
        settings,
        list(logs),
        today,
        programme.baseline_pain,
        phase_overrides=overrides,
        events=programme.events,
        scores=programme.scores,
        run_checks=programme.run_checks,
        severity=programme.severity,
    )


CHANGE_KINDS = ("progress", "advance", "ease", "regress", "hold", "pause", "resume", "running", "shift")
"""The kinds of plan change every interface shows (docs/progression.md)."""


def public_changes(changes: Sequence[PlanChange]) -> list[dict[str, Any]]:
    """Every change from the start, oldest first, in the public shape of ``kneefix plan --json``."""
    ordered = sorted(changes, key=lambda change: change.date)
    return [
        {
            "date": change.date.isoformat(),
            "kind": change.kind,
            "rule_id": change.rule_id,
            "explanation": change.explanation,
            "projected": bool(change.details.get("projected", False)),
        }
        for change in ordered
    ]


def plan_dict(state: PlanState) -> dict[str, Any]:
    """The public shape of ``kneefix plan --json`` (the API's plan carries the same keys)."""
    return {
        "phase": state.phase_name,
        "phase_number": state.phase_index + 1,
        "phase_count": state.phase_count,
        "status": state.status,
        "paused_reason": state.paused_reason,
        "programme_finished": state.programme_complete,
        "baseline_pain": state.baseline_pain,
        "reference_pain": state.reference_pain,
        "severity": state.severity,
        "starting_point": state.starting_point,
        "done": [
            {
                "date": entry.log.date.isoformat(),
                "kind": entry.log.kind,
                "completed": entry.log.completed,
                "log_id": entry.log.id,
                "settled": entry.settled,
                "flare": entry.flare,
            }
            for entry in state.history
        ],
        "plan": state.plan.to_dict(),
        "changes": public_changes(state.changes),
        "running": running_dict(state.running),
    }


def _persisted(change: PlanChange) -> bool:
    """Changes projected for a session not yet done are shown but not stored."""
    return not change.details.get("projected", False)


@dataclass(frozen=True)
class PlanRefresh:
    """The plan state and the changes that appeared since the plan was last looked at."""

    state: PlanState
    new_changes: tuple[PlanChange, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state.to_dict(), "new_changes": record_fields(self.new_changes)}


def refresh_plan(session: Session, content: Content, profile_id: int, today: dt.date) -> PlanRefresh:
    """Replay the logs to ``today`` and store the rule changes; returns the newly stored ones."""
    return refresh_records(session, content, plan_records(session, profile_id), today)


def refresh_records(session: Session, content: Content, records: PlanRecords, today: dt.date) -> PlanRefresh:
    """:func:`refresh_plan` from records already read (a page that shows more of them reads them once)."""
    state = replay_records(content, records, today)
    return refresh_states(session, {records.profile.id: state}, today)[records.profile.id]


def refresh_states(
    session: Session, states: Mapping[int, PlanState], today: dt.date
) -> dict[int, PlanRefresh]:
    """Store the rule changes of freshly replayed plans (by profile id) and show each clinician's changes
    beside the rules' own; what is stored is read once for all the plans, however many.

    Most views find the stored changes already equal to the replay and write nothing. The plans whose
    stored changes differ (a log changed, or a day came that the rules act on) are synced in a short
    write session beside a GET's read session (:func:`~kneefix.storage.db.writes_beside`). A log saved
    between the read and that write leaves the stored changes one step behind until the next view,
    which syncs them again: the sync makes the stored set equal to the replay, whatever was there.
    """
    ids = list(states)
    wanted = {profile_id: [c for c in state.changes if _persisted(c)] for profile_id, state in states.items()}
    added: dict[int, list[PlanChangeEntry]] = {profile_id: [] for profile_id in ids}
    differing = plan_store.rule_changes_differ(session, wanted)
    if differing:
        with writes_beside(session) as writer:
            added.update(plan_store.sync_rule_changes_for(writer, {pid: wanted[pid] for pid in differing}))
    by_clinicians = plan_store.changes_by_profile(session, ids, source="clinician")
    return {
        profile_id: PlanRefresh(
            state=with_clinician_changes(state, by_clinicians[profile_id], today),
            new_changes=tuple(entry.change for entry in added[profile_id]),
        )
        for profile_id, state in states.items()
    }


def adjusted_programme(
    session: Session, content: Content, protocol_id: str, profile_id: int
) -> AdjustedProgramme:
    """The content with the profile's active clinician adjustments folded in, in the order made."""
    entries = plan_store.list_plan_adjustments(session, profile_id, active_only=True)
    return fold_active(content, protocol_id, entries)


def fold_active(
    content: Content, protocol_id: str, adjustments: Sequence[PlanAdjustmentEntry]
) -> AdjustedProgramme:
    """Fold active adjustments into the content, in the order they were made."""
    ordered = sorted(adjustments, key=lambda item: (item.created_at, item.id))
    return fold_adjustments(content, protocol_id, ((entry.kind, entry.payload) for entry in ordered))


def with_clinician_changes(state: PlanState, stored: Sequence[PlanChange], today: dt.date) -> PlanState:
    """Show a clinician's changes beside the rules' own, so the person reads why the plan changed."""
    made = [change for change in stored if change.date <= today]
    if not made:
        return state
    return replace(state, changes=tuple(sorted((*state.changes, *made), key=lambda change: change.date)))


def plan_state(session: Session, content: Content, profile_id: int, today: dt.date) -> PlanState:
    return refresh_plan(session, content, profile_id, today).state


@dataclass(frozen=True)
class TodayView:
    """What today holds: a session, a rest day (and when the next session is), or a paused plan.

    ``status`` is ``session``, ``rest`` or ``paused``; every interface shows the same from this record.
    """

    today: dt.date
    status: str
    training_day: bool
    already_logged: bool
    session: PlannedSession | None  # today's session, or the next one on a rest day; None while paused
    phase_name: str
    phase_number: int
    phase_count: int
    guideline_additions: bool
    running: RunningState
    run_due_today: bool
    run_logged_today: bool
    recent_changes: tuple[PlanChange, ...]
    paused_reason: str | None = None
    finished: bool = False
    warning: str | None = None
    session_number: int = 1  # counted from the first session of the plan, logged ones included

    @property
    def rest_day(self) -> bool:
        return self.status != "session"

    @property
    def running_summary(self) -> str:
        return self.running.summary

    def to_dict(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "status": self.status,
            "paused_reason": self.paused_reason,
            "rest_day": self.rest_day,
            "training_day": self.training_day,
            "already_logged": self.already_logged,
            "next_session_date": self.session.date.isoformat() if self.session is not None else None,
            "session": self.session.to_dict() if self.session is not None else None,
            "phase_name": self.phase_name,
            "phase_number": self.phase_number,
            "phase_count": self.phase_count,
            "programme_finished": self.finished,
            "guideline_additions": self.guideline_additions,
            "running": running_dict(self.running, self.run_due_today, self.run_logged_today),
            "recent_changes": record_fields(self.recent_changes),
            "warning": self.warning,
        }


def running_dict(
    running: RunningState, due_today: bool = False, logged_today: bool = False
) -> dict[str, Any] | None:
    """The public shape of the running ladder's state (``None`` when running is not part of the plan)."""
    if not running.available:
        return None
    return {
        "stage": running.stage_number,
        "status": running.status,
        "open": running.open,
        "summary": running.summary,
        "good_runs_at_stage": running.good_runs_at_stage,
        "next_run_from": running.next_run_from.isoformat() if running.next_run_from else None,
        "due_today": due_today,
        "logged_today": logged_today,
        "missing": list(running.missing),
        "finished": running.finished,
    }


RECENT_DAYS = 7


def today_view(session: Session, content: Content, profile_id: int, today: dt.date) -> TodayView:
    """Today's session in step order (hip additions last when on), the next one on a rest day, or the
    reason the plan is paused (then there is no session and no run)."""
    records = plan_records(session, profile_id)
    state = refresh_records(session, content, records, today).state
    settings = state.settings
    logged = any(entry.log.date == today and not entry.log.is_run for entry in state.history)
    ran = any(entry.log.date == today and entry.log.is_run for entry in state.history)
    recent = tuple(c for c in state.changes if (today - c.date).days <= RECENT_DAYS)
    running = state.running
    due = (
        running.status == "open"
        and running.next_run_from is not None
        and running.next_run_from <= today
        and not ran
    )
    if state.paused:
        status = "paused"
    elif state.next_session is not None and state.next_session.date == today:
        status = "session"
    else:
        status = "rest"
    return TodayView(
        today=today,
        status=status,
        training_day=is_planned_day(settings, today),
        already_logged=logged,
        session=state.next_session,
        phase_name=state.phase_name,
        phase_number=state.phase_index + 1,
        phase_count=state.phase_count,
        guideline_additions=settings.guideline_additions,
        running=running,
        run_due_today=due,
        run_logged_today=ran,
        recent_changes=recent,
        paused_reason=state.paused_reason,
        finished=state.programme_complete,
        warning=warning_of(records.latest_screening),
        session_number=1 + sum(not entry.log.is_run for entry in state.history),
    )


def screening_warning(session: Session, profile_id: int) -> str | None:
    """A reminder when the latest screening raised a red flag after the plan was set up."""
    return warning_of(screening_store.latest_screening(session, profile_id))


def warning_of(latest: ScreeningEntry | None) -> str | None:
    """The reminder :func:`screening_warning` gives for this latest screening (None: no warning)."""
    if latest is None or not latest.stops_the_plan:  # no red flags, or a clinician cleared them
        return None
    return (
        f"Your latest screening ({latest.taken_at:%d %b %Y}) raised a warning sign. Please see a clinician "
        "before carrying on with these exercises."
    )


def session_for(session: Session, content: Content, profile_id: int, day: dt.date) -> PlannedSession | None:
    """The session a person would do on ``day`` given their logs before it (for logging by exercise).

    None when the plan was paused on that day.
    """
    return replay(session, content, profile_id, day, before=day).next_session


def change_history(session: Session, profile_id: int) -> list[PlanChangeEntry]:
    """Every stored plan change, oldest first, with where it came from (the rules or a clinician)."""
    return plan_store.list_plan_change_entries(session, profile_id)
