"""Progress a person can see: pain trends, questionnaire change against what matters, adherence.

Numbers are judged against published thresholds rather than eyeballed: a Kujala change counts when it
reaches the minimal clinically important difference of 10 points (Crossley 2004), an NPRS change when it
reaches 1.16 points (Piva 2009, PFP-specific). No change after about six adherent weeks, or a clear
worsening, is a reason to have the diagnosis looked at again (clinical.md §4): that decision is the plan's
pause (``replay``), and this summary only reports it, so the advice here and the plan never disagree.

Pure logic: logs, scores and the plan state come in; ``today`` is passed, never read from a clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kneefix.jsonvalues import record_fields
from kneefix.programme.records import PlanChange, ScoreRecord, SessionLog
from kneefix.programme.replay import PlanState, is_done, planned_dates_to

KUJALA_MCID = 10.0
NPRS_MCID = 1.16
RECENT_CHANGES = 5
PAIN_MEASURES = ("pain_during", "pain_after", "next_morning_pain")


@dataclass(frozen=True)
class WeekSummary:
    """One programme week: sessions planned and done so far, and mean pain (None: nothing logged)."""

    week: int
    start: dt.date
    planned: int
    done: int
    pain_during: float | None
    pain_after: float | None
    next_morning_pain: float | None
    runs: int = 0
    run_minutes: float = 0.0
    run_km: float = 0.0

    @property
    def adherence_pct(self) -> float | None:
        return None if self.planned == 0 else round(100 * min(self.done, self.planned) / self.planned, 1)


@dataclass(frozen=True)
class ScoreTrend:
    """A questionnaire's scores over time and whether the change is big enough to matter."""

    instrument: str
    points: tuple[tuple[dt.date, float], ...]
    mcid: float
    higher_is_better: bool

    @property
    def change(self) -> float | None:
        if len(self.points) < 2:
            return None
        return round(self.points[-1][1] - self.points[0][1], 2)

    @property
    def meaningful(self) -> bool:
        return self.change is not None and abs(self.change) >= self.mcid - 1e-9

    @property
    def improved(self) -> bool | None:
        """True better, False worse, None unchanged or unknown (direction alone, not size)."""
        if not self.change:
            return None
        return (self.change > 0) == self.higher_is_better

    def to_dict(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument,
            "points": [{"date": day.isoformat(), "score": score} for day, score in self.points],
            "mcid": self.mcid,
            "change": self.change,
            "meaningful": self.meaningful,
            "improved": self.improved,
        }


@dataclass(frozen=True)
class ProgressSummary:
    today: dt.date
    start_date: dt.date
    weeks: tuple[WeekSummary, ...]
    pain_slopes: dict[str, float | None]  # points per week, negative = easing
    kujala: ScoreTrend
    nprs: ScoreTrend
    kujala_next_due: dt.date
    planned_to_date: int
    done_to_date: int
    streak: int
    phase_index: int
    phase_name: str
    phase_count: int
    recent_changes: tuple[PlanChange, ...]
    reassess: bool
    messages: tuple[str, ...]
    paused_reason: str | None = None
    baseline_pain: int | None = None
    programme_finished: bool = False
    running_summary: str | None = None

    @property
    def adherence_pct(self) -> float | None:
        if self.planned_to_date == 0:
            return None
        return round(100 * min(self.done_to_date, self.planned_to_date) / self.planned_to_date, 1)

    @property
    def kujala_due(self) -> bool:
        return self.today >= self.kujala_next_due

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = record_fields(self)
        result["weeks"] = [
            {**record_fields(week), "adherence_pct": week.adherence_pct} for week in self.weeks
        ]
        result["kujala"] = self.kujala.to_dict()
        result["nprs"] = self.nprs.to_dict()
        result["adherence_pct"] = self.adherence_pct
        result["kujala_due"] = self.kujala_due
        return result


def summarise(
    logs: Sequence[SessionLog], scores: Sequence[ScoreRecord], plan_state: PlanState, today: dt.date
) -> ProgressSummary:
    """Everything the progress page shows, computed from the records up to ``today``."""
    settings = plan_state.settings
    sessions = sorted((log for log in logs if log.date <= today and not log.is_run), key=lambda log: log.date)
    runs = [log for log in logs if log.date <= today and log.is_run]
    logged_days = {log.date for log in sessions}
    planned = [day for day in planned_dates_to(settings, today) if day < today or day in logged_days]
    done_by_day = {log.date: log for log in sessions if is_done(log) and log.date >= settings.start_date}
    done_logs = sorted(done_by_day.values(), key=lambda log: log.date)  # one session a day counts once
    weeks = _weeks(settings.start_date, today, planned, sessions, done_logs, runs)
    kujala = _trend(scores, "kujala", KUJALA_MCID, higher_is_better=True, today=today)
    nprs = _trend(scores, "nprs", NPRS_MCID, higher_is_better=False, today=today)
    every = dt.timedelta(weeks=plan_state.kujala_every_weeks)
    next_due = kujala.points[-1][0] + every if kujala.points else settings.start_date
    done_count = len(done_logs)
    summary = ProgressSummary(
        today=today,
        start_date=settings.start_date,
        weeks=weeks,
        pain_slopes={measure: _slope(weeks, measure) for measure in PAIN_MEASURES},
        kujala=kujala,
        nprs=nprs,
        kujala_next_due=next_due,
        planned_to_date=len(planned),
        done_to_date=done_count,
        streak=_streak(planned, done_logs),
        phase_index=plan_state.phase_index,
        phase_name=plan_state.phase_name,
        phase_count=plan_state.phase_count,
        recent_changes=tuple(plan_state.changes[-RECENT_CHANGES:]),
        reassess=plan_state.paused,
        messages=(),
        paused_reason=plan_state.paused_reason,
        baseline_pain=plan_state.baseline_pain,
        programme_finished=plan_state.programme_complete,
        running_summary=plan_state.running.summary if plan_state.running.available else None,
    )
    reassess, messages = _advice(summary)
    return ProgressSummary(**{**summary.__dict__, "reassess": reassess, "messages": messages})


