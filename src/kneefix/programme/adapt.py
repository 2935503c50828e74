"""Replay a person's logs through the protocol's rules to find where their programme stands today.

The plan is not a fixed calendar: it is the protocol's sequence of sessions, started at the person's
pace. Replaying the logs in date order gives, at every session, the dose that was prescribed and the
rule it earned, so the result is the same whenever it is recomputed from the same logs.

* **Missed sessions shift the plan.** Nothing is stacked onto later days; the next session is simply
  the next one in the sequence, on the next training day.
* **Breaks never jump the dose.** After ``after_break.hold_after_days`` (7) without a completed session
  the dose is no higher than at the last completed one; after ``ease_after_days`` (14) it steps down.
* **Phases need time and evidence.** A phase advances only when its advance rule fires *and* the
  person has done ``min_weeks`` worth of sessions in it, no sooner than the calendar allows.
* **Return to running** opens once the protocol's good-session criteria hold (for people who run);
  each stage advances after ``repeats_at_least`` good runs and steps back after a painful one.

A run is logged as a :class:`SessionLog` whose ``exercises_done`` contains :data:`RUN_ENTRY`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from typing import Protocol as TypingProtocol

from kneefix.content.schemas import Change, Dose, Equipment, Exercise, ProgressionRule, Protocol, RunStage
from kneefix.programme.jsonable import to_jsonable
from kneefix.programme.planner import (
    Plan,
    PlannedSession,
    build_plan,
    is_training_day,
    session_content,
    sessions_needed,
    training_dates,
    validate_settings,
)
from kneefix.programme.progression import (
    DoseState,
    apply_change,
    evaluate_rules,
    fill_explanation,
    next_morning_worse,
)
from kneefix.programme.records import PersonSettings, PlanChange, SessionLog

RUN_ENTRY = "run"
"""Put this in ``SessionLog.exercises_done`` to log a return-to-running run instead of a session."""

DONE_FRACTION = 0.5
"""A session counts as done (for breaks, phase length and adherence) when at least half was done."""

DEFAULT_BREAK_EASE = Change(target="dose_scale", op="percent", value=-10, floor=0.5)


class ContentLike(TypingProtocol):
    """What adapt needs from ``kneefix.content.loader.Content``."""

    @property
    def exercises(self) -> Mapping[str, Exercise]: ...

    @property
    def equipment(self) -> Mapping[str, Equipment]: ...


def is_run(log: SessionLog) -> bool:
    return RUN_ENTRY in log.exercises_done


def is_done(log: SessionLog) -> bool:
    return log.completed >= DONE_FRACTION


@dataclass(frozen=True)
class LoggedSession:
    """A logged training session with the dose that was prescribed for it and the rule it earned."""

    log: SessionLog
    state: DoseState
    rule_id: str | None = None


@dataclass(frozen=True)
class RunningState:
    """Where return to running stands. ``available`` is False for non-runners or protocols without it."""

    available: bool
    open: bool = False
    opened_on: dt.date | None = None
    stage: RunStage | None = None
    good_runs_at_stage: int = 0
    finished: bool = False
    next_run_from: dt.date | None = None

    @property
    def summary(self) -> str:
        if not self.available:
            return "Return to running is not part of this plan."
        if not self.open:
            return "Return to running opens once your sessions have gone well for a while."
        if self.finished or self.stage is None:
            return "You have completed the return-to-running stages."
        return f"Running stage {self.stage.stage}: {describe_stage(self.stage)}."


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
    next_session: PlannedSession
    plan: Plan  # from the next session to the end of the programme, shifted by any missed sessions
    running: RunningState
    history: tuple[LoggedSession, ...]
    last_done: dt.date | None
    kujala_every_weeks: int
    phase_count: int
    notes: tuple[str, ...] = field(default=())

    @property
    def programme_complete(self) -> bool:
        """The last phase has had its minimum number of sessions."""
        return (
            self.phase_index == self.phase_count - 1 and self.done_in_phase >= self.sessions_needed_in_phase
        )

    @property
    def next_session_is_today(self) -> bool:
        return self.next_session.date == self.today

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = to_jsonable(self)
        result["next_session"] = self.next_session.to_dict()
        result["plan"] = self.plan.to_dict()
        result["programme_complete"] = self.programme_complete
        result["running"]["summary"] = self.running.summary
        return result


@dataclass
class _Replay:
    """Mutable bookkeeping while the logs are replayed; never leaves this module."""

    state: DoseState = field(default_factory=DoseState)
    phase_started: dt.date = dt.date.min
    done_in_phase: int = 0
    last_change: dt.date | None = None  # the day after the dose or phase last changed
    break_start: dt.date | None = None  # the first session after the latest long break
    rule_fired: dict[str, dt.date] = field(default_factory=dict)
    doses: dict[DoseState, Mapping[str, Dose]] = field(default_factory=dict)
    last_done: dt.date | None = None
    last_done_state: DoseState | None = None
    strength_logs: list[SessionLog] = field(default_factory=list)
    history: list[LoggedSession] = field(default_factory=list)
    changes: list[PlanChange] = field(default_factory=list)
    running: RunningState = field(default_factory=lambda: RunningState(available=False))
    last_morning: int | None = None
    baseline_pain: int | None = None


def current_state(
    protocol: Protocol,
    content: ContentLike,
    settings: PersonSettings,
    logs: Sequence[SessionLog],
    today: dt.date,
    baseline_pain: int | None = None,
    phase_overrides: Sequence[tuple[dt.date, int]] = (),
) -> PlanState:
    """Replay ``logs`` (any order; those after ``today`` are ignored) and describe today's position.

    ``baseline_pain`` is the screening pain (0-10), the reference for the first next-morning check.
    ``phase_overrides`` are ``(start, phase_index)`` moves a clinician made: from ``start`` the person
    is in that phase at its base dose, and the rules carry on from there.
    """
    validate_settings(settings)
    ordered = sorted(
        (log for log in logs if log.date <= today),
        key=lambda log: (log.date, log.id if log.id is not None else -1),
    )
    replay = _Replay(
        phase_started=settings.start_date, last_morning=baseline_pain, baseline_pain=baseline_pain
    )
    replay.running = RunningState(available=settings.runs and protocol.return_to_running is not None)
    pending_overrides = sorted(phase_overrides)
    for log in ordered:
        pending_overrides = _apply_phase_overrides(replay, pending_overrides, log.date, len(protocol.phases))
        if is_run(log):
            _replay_run(replay, protocol, log)
        else:
            _replay_session(replay, protocol, content, settings, log)
        if log.next_morning_pain is not None:
            replay.last_morning = log.next_morning_pain

    _apply_phase_overrides(replay, pending_overrides, today, len(protocol.phases))
    logged_today = any(log.date == today and not is_run(log) for log in ordered)
    first_day = today + dt.timedelta(days=1) if logged_today else today
    first_day = max(first_day, settings.start_date)
    next_day = training_dates(settings, first_day, count=1)[0]
    projected, break_change = _after_break(replay, protocol, content, settings, next_day)
    changes = list(replay.changes)
    if break_change is not None:
        changes.append(replace(break_change, date=today, details={**break_change.details, "projected": True}))
    plan = build_plan(
        protocol,
        content.exercises,
        settings,
        content.equipment,
        state=projected,
        start=next_day,
        done_in_phase=replay.done_in_phase,
    )
    phase = protocol.phases[projected.phase_index]
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
        next_session=plan.sessions[0],
        plan=plan,
        running=replay.running,
        history=tuple(replay.history),
        last_done=replay.last_done,
        kujala_every_weeks=protocol.kujala_every_weeks,
        phase_count=len(protocol.phases),
        notes=plan.notes,
    )


def _apply_phase_overrides(
    replay: _Replay, overrides: list[tuple[dt.date, int]], up_to: dt.date, phase_count: int
) -> list[tuple[dt.date, int]]:
    """Apply the clinician's phase moves that start on or before ``up_to``; return the rest."""
    while overrides and overrides[0][0] <= up_to:
        start, index = overrides.pop(0)
        moved = DoseState(phase_index=min(max(index, 0), phase_count - 1))
        replay.state = moved
        replay.phase_started = start
        replay.done_in_phase = 0
        replay.last_change = start
        if replay.last_done_state is not None:  # a later break is measured against the new phase
            replay.last_done_state = moved
    return overrides


