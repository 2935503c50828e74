"""The progression rule engine: which rule the last logged sessions earn, and what it does to the dose.

Modelled on wger's progression: a rule looks at a window of the most recent logged sessions and fires
only when that window qualifies (``every`` session meets every criterion, or at least a ``fraction`` of
them do). Safety comes first, following the pain-monitoring model (clinical.md §3, docs/progression.md):

* each session is first *assessed* against the person's baseline: its next morning is "settled" when
  the pain is within baseline + tolerance and at most the ceiling; a "flare" is pain above the ceiling
  or a morning that did not settle; a session without a next-morning rating is "unrated";
* an ``ease`` rule beats a ``progress`` rule whenever both fire; otherwise the highest priority wins;
* a progress rule never counts an unrated, unsettled or "this hurt" session, and never fires straight
  after a flare, whatever its condition says.

Pure logic: no I/O, no clock. ``today`` is passed in.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from kneefix.content.schemas import (
    PLACEHOLDER,
    Change,
    Condition,
    Dose,
    PainModel,
    ProgressionRule,
)
from kneefix.jsonvalues import record_fields
from kneefix.programme.records import SessionLog

DoseField = Literal["sets", "reps", "hold_s", "duration_s"]
DOSE_FIELDS: tuple[DoseField, ...] = ("sets", "reps", "hold_s", "duration_s")

# The limits of content/schemas.py's Dose: a changed dose must still be a valid Dose.
DOSE_LIMITS: Mapping[str, tuple[int, int]] = {
    "sets": (1, 10),
    "reps": (1, 50),
    "hold_s": (1, 600),
    "duration_s": (5, 900),
}
DOSE_SCALE_LIMITS = (0.1, 3.0)

_KIND_RANK = {"ease": 0, "hold": 1, "progress": 2}


@dataclass(frozen=True)
class DoseState:
    """Where the person stands: phase, overall dose factor and per-exercise adjustments.

    ``deltas`` holds ``(exercise_id, field, amount)`` triples, sorted, so two equal states compare and
    hash equal and the plan stays deterministic. A delta is added after the phase's and the person's
    ``dose_scale`` have scaled the exercise's base dose.
    """

    phase_index: int = 0
    dose_scale: float = 1.0
    deltas: tuple[tuple[str, str, int], ...] = ()
    variants: tuple[tuple[str, int], ...] = ()  # (exercise id the plan asks for, steps: -1 easier, +1 harder)

    def variant(self, exercise_id: str) -> int:
        return sum(level for ex, level in self.variants if ex == exercise_id)

    def with_variant(self, exercise_id: str, level: int) -> DoseState:
        """Move one exercise along its easier/harder chain; its own adjustments start afresh."""
        kept = [v for v in self.variants if v[0] != exercise_id]
        if level:
            kept.append((exercise_id, level))
        deltas = tuple(d for d in self.deltas if d[0] != exercise_id)
        return replace(self, variants=tuple(sorted(kept)), deltas=deltas)

    def delta(self, exercise_id: str, field: str) -> int:
        return sum(amount for ex, fld, amount in self.deltas if ex == exercise_id and fld == field)

    def with_delta(self, exercise_id: str, field: str, amount: int) -> DoseState:
        kept = [d for d in self.deltas if not (d[0] == exercise_id and d[1] == field)]
        if amount:
            kept.append((exercise_id, field, amount))
        return replace(self, deltas=tuple(sorted(kept)))

    def no_harder_than(self, other: DoseState) -> DoseState:
        """The easier of the two states, used after a break so the dose never steps above ``other``.

        A lower phase is easier as a whole; within one phase each number is the smaller of the two.
        """
        if self.phase_index != other.phase_index:
            return self if self.phase_index < other.phase_index else other
        keys = {(ex, fld) for ex, fld, _ in self.deltas} | {(ex, fld) for ex, fld, _ in other.deltas}
        merged = DoseState(self.phase_index, min(self.dose_scale, other.dose_scale))
        for ex, fld in sorted(keys):
            merged = merged.with_delta(ex, fld, min(self.delta(ex, fld), other.delta(ex, fld)))
        for ex in sorted({ex for ex, _ in self.variants} | {ex for ex, _ in other.variants}):
            merged = merged.with_variant(ex, min(self.variant(ex), other.variant(ex)))
        return merged

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = record_fields(self)
        return result


@dataclass(frozen=True)
class RuleOutcome:
    """The rule the window earned (``rule`` is None when none fired) and the numbers behind it."""

    rule: ProgressionRule | None
    fired: tuple[str, ...]
    window: tuple[SessionLog, ...]
    facts: Mapping[str, float | int]

    @property
    def kind(self) -> str | None:
        return self.rule.kind if self.rule is not None else None

    def explanation(self) -> str:
        """The rule's plain-words text with its ``{placeholders}`` filled from the window's numbers."""
        return fill_explanation(self.rule.explain, self.facts) if self.rule is not None else ""

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = record_fields(self)
        return result


@dataclass(frozen=True)
class Assessment:
    """One logged session judged against the person's baseline (docs/progression.md §1).

    ``settled`` is None when the next morning was not rated. ``completed`` is the share of the
    strengthening work done (optional steps excluded), which is what completion criteria look at.
    """

    log: SessionLog
    reference: int | None
    settled: bool | None
    flare: bool
    completed: float

    @property
    def rated(self) -> bool:
        return self.log.next_morning_pain is not None


def reference_pain(baseline: int | None, earlier_mornings: Sequence[int], model: PainModel) -> int | None:
    """The pain a next morning is compared with: the baseline, or lower once recent mornings are lower.

    The rolling part is the median of the last ``reference_sessions`` rated mornings; it can only pull
    the reference down, so pain that creeps up is never taken as the new normal.
    """
    recent = list(earlier_mornings[-model.reference_sessions :])
    if baseline is None:
        return recent[0] if recent else None
    if len(recent) < model.reference_sessions:
        return baseline
    rolling = sorted(recent)[(len(recent) - 1) // 2]  # the lower median: whole points, never rounded up
    return min(baseline, rolling)


def is_settled(morning: int, reference: int | None, model: PainModel) -> bool:
    """Next-morning pain within reference + tolerance and at most the ceiling."""
    limit = model.ceiling if reference is None else min(reference + model.tolerance, model.ceiling)
    return morning <= limit


def assess(
    log: SessionLog, reference: int | None, model: PainModel, completed: float | None = None
) -> Assessment:
    """Judge one session: settled next morning, flare, and the strengthening share done."""
    morning = log.next_morning_pain
    settled = None if morning is None else is_settled(morning, reference, model)
    high = any(value is not None and value > model.ceiling for value in (log.pain_during, log.pain_after))
    return Assessment(
        log=log,
        reference=reference,
        settled=settled,
        flare=high or settled is False,
        completed=log.completed if completed is None else completed,
    )


def assess_history(
    logs: Sequence[SessionLog],
    baseline: int | None,
    model: PainModel,
    completed: Mapping[int, float] | None = None,
) -> list[Assessment]:
    """Assess logs in the order given, each against the reference from the mornings before it.

    ``completed`` maps a log's position to its strengthening share when it differs from ``completed``.
    """
    result: list[Assessment] = []
    mornings: list[int] = []
    for position, log in enumerate(logs):
        reference = reference_pain(baseline, mornings, model)
        result.append(assess(log, reference, model, (completed or {}).get(position)))
        if log.next_morning_pain is not None:
            mornings.append(log.next_morning_pain)
    return result


def session_qualifies(
    item: Assessment, when: Condition, kind: str, weekly_not_rising: bool | None = None
) -> bool:
    """Whether one assessed session meets every criterion of a rule's condition.

    A criterion about a value the person did not record is not met. For ``progress`` rules the next
    morning must also be rated and settled and nothing may have hurt, whatever the condition says.
    """
    log = item.log
    checks: list[bool] = []
    if when.pain_during_max is not None:
        checks.append(log.pain_during is not None and log.pain_during <= when.pain_during_max)
    if when.pain_during_min is not None:
        checks.append(log.pain_during is not None and log.pain_during >= when.pain_during_min)
    if when.pain_after_max is not None:
        checks.append(log.pain_after is None or log.pain_after <= when.pain_after_max)
    if when.pain_after_min is not None:
        checks.append(log.pain_after is not None and log.pain_after >= when.pain_after_min)
    if when.next_morning_settled is not None:
        checks.append(item.settled is when.next_morning_settled)
    if when.next_morning_rated is not None:
        checks.append(item.rated is when.next_morning_rated)
    if when.flare is not None:
        checks.append(item.flare is when.flare)
    if when.completed_min is not None:
        checks.append(item.completed >= when.completed_min - 1e-9)
    if when.weekly_not_rising is not None:
        checks.append(weekly_not_rising is when.weekly_not_rising)
    if kind == "progress":
        checks.extend([item.settled is True, not item.flare, not log.hurt])
    return all(checks)


def evaluate_rules(
    rules: Sequence[ProgressionRule],
    logs: Sequence[SessionLog],
    today: dt.date,
    *,
    baseline_pain: int | None = None,
    window_start: dt.date | None = None,
    rule_window_starts: Mapping[str, dt.date] | None = None,
    pain_model: PainModel | None = None,
    assessments: Sequence[Assessment] | None = None,
    weekly_not_rising: bool | None = None,
) -> RuleOutcome:
    """Decide which rule the most recent logged sessions earn.

    ``logs`` are the person's logged training sessions (any order; those after ``today`` are ignored),
    assessed against ``baseline_pain`` unless ready-made ``assessments`` (in date order) are given.
    Only logs on or after ``window_start`` (and, per rule id, ``rule_window_starts``) fill a rule's
    window, so a change can demand fresh evidence. A rule whose window is not yet full does not fire.
    """
    model = pain_model or PainModel()
    if assessments is None:
        history = sorted((log for log in logs if log.date <= today), key=lambda log: log.date)
        assessed = assess_history(history, baseline_pain, model)
    else:
        assessed = [item for item in assessments if item.log.date <= today]
    latest_flare = bool(assessed) and assessed[-1].flare

    fired: list[tuple[int, ProgressionRule]] = []
    windows: dict[str, list[Assessment]] = {}
    for order, rule in enumerate(rules):
        starts = [window_start, (rule_window_starts or {}).get(rule.id)]
        start = max((day for day in starts if day is not None), default=None)
        eligible = [item for item in assessed if start is None or item.log.date >= start]
        windows[rule.id] = eligible[-rule.when.window_sessions :]
        if rule.kind == "progress" and latest_flare:
            continue
        if _window_meets(eligible, rule, weekly_not_rising):
            fired.append((order, rule))

    chosen = _choose(fired)
    window = tuple(windows[chosen.id]) if chosen is not None else ()
    facts = window_facts(window, assessed[-1] if assessed else None, model)
    return RuleOutcome(chosen, tuple(rule.id for _, rule in fired), tuple(a.log for a in window), facts)


def _window_meets(
    eligible: Sequence[Assessment], rule: ProgressionRule, weekly_not_rising: bool | None
) -> bool:
    size = rule.when.window_sessions
    if len(eligible) < size:
        return False
    window = eligible[-size:]
    met = sum(session_qualifies(item, rule.when, rule.kind, weekly_not_rising) for item in window)
    if rule.when.require == "every":
        return met == size
    return met >= rule.when.fraction * size - 1e-9


def _choose(fired: Sequence[tuple[int, ProgressionRule]]) -> ProgressionRule | None:
    if not fired:
        return None
    eases = [item for item in fired if item[1].kind == "ease"]
    pool = eases or list(fired)
    _order, rule = min(pool, key=lambda item: (-item[1].priority, _KIND_RANK[item[1].kind], item[0]))
    return rule


def window_facts(
    window: Sequence[Assessment], latest: Assessment | None, model: PainModel | None = None
) -> dict[str, float | int]:
    """Numbers an explanation may quote: ``{window}``, ``{pain_during_max}``, ``{reference}``..."""
    logs = [item.log for item in window]
    facts: dict[str, float | int] = {"window": len(window)}
    during = [log.pain_during for log in logs if log.pain_during is not None]
    after = [log.pain_after for log in logs if log.pain_after is not None]
    mornings = [log.next_morning_pain for log in logs if log.next_morning_pain is not None]
    if during:
        facts["pain_during_max"] = max(during)
    if after:
        facts["pain_after_max"] = max(after)
    if mornings:
        facts["next_morning"] = mornings[-1]
    if window:
        facts["completed_pct"] = round(100 * sum(item.completed for item in window) / len(window))
        facts["flares"] = sum(item.flare for item in window)
    if latest is not None and latest.reference is not None:
        facts["reference"] = latest.reference
    facts["tolerance"] = (model or PainModel()).tolerance
    return facts


def fill_explanation(template: str, facts: Mapping[str, object]) -> str:
    """Replace ``{name}`` with the matching fact; unknown names stay as written, so text never breaks."""

    def substitute(match: re.Match[str]) -> str:
        value = facts.get(match.group(1))
        if value is None:
            return match.group(0)
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)

    return PLACEHOLDER.sub(substitute, template)


def change_number(current: float, change: Change) -> float:
    """Apply one ``add``/``subtract``/``replace``/``percent`` op, then the change's floor and ceiling."""
    if change.op == "add":
        result = current + change.value
    elif change.op == "subtract":
        result = current - change.value
    elif change.op == "replace":
        result = change.value
    else:
        result = current * (1 + change.value / 100)
    return within_bounds(current, result, change.floor, change.ceiling)


