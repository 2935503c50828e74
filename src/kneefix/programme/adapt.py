"""Replay a person's logs through the protocol's rules to find where their programme stands today.

The plan is not a fixed calendar: it is the protocol's sequence of sessions, started at the person's
pace. Replaying the logs (and screenings and a clinician's resumes) in date order gives, at every
session, the dose that was prescribed and the rule it earned, so the result is the same whenever it is
recomputed from the same records. The model is written down in docs/progression.md; in short:

* **Baseline-referenced.** Each session's next morning is judged against the person's baseline (the
  screening pain, or lower once recent mornings are lower) plus a tolerance, never against the morning
  before alone. Week-on-week checks use weekly means of the logs.
* **Pause for review.** A red flag on re-screening, sustained worsening, clearly worse scores, no
  meaningful change after weeks of training, or a phase that never gets ready to move on stop the plan
  (sessions and runs) until the person re-screens clear or a linked clinician resumes it.
* **Missed sessions shift the plan; breaks never jump the dose.**
* **Phases need time and evidence**, and a step back never makes an exercise harder.
* **Return to running** opens once the plan's criteria and the readiness check both pass; each stage
  advances after good runs and steps back after a flare.
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from typing import Protocol as TypingProtocol

from kneefix.content.schemas import (
    Change,
    Dose,
    Equipment,
    Exercise,
    PainModel,
    ProgressionRule,
    Protocol,
    RunStage,
    StartingPoint,
)
from kneefix.programme.jsonable import to_jsonable
from kneefix.programme.planner import (
    Plan,
    PlannedExercise,
    PlannedRun,
    PlannedSession,
    available_equipment,
    build_plan,
    is_training_day,
    session_content,
    sessions_needed,
    sessions_per_week,
    training_dates,
    validate_settings,
    variant_chain,
)
from kneefix.programme.progression import (
    Assessment,
    DoseState,
    VariantRoom,
    apply_change,
    assess,
    cap_state,
    evaluate_rules,
    fill_explanation,
    reference_pain,
)
from kneefix.programme.records import (
    LOG_KIND_RUN,
    PersonSettings,
    PlanChange,
    ReviewEvent,
    RunCheck,
    ScoreRecord,
    SessionLog,
)

RUN_ENTRY = LOG_KIND_RUN
"""Kept for older callers: a run is a :class:`SessionLog` with ``kind="run"``."""

DONE_FRACTION = 0.5
"""A session counts as done (for breaks, phase length and adherence) when at least half was done."""

DEFAULT_BREAK_EASE = Change(target="dose_scale", op="percent", value=-10, floor=0.5)
SEVERITIES = ("mild", "moderate", "severe")
HOLD_REMINDER_DAYS = 14
"""The same hold is listed once while it lasts, and again after this many days as a reminder."""


class ContentLike(TypingProtocol):
    """What adapt needs from ``kneefix.content.loader.Content``."""

    @property
    def exercises(self) -> Mapping[str, Exercise]: ...

    @property
    def equipment(self) -> Mapping[str, Equipment]: ...


def is_run(log: SessionLog) -> bool:
    return log.is_run


def is_done(log: SessionLog) -> bool:
    return log.completed >= DONE_FRACTION


@dataclass(frozen=True)
class LoggedSession:
    """A logged session or run with the dose prescribed for it, the rule it earned and how it went."""

    log: SessionLog
    state: DoseState
    rule_id: str | None = None
    settled: bool | None = None
    flare: bool = False
    reference: int | None = None


@dataclass(frozen=True)
class RunningState:
    """Where return to running stands. ``available`` is False for non-runners or protocols without it.

    ``status``: ``unavailable``, ``closed`` (the plan's criteria are not met yet), ``check_needed`` (the
    criteria are met but the readiness check has not passed), ``open``, ``held`` (a recent flare: no run
    until a session settles), ``paused`` (the whole plan is paused) or ``finished``.
    """

    available: bool
    open: bool = False
    opened_on: dt.date | None = None
    stage: RunStage | None = None
    good_runs_at_stage: int = 0
    finished: bool = False
    next_run_from: dt.date | None = None
    status: str = "unavailable"
    missing: tuple[str, ...] = ()
    criteria_met_on: dt.date | None = None

    @property
    def summary(self) -> str:
        if not self.available:
            return "Return to running is not part of this plan."
        if self.status == "paused":
            return "Running is paused with the rest of your plan until your knee has been reviewed."
        if self.finished:
            return "You have completed the return-to-running stages."
        if self.status == "held":
            return "No running until your knee has settled after a session again."
        if not self.open or self.stage is None:
            return "Return to running is not open yet. " + " ".join(self.missing)
        return f"Running stage {self.stage.stage}: {describe_stage(self.stage)}."

    @property
    def stage_number(self) -> int | None:
        return self.stage.stage if self.stage is not None else None


def describe_stage(stage: RunStage) -> str:
    effort = f"effort {stage.rpe}/10"
    if stage.run_min is None:
        return f"run continuously for {stage.distance_km:g} km at {effort}"
    return (
        f"alternate {stage.walk_min:g} min walking with {stage.run_min:g} min running for "
        f"{stage.distance_km:g} km at {effort}"
    )


@dataclass(frozen=True)
class PlanState:
    """Where the programme stands on ``today``, and why."""

    protocol_id: str
    today: dt.date
    settings: PersonSettings
    phase_index: int
    phase_id: str
    phase_name: str
    phase_started: dt.date
    done_in_phase: int
    sessions_needed_in_phase: int
    dose: DoseState
    changes: tuple[PlanChange, ...]
    next_session: PlannedSession | None  # None while paused
    plan: Plan  # from the next session on, shifted by any missed sessions; empty while paused
    running: RunningState
    history: tuple[LoggedSession, ...]
    last_done: dt.date | None
    kujala_every_weeks: int
    phase_count: int
    notes: tuple[str, ...] = field(default=())
    status: str = "active"  # active | paused | maintenance
    paused_reason: str | None = None
    paused_since: dt.date | None = None
    finished_on: dt.date | None = None
    baseline_pain: int | None = None
    reference_pain: int | None = None
    severity: str = "mild"
    starting_point: str | None = None  # why the plan started where it did

    @property
    def paused(self) -> bool:
        return self.status == "paused"

    @property
    def programme_complete(self) -> bool:
        """The last phase's criteria have held: the person is in maintenance."""
        return self.finished_on is not None

    @property
    def next_session_is_today(self) -> bool:
        return self.next_session is not None and self.next_session.date == self.today

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = to_jsonable(self)
        result["next_session"] = self.next_session.to_dict() if self.next_session is not None else None
        result["plan"] = self.plan.to_dict()
        result["programme_complete"] = self.programme_complete
        result["running"]["summary"] = self.running.summary
        return result


