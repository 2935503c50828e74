"""The progression rule engine: which rule the last logged sessions earn, and what it does to the dose.

Modelled on wger's progression: a rule looks at a window of the most recent logged sessions and fires
only when that window qualifies (``every`` session meets every criterion, or at least a ``fraction`` of
them do). Safety comes first, following the pain-monitoring model (clinical.md §3):

* an ``ease`` rule beats a ``progress`` rule whenever both fire; otherwise the highest priority wins;
* a session with no next-morning pain recorded never counts towards progress, and progress never fires
  straight after a session whose next morning was worse than the one before (or than the screening
  baseline, for the first session).

Pure logic: no I/O, no clock. ``today`` is passed in.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from kneefix.content.schemas import Change, Condition, Dose, ProgressionRule
from kneefix.programme.jsonable import to_jsonable
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
        return merged

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = to_jsonable(self)
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
        result: dict[str, Any] = to_jsonable(self)
        return result


def next_morning_worse(logs: Sequence[SessionLog], baseline_pain: int | None = None) -> list[bool | None]:
    """For each log (in the order given), whether its next-morning pain rose.

    The reference is the most recent earlier next-morning pain, or the screening baseline before any.
    ``None`` means unknown: the log has no next-morning pain, or there is nothing to compare with.
    """
    flags: list[bool | None] = []
    reference = baseline_pain
    for log in logs:
        if log.next_morning_pain is None or reference is None:
            flags.append(None)
        else:
            flags.append(log.next_morning_pain > reference)
        if log.next_morning_pain is not None:
            reference = log.next_morning_pain
    return flags


def session_qualifies(log: SessionLog, worse: bool | None, when: Condition, kind: str) -> bool:
    """Whether one logged session meets every criterion of a rule's condition.

    A criterion about a value the person did not record is not met. For ``progress`` rules the next
    morning must also be known and not worse, whatever the condition says.
    """
    checks: list[bool] = []
    if when.pain_during_max is not None:
        checks.append(log.pain_during is not None and log.pain_during <= when.pain_during_max)
    if when.pain_during_min is not None:
        checks.append(log.pain_during is not None and log.pain_during >= when.pain_during_min)
    if when.pain_after_max is not None:
        checks.append(log.pain_after is not None and log.pain_after <= when.pain_after_max)
    if when.pain_after_min is not None:
        checks.append(log.pain_after is not None and log.pain_after >= when.pain_after_min)
    if when.next_morning_not_worse is not None:
        checks.append(worse is not None and worse is not when.next_morning_not_worse)
    if when.completed_min is not None:
        checks.append(log.completed >= when.completed_min)
    if kind == "progress":
        checks.append(worse is False)
    return all(checks)


def evaluate_rules(
    rules: Sequence[ProgressionRule],
    logs: Sequence[SessionLog],
    today: dt.date,
    *,
    baseline_pain: int | None = None,
    window_start: dt.date | None = None,
    rule_window_starts: Mapping[str, dt.date] | None = None,
) -> RuleOutcome:
    """Decide which rule the most recent logged sessions earn.

    ``logs`` are the person's logged training sessions (any order; those after ``today`` are ignored).
    Only logs on or after ``window_start`` (and, per rule id, ``rule_window_starts``) fill a rule's
    window, so a change can demand fresh evidence; earlier logs still serve as the next-morning
    reference. A rule whose window is not yet full does not fire.
    """
    history = sorted((log for log in logs if log.date <= today), key=lambda log: log.date)
    flags = next_morning_worse(history, baseline_pain)
    paired = list(zip(history, flags, strict=True))
    latest_worse = bool(paired) and paired[-1][1] is True

    fired: list[tuple[int, ProgressionRule]] = []
    windows: dict[str, list[tuple[SessionLog, bool | None]]] = {}
    for order, rule in enumerate(rules):
        starts = [window_start, (rule_window_starts or {}).get(rule.id)]
        start = max((day for day in starts if day is not None), default=None)
        eligible = [pair for pair in paired if start is None or pair[0].date >= start]
        windows[rule.id] = eligible[-rule.when.window_sessions :]
        if rule.kind == "progress" and latest_worse:
            continue
        if _window_meets(eligible, rule):
            fired.append((order, rule))

    chosen = _choose(fired)
    window = tuple(log for log, _ in windows[chosen.id]) if chosen is not None else ()
    facts = window_facts(window, paired[-1][1] if paired else None)
    return RuleOutcome(chosen, tuple(rule.id for _, rule in fired), window, facts)


def _window_meets(eligible: Sequence[tuple[SessionLog, bool | None]], rule: ProgressionRule) -> bool:
    size = rule.when.window_sessions
    if len(eligible) < size:
        return False
    window = eligible[-size:]
    met = sum(session_qualifies(log, worse, rule.when, rule.kind) for log, worse in window)
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


def window_facts(window: Sequence[SessionLog], latest_worse: bool | None) -> dict[str, float | int]:
    """Numbers an explanation may quote: ``{window}``, ``{pain_during_max}``, ``{completed_pct}``..."""
    facts: dict[str, float | int] = {"window": len(window)}
    during = [log.pain_during for log in window if log.pain_during is not None]
    after = [log.pain_after for log in window if log.pain_after is not None]
    mornings = [log.next_morning_pain for log in window if log.next_morning_pain is not None]
    if during:
        facts["pain_during_max"] = max(during)
    if after:
        facts["pain_after_max"] = max(after)
    if mornings:
        facts["next_morning"] = mornings[-1]
    if window:
        facts["completed_pct"] = round(100 * sum(log.completed for log in window) / len(window))
    if latest_worse is not None:
        facts["next_morning_worse"] = int(latest_worse)
    return facts


_PLACEHOLDER = re.compile(r"\{(\w+)\}")

EXPLAIN_PLACEHOLDERS: frozenset[str] = frozenset(
    {
        # from the rule's window (window_facts)
        "window", "pain_during_max", "pain_after_max", "next_morning", "completed_pct", "next_morning_worse",
        # from the change it made (adapt)
        "value", "dose_pct", "previous_dose_pct", "phase", "phase_number", "previous_phase",
    }
)  # fmt: skip
"""Names a rule's ``explain`` text may use as ``{name}``; a content check can flag any other."""