def within_bounds(current: float, result: float, floor: float | None, ceiling: float | None) -> float:
    """``result`` stopped at the floor and ceiling, which limit a move but never make one.

    A floor stops a fall; it never lifts a dose that was already below it (an "ease" rule must not
    raise the dose of someone a clinician had set lower). A ceiling stops a rise; it never lowers a
    dose that was already above it (a progression must not make the session easier).
    """
    if floor is not None and result < floor:
        result = min(floor, max(current, result))
    if ceiling is not None and result > ceiling:
        result = max(ceiling, min(current, result))
    return result


@dataclass(frozen=True)
class VariantRoom:
    """How far one exercise can move along its easier/harder chain with the person's equipment."""

    lowest: int = 0
    highest: int = 0
    ready_for_harder: bool = True  # e.g. its reps have reached the progression's ceiling


def apply_change(
    state: DoseState,
    change: Change,
    doses: Mapping[str, Dose],
    phase_count: int,
    variants: Mapping[str, VariantRoom] | None = None,
) -> DoseState:
    """Return the state after ``change``.

    ``doses`` are the doses of the session the change responds to (exercise id -> dose as prescribed),
    needed because a reps/sets/hold/duration change works on the prescribed number: ``+2 reps, ceiling
    15`` turns 14 reps into 15. For ``phase`` the numbers are 1-based phase numbers; moving to another
    phase starts it at its own base dose (the person's factor and adjustments reset; easier or harder
    versions are kept, and a step *back* is capped by the caller so no exercise gets harder). For
    ``variant`` (op ``harder``/``easier``) ``variants`` says which exercises can move and how far.
    """
    if change.target == "phase":
        number = round(change_number(state.phase_index + 1, change))
        index = min(max(number - 1, 0), phase_count - 1)
        if index == state.phase_index:
            return state
        lower = index < state.phase_index
        return DoseState(
            phase_index=index,
            dose_scale=min(state.dose_scale, 1.0) if lower else 1.0,
            variants=state.variants,
        )
    if change.target == "variant":
        return _change_variants(state, change, variants or {})
    if change.target == "dose_scale":
        low, high = DOSE_SCALE_LIMITS
        rounded = round(change_number(state.dose_scale, change), 4)  # no float dust in stored states
        bounded = within_bounds(state.dose_scale, rounded, change.floor, change.ceiling)
        return replace(state, dose_scale=min(max(bounded, low), high))
    field: DoseField = change.target
    low_limit, high_limit = DOSE_LIMITS[field]
    new_state = state
    for exercise_id, dose in sorted(doses.items()):
        if change.exercises is not None and exercise_id not in change.exercises:
            continue
        current = getattr(dose, field)
        if current is None:
            continue
        target = _whole_step(float(current), change)
        target = min(max(target, low_limit), high_limit)
        shift = target - int(current)
        if shift:
            new_state = new_state.with_delta(exercise_id, field, state.delta(exercise_id, field) + shift)
    return new_state