@dataclass
class _Replay:
    """Mutable bookkeeping while the records are replayed; never leaves this module."""

    state: DoseState = field(default_factory=DoseState)
    phase_started: dt.date = dt.date.min
    done_in_phase: int = 0
    last_change: dt.date | None = None  # the day after the dose or phase last changed
    break_start: dt.date | None = None  # the first session after the latest long break
    era_start: dt.date = dt.date.min  # the start, or the latest resume: trends are judged from here
    rule_fired: dict[str, dt.date] = field(default_factory=dict)
    doses: dict[DoseState, tuple[PlannedExercise, ...]] = field(default_factory=dict)
    last_done: dt.date | None = None
    last_done_state: DoseState | None = None
    assessed: list[Assessment] = field(default_factory=list)  # training sessions of this era
    mornings: list[int] = field(default_factory=list)  # rated next mornings of this era, sessions and runs
    rated: list[tuple[dt.date, int]] = field(default_factory=list)
    all_logs: list[SessionLog] = field(default_factory=list)  # this era, sessions and runs
    history: list[LoggedSession] = field(default_factory=list)
    changes: list[PlanChange] = field(default_factory=list)
    running: RunningState = field(default_factory=lambda: RunningState(available=False))
    baseline: int | None = None
    paused_reason: str | None = None
    paused_since: dt.date | None = None
    finished_on: dt.date | None = None
    last_hold: str | None = None
    scores: list[ScoreRecord] = field(default_factory=list)
    checks: list[RunCheck] = field(default_factory=list)
    no_change_checked: bool = False


def starting_state(
    protocol: Protocol, content: ContentLike, settings: PersonSettings, severity: str
) -> tuple[DoseState, StartingPoint | None]:
    """The first session's state for a person of this severity (docs/progression.md §4)."""
    points = protocol.starting_points
    if points is None:
        return DoseState(), None
    point: StartingPoint = getattr(points, severity if severity in SEVERITIES else "mild")
    index = min(point.phase - 1, len(protocol.phases) - 1)
    state = DoseState(phase_index=index, dose_scale=point.dose_scale)
    if point.easier_variants:
        available = available_equipment(settings, content.equipment)
        for phase in protocol.phases:
            probe = replace(state, phase_index=protocol.phases.index(phase))
            for item in session_content(protocol, content.exercises, settings, probe, content.equipment)[0]:
                if (
                    item.load_bearing
                    and variant_chain(content.exercises[item.slot_id], content.exercises, available)[0]
                ):
                    state = state.with_variant(item.slot_id, -1)
    return state, point


def current_state(
    protocol: Protocol,
    content: ContentLike,
    settings: PersonSettings,
    logs: Sequence[SessionLog],
    today: dt.date,
    baseline_pain: int | None = None,
    phase_overrides: Sequence[tuple[dt.date, int]] = (),
    *,
    events: Sequence[ReviewEvent] = (),
    scores: Sequence[ScoreRecord] = (),
    run_checks: Sequence[RunCheck] = (),
    severity: str = "mild",
) -> PlanState:
    """Replay the records up to ``today`` (any order; later ones are ignored) and describe today.

    ``baseline_pain`` is the screening pain (0-10). ``phase_overrides`` are ``(start, phase_index)``
    moves a clinician made. ``events`` are re-screenings and clinician resumes after the start;
    ``scores`` are Kujala/NPRS results (the screening's own included); ``run_checks`` the readiness
    checks for running; ``severity`` (mild/moderate/severe) picks the starting point.
    """
    validate_settings(settings)
    start_state, point = starting_state(protocol, content, settings, severity)
    replay = _Replay(
        state=start_state,
        phase_started=settings.start_date,
        baseline=baseline_pain,
        era_start=settings.start_date,
        scores=sorted((s for s in scores if s.date <= today), key=lambda s: s.date),
        checks=sorted((c for c in run_checks if c.date <= today), key=lambda c: c.date),
    )
    if point is not None and start_state != DoseState():
        replay.changes.append(
            PlanChange(settings.start_date, f"starting_point_{severity}", "ease", point.explain, {})
        )
    available = settings.runs and protocol.return_to_running is not None
    replay.running = RunningState(available=available, status="closed" if available else "unavailable")
    if available:
        replay.running = replace(replay.running, missing=tuple(_criteria_missing(replay, protocol)))
    timeline = _timeline(logs, events, today)
    pending_overrides = sorted(phase_overrides)
    for day, item in timeline:
        pending_overrides = _apply_phase_overrides(replay, pending_overrides, day, len(protocol.phases))
        if isinstance(item, ReviewEvent):
            _replay_event(replay, item)
            continue
        _check_pause(replay, protocol, settings, day)
        if item.is_run:
            _replay_run(replay, protocol, item)
        else:
            _replay_session(replay, protocol, content, settings, item)
        _check_pause(replay, protocol, settings, day)

    _apply_phase_overrides(replay, pending_overrides, today, len(protocol.phases))
    _check_pause(replay, protocol, settings, today)
    return _describe(replay, protocol, content, settings, logs, today, severity, point)


def _timeline(
    logs: Sequence[SessionLog], events: Sequence[ReviewEvent], today: dt.date
) -> list[tuple[dt.date, SessionLog | ReviewEvent]]:
    """Events before logs on the same day (a re-screening comes before that day's session)."""
    items: list[tuple[dt.date, int, int, SessionLog | ReviewEvent]] = []
    for order, event in enumerate(events):
        if event.date <= today:
            items.append((event.date, 0, order, event))
    for log in logs:
        if log.date <= today:
            items.append((log.date, 1, log.id if log.id is not None else -1, log))
    items.sort(key=lambda entry: (entry[0], entry[1], entry[2]))
    return [(day, item) for day, _, _, item in items]