def explain_placeholders(template: str) -> set[str]:
    """The ``{name}`` placeholders used in an explanation template."""
    return set(_PLACEHOLDER.findall(template))


def fill_explanation(template: str, facts: Mapping[str, object]) -> str:
    """Replace ``{name}`` with the matching fact; unknown names stay as written, so text never breaks."""

    def substitute(match: re.Match[str]) -> str:
        value = facts.get(match.group(1))
        if value is None:
            return match.group(0)
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)

    return _PLACEHOLDER.sub(substitute, template)


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
    if change.floor is not None:
        result = max(result, change.floor)
    if change.ceiling is not None:
        result = min(result, change.ceiling)
    return result


def apply_change(state: DoseState, change: Change, doses: Mapping[str, Dose], phase_count: int) -> DoseState:
    """Return the state after ``change``.

    ``doses`` are the doses of the session the change responds to (exercise id -> dose as prescribed),
    needed because a reps/sets/hold/duration change works on the prescribed number: ``+2 reps, ceiling
    15`` turns 14 reps into 15. For ``phase`` the numbers are 1-based phase numbers; moving to another
    phase starts it at its own base dose (the person's factor and adjustments reset).
    """
    if change.target == "phase":
        number = round(change_number(state.phase_index + 1, change))
        index = min(max(number - 1, 0), phase_count - 1)
        if index == state.phase_index:
            return state
        return DoseState(phase_index=index)
    if change.target == "dose_scale":
        low, high = DOSE_SCALE_LIMITS
        rounded = round(change_number(state.dose_scale, change), 4)  # no float dust in stored states
        bounded = change_number(rounded, change.model_copy(update={"op": "replace", "value": rounded}))
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


def _whole_step(current: float, change: Change) -> int:
    """A whole-number result within the change's bounds; a percent change always moves at least one
    unit in its direction (3 reps +5% gives 4, not 3) so a progress step is never silently empty."""
    result = math.floor(change_number(current, change) + 0.5)
    if change.op == "percent" and change.value and result == current:
        result += 1 if change.value > 0 else -1
    if change.floor is not None:
        result = max(result, math.ceil(change.floor))
    if change.ceiling is not None:
        result = min(result, math.floor(change.ceiling))
    return result
