"""The person's plan as it stands today: replay the logs, keep the plan's changes, find today's session.

The plan is derived data: it is recomputed from the settings, the logs and the protocol every time.
What the rules changed is stored too (``sync_rule_changes``), so "why did my plan change" stays
readable in exports and for a clinician, and an edited or deleted log takes its change with it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from kneefix.content.loader import Content
from kneefix.content.schemas import Protocol
from kneefix.errors import ContentError
from kneefix.programme.adapt import PlanState, current_state, is_planned_day
from kneefix.programme.ics import plan_to_ics
from kneefix.programme.jsonable import to_jsonable
from kneefix.programme.planner import PlannedSession
from kneefix.programme.records import PersonSettings, PlanChange
from kneefix.services.profiles import require_settings
from kneefix.storage import logs as log_store
from kneefix.storage import plans as plan_store
from kneefix.storage import profiles as profile_store
from kneefix.storage import scores as score_store
from kneefix.storage import screenings as screening_store


def protocol_for(content: Content, settings: PersonSettings) -> Protocol:
    try:
        return content.protocols[settings.protocol_id]
    except KeyError:
        raise ContentError(
            f"This profile follows the programme '{settings.protocol_id}', which the content no longer "
            f"has (available: {', '.join(sorted(content.protocols))})."
        ) from None


def baseline_pain(session: Session, profile_id: int) -> int | None:
    """Pain at screening: the reference for the first next-morning check."""
    screening = screening_store.latest_screening(session, profile_id)
    if screening is not None:
        value = screening.answers.get("pain_now")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    scores = score_store.list_scores(session, profile_id, "nprs")
    return round(scores[0].score) if scores else None


def _persisted(change: PlanChange) -> bool:
    """Changes projected for a session not yet done are shown but not stored."""
    return not change.details.get("projected", False)


@dataclass(frozen=True)
class PlanRefresh:
    """The plan state and the changes that appeared since the plan was last looked at."""

    state: PlanState
    new_changes: tuple[PlanChange, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state.to_dict(), "new_changes": to_jsonable(self.new_changes)}


def refresh_plan(session: Session, content: Content, profile_id: int, today: dt.date) -> PlanRefresh:
    """Replay the logs to ``today`` and store the rule changes; returns the newly stored ones."""
    profile = profile_store.get_profile(session, profile_id)
    settings = require_settings(profile)
    content, overrides = _with_adjustments(session, content, settings, profile_id)
    protocol = protocol_for(content, settings)
    logs = log_store.list_logs(session, profile_id)
    pain = baseline_pain(session, profile_id)
    state = current_state(protocol, content, settings, logs, today, pain, phase_overrides=overrides)
    added = plan_store.sync_rule_changes(session, profile_id, [c for c in state.changes if _persisted(c)])
    state = _with_clinician_changes(session, profile_id, state, today)
    return PlanRefresh(state=state, new_changes=tuple(entry.change for entry in added))


def _with_adjustments(
    session: Session, content: Content, settings: PersonSettings, profile_id: int
) -> tuple[Content, tuple[tuple[dt.date, int], ...]]:
    """The content with a clinician's standing adjustments folded in (see ``services/clinic.py``)."""
    from kneefix.services.clinic import adjusted_programme

    adjusted = adjusted_programme(session, content, settings.protocol_id, profile_id)
    return adjusted.content, tuple((move.start, move.phase_index) for move in adjusted.phase_overrides)


def _with_clinician_changes(session: Session, profile_id: int, state: PlanState, today: dt.date) -> PlanState:
    """Show a clinician's changes beside the rules' own, so the person reads why the plan changed."""
    stored = plan_store.list_plan_changes(session, profile_id, source="clinician")
    made = [change for change in stored if change.date <= today]
    if not made:
        return state
    return replace(state, changes=tuple(sorted((*state.changes, *made), key=lambda change: change.date)))


def plan_state(session: Session, content: Content, profile_id: int, today: dt.date) -> PlanState:
    return refresh_plan(session, content, profile_id, today).state


@dataclass(frozen=True)
class TodayView:
    """What today holds: a session, or a rest day and when the next session is."""

    today: dt.date
    training_day: bool
    already_logged: bool
    session: PlannedSession  # today's session, or the next one on a rest day
    phase_name: str
    phase_number: int
    phase_count: int
    guideline_additions: bool
    running_summary: str
    recent_changes: tuple[PlanChange, ...]
    warning: str | None = None

    @property
    def rest_day(self) -> bool:
        return self.session.date != self.today

    def to_dict(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "rest_day": self.rest_day,
            "training_day": self.training_day,
            "already_logged": self.already_logged,
            "next_session_date": self.session.date.isoformat(),
            "session": self.session.to_dict(),
            "phase_name": self.phase_name,
            "phase_number": self.phase_number,
            "phase_count": self.phase_count,
            "guideline_additions": self.guideline_additions,
            "running": self.running_summary,
            "recent_changes": to_jsonable(self.recent_changes),
            "warning": self.warning,
        }


RECENT_DAYS = 7


def today_view(session: Session, content: Content, profile_id: int, today: dt.date) -> TodayView:
    """Today's session in step order (hip additions last when on), or the next one on a rest day."""
    state = plan_state(session, content, profile_id, today)
    settings = state.settings
    logged = any(entry.log.date == today for entry in state.history)
    recent = tuple(c for c in state.changes if (today - c.date).days <= RECENT_DAYS)
    return TodayView(
        today=today,
        training_day=is_planned_day(settings, today),
        already_logged=logged,
        session=state.next_session,
        phase_name=state.phase_name,
        phase_number=state.phase_index + 1,
        phase_count=state.phase_count,
        guideline_additions=settings.guideline_additions,
        running_summary=state.running.summary,
        recent_changes=recent,
        warning=screening_warning(session, profile_id),
    )


def screening_warning(session: Session, profile_id: int) -> str | None:
    """A reminder when the latest screening raised a red flag after the plan was set up."""
    latest = screening_store.latest_screening(session, profile_id)
    if latest is None or latest.verdict != "refer_now":
        return None
    return (
        f"Your latest screening ({latest.taken_at:%d %b %Y}) raised a warning sign. Please see a clinician "
        "before carrying on with these exercises."
    )


def session_for(session: Session, content: Content, profile_id: int, day: dt.date) -> PlannedSession:
    """The session a person would do on ``day`` given their logs before it (for logging by exercise)."""
    profile = profile_store.get_profile(session, profile_id)
    settings = require_settings(profile)
    content, overrides = _with_adjustments(session, content, settings, profile_id)
    protocol = protocol_for(content, settings)
    earlier = [log for log in log_store.list_logs(session, profile_id) if log.date < day]
    start = min(day, settings.start_date)
    shifted = settings if start == settings.start_date else _with_start(settings, start)
    pain = baseline_pain(session, profile_id)
    state = current_state(protocol, content, shifted, earlier, day, pain, phase_overrides=overrides)
    return state.next_session


def _with_start(settings: PersonSettings, start: dt.date) -> PersonSettings:
    return replace(settings, start_date=start)


def plan_ics(session: Session, content: Content, profile_id: int, today: dt.date) -> bytes:
    """The upcoming plan as an iCalendar file for the person's calendar app."""
    profile = profile_store.get_profile(session, profile_id)
    state = plan_state(session, content, profile_id, today)
    return plan_to_ics(state.plan, profile.name)