def _describe(
    replay: _Replay,
    protocol: Protocol,
    content: ContentLike,
    settings: PersonSettings,
    logs: Sequence[SessionLog],
    today: dt.date,
    severity: str,
    point: StartingPoint | None,
) -> PlanState:
    logged_today = any(log.date == today and not log.is_run for log in logs)
    first_day = today + dt.timedelta(days=1) if logged_today else today
    first_day = max(first_day, settings.start_date)
    status = "paused" if replay.paused_reason else ("maintenance" if replay.finished_on else "active")
    dated = _dated_settings(protocol, settings, status)
    next_day = training_dates(dated, first_day, count=1)[0]
    projected, break_change = _after_break(replay, protocol, content, settings, next_day)
    running = _running_today(replay, protocol, status)
    changes = list(replay.changes)
    if break_change is not None and status != "paused":
        changes.append(replace(break_change, date=today, details={**break_change.details, "projected": True}))
    plan = build_plan(
        protocol,
        content.exercises,
        settings,
        content.equipment,
        state=projected,
        start=next_day,
        done_in_phase=replay.done_in_phase,
        status=status,
        status_note=_status_note(replay, protocol),
        runs=_forecast_runs(protocol, running, _first_run_day(logs, today)) if status != "paused" else (),
    )
    phase = protocol.phases[projected.phase_index]
    reference = reference_pain(replay.baseline, replay.mornings, protocol.pain_model)
    return PlanState(
        protocol_id=protocol.id,
        today=today,
        settings=settings,
        phase_index=projected.phase_index,
        phase_id=phase.id,
        phase_name=phase.name,
        phase_started=replay.phase_started,
        done_in_phase=replay.done_in_phase,
        sessions_needed_in_phase=sessions_needed(phase, settings),
        dose=projected,
        changes=tuple(changes),
        next_session=plan.sessions[0] if plan.sessions else None,
        plan=plan,
        running=running,
        history=tuple(replay.history),
        last_done=replay.last_done,
        kujala_every_weeks=protocol.kujala_every_weeks,
        phase_count=len(protocol.phases),
        notes=plan.notes,
        status=status,
        paused_reason=replay.paused_reason,
        paused_since=replay.paused_since,
        finished_on=replay.finished_on,
        baseline_pain=replay.baseline,
        reference_pain=reference,
        severity=severity if severity in SEVERITIES else "mild",
        starting_point=point.explain if point is not None else None,
    )


def _dated_settings(protocol: Protocol, settings: PersonSettings, status: str) -> PersonSettings:
    if status == "maintenance" and protocol.maintenance is not None:
        return replace(settings, days_per_week=protocol.maintenance.days_per_week, training_weekdays=None)
    return settings


def _status_note(replay: _Replay, protocol: Protocol) -> str | None:
    if replay.paused_reason:
        return f"Your plan is paused: {replay.paused_reason}"
    if replay.finished_on and protocol.maintenance is not None:
        return protocol.maintenance.explain
    return None


# --- pause and resume --------------------------------------------------------------------------------


PAUSE_ADVICE = (
    "Please have your knee checked by a physiotherapist or doctor before training on. The plan carries "
    "on when you re-screen without warning signs (`kneefix start`, or Screening on the web) or when your "
    "linked clinician resumes it."
)


def _pause(replay: _Replay, day: dt.date, rule_id: str, reason: str) -> None:
    replay.paused_reason = reason
    replay.paused_since = day
    replay.changes.append(PlanChange(day, rule_id, "pause", f"{reason} {PAUSE_ADVICE}", {"reason": reason}))


def _replay_event(replay: _Replay, event: ReviewEvent) -> None:
    if event.kind == "screening" and event.red_flag:
        if replay.paused_reason is None:
            text = event.reason or "your latest screening raised a warning sign."
            _pause(replay, event.date, "pause_red_flag", f"Your screening on {event.date:%d %b %Y}: {text}")
        return
    if replay.paused_reason is None:
        return
    who = "your clinician resumed it" if event.kind == "clinician_resume" else "your new screening was clear"
    replay.changes.append(
        PlanChange(
            event.date,
            f"resume_{event.kind}",
            "resume",
            f"Your plan carries on: {who}. It restarts no harder than before the pause, and your pain "
            "is judged afresh from here." + (f" {event.reason}" if event.reason else ""),
            {"paused_since": replay.paused_since.isoformat() if replay.paused_since else None},
        )
    )
    replay.paused_reason = None
    replay.paused_since = None
    replay.era_start = event.date
    replay.no_change_checked = False
    if event.pain is not None:
        replay.baseline = event.pain
    replay.assessed.clear()
    replay.mornings.clear()
    replay.rated.clear()
    replay.all_logs.clear()
    replay.last_change = event.date
    replay.phase_started = max(replay.phase_started, event.date)


def _weekly(
    values: Iterable[tuple[dt.date, float]], start: dt.date, day: dt.date, need: int
) -> list[float | None]:
    """Weekly means (7-day blocks from ``start`` up to the block holding ``day``); None: too few values."""
    if day < start:
        return []
    weeks = (day - start).days // 7 + 1
    buckets: list[list[float]] = [[] for _ in range(weeks)]
    for when, value in values:
        index = (when - start).days // 7
        if 0 <= index < weeks:
            buckets[index].append(value)
    return [statistics.fmean(bucket) if len(bucket) >= need else None for bucket in buckets]


def _tail_run(means: Sequence[float | None], count: int) -> list[float] | None:
    """The last ``count`` weekly means if none of them is missing, else None."""
    tail = list(means[-count:])
    if len(tail) < count or any(value is None for value in tail):
        return None
    return [value for value in tail if value is not None]


def _check_pause(replay: _Replay, protocol: Protocol, settings: PersonSettings, day: dt.date) -> None:
    """Pause the plan when a trend, a score or the phase's length says a clinician should look."""
    if replay.paused_reason is not None:
        return
    found = _pause_trigger(replay, protocol, settings, day)
    if found is not None:
        _pause(replay, day, *found)