def _replay_session(
    replay: _Replay,
    protocol: Protocol,
    content: ContentLike,
    settings: PersonSettings,
    log: SessionLog,
) -> None:
    if is_done(log):
        prescribed, break_change = _after_break(replay, protocol, content, settings, log.date)
        if break_change is not None:
            replay.changes.append(break_change)
            replay.state = prescribed
            replay.last_change = replay.break_start = log.date
    prescribed = replay.state
    replay.strength_logs.append(log)
    if is_done(log):
        replay.done_in_phase += 1
        replay.last_done = log.date
        replay.last_done_state = prescribed

    doses = _doses(replay, protocol, content, settings, prescribed)
    rules = [
        rule for rule in protocol.rules if _rule_allowed(rule, replay, protocol, settings, doses, log.date)
    ]
    recent, reference = _recent(replay, max((rule.when.window_sessions for rule in rules), default=1))
    outcome = evaluate_rules(
        rules,
        recent,
        log.date,
        baseline_pain=reference,
        rule_window_starts=_window_starts(replay, protocol),
    )
    rule = outcome.rule
    if rule is not None:
        replay.rule_fired[rule.id] = log.date
    replay.history.append(LoggedSession(log, prescribed, rule.id if rule is not None else None))
    if rule is not None and rule.change is not None:
        after = apply_change(prescribed, rule.change, doses, len(protocol.phases))
        if after != prescribed or rule.kind == "ease":
            replay.state = after
            replay.last_change = log.date + dt.timedelta(days=1)
            if after.phase_index != prescribed.phase_index:
                replay.phase_started = log.date + dt.timedelta(days=1)
                replay.done_in_phase = 0
            facts = {**outcome.facts, **_change_facts(protocol, rule.change, prescribed, after)}
            kind = "phase" if rule.change.target == "phase" else rule.kind
            replay.changes.append(
                PlanChange(
                    date=log.date,
                    rule_id=rule.id,
                    kind=kind,
                    explanation=fill_explanation(rule.explain, facts),
                    details={"before": prescribed.to_dict(), "after": after.to_dict(), "facts": facts},
                )
            )
    elif rule is not None and rule.kind == "ease":
        replay.changes.append(
            PlanChange(log.date, rule.id, "ease", fill_explanation(rule.explain, outcome.facts), {})
        )
    _maybe_open_running(replay, protocol, log.date)


