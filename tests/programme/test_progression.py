"""The rule engine: windows, every vs fraction, safety overrides, each change op and its bounds."""

from __future__ import annotations

import datetime as dt

import pytest

from kneefix.content.schemas import Change, Dose, PainModel
from kneefix.programme.progression import (
    DoseState,
    apply_change,
    assess_history,
    evaluate_rules,
    fill_explanation,
    reference_pain,
)
from kneefix.programme.records import SessionLog
from tests.programme.fixtures import GOOD, MONDAY, RULES, days, good_log, logs_on, rule

TODAY = MONDAY + dt.timedelta(days=60)
PROGRESS = rule("up", "progress", window=3, change={"target": "reps", "op": "add", "value": 2}, **GOOD)


def log(day: int, during: int | None = 2, morning: int | None = 1, completed: float = 1.0) -> SessionLog:
    return SessionLog(MONDAY + dt.timedelta(days=day), completed, during, during, morning)


def test_progress_fires_when_every_session_in_the_window_qualifies() -> None:
    outcome = evaluate_rules([PROGRESS], logs_on(days(0, 2, 4)), TODAY, baseline_pain=3)
    assert outcome.rule is PROGRESS
    assert outcome.kind == "progress"
    assert [entry.date for entry in outcome.window] == days(0, 2, 4)


def test_a_rule_does_not_fire_before_its_window_is_full() -> None:
    assert evaluate_rules([PROGRESS], logs_on(days(0, 2)), TODAY, baseline_pain=3).rule is None


def test_every_fails_on_one_bad_session_but_fraction_tolerates_it() -> None:
    logs = [log(0), log(2, during=5), log(4)]
    fraction = rule("up", "progress", window=3, require="fraction", fraction=0.6, pain_during_max=3,
                    next_morning_settled=True)  # fmt: skip
    assert evaluate_rules([PROGRESS], logs, TODAY, baseline_pain=3).rule is None
    assert evaluate_rules([fraction], logs, TODAY, baseline_pain=3).rule is fraction
    too_strict = fraction.model_copy(update={"when": fraction.when.model_copy(update={"fraction": 0.9})})
    assert evaluate_rules([too_strict], logs, TODAY, baseline_pain=3).rule is None


def test_missing_next_morning_pain_never_counts_towards_progress() -> None:
    logs = [log(0), log(2, morning=None), log(4)]
    no_morning_rule = rule("up", "progress", window=3, pain_during_max=3)
    assert evaluate_rules([PROGRESS], logs, TODAY, baseline_pain=3).rule is None
    assert evaluate_rules([no_morning_rule], logs, TODAY, baseline_pain=3).rule is None


def test_progress_never_follows_a_flare_even_under_a_loose_fraction() -> None:
    loose = rule("up", "progress", window=3, require="fraction", fraction=0.3, pain_during_max=5)
    logs = [log(0, morning=1), log(2, morning=1), log(4, morning=6)]  # 6 > baseline 3 + 2
    assert evaluate_rules([loose], logs, TODAY, baseline_pain=3).rule is None
    assert evaluate_rules([loose], logs[:2], TODAY, baseline_pain=3).rule is None  # window not full
    assert evaluate_rules([loose], [*logs[:2], log(4, morning=1)], TODAY, baseline_pain=3).rule is loose


def test_settled_is_judged_against_the_baseline_plus_tolerance_not_the_previous_morning() -> None:
    model = PainModel()
    wobble = [log(day, morning=m) for day, m in zip(range(0, 12, 2), [1, 2, 1, 2, 1, 2], strict=True)]
    assert [item.settled for item in assess_history(wobble, 1, model)] == [True] * 6  # 1<->2 is noise
    creep = [log(day, morning=m) for day, m in zip(range(0, 12, 2), [6, 6, 6, 4, 4, 4], strict=True)]
    assessed = assess_history(creep, 2, model)
    assert [item.settled for item in assessed] == [False, False, False, True, True, True]
    assert [item.flare for item in assessed] == [True, True, True, False, False, False]


def test_the_ceiling_caps_settled_even_for_a_high_baseline() -> None:
    assessed = assess_history([log(0, morning=7)], 7, PainModel())
    assert assessed[0].settled is False  # 7 is within 7 + 2, but above the 5/10 ceiling


def test_unrated_mornings_are_neither_settled_nor_a_flare() -> None:
    item = assess_history([log(0, morning=None)], 2, PainModel())[0]
    assert item.settled is None and not item.flare and not item.rated


def test_the_reference_falls_with_recent_mornings_but_never_rises_above_the_baseline() -> None:
    model = PainModel()
    assert reference_pain(4, [1, 1, 1, 1, 1, 1], model) == 1
    assert reference_pain(2, [6, 6, 6, 6, 6, 6], model) == 2
    assert reference_pain(4, [1, 1], model) == 4  # too few mornings: the baseline
    assert reference_pain(None, [3, 1], model) == 3  # no baseline: the first morning