def _pause_trigger(
    replay: _Replay, protocol: Protocol, settings: PersonSettings, day: dt.date
) -> tuple[str, str] | None:
    model = protocol.pain_model
    mornings = _weekly(
        ((d, float(v)) for d, v in replay.rated if d <= day), replay.era_start, day, model.week_min_ratings
    )
    rising = _tail_run(mornings, model.rising_weeks + 1)
    if rising is not None and all(b >= a + model.rising_step for a, b in itertools.pairwise(rising)):
        listed = ", ".join(f"{value:.1f}" for value in rising)
        return "pause_rising", (
            f"your average next-morning pain has risen {model.rising_weeks} weeks in a row ({listed})."
        )
    if replay.baseline is not None:
        over = _tail_run(mornings, model.over_baseline_weeks)
        limit = replay.baseline + model.over_baseline_points
        if over is not None and all(value >= limit for value in over):
            return "pause_over_baseline", (
                f"your average next-morning pain has been {model.over_baseline_points} or more points above "
                f"your starting {replay.baseline}/10 for {model.over_baseline_weeks} weeks."
            )
    during = _weekly(
        ((log.date, float(log.pain_during)) for log in replay.all_logs if log.pain_during is not None),
        replay.era_start,
        day,
        model.week_min_ratings,
    )
    for name, series in (("during sessions", during), ("the next morning", mornings)):
        high = _tail_run(series, model.high_pain_weeks)
        if high is not None and all(value > model.ceiling for value in high):
            return "pause_high_pain", (
                f"your pain {name} has averaged above {model.ceiling}/10 for {model.high_pain_weeks} weeks, "
                "even with the plan eased."
            )
    worse = _scores_worse(replay, model, day)
    if worse is not None:
        return "pause_scores_worse", worse
    no_change = _no_meaningful_change(replay, protocol, settings, day, mornings)
    if no_change is not None:
        return "pause_no_change", no_change
    phase = protocol.phases[replay.state.phase_index]
    if phase.max_weeks is not None and replay.finished_on is None:
        most = phase.max_weeks * sessions_per_week(settings)
        in_phase = [item for item in replay.assessed if item.log.date >= replay.phase_started]
        unrated = sum(not item.rated for item in in_phase)
        if replay.done_in_phase >= most and unrated * 2 <= len(in_phase):  # missing ratings: keep holding
            return "pause_phase_too_long", (
                f"you have done {replay.done_in_phase} sessions in the {phase.name} phase, its longest "
                f"planned length ({phase.max_weeks} weeks), and your knee is not yet ready to move on."
            )
    return None


def _score_reference(replay: _Replay, instrument: str) -> ScoreRecord | None:
    """The score the era started from: the latest on or before its start, else the first after it."""
    mine = [score for score in replay.scores if score.instrument == instrument]
    before = [score for score in mine if score.date <= replay.era_start]
    if before:
        return before[-1]
    return mine[0] if mine else None


def _latest_score(replay: _Replay, instrument: str, day: dt.date) -> ScoreRecord | None:
    mine = [score for score in replay.scores if score.instrument == instrument and score.date <= day]
    return mine[-1] if mine else None


def _scores_worse(replay: _Replay, model: PainModel, day: dt.date) -> str | None:
    for instrument, points, higher_is_better, name in (
        ("kujala", model.kujala_worse_points, True, "Kujala knee score"),
        ("nprs", model.nprs_worse_points, False, "pain score"),
    ):
        first, latest = _score_reference(replay, instrument), _latest_score(replay, instrument, day)
        if first is None or latest is None or latest.date <= first.date:
            continue
        change = latest.score - first.score
        if (higher_is_better and change <= -points) or (not higher_is_better and change >= points):
            return (
                f"your {name} went from {first.score:g} to {latest.score:g}, worse by more than the "
                f"{points:g} points that count as a real change."
            )
    return None


def _no_meaningful_change(
    replay: _Replay,
    protocol: Protocol,
    settings: PersonSettings,
    day: dt.date,
    mornings: Sequence[float | None],
) -> str | None:
    model = protocol.pain_model
    if replay.no_change_checked or day < replay.era_start + dt.timedelta(weeks=model.review_after_weeks):
        return None
    if replay.baseline is None or replay.baseline < model.review_min_baseline:
        return None
    if replay.finished_on is not None:  # every phase's criteria held: training worked as planned
        return None
    replay.no_change_checked = True  # judged once per era, at the review point
    weeks = (day - replay.era_start).days // 7
    per_week = [0] * weeks
    for log in replay.all_logs:
        index = (log.date - replay.era_start).days // 7
        if not log.is_run and is_done(log) and 0 <= index < weeks:
            per_week[index] += 1
    adherent = sum(count * 2 >= sessions_per_week(settings) for count in per_week)
    if adherent < model.review_adherent_weeks:
        return None
    kujala_first, kujala_latest = _score_reference(replay, "kujala"), _latest_score(replay, "kujala", day)
    if (
        kujala_first
        and kujala_latest
        and kujala_latest.score - kujala_first.score >= model.kujala_worse_points
    ):
        return None
    nprs_first, nprs_latest = _score_reference(replay, "nprs"), _latest_score(replay, "nprs", day)
    if nprs_first and nprs_latest and nprs_first.score - nprs_latest.score >= model.nprs_worse_points:
        return None
    recent = [value for value in mornings[-2:] if value is not None]
    if recent and replay.baseline - statistics.fmean(recent) >= model.nprs_worse_points:
        return None
    later_scores = [score for score in replay.scores if score.date > replay.era_start]
    if not recent and not later_scores:  # nothing rated to judge by: the plan holds and asks for ratings
        return None
    return (
        f"after {model.review_after_weeks} weeks, {adherent} of them with regular training, neither your "
        "pain nor your knee score has improved by a meaningful amount. A clinician should look at your knee "
        "again: the cause may be something other than runner's knee."
    )


# --- sessions ---------------------------------------------------------------------------------------


def _apply_phase_overrides(
    replay: _Replay, overrides: list[tuple[dt.date, int]], up_to: dt.date, phase_count: int
) -> list[tuple[dt.date, int]]:
    """Apply the clinician's phase moves that start on or before ``up_to``; return the rest."""
    while overrides and overrides[0][0] <= up_to:
        start, index = overrides.pop(0)
        moved = DoseState(phase_index=min(max(index, 0), phase_count - 1), variants=replay.state.variants)
        replay.state = moved
        replay.phase_started = start
        replay.done_in_phase = 0
        replay.last_change = start
        replay.finished_on = None
        if replay.last_done_state is not None:  # a later break is measured against the new phase
            replay.last_done_state = moved
    return overrides