def _doses(
    replay: _Replay, protocol: Protocol, content: ContentLike, settings: PersonSettings, state: DoseState
) -> Mapping[str, Dose]:
    """Exercise id -> prescribed dose of a session in ``state`` (cached: states repeat a lot)."""
    if state not in replay.doses:
        planned, _ = session_content(protocol, content.exercises, settings, state, content.equipment)
        replay.doses[state] = {item.exercise_id: item.dose for item in planned}
    return replay.doses[state]


def _recent(replay: _Replay, count: int) -> tuple[list[SessionLog], int | None]:
    """The last ``count`` training logs and the next-morning pain they are compared with first.

    Passing only a window's worth of logs keeps a long history's replay linear; the reference carries
    the comparison across the cut exactly as the full history would.
    """
    logs = replay.strength_logs
    cut = max(len(logs) - count, 0)
    reference = replay.baseline_pain
    for earlier in reversed(logs[:cut]):
        if earlier.next_morning_pain is not None:
            reference = earlier.next_morning_pain
            break
    return logs[cut:], reference


def _window_starts(replay: _Replay, protocol: Protocol) -> dict[str, dt.date]:
    """The first log date each rule's window may use.

    * progress and hold rules need sessions done since the dose or phase last changed, so a step up is
      only taken after the new dose has been tried for a full window;
    * a phase rule looks at the whole phase (dose steps inside it do not reset it), or the time since a
      long break;
    * an ease rule looks back past other changes but not past its own last firing, so one flare is not
      counted twice.
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
        known = [day for day in candidates if day is not None]
        if known:
            starts[rule.id] = max(known)
    return starts


def _is_phase_advance(rule: ProgressionRule, state: DoseState, phase_count: int) -> bool:
    change = rule.change
    if change is None or change.target != "phase":
        return False
    moved = apply_change(state, change, {}, phase_count)
    return moved.phase_index > state.phase_index


def _rule_allowed(
    rule: ProgressionRule,
    replay: _Replay,
    protocol: Protocol,
    settings: PersonSettings,
    doses: Mapping[str, Dose],
    day: dt.date,
) -> bool:
    """Whether a rule may compete today.

    A progress rule that would change nothing (a ceiling reached, the last phase) stands aside so the
    next one can act: once reps top out, the overall dose takes over. A phase advance waits until the
    phase has had its minimum weeks of sessions, in time and in count.
    """
    changed = rule.change is not None and apply_change(replay.state, rule.change, doses, len(protocol.phases))
    if rule.kind == "progress" and changed == replay.state:
        return False
    if not _is_phase_advance(rule, replay.state, len(protocol.phases)):
        return True
    phase = protocol.phases[replay.state.phase_index]
    needed = sessions_needed(phase, settings)
    if replay.done_in_phase < needed:
        return False
    nominal_end = training_dates(settings, replay.phase_started, count=needed)[-1]
    return day >= nominal_end


def _change_facts(
    protocol: Protocol, change: Change, before: DoseState, after: DoseState
) -> dict[str, float | int | str]:
    facts: dict[str, float | int | str] = {
        "value": abs(change.value),
        "dose_pct": round(after.dose_scale * 100),
        "previous_dose_pct": round(before.dose_scale * 100),
        "phase": protocol.phases[after.phase_index].name,
        "phase_number": after.phase_index + 1,
        "previous_phase": protocol.phases[before.phase_index].name,
    }
    return facts


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
    doses = _doses(replay, protocol, content, settings, capped)
    eased = apply_change(capped, ease, doses, len(protocol.phases))
    eased = eased.no_harder_than(capped)
    text = (
        f"Welcome back after {gap} days. To let your knee get used to training again, this session is "
        f"one step easier than your last completed one (dose {round(eased.dose_scale * 100)}%)."
    )
    return eased, PlanChange(
        day,
        "after_break",
        "ease",
        text,
        {"gap_days": gap, "before": capped.to_dict(), "after": eased.to_dict()},
    )


def _good_for_running(log: SessionLog, worse: bool | None, pain_max: int, completed_min: float) -> bool:
    return (
        log.completed >= completed_min
        and log.pain_during is not None
        and log.pain_during <= pain_max
        and (log.pain_after is None or log.pain_after <= pain_max)
        and worse is False
    )


def _maybe_open_running(replay: _Replay, protocol: Protocol, day: dt.date) -> None:
    criteria = protocol.return_to_running
    if criteria is None or not replay.running.available or replay.running.open:
        return
    if criteria.from_phase is not None:
        ids = [phase.id for phase in protocol.phases]
        if criteria.from_phase in ids and replay.state.phase_index < ids.index(criteria.from_phase):
            return
    recent, reference = _recent(replay, criteria.min_good_sessions)
    if len(recent) < criteria.min_good_sessions:
        return
    flags = next_morning_worse(recent, reference)
    if not all(
        _good_for_running(log, worse, criteria.pain_max, criteria.completed_min)
        for log, worse in zip(recent, flags, strict=True)
    ):
        return
    stage = criteria.stages[0]
    replay.running = replace(replay.running, open=True, opened_on=day, stage=stage, next_run_from=day)
    replay.changes.append(
        PlanChange(
            day,
            "return_to_running",
            "running",
            f"Your last {criteria.min_good_sessions} sessions went well, so return to running is open. "
            f"Start with stage 1: {describe_stage(stage)}, on level ground.",
            {"stage": stage.stage},
        )
    )


def _replay_run(replay: _Replay, protocol: Protocol, log: SessionLog) -> None:
    criteria = protocol.return_to_running
    running = replay.running
    if criteria is None or not running.open or running.finished or running.stage is None:
        return
    worse = (
        None
        if log.next_morning_pain is None or replay.last_morning is None
        else (log.next_morning_pain > replay.last_morning)
    )
    next_run = log.date + dt.timedelta(days=criteria.rest_days_between_runs + 1)
    stages = criteria.stages
    index = stages.index(running.stage)
    if _good_for_running(log, worse, criteria.pain_max, criteria.completed_min):
        good = running.good_runs_at_stage + 1
        if good < running.stage.repeats_at_least:
            replay.running = replace(running, good_runs_at_stage=good, next_run_from=next_run)
            return
        if index + 1 == len(stages):
            replay.running = replace(running, finished=True, good_runs_at_stage=good, next_run_from=next_run)
            text = "You have completed every return-to-running stage. Keep building gradually."
        else:
            stage = stages[index + 1]
            replay.running = replace(running, stage=stage, good_runs_at_stage=0, next_run_from=next_run)
            text = (
                f"{good} good runs at stage {running.stage.stage}, so move on to stage {stage.stage}: "
                f"{describe_stage(stage)}."
            )
        replay.changes.append(PlanChange(log.date, "running_stage", "running", text, {"good_runs": good}))
        return
    stage = stages[max(index - 1, 0)]
    replay.running = replace(running, stage=stage, good_runs_at_stage=0, next_run_from=next_run)
    reason = (
        "your knee was worse the next morning"
        if worse
        else f"pain went above {criteria.pain_max}/10 or the run was cut short"
    )
    text = (
        f"Your last run did not go well ({reason}), so the next runs are at stage {stage.stage}: "
        f"{describe_stage(stage)}. Rest at least {criteria.rest_days_between_runs} day(s) between runs."
    )
    replay.changes.append(PlanChange(log.date, "running_stage", "running", text, {"stage": stage.stage}))


def planned_dates_to(settings: PersonSettings, today: dt.date) -> list[dt.date]:
    """Training days from the start date up to and including ``today``."""
    if today < settings.start_date:
        return []
    return training_dates(settings, settings.start_date, end=today)


def is_planned_day(settings: PersonSettings, day: dt.date) -> bool:
    return day >= settings.start_date and is_training_day(settings, day)