def test_ease_beats_progress_even_with_a_lower_priority() -> None:
    ease = rule("down", "ease", window=1, pain_after_min=3, priority=-5,
                change={"target": "dose_scale", "op": "percent", "value": -10})  # fmt: skip
    progress = PROGRESS.model_copy(update={"priority": 99})
    logs = [log(0), log(2), log(4, during=3)]
    outcome = evaluate_rules([progress, ease], logs, TODAY, baseline_pain=3)
    assert set(outcome.fired) == {"up", "down"}
    assert outcome.rule is ease


def test_the_highest_priority_wins_among_non_ease_rules() -> None:
    hold = rule("steady", "hold", window=1, pain_during_max=3, priority=50)
    logs = logs_on(days(0, 2, 4))
    assert evaluate_rules([PROGRESS, hold], logs, TODAY, baseline_pain=3).rule is hold
    low_hold = hold.model_copy(update={"priority": -1})
    assert evaluate_rules([PROGRESS, low_hold], logs, TODAY, baseline_pain=3).rule is PROGRESS


def test_equal_priorities_prefer_the_safer_kind_then_file_order() -> None:
    hold = rule("steady", "hold", window=1, pain_during_max=3)
    assert evaluate_rules([PROGRESS, hold], logs_on(days(0, 2, 4)), TODAY, baseline_pain=3).rule is hold
    twin = PROGRESS.model_copy(update={"id": "twin"})
    assert evaluate_rules([PROGRESS, twin], logs_on(days(0, 2, 4)), TODAY, baseline_pain=3).rule is PROGRESS


def test_ease_on_pain_during_and_on_a_morning_that_did_not_settle() -> None:
    pain = evaluate_rules(RULES, [log(0, during=7)], TODAY, baseline_pain=3)
    assert pain.rule is not None and pain.rule.id == "ease_pain"
    assert pain.explanation() == "Pain reached 7/10, so the dose drops to {dose_pct}%."
    morning = evaluate_rules(RULES, [log(0, during=2, morning=6)], TODAY, baseline_pain=3)
    assert morning.rule is not None and morning.rule.id == "ease_morning"
    within = evaluate_rules(RULES, [log(0, during=2, morning=5)], TODAY, baseline_pain=3)
    assert within.rule is None or within.rule.id != "ease_morning"  # 5 is within baseline 3 + 2


def test_hold_on_borderline_pain() -> None:
    outcome = evaluate_rules(RULES, [log(0, during=5, morning=2)], TODAY, baseline_pain=3)
    assert outcome.rule is not None and outcome.rule.id == "hold_borderline"


def test_a_criterion_about_an_unrecorded_value_is_not_met() -> None:
    ease = rule("down", "ease", pain_during_min=6)
    assert evaluate_rules([ease], [log(0, during=None)], TODAY).rule is None


def test_incomplete_sessions_do_not_earn_progress() -> None:
    logs = [log(0), log(2, completed=0.5), log(4)]
    assert evaluate_rules([PROGRESS], logs, TODAY, baseline_pain=3).rule is None


def test_window_starts_limit_which_logs_count_and_future_logs_are_ignored() -> None:
    logs = logs_on(days(0, 2, 4, 7, 9))
    start = MONDAY + dt.timedelta(days=5)
    assert evaluate_rules([PROGRESS], logs, TODAY, baseline_pain=3, window_start=start).rule is None
    per_rule = {"up": MONDAY + dt.timedelta(days=3)}
    outcome = evaluate_rules([PROGRESS], logs, TODAY, baseline_pain=3, rule_window_starts=per_rule)
    assert outcome.rule is PROGRESS
    assert evaluate_rules([PROGRESS], logs, MONDAY + dt.timedelta(days=3), baseline_pain=3).rule is None


def test_explanations_fill_known_numbers_and_leave_unknown_names() -> None:
    assert fill_explanation("{window} sessions, pain {pain}/10, {odd}", {"window": 3, "pain": 2.5}) == (
        "3 sessions, pain 2.5/10, {odd}"
    )
    assert fill_explanation("braces { alone } stay", {}) == "braces { alone } stay"


# --- changes ----------------------------------------------------------------------------------------

DOSES = {"squat": Dose(sets=3, reps=10), "plank": Dose(sets=2, hold_s=30), "roll": Dose(duration_s=60)}


def change(**kwargs: object) -> Change:
    return Change.model_validate(kwargs)


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [("add", 2, 12), ("subtract", 3, 7), ("replace", 15, 15), ("percent", 25, 13), ("percent", -20, 8)],
)
def test_each_op_on_reps(op: str, value: float, expected: int) -> None:
    state = apply_change(DoseState(), change(target="reps", op=op, value=value), DOSES, 3)
    assert state.delta("squat", "reps") == expected - 10
    assert state.delta("plank", "reps") == 0  # the plank has no reps to change


def test_a_small_percent_step_still_moves_one_unit() -> None:
    state = apply_change(DoseState(), change(target="sets", op="percent", value=5), DOSES, 3)
    assert state.delta("squat", "sets") == 1