def _strength_completed(log: SessionLog, planned: Sequence[PlannedExercise]) -> float:
    """The share of the strengthening work done: rolling and stretching are optional and never count."""
    load = [item for item in planned if item.load_bearing]
    if not log.exercises_done or not load:
        return log.completed
    done = set(log.exercises_done)
    hits = sum(item.exercise_id in done or item.slot_id in done for item in load)
    return round(hits / len(load), 3)


def _session(
    replay: _Replay, protocol: Protocol, content: ContentLike, settings: PersonSettings, state: DoseState
) -> tuple[PlannedExercise, ...]:
    """The exercises of a session in ``state`` (cached: states repeat a lot)."""
    if state not in replay.doses:
        replay.doses[state] = session_content(
            protocol, content.exercises, settings, state, content.equipment
        )[0]
    return replay.doses[state]


def _doses(planned: Sequence[PlannedExercise]) -> dict[str, Dose]:
    """Slot id -> dose, for the load-bearing work the rules change."""
    return {item.slot_id: item.dose for item in planned if item.load_bearing}


def _rooms(
    planned: Sequence[PlannedExercise],
    content: ContentLike,
    settings: PersonSettings,
    state: DoseState,
    ceiling: float | None,
) -> dict[str, VariantRoom]:
    """How far each load-bearing exercise can move between versions; harder only at the reps ceiling."""
    available = available_equipment(settings, content.equipment)
    rooms: dict[str, VariantRoom] = {}
    for item in planned:
        if not item.load_bearing or item.slot_id not in content.exercises:
            continue
        easier, harder = variant_chain(content.exercises[item.slot_id], content.exercises, available)
        reps = item.dose.reps
        ready = ceiling is None or reps is None or reps >= ceiling
        rooms[item.slot_id] = VariantRoom(lowest=-len(easier), highest=len(harder), ready_for_harder=ready)
    return rooms


def _weekly_not_rising(replay: _Replay, protocol: Protocol, day: dt.date) -> bool:
    model = protocol.pain_model
    means = _weekly(
        ((d, float(v)) for d, v in replay.rated if d <= day), replay.era_start, day, model.week_min_ratings
    )
    known = [value for value in means if value is not None]
    return len(known) < 2 or known[-1] < known[-2] + model.rising_step


def _replay_session(
    replay: _Replay,
    protocol: Protocol,
    content: ContentLike,
    settings: PersonSettings,
    log: SessionLog,
) -> None:
    paused = replay.paused_reason is not None
    if is_done(log) and not paused:
        prescribed, break_change = _after_break(replay, protocol, content, settings, log.date)
        if break_change is not None:
            replay.changes.append(break_change)
            replay.state = prescribed
            replay.last_change = replay.break_start = log.date
    prescribed = replay.state
    planned = _session(replay, protocol, content, settings, prescribed)
    reference = reference_pain(replay.baseline, replay.mornings, protocol.pain_model)
    item = assess(log, reference, protocol.pain_model, _strength_completed(log, planned))
    replay.assessed.append(item)
    replay.all_logs.append(log)
    if log.next_morning_pain is not None:
        replay.mornings.append(log.next_morning_pain)
        replay.rated.append((log.date, log.next_morning_pain))
    if is_done(log) and not paused:
        replay.done_in_phase += 1
        replay.last_done = log.date
        replay.last_done_state = prescribed
    if paused:  # logged while paused: it informs the trends, but the plan does not move
        replay.history.append(LoggedSession(log, prescribed, None, item.settled, item.flare, reference))
        return

    rule_id = _apply_rules(replay, protocol, content, settings, log, prescribed, planned)
    _apply_hurt(replay, content, settings, log, planned)
    replay.history.append(LoggedSession(log, prescribed, rule_id, item.settled, item.flare, reference))
    _update_running(replay, protocol, log.date)


def _apply_rules(
    replay: _Replay,
    protocol: Protocol,
    content: ContentLike,
    settings: PersonSettings,
    log: SessionLog,
    prescribed: DoseState,
    planned: Sequence[PlannedExercise],
) -> str | None:
    rules = [
        rule
        for rule in protocol.rules
        if _rule_allowed(rule, replay, protocol, content, settings, planned, log.date)
    ]
    outcome = evaluate_rules(
        rules,
        [],
        log.date,
        rule_window_starts=_window_starts(replay, protocol),
        pain_model=protocol.pain_model,
        assessments=replay.assessed,
        weekly_not_rising=_weekly_not_rising(replay, protocol, log.date),
    )
    rule = outcome.rule
    if rule is None:
        replay.last_hold = None
        return None
    replay.rule_fired[rule.id] = log.date
    facts: dict[str, object] = dict(outcome.facts)
    if rule.kind == "hold" or rule.change is None:
        earlier = [change.date for change in replay.changes if change.rule_id == rule.id]
        stale = not earlier or (log.date - earlier[-1]).days >= HOLD_REMINDER_DAYS
        if replay.last_hold != rule.id or stale:  # a hold that lasts is one entry, plus a reminder
            replay.changes.append(
                PlanChange(log.date, rule.id, "hold", fill_explanation(rule.explain, facts), {})
            )
        replay.last_hold = rule.id
        return rule.id
    replay.last_hold = None
    if _finishes_programme(rule, replay, protocol):
        replay.finished_on = log.date
        replay.last_change = log.date + dt.timedelta(days=1)
        text = (
            protocol.maintenance.explain
            if protocol.maintenance is not None
            else "You have finished the programme."
        )
        replay.changes.append(PlanChange(log.date, rule.id, "advance", text, {"finished": True}))
        return rule.id
    after, step = _changed_state(rule, prescribed, planned, content, settings, protocol)
    if after == prescribed and rule.kind != "ease":
        return rule.id
    kind = _change_kind(rule, prescribed, after)
    if kind == "regress":  # a step back never makes any exercise harder
        lower = _session(replay, protocol, content, settings, after)
        after = cap_state(after, {i.slot_id: i.dose for i in lower}, {i.slot_id: i.dose for i in planned})
    replay.state = after
    replay.last_change = log.date + dt.timedelta(days=1)
    if after.phase_index != prescribed.phase_index:
        replay.phase_started = log.date + dt.timedelta(days=1)
        replay.done_in_phase = 0
    facts.update(_change_facts(protocol, rule.change, prescribed, after))
    facts["step"] = step
    replay.changes.append(
        PlanChange(
            date=log.date,
            rule_id=rule.id,
            kind=kind,
            explanation=fill_explanation(rule.explain, facts),
            details={"before": prescribed.to_dict(), "after": after.to_dict(), "facts": facts},
        )
    )
    return rule.id


