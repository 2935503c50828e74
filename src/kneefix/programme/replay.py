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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from typing import Protocol as TypingProtocol

from kneefix.content.schemas import (
    Change,
    Dose,
    Equipment,
    Exercise,
    ProgressionRule,
    Protocol,
    StartingPoint,
)
from kneefix.jsonvalues import record_fields
from kneefix.programme.planner import (
    Plan,
    PlannedExercise,
    PlannedSession,
    available_equipment,
    build_plan,
    is_training_day,
    session_content,
    sessions_needed,
    training_dates,
    validate_settings,
    variant_chain,
)
from kneefix.programme.progression import (
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
    PersonSettings,
    PlanChange,
    ReviewEvent,
    RunCheck,
    ScoreRecord,
    SessionLog,
)
from kneefix.programme.replay_state import (
    DONE_FRACTION,
    LoggedSession,
    Replay,
    RunningState,
    describe_stage,
    is_done,
)
from kneefix.programme.review import check_pause, replay_event, weekly_means
from kneefix.programme.running import (
    criteria_missing,
    first_run_day,
    forecast_runs,
    replay_run,
    running_today,
    update_running,
)

__all__ = [
    "DONE_FRACTION",
    "LoggedSession",
    "PlanState",
    "RunningState",
    "current_state",
    "describe_stage",
    "is_done",
    "is_planned_day",
    "planned_dates_to",
    "starting_state",
]


DEFAULT_BREAK_EASE = Change(target="dose_scale", op="percent", value=-10, floor=0.5)
SEVERITIES = ("mild", "moderate", "severe")
HOLD_REMINDER_DAYS = 14
"""The same hold is listed once while it lasts, and again after this many days as a reminder."""


class ContentLike(TypingProtocol):
    """What the replay needs from ``kneefix.content.loader.Content``."""

    @property
    def exercises(self) -> Mapping[str, Exercise]: ...

    @property
    def equipment(self) -> Mapping[str, Equipment]: ...


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
        result: dict[str, Any] = record_fields(self)
        result["next_session"] = self.next_session.to_dict() if self.next_session is not None else None
        result["plan"] = self.plan.to_dict()
        result["programme_complete"] = self.programme_complete
        result["running"]["summary"] = self.running.summary
        return result


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
    replay = Replay(
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
        replay.running = replace(replay.running, missing=tuple(criteria_missing(replay, protocol)))
    timeline = _timeline(logs, events, today)
    pending_overrides = sorted(phase_overrides)
    for day, item in timeline:
        pending_overrides = _apply_phase_overrides(replay, pending_overrides, day, len(protocol.phases))
        if isinstance(item, ReviewEvent):
            replay_event(replay, item)
            continue
        check_pause(replay, protocol, settings, day)
        if item.is_run:
            replay_run(replay, protocol, item)
        else:
            _replay_session(replay, protocol, content, settings, item)
        check_pause(replay, protocol, settings, day)

    _apply_phase_overrides(replay, pending_overrides, today, len(protocol.phases))
    check_pause(replay, protocol, settings, today)
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
    replay: Replay,
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
    running = running_today(replay, protocol, status)
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
        runs=forecast_runs(protocol, running, first_run_day(logs, today)) if status != "paused" else (),
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


def _status_note(replay: Replay, protocol: Protocol) -> str | None:
    if replay.paused_reason:
        return f"Your plan is paused: {replay.paused_reason}"
    if replay.finished_on and protocol.maintenance is not None:
        return protocol.maintenance.explain
    return None


# --- sessions ---------------------------------------------------------------------------------------


def _apply_phase_overrides(
    replay: Replay, overrides: list[tuple[dt.date, int]], up_to: dt.date, phase_count: int
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
    replay: Replay, protocol: Protocol, content: ContentLike, settings: PersonSettings, state: DoseState
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
    ceiling: float | None,
    *,
    every_step: bool = False,
) -> dict[str, VariantRoom]:
    """How far each load-bearing exercise can move between versions; harder only at the reps ceiling.

    ``every_step`` includes rolling and stretching too: the rules never make those harder, but one
    that hurt moves to its easier version (the Today page promises it) and later comes back.
    """
    available = available_equipment(settings, content.equipment)
    rooms: dict[str, VariantRoom] = {}
    for item in planned:
        if not (item.load_bearing or every_step) or item.slot_id not in content.exercises:
            continue
        easier, harder = variant_chain(content.exercises[item.slot_id], content.exercises, available)
        reps = item.dose.reps
        ready = ceiling is None or reps is None or reps >= ceiling
        rooms[item.slot_id] = VariantRoom(lowest=-len(easier), highest=len(harder), ready_for_harder=ready)
    return rooms


def _weekly_not_rising(replay: Replay, protocol: Protocol, day: dt.date) -> bool:
    model = protocol.pain_model
    means = weekly_means(
        ((d, float(v)) for d, v in replay.rated if d <= day), replay.era_start, day, model.week_min_ratings
    )
    known = [value for value in means if value is not None]
    return len(known) < 2 or known[-1] < known[-2] + model.rising_step


def _replay_session(
    replay: Replay,
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
    update_running(replay, protocol, log.date)


def _apply_rules(
    replay: Replay,
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
    rooms = _rooms(planned, content, settings, reps_ceiling)
    steps = [rule.change, *(rule.then if rule.kind == "progress" else [])]
    back = [step for step in steps if step.target == "variant" and step.op == "harder"]
    every = _rooms(planned, content, settings, None, every_step=True)
    easier_now = sorted(slot for slot in every if prescribed.variant(slot) < 0)
    if back and easier_now:
        ready = {slot: replace(room, ready_for_harder=True) for slot, room in every.items()}
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
        slots = {ex for ex, _ in (*before.variants, *after.variants)}
        moved = [ex for ex in slots if after.variant(ex) != before.variant(ex)]
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


def _finishes_programme(rule: ProgressionRule, replay: Replay, protocol: Protocol) -> bool:
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
    replay: Replay,
    content: ContentLike,
    settings: PersonSettings,
    log: SessionLog,
    planned: Sequence[PlannedExercise],
) -> None:
    """An exercise the person marked "this hurt" moves to its easier version from the next session."""
    if not log.hurt:
        return
    hurt = set(log.hurt)
    rooms = _rooms(planned, content, settings, None, every_step=True)
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


def _window_starts(replay: Replay, protocol: Protocol) -> dict[str, dt.date]:
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
    replay: Replay,
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
    replay: Replay,
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


def planned_dates_to(settings: PersonSettings, today: dt.date) -> list[dt.date]:
    """Training days from the start date up to and including ``today``."""
    if today < settings.start_date:
        return []
    return training_dates(settings, settings.start_date, end=today)


def is_planned_day(settings: PersonSettings, day: dt.date) -> bool:
    return day >= settings.start_date and is_training_day(settings, day)