def test_floor_and_ceiling_bound_the_value_a_change_produces() -> None:
    up = apply_change(DoseState(), change(target="reps", op="add", value=10, ceiling=14), DOSES, 3)
    assert up.delta("squat", "reps") == 4
    down = apply_change(DoseState(), change(target="hold_s", op="subtract", value=25, floor=20), DOSES, 3)
    assert down.delta("plank", "hold_s") == -10


def test_a_change_can_target_named_exercises_only() -> None:
    doses = {"a": Dose(reps=10), "b": Dose(reps=10)}
    state = apply_change(DoseState(), change(target="reps", op="add", value=2, exercises=["b"]), doses, 3)
    assert (state.delta("a", "reps"), state.delta("b", "reps")) == (0, 2)


@pytest.mark.parametrize(
    ("op", "value", "floor", "ceiling", "expected"),
    [("add", 0.25, None, None, 1.25), ("percent", -20, None, None, 0.8), ("percent", 50, None, 1.3, 1.3),
     ("subtract", 0.9, 0.5, None, 0.5), ("replace", 0.01, None, None, 0.1)],
)  # fmt: skip
def test_dose_scale_changes_respect_their_bounds(
    op: str, value: float, floor: float | None, ceiling: float | None, expected: float
) -> None:
    state = apply_change(
        DoseState(), change(target="dose_scale", op=op, value=value, floor=floor, ceiling=ceiling), DOSES, 3
    )
    assert state.dose_scale == pytest.approx(expected)


def test_phase_changes_use_phase_numbers_stay_in_range_and_reset_the_dose() -> None:
    tuned = DoseState(phase_index=0, dose_scale=1.3).with_delta("squat", "reps", 4)
    advanced = apply_change(tuned, change(target="phase", op="add", value=1), DOSES, 3)
    assert advanced == DoseState(phase_index=1)
    later = DoseState(phase_index=1, dose_scale=1.3).with_delta("squat", "reps", 4).with_variant("squat", -1)
    back = apply_change(later, change(target="phase", op="subtract", value=1), DOSES, 3)
    assert back == DoseState(phase_index=0, dose_scale=1.0, variants=(("squat", -1),))  # no scaling up
    eased = DoseState(phase_index=1, dose_scale=0.6)
    assert apply_change(eased, change(target="phase", op="subtract", value=1), DOSES, 3).dose_scale == 0.6
    assert apply_change(advanced, change(target="phase", op="replace", value=3), DOSES, 3).phase_index == 2
    assert apply_change(advanced, change(target="phase", op="add", value=5), DOSES, 3).phase_index == 2
    assert apply_change(advanced, change(target="phase", op="subtract", value=5), DOSES, 3).phase_index == 0
    capped = apply_change(advanced, change(target="phase", op="add", value=1, ceiling=2), DOSES, 3)
    assert capped is advanced  # already in phase 2: nothing changes


def test_no_harder_than_takes_the_easier_state() -> None:
    high = DoseState(1, 1.2).with_delta("squat", "reps", 2)
    low = DoseState(1, 1.0).with_delta("squat", "reps", 4).with_delta("plank", "hold_s", -5)
    merged = high.no_harder_than(low)
    assert merged.dose_scale == 1.0
    assert merged.delta("squat", "reps") == 2
    assert merged.delta("plank", "hold_s") == -5
    assert DoseState(2).no_harder_than(DoseState(1, 1.5)) == DoseState(1, 1.5)


def test_good_log_helper_is_a_qualifying_session() -> None:
    assert evaluate_rules([PROGRESS], [good_log(d) for d in days(0, 1, 2)], TODAY, baseline_pain=1).rule


def test_a_floor_stops_a_fall_but_never_lifts_a_dose_already_below_it() -> None:
    """Issue 11: an ease rule with a floor must not raise the dose of someone already below it."""
    from kneefix.programme.progression import within_bounds

    assert within_bounds(0.6, 0.48, 0.5, None) == 0.5  # the fall stops at the floor
    assert within_bounds(0.4, 0.32, 0.5, None) == 0.4  # already below: held, not lifted to 0.5
    assert within_bounds(14, 16, None, 15) == 15  # the rise stops at the ceiling
    assert within_bounds(16, 18, None, 15) == 16  # already above: held, not lowered to 15
    assert within_bounds(10, 12, 5, 20) == 12  # inside: untouched


def test_an_ease_on_a_dose_scale_below_its_floor_keeps_the_scale() -> None:
    from kneefix.programme.progression import DoseState, apply_change

    ease = Change(target="dose_scale", op="percent", value=-20, floor=0.5)
    state = DoseState(phase_index=0, dose_scale=0.4)
    assert apply_change(state, ease, {}, phase_count=3).dose_scale == 0.4
    assert apply_change(DoseState(phase_index=0, dose_scale=0.6), ease, {}, phase_count=3).dose_scale == 0.5