def _change_kind(rule: ProgressionRule, before: DoseState, after: DoseState) -> str:
    if after.phase_index > before.phase_index:
        return "advance"
    if after.phase_index < before.phase_index:
        return "regress"
    return "ease" if rule.kind == "ease" else "progress"


def _changed_state(
    rule: ProgressionRule,
    prescribed: DoseState,
    planned: Sequence[PlannedExercise],
    content: ContentLike,
    settings: PersonSettings,
    protocol: Protocol,
) -> tuple[DoseState, str]:
    """The state after the rule's change, or after the first of its ``then`` changes that does anything.

    One variable at a time: a progress rule's change and its ``then`` list are tried in order, except
    that an exercise on its easier version (after "this hurt", or a severe start) first goes back to
    the plan's own exercise, one exercise per step, before anything else gets harder.
    """
    assert rule.change is not None
    doses = _doses(planned)
    reps_ceiling = rule.change.ceiling if rule.change.target == "reps" else None
    rooms = _rooms(planned, content, settings, prescribed, reps_ceiling)
    steps = [rule.change, *(rule.then if rule.kind == "progress" else [])]
    back = [step for step in steps if step.target == "variant" and step.op == "harder"]
    easier_now = sorted(slot for slot in rooms if prescribed.variant(slot) < 0)
    if back and easier_now:
        ready = {slot: replace(room, ready_for_harder=True) for slot, room in rooms.items()}
        change = back[0].model_copy(update={"exercises": [easier_now[0]]})
        after = apply_change(prescribed, change, doses, len(protocol.phases), ready)
        if after != prescribed:
            name = content.exercises[easier_now[0]].name if easier_now[0] in content.exercises else "it"
            return after, f"you go back to the full version of {name}"
    for change in steps:
        after = apply_change(prescribed, change, doses, len(protocol.phases), rooms)
        if after != prescribed:
            return after, _describe_step(change, prescribed, after, content)
    return prescribed, ""


def _describe_step(change: Change, before: DoseState, after: DoseState, content: ContentLike) -> str:
    if change.target == "variant":
        moved = [ex for ex, _ in after.variants if after.variant(ex) != before.variant(ex)]
        moved += [ex for ex, _ in before.variants if after.variant(ex) == 0 and before.variant(ex) != 0]
        names = sorted({content.exercises[ex].name for ex in moved if ex in content.exercises})
        return f"a harder version of {', '.join(names) or 'an exercise'}"
    if change.target == "dose_scale":
        return f"the strengthening work grows to {round(after.dose_scale * 100)}%"
    if change.target == "phase":
        return "the next phase"
    word = {"reps": "reps", "sets": "sets", "hold_s": "seconds of hold", "duration_s": "seconds"}[
        change.target
    ]
    return f"{change.value:g} more {word} where there is room"


def _finishes_programme(rule: ProgressionRule, replay: _Replay, protocol: Protocol) -> bool:
    change = rule.change
    return (
        rule.kind == "progress"
        and change is not None
        and change.target == "phase"
        and change.op == "add"
        and replay.state.phase_index == len(protocol.phases) - 1
        and replay.finished_on is None
    )


def _apply_hurt(
    replay: _Replay,
    content: ContentLike,
    settings: PersonSettings,
    log: SessionLog,
    planned: Sequence[PlannedExercise],
) -> None:
    """An exercise the person marked "this hurt" moves to its easier version from the next session."""
    if not log.hurt:
        return
    hurt = set(log.hurt)
    rooms = _rooms(planned, content, settings, replay.state, None)
    for item in planned:
        if item.exercise_id not in hurt and item.slot_id not in hurt:
            continue
        room = rooms.get(item.slot_id)
        level = replay.state.variant(item.slot_id) - 1
        if room is not None and level >= room.lowest:
            before = replay.state
            replay.state = replay.state.with_variant(item.slot_id, level)
            replay.last_change = log.date + dt.timedelta(days=1)
            easier = content.exercises.get(item.easier_id or "")
            name = easier.name if easier is not None else "its easier version"
            replay.changes.append(
                PlanChange(
                    log.date,
                    "exercise_hurt",
                    "ease",
                    f"{item.name} hurt, so from the next session you do {name} instead. The plan moves "
                    "you back to it once your sessions are easy again.",
                    {
                        "exercise": item.exercise_id,
                        "before": before.to_dict(),
                        "after": replay.state.to_dict(),
                    },
                )
            )
        else:
            replay.changes.append(
                PlanChange(
                    log.date,
                    "exercise_hurt",
                    "hold",
                    f"{item.name} hurt and has no easier version you can do. Do it through a smaller "
                    "range, or leave it out and ask a physiotherapist for an alternative.",
                    {"exercise": item.exercise_id},
                )
            )


def _window_starts(replay: _Replay, protocol: Protocol) -> dict[str, dt.date]:
    """The first log date each rule's window may use.

    * progress and hold rules need sessions done since the dose or phase last changed, so a step up is
      only taken after the new dose has been tried for a full window;
    * a phase rule looks at the whole phase (dose steps inside it do not reset it), or the time since a
      long break;
    * an ease rule looks back past other changes but not past its own last firing, so one flare is not
      counted twice;
    * nothing looks back past a resume after a pause.
    """
    starts: dict[str, dt.date] = {}
    for rule in protocol.rules:
        candidates: list[dt.date | None]
        if rule.kind == "ease":
            fired = replay.rule_fired.get(rule.id)
            candidates = [fired + dt.timedelta(days=1) if fired is not None else None]
        elif rule.change is not None and rule.change.target == "phase":
            candidates = [replay.phase_started, replay.break_start]
        else:
            candidates = [replay.last_change]
        known = [day for day in [*candidates, replay.era_start] if day is not None]
        starts[rule.id] = max(known)
    return starts