def _change_variants(state: DoseState, change: Change, rooms: Mapping[str, VariantRoom]) -> DoseState:
    step = 1 if change.op == "harder" else -1
    new_state = state
    for exercise_id, room in sorted(rooms.items()):
        if change.exercises is not None and exercise_id not in change.exercises:
            continue
        if step > 0 and not room.ready_for_harder:
            continue
        level = state.variant(exercise_id) + step
        if room.lowest <= level <= room.highest:
            new_state = new_state.with_variant(exercise_id, level)
    return new_state


def cap_state(state: DoseState, new_doses: Mapping[str, Dose], limit: Mapping[str, Dose]) -> DoseState:
    """``state`` with each exercise's numbers lowered to at most ``limit``'s (exercise id -> dose).

    Used when the plan steps back a phase: the new phase's base dose may be above what the person was
    doing, and a step back must never make any exercise harder.
    """
    capped = state
    for exercise_id, dose in sorted(new_doses.items()):
        ceiling = limit.get(exercise_id)
        if ceiling is None:
            continue
        for field in DOSE_FIELDS:
            now, most = getattr(dose, field), getattr(ceiling, field)
            if now is not None and most is not None and now > most:
                capped = capped.with_delta(
                    exercise_id, field, capped.delta(exercise_id, field) - (now - most)
                )
    return capped


def _whole_step(current: float, change: Change) -> int:
    """A whole-number result within the change's bounds; a percent change always moves at least one
    unit in its direction (3 reps +5% gives 4, not 3) so a progress step is never silently empty."""
    result = math.floor(change_number(current, change) + 0.5)
    if change.op == "percent" and change.value and result == current:
        result += 1 if change.value > 0 else -1
    floor = None if change.floor is None else math.ceil(change.floor)
    ceiling = None if change.ceiling is None else math.floor(change.ceiling)
    return int(within_bounds(current, result, floor, ceiling))