def _weeks(
    start: dt.date,
    today: dt.date,
    planned: Sequence[dt.date],
    sessions: Sequence[SessionLog],
    done_logs: Sequence[SessionLog],
    runs: Sequence[SessionLog] = (),
) -> tuple[WeekSummary, ...]:
    if today < start:
        return ()
    result: list[WeekSummary] = []
    for week in range(1, programme_week_of(start, today) + 1):
        first = start + dt.timedelta(weeks=week - 1)
        last = first + dt.timedelta(days=6)
        in_week = [log for log in sessions if first <= log.date <= last]
        runs_in_week = [log for log in runs if first <= log.date <= last]
        result.append(
            WeekSummary(
                week=week,
                start=first,
                planned=sum(first <= day <= last for day in planned),
                done=sum(first <= log.date <= last for log in done_logs),
                pain_during=_mean(log.pain_during for log in in_week),
                pain_after=_mean(log.pain_after for log in in_week),
                next_morning_pain=_mean(log.next_morning_pain for log in in_week),
                runs=len(runs_in_week),
                run_minutes=round(sum(log.run_minutes or 0.0 for log in runs_in_week), 1),
                run_km=round(sum(log.run_distance_km or 0.0 for log in runs_in_week), 2),
            )
        )
    return tuple(result)


def programme_week_of(start: dt.date, day: dt.date) -> int:
    return (day - start).days // 7 + 1


def _mean(values: Iterable[int | None]) -> float | None:
    known = [value for value in values if value is not None]
    return round(sum(known) / len(known), 2) if known else None


def _slope(weeks: Sequence[WeekSummary], measure: str) -> float | None:
    """Least-squares slope of the weekly means, in points per week; None with fewer than two weeks."""
    points: list[tuple[int, float]] = []
    for week in weeks:
        value: float | None = getattr(week, measure)
        if value is not None:
            points.append((week.week, value))
    if len(points) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return round(sum((x - mean_x) * (y - mean_y) for x, y in points) / spread, 3)


def _trend(
    scores: Sequence[ScoreRecord], instrument: str, mcid: float, *, higher_is_better: bool, today: dt.date
) -> ScoreTrend:
    chosen = sorted(
        (s for s in scores if s.instrument == instrument and s.date <= today), key=lambda s: s.date
    )
    return ScoreTrend(instrument, tuple((s.date, float(s.score)) for s in chosen), mcid, higher_is_better)


def _streak(planned: Sequence[dt.date], done_logs: Sequence[SessionLog]) -> int:
    """Planned sessions done in a row, counting back from the latest one due.

    A planned session counts as done if a completed session was logged strictly between the planned
    days either side of it, each log standing for one session only: doing Monday's session on Tuesday,
    or Saturday's on Friday, keeps the streak.
    """
    unused = sorted(log.date for log in done_logs)
    streak = 0
    for position in range(len(planned) - 1, -1, -1):
        day = planned[position]
        after = planned[position - 1] if position > 0 else dt.date.min
        before = planned[position + 1] if position + 1 < len(planned) else dt.date.max
        candidates = [logged for logged in unused if after < logged < before]
        if not candidates:
            break
        unused.remove(min(candidates, key=lambda logged: abs((logged - day).days)))
        streak += 1
    return streak


def _advice(summary: ProgressSummary) -> tuple[bool, tuple[str, ...]]:
    """Plain-words messages: the plan's pause first, then what the logs and scores say."""
    messages: list[str] = []
    if summary.paused_reason:
        messages.append(
            f"Your plan is paused: {summary.paused_reason} Please have your knee checked by a clinician "
            "before carrying on."
        )
    if summary.programme_finished:
        messages.append("You have finished the programme; keep up the maintenance sessions.")
    mornings = [week.next_morning_pain for week in summary.weeks if week.next_morning_pain is not None]
    if summary.baseline_pain is not None and len(mornings) >= 2:
        recent = mornings[-1]
        change = round(recent - summary.baseline_pain, 1)
        if change <= -NPRS_MCID:
            messages.append(
                f"Your next-morning pain averaged {recent:g}/10 last week, down from "
                f"{summary.baseline_pain}/10 at the start: a change that matters."
            )
        elif change >= NPRS_MCID and not summary.paused_reason:
            messages.append(
                f"Your next-morning pain averaged {recent:g}/10 last week, up from "
                f"{summary.baseline_pain}/10 at the start. The plan eases while that lasts; if it keeps "
                "rising it pauses for a review."
            )
    kujala, nprs = summary.kujala, summary.nprs
    if kujala.improved and kujala.meaningful:
        messages.append(f"Your Kujala score is up {kujala.change:g} points: a change that matters.")
    if nprs.improved and nprs.meaningful and nprs.change is not None:
        messages.append(f"Your pain rating is down {abs(nprs.change):g} points: a change that matters.")
    if summary.kujala_due:
        messages.append("It is time to fill in the Kujala questionnaire again.")
    return summary.paused_reason is not None, tuple(messages)