def _rule_allowed(
    rule: ProgressionRule,
    replay: _Replay,
    protocol: Protocol,
    content: ContentLike,
    settings: PersonSettings,
    planned: Sequence[PlannedExercise],
    day: dt.date,
) -> bool:
    """Whether a rule may compete today.

    A progress rule that would change nothing (a ceiling reached, no harder version left) stands aside
    so the next one can act. A phase advance waits until the phase has had its minimum weeks of
    sessions, in time and in count; in the last phase it finishes the programme instead. In
    maintenance, nothing progresses.
    """
    if rule.kind == "progress" and replay.finished_on is not None:
        return False
    is_phase = rule.change is not None and rule.change.target == "phase" and rule.kind == "progress"
    if rule.kind == "progress" and not is_phase:
        after, _ = _changed_state(rule, replay.state, planned, content, settings, protocol)
        if after == replay.state:
            return False
    if not is_phase:
        return True
    if replay.state.phase_index == len(protocol.phases) - 1 and protocol.maintenance is None:
        return False
    phase = protocol.phases[replay.state.phase_index]
    needed = sessions_needed(phase, settings)
    if replay.done_in_phase < needed:
        return False
    nominal_end = training_dates(settings, replay.phase_started, count=needed)[-1]
    return day >= nominal_end


def _change_facts(
    protocol: Protocol, change: Change | None, before: DoseState, after: DoseState
) -> dict[str, float | int | str]:
    return {
        "value": abs(change.value) if change is not None else 0,
        "dose_pct": round(after.dose_scale * 100),
        "previous_dose_pct": round(before.dose_scale * 100),
        "phase": protocol.phases[after.phase_index].name,
        "phase_number": after.phase_index + 1,
        "previous_phase": protocol.phases[before.phase_index].name,
    }


# --- breaks -------------------------------------------------------------------------------------------


def _break_ease(protocol: Protocol, state: DoseState) -> Change:
    """The step down after a long break: the protocol's own, else its mildest dose ease, else -10%."""
    if protocol.after_break.ease is not None:
        return protocol.after_break.ease
    candidates = [
        rule.change
        for rule in protocol.rules
        if rule.kind == "ease" and rule.change is not None and rule.change.target == "dose_scale"
    ]
    eases = [
        (apply_change(state, change, {}, len(protocol.phases)).dose_scale, order, change)
        for order, change in enumerate(candidates)
    ]
    lowering = [item for item in eases if item[0] < state.dose_scale]
    if lowering:
        return max(lowering, key=lambda item: (item[0], -item[1]))[2]
    return DEFAULT_BREAK_EASE


def _after_break(
    replay: _Replay,
    protocol: Protocol,
    content: ContentLike,
    settings: PersonSettings,
    day: dt.date,
) -> tuple[DoseState, PlanChange | None]:
    """The state for a session on ``day`` given the time since the last completed session."""
    if replay.last_done is None or replay.last_done_state is None:
        return replay.state, None
    gap = (day - replay.last_done).days
    policy = protocol.after_break
    if gap < policy.hold_after_days:
        return replay.state, None
    capped = replay.state.no_harder_than(replay.last_done_state)
    if gap < policy.ease_after_days:
        text = (
            f"Welcome back after {gap} days. This session stays at the level of your last completed one "
            "instead of stepping up; the plan carries on from where you left off."
        )
        return capped, PlanChange(day, "after_break", "shift", text, {"gap_days": gap})
    ease = _break_ease(protocol, capped)
    doses = _doses(_session(replay, protocol, content, settings, capped))
    eased = apply_change(capped, ease, doses, len(protocol.phases))
    eased = eased.no_harder_than(capped)
    text = (
        f"Welcome back after {gap} days. To let your knee get used to training again, this session is "
        f"one step easier than your last completed one (strengthening at {round(eased.dose_scale * 100)}%)."
    )
    return eased, PlanChange(
        day,
        "after_break",
        "ease",
        text,
        {"gap_days": gap, "before": capped.to_dict(), "after": eased.to_dict()},
    )


# --- return to running --------------------------------------------------------------------------------


def _criteria_missing(replay: _Replay, protocol: Protocol) -> list[str]:
    """What the plan's own criteria for running still lack (empty: they are met)."""
    criteria = protocol.return_to_running
    assert criteria is not None
    missing: list[str] = []
    if criteria.from_phase is not None:
        ids = [phase.id for phase in protocol.phases]
        if criteria.from_phase in ids and replay.state.phase_index < ids.index(criteria.from_phase):
            name = protocol.phases[ids.index(criteria.from_phase)].name
            missing.append(f"Reach the {name} phase.")
    recent = replay.assessed[-criteria.min_good_sessions :]
    good = [
        item
        for item in recent
        if item.settled is True
        and not item.flare
        and item.completed >= criteria.completed_min - 1e-9
        and item.log.pain_during is not None
        and item.log.pain_during <= criteria.pain_max
        and (item.log.pain_after is None or item.log.pain_after <= criteria.pain_max)
    ]
    if len(recent) < criteria.min_good_sessions or len(good) < len(recent):
        missing.append(
            f"Do {criteria.min_good_sessions} sessions in a row with pain at {criteria.pain_max}/10 or less, "
            "your knee settled each next morning and the strengthening done."
        )
    return missing


def _check_passed(replay: _Replay, protocol: Protocol, since: dt.date) -> RunCheck | None:
    criteria = protocol.return_to_running
    assert criteria is not None
    earliest = since - dt.timedelta(days=criteria.check.valid_days_before)
    for check in reversed(replay.checks):
        if check.date < earliest or check.date < replay.era_start:
            return None
        if check.walk_pain <= criteria.check.walk_pain_max and check.hop_pain <= criteria.check.hop_pain_max:
            return check
        return None  # the latest check failed: a new one is needed
    return None


def _update_running(replay: _Replay, protocol: Protocol, day: dt.date) -> None:
    criteria = protocol.return_to_running
    running = replay.running
    if criteria is None or not running.available or running.open:
        return
    missing = _criteria_missing(replay, protocol)
    if missing:
        replay.running = replace(running, status="closed", missing=tuple(missing), criteria_met_on=None)
        return
    met_on = running.criteria_met_on or day
    replay.running = replace(running, criteria_met_on=met_on)
    _maybe_open_running(replay, protocol, day)


