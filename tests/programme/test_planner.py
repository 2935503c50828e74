"""The dated plan: training days, step order, guideline additions, equipment swaps and dose scaling."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from kneefix.content.schemas import STEP_ORDER, Dose
from kneefix.errors import ContentError, InputError
from kneefix.programme.planner import (
    available_equipment,
    build_plan,
    format_dose,
    plan_session,
    resolve_exercise,
    training_dates,
)
from kneefix.programme.progression import DoseState
from tests.programme.fixtures import (
    ALL_EQUIPMENT,
    EQUIPMENT,
    EXERCISES,
    MONDAY,
    PROTOCOL,
    exercise,
    settings,
)


def test_three_days_a_week_are_spread_evenly_from_the_start_date() -> None:
    dates = training_dates(settings(days_per_week=3), MONDAY, count=6)
    assert [(day - MONDAY).days for day in dates] == [0, 2, 5, 7, 9, 12]


def test_seven_days_a_week_uses_every_day() -> None:
    dates = training_dates(settings(days_per_week=7), MONDAY, end=MONDAY + dt.timedelta(days=13))
    assert len(dates) == 14


def test_chosen_weekdays_are_used_instead_of_a_count() -> None:
    person = settings(days_per_week=5, weekdays=(1, 3))  # Tuesday and Thursday
    dates = training_dates(person, MONDAY, count=4)
    assert [day.weekday() for day in dates] == [1, 3, 1, 3]
    assert dates[0] == MONDAY + dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("days_per_week", "weekdays", "message"),
    [(0, None, "from 1 to 7"), (8, None, "from 1 to 7"), (3, (), "at least one"),
     (3, (7,), r"0 \(Monday\) to 6"), (3, (1, 1), "only once")],
)  # fmt: skip
def test_impossible_schedules_are_refused_with_a_clear_message(
    days_per_week: int, weekdays: tuple[int, ...] | None, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        build_plan(PROTOCOL, EXERCISES, settings(days_per_week=days_per_week, weekdays=weekdays), EQUIPMENT)


def test_plan_lasts_each_phase_minimum_and_groups_sessions_by_week() -> None:
    plan = build_plan(PROTOCOL, EXERCISES, settings(), EQUIPMENT)
    assert len(plan.sessions) == 3 * 2 * 3  # three phases of two weeks at three sessions a week
    assert [week.week for week in plan.weeks] == [1, 2, 3, 4, 5, 6]
    assert all(len(week.sessions) == 3 for week in plan.weeks)
    assert [s.phase_id for s in plan.sessions[5:7]] == ["settle", "build"]
    assert [s.number for s in plan.sessions] == list(range(1, 19))
    assert plan.caveats == ("Rules validated elsewhere.",)


def test_sessions_follow_the_article_step_order_even_when_the_file_does_not() -> None:
    plan = build_plan(PROTOCOL, EXERCISES, settings(), EQUIPMENT)
    build_session = next(s for s in plan.sessions if s.phase_id == "build")
    steps = [item.step for item in build_session.exercises]
    assert steps == sorted(steps, key=STEP_ORDER.index)
    assert steps[0] == "inhibit" and steps[-1] == "hip"


def test_hip_additions_appear_only_when_switched_on() -> None:
    with_hip = plan_session(PROTOCOL, EXERCISES, settings(), DoseState(), MONDAY, equipment=EQUIPMENT)
    without = plan_session(
        PROTOCOL, EXERCISES, settings(guideline_additions=False), DoseState(), MONDAY, equipment=EQUIPMENT
    )
    assert "hip" in [item.step for item in with_hip.exercises]
    assert "hip" not in [item.step for item in without.exercises]
    assert [item.step for item in without.exercises] == [
        "inhibit",
        "lengthen",
        "activate",
        "activate",
        "integrate",
    ]


def test_missing_lacrosse_ball_and_roller_fall_back_to_the_tennis_ball() -> None:
    person = settings(frozenset({"tennis_ball", "stability_ball", "dumbbells", "band"}))
    session = plan_session(PROTOCOL, EXERCISES, person, DoseState(), MONDAY, equipment=EQUIPMENT)
    first = session.exercises[0]
    assert first.exercise_id == "roll_tennis"
    assert first.replaces == "roll_foam"
    assert first.substitution_note is not None and "foam roller" in first.substitution_note


def test_no_equipment_at_all_still_gives_a_full_session_from_substitutes() -> None:
    session = plan_session(
        PROTOCOL, EXERCISES, settings(frozenset()), DoseState(), MONDAY, equipment=EQUIPMENT
    )
    ids = [item.exercise_id for item in session.exercises]
    assert ids == ["self_massage", "stretch", "leg_extension", "wall_sit_raise", "bodyweight_squat",
                   "side_lying_abduction"]  # fmt: skip
    assert all(set(item.equipment) <= {"wall", "chair"} for item in session.exercises)


def test_no_dumbbells_keeps_the_stability_ball() -> None:
    person = settings(ALL_EQUIPMENT - {"dumbbells"})
    session = plan_session(PROTOCOL, EXERCISES, person, DoseState(), MONDAY, equipment=EQUIPMENT)
    assert "ball_squat_no_weight" in [item.exercise_id for item in session.exercises]


def test_an_exercise_with_no_fitting_alternative_is_dropped_with_a_note() -> None:
    person = settings(ALL_EQUIPMENT - {"step"})
    plan = build_plan(PROTOCOL, EXERCISES, person, EQUIPMENT)
    build = next(s for s in plan.sessions if s.phase_id == "build")
    assert "step_down" not in [item.exercise_id for item in build.exercises]
    assert any("Step down left out" in note and "step" in note for note in build.notes)
    assert any("Step down left out" in note for note in plan.notes)


def test_always_available_equipment_comes_from_content_not_from_hard_coded_ids() -> None:
    person = settings(frozenset())
    assert available_equipment(person, EQUIPMENT) == {"wall", "chair"}
    assert available_equipment(person, None) == frozenset()
    # Without the equipment list nothing is assumed, so the wall sit (no alternative) is dropped.
    session = plan_session(PROTOCOL, EXERCISES, person, DoseState(), MONDAY)
    assert "wall_sit_raise" not in [item.exercise_id for item in session.exercises]


def test_a_substitution_cycle_ends_instead_of_looping() -> None:
    looped = {
        "a": exercise("a", "inhibit", equipment=["foam_roller"], substitutes=[("foam_roller", "b")]),
        "b": exercise("b", "inhibit", equipment=["tennis_ball"], substitutes=[("tennis_ball", "a")]),
    }
    result = resolve_exercise("a", looped, frozenset())
    assert result.exercise is None
    assert result.note is not None and "left out" in result.note


def test_an_unknown_exercise_in_the_protocol_is_a_content_error() -> None:
    with pytest.raises(ContentError, match="'nope'"):
        resolve_exercise("nope", EXERCISES, ALL_EQUIPMENT)


def test_two_slots_resolving_to_the_same_exercise_do_not_repeat_it() -> None:
    protocol = PROTOCOL.model_copy(
        update={"phases": [PROTOCOL.phases[0].model_copy(update={"slots": [
            PROTOCOL.phases[0].slots[0].model_copy(update={"exercises": ["roll_foam", "roll_lacrosse"]})
        ]})]}
    )  # fmt: skip
    person = settings(frozenset({"tennis_ball"}))
    session = plan_session(protocol, EXERCISES, person, DoseState(), MONDAY, equipment=EQUIPMENT)
    assert [item.exercise_id for item in session.exercises] == ["roll_tennis"]


def test_doses_scale_with_the_phase_and_the_person() -> None:
    state = DoseState(phase_index=1, dose_scale=1.1)
    session = plan_session(PROTOCOL, EXERCISES, settings(), state, MONDAY, equipment=EQUIPMENT)
    by_id = {item.exercise_id: item.dose for item in session.exercises}
    assert by_id["leg_extension"].reps == 13  # 10 x 1.2 x 1.1 = 13.2
    assert by_id["leg_extension"].sets == 3  # sets never scale
    assert by_id["leg_extension"].hold_s == 3  # 2 x 1.32 = 2.64
    # The person's factor is for load-bearing work only: rolling and stretching follow the phase alone.
    assert by_id["roll_foam"].duration_s == 70  # 60 x 1.2 = 72, to 5-second steps
    assert by_id["stretch"].hold_s == 35  # 30 x 1.2 = 36, holds of 10 s or more in 5-second steps


def test_per_exercise_adjustments_apply_after_scaling_and_stay_valid() -> None:
    state = DoseState().with_delta("leg_extension", "reps", 3).with_delta("wall_sit_raise", "reps", -50)
    session = plan_session(PROTOCOL, EXERCISES, settings(), state, MONDAY, equipment=EQUIPMENT)
    by_id = {item.exercise_id: item.dose for item in session.exercises}
    assert by_id["leg_extension"].reps == 13
    assert by_id["wall_sit_raise"].reps == 1  # clamped to Dose's minimum, never zero or negative


def test_doses_read_in_plain_words() -> None:
    assert format_dose(Dose(sets=3, reps=10, hold_s=2)) == "3 × 10 reps each side, hold 2 s, rest 30 s"
    assert format_dose(Dose(sets=2, hold_s=30, per_side=False, rest_s=15)) == "2 × 30 s hold, rest 15 s"
    assert format_dose(Dose(duration_s=90)) == "1 min 30 s each side"
    assert format_dose(Dose(sets=1, duration_s=60, per_side=False)) == "1 × 1 min"


def test_a_later_start_state_begins_in_that_phase_and_counts_what_is_done() -> None:
    start = MONDAY + dt.timedelta(days=30)
    plan = build_plan(
        PROTOCOL,
        EXERCISES,
        settings(),
        EQUIPMENT,
        state=DoseState(phase_index=1),
        start=start,
        done_in_phase=4,
    )
    assert plan.sessions[0].date >= start
    assert [s.phase_id for s in plan.sessions].count("build") == 2
    assert plan.sessions[-1].phase_id == "load"


def test_plan_is_json_ready_and_deterministic() -> None:
    first = build_plan(PROTOCOL, EXERCISES, settings(frozenset({"tennis_ball"})), EQUIPMENT)
    second = build_plan(PROTOCOL, EXERCISES, settings(frozenset({"tennis_ball"})), EQUIPMENT)
    assert first == second
    dumped = json.loads(json.dumps(first.to_dict()))
    assert dumped["weeks"][0]["sessions"][0]["exercises"][0]["dose_text"] == "1 min each side"
    assert dumped["weeks"][0]["sessions"][0]["date"] == MONDAY.isoformat()