def _maybe_open_running(replay: _Replay, protocol: Protocol, day: dt.date) -> None:
    criteria = protocol.return_to_running
    running = replay.running
    if criteria is None or running.open or running.criteria_met_on is None:
        return
    check = _check_passed(replay, protocol, running.criteria_met_on)
    if check is None or check.date > day:
        replay.running = replace(
            running,
            status="check_needed",
            missing=(
                f"Do the readiness check: walk briskly for {criteria.check.walk_minutes} minutes and hop "
                f"{criteria.check.hops} times on the sore leg, and note the pain of each (the running "
                f"check: Today on the web, or `kneefix log run-check`); both must be "
                f"{criteria.check.walk_pain_max}/10 or less.",
            ),
        )
        return
    stage = criteria.stages[0]
    opened = max(day, check.date)
    replay.running = replace(
        running, open=True, opened_on=opened, stage=stage, next_run_from=opened, status="open", missing=()
    )
    replay.changes.append(
        PlanChange(
            opened,
            "return_to_running",
            "running",
            f"Your last {criteria.min_good_sessions} sessions went well and your readiness check passed, so "
            f"return to running is open. Start with stage 1: {describe_stage(stage)}, on level ground.",
            {"stage": stage.stage},
        )
    )


def _replay_run(replay: _Replay, protocol: Protocol, log: SessionLog) -> None:
    criteria = protocol.return_to_running
    if replay.running.available and not replay.running.open and replay.paused_reason is None:
        _maybe_open_running(replay, protocol, log.date)  # a check answered since the last session
    model = protocol.pain_model
    reference = reference_pain(replay.baseline, replay.mornings, model)
    item = assess(log, reference, model)
    replay.all_logs.append(log)
    if log.next_morning_pain is not None:
        replay.mornings.append(log.next_morning_pain)
        replay.rated.append((log.date, log.next_morning_pain))
    running = replay.running
    replay.history.append(LoggedSession(log, replay.state, None, item.settled, item.flare, reference))
    if criteria is None or not running.open or running.finished or running.stage is None:
        return
    if replay.paused_reason is not None:
        return
    next_run = log.date + dt.timedelta(days=criteria.rest_days_between_runs + 1)
    stages = criteria.stages
    index = stages.index(running.stage)
    good_max = criteria.run_pain_good_max
    good = (
        item.settled is True
        and not item.flare
        and log.pain_during is not None
        and log.pain_during <= good_max
        and (log.pain_after is None or log.pain_after <= good_max)
    )
    if good:
        count = running.good_runs_at_stage + 1
        if count < running.stage.repeats_at_least:
            replay.running = replace(running, good_runs_at_stage=count, next_run_from=next_run)
            return
        if index + 1 == len(stages):
            replay.running = replace(
                running, finished=True, good_runs_at_stage=count, next_run_from=next_run, status="finished"
            )
            text = "You have completed every return-to-running stage. Keep building gradually."
        else:
            stage = stages[index + 1]
            replay.running = replace(running, stage=stage, good_runs_at_stage=0, next_run_from=next_run)
            text = (
                f"{count} good runs at stage {running.stage.stage}, so move on to stage {stage.stage}: "
                f"{describe_stage(stage)}."
            )
        replay.changes.append(PlanChange(log.date, "running_stage", "running", text, {"good_runs": count}))
        return
    if not item.flare:  # pain 4-5, or no next-morning rating yet: repeat the stage
        replay.running = replace(running, next_run_from=next_run)
        why = (
            "rate the next morning's pain after each run"
            if item.settled is None
            else f"pain above {good_max}/10 means repeating the stage"
        )
        replay.changes.append(
            PlanChange(
                log.date,
                "running_repeat",
                "running",
                f"That run does not count towards stage {running.stage.stage} yet ({why}); repeat it.",
                {"stage": running.stage.stage},
            )
        )
        return
    stage = stages[max(index - 1, 0)]
    replay.running = replace(running, stage=stage, good_runs_at_stage=0, next_run_from=next_run)
    reason = (
        "your knee had not settled by the next morning"
        if item.settled is False
        else f"pain went above {model.ceiling}/10"
    )
    text = (
        f"Your last run did not go well ({reason}), so the next runs are at stage {stage.stage}: "
        f"{describe_stage(stage)}. Rest at least {criteria.rest_days_between_runs} day(s) between runs."
    )
    replay.changes.append(PlanChange(log.date, "running_stage", "running", text, {"stage": stage.stage}))


def _running_today(replay: _Replay, protocol: Protocol, status: str) -> RunningState:
    """The running state as shown today: paused with the plan, held after a flare."""
    running = replay.running
    if not running.available:
        return running
    if status == "paused":
        return replace(running, status="paused")
    if running.open and not running.finished and replay.assessed and replay.assessed[-1].flare:
        return replace(running, status="held")
    if running.open and not running.finished:
        return replace(running, status="open")
    if not running.open and running.criteria_met_on is not None:
        check = _check_passed(replay, protocol, running.criteria_met_on)
        if check is not None:  # a check logged after the last session opens the ladder today
            _maybe_open_running(replay, protocol, check.date)
            return replay.running
    return running


def _first_run_day(logs: Sequence[SessionLog], today: dt.date) -> dt.date:
    """Today, or tomorrow once today's run is logged."""
    ran_today = any(log.date == today and log.is_run for log in logs)
    return today + dt.timedelta(days=1) if ran_today else today


def _forecast_runs(protocol: Protocol, running: RunningState, first_day: dt.date) -> tuple[PlannedRun, ...]:
    """The next runs of the ladder, at least one rest day apart, from the current stage on."""
    criteria = protocol.return_to_running
    if criteria is None or not running.open or running.finished or running.stage is None:
        return ()
    if running.status == "held":
        return ()
    day = max(first_day, running.next_run_from or first_day)
    runs: list[PlannedRun] = []
    stages = criteria.stages
    start = stages.index(running.stage)
    for index in range(start, len(stages)):
        stage = stages[index]
        repeats = stage.repeats_at_least - (running.good_runs_at_stage if index == start else 0)
        for _ in range(max(repeats, 0)):
            runs.append(PlannedRun(day, stage.stage, describe_stage(stage)))
            day += dt.timedelta(days=criteria.rest_days_between_runs + 1)
    return tuple(runs)


def planned_dates_to(settings: PersonSettings, today: dt.date) -> list[dt.date]:
    """Training days from the start date up to and including ``today``."""
    if today < settings.start_date:
        return []
    return training_dates(settings, settings.start_date, end=today)


def is_planned_day(settings: PersonSettings, day: dt.date) -> bool:
    return day >= settings.start_date and is_training_day(settings, day)
