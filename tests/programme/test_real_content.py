"""The plan logic on the packaged content: every protocol plans, swaps and replays cleanly."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from icalendar import Calendar

from kneefix.content.loader import Content, load_content
from kneefix.content.schemas import EXPLAIN_PLACEHOLDERS, STEP_ORDER, Protocol, explain_placeholders
from kneefix.programme.ics import plan_to_ics
from kneefix.programme.planner import available_equipment, build_plan, training_dates
from kneefix.programme.records import PersonSettings, RunCheck, SessionLog
from kneefix.programme.replay import current_state

START = dt.date(2025, 3, 3)
CONTENT: Content = load_content()
PROTOCOL_IDS = sorted(CONTENT.protocols)
OPTIONAL = sorted(item for item, value in CONTENT.equipment.items() if not value.always_available)


def person(
    equipment: frozenset[str], *, hip: bool = True, runs: bool = True, days: int = 3
) -> PersonSettings:
    return PersonSettings(
        equipment=equipment, days_per_week=days, runs=runs, start_date=START, guideline_additions=hip
    )


def protocol(protocol_id: str = "runners_knee") -> Protocol:
    return CONTENT.protocols[protocol_id]


def test_the_main_protocol_exists_with_at_least_two_protocols() -> None:
    assert "runners_knee" in CONTENT.protocols
    assert len(CONTENT.protocols) >= 2


@pytest.mark.parametrize("protocol_id", PROTOCOL_IDS)
def test_every_rule_explanation_uses_only_numbers_the_engine_provides(protocol_id: str) -> None:
    for rule in protocol(protocol_id).rules:
        assert explain_placeholders(rule.explain) <= EXPLAIN_PLACEHOLDERS, rule.id


@pytest.mark.parametrize("protocol_id", PROTOCOL_IDS)
@pytest.mark.parametrize("hip", [True, False])
def test_full_equipment_plans_follow_the_article_order(protocol_id: str, hip: bool) -> None:
    plan = build_plan(
        protocol(protocol_id), CONTENT.exercises, person(frozenset(OPTIONAL), hip=hip), CONTENT.equipment
    )
    assert plan.sessions
    for session in plan.sessions:
        steps = [item.step for item in session.exercises]
        assert steps == sorted(steps, key=STEP_ORDER.index)
        assert hip or "hip" not in steps
        if protocol_id == "runners_knee" and not hip:  # the article's own programme, nothing added
            assert all(item.origin == "article" for item in session.exercises)


def test_the_main_plan_carries_the_articles_exercises() -> None:
    plan = build_plan(protocol(), CONTENT.exercises, person(frozenset(OPTIONAL)), CONTENT.equipment)
    used = {item.exercise_id for session in plan.sessions for item in session.exercises}
    assert {"hamstring_roll_foam_roller", "hamstring_stretch", "ball_squat_overhead_press"} <= used
    assert {
        "seated_leg_extension_12",
        "seated_leg_extension_2",
        "wall_sit_leg_raise_12",
        "wall_sit_leg_raise_2",
    } <= used
    hip = [item for session in plan.sessions for item in session.exercises if item.step == "hip"]
    assert hip and all(item.origin == "guideline" for item in hip)
    assert plan.caveats  # the pain-monitoring caveat travels with the plan


def test_no_roller_and_no_lacrosse_ball_uses_the_tennis_ball() -> None:
    plan = build_plan(protocol(), CONTENT.exercises, person(frozenset({"tennis_ball"})), CONTENT.equipment)
    first = plan.sessions[0].exercises[0]
    assert first.exercise_id == "hamstring_roll_tennis_ball"
    assert first.replaces == "hamstring_roll_foam_roller"
    assert first.substitution_note


def test_with_nothing_at_all_every_step_is_still_covered() -> None:
    plan = build_plan(protocol(), CONTENT.exercises, person(frozenset()), CONTENT.equipment)
    have = available_equipment(person(frozenset()), CONTENT.equipment)
    for session in plan.sessions:
        assert {item.step for item in session.exercises} == set(STEP_ORDER)
        assert all(set(item.equipment) <= have for item in session.exercises)


@hyp_settings(max_examples=40, deadline=None)
@given(
    st.frozensets(st.sampled_from(OPTIONAL)),
    st.sampled_from(PROTOCOL_IDS),
    st.booleans(),
    st.integers(1, 7),
)
def test_no_real_session_needs_equipment_the_person_lacks(
    equipment: frozenset[str], protocol_id: str, hip: bool, days: int
) -> None:
    who = person(equipment, hip=hip, days=days)
    have = available_equipment(who, CONTENT.equipment)
    plan = build_plan(protocol(protocol_id), CONTENT.exercises, who, CONTENT.equipment)
    for session in plan.sessions:
        steps = [item.step for item in session.exercises]
        assert steps == sorted(steps, key=STEP_ORDER.index)
        for item in session.exercises:
            assert set(item.equipment) <= have, (item.exercise_id, equipment)


@pytest.mark.parametrize("protocol_id", PROTOCOL_IDS)
def test_a_good_run_of_sessions_replays_to_later_phases_with_filled_explanations(protocol_id: str) -> None:
    who = person(frozenset({"tennis_ball", "resistance_band"}))
    chosen = protocol(protocol_id)
    days = training_dates(who, START, count=60)
    logs = [SessionLog(day, 1.0, 2, 2, 1) for day in days[:40]]
    logs.insert(7, SessionLog(days[7] + dt.timedelta(days=1), 1.0, 7, 6, 4))  # one flare
    state = current_state(chosen, CONTENT, who, logs, days[40], baseline_pain=3)
    assert state.phase_index > 0
    kinds = {change.kind for change in state.changes}
    assert {"progress", "ease", "advance"} <= kinds
    for change in state.changes:
        assert "{" not in change.explanation, change.explanation
    calendar = Calendar.from_ical(plan_to_ics(state.plan, "Test"))
    assert len(list(calendar.walk("VEVENT"))) == len(state.plan.sessions)


def test_return_to_running_opens_in_the_main_protocol_for_runners_only() -> None:
    days = training_dates(person(frozenset()), START, count=30)
    logs = [SessionLog(day, 1.0, 1, 1, 1) for day in days[:14]]
    waiting = current_state(protocol(), CONTENT, person(frozenset()), logs, days[14], baseline_pain=2)
    assert waiting.running.status == "check_needed"  # the plan's criteria hold; the check is missing
    check = (RunCheck(days[13], walk_pain=0, hop_pain=1),)
    runner = current_state(
        protocol(), CONTENT, person(frozenset()), logs, days[14], baseline_pain=2, run_checks=check
    )
    assert runner.running.open and runner.running.stage is not None
    assert runner.running.stage.stage == 1
    walker = current_state(
        protocol(), CONTENT, person(frozenset(), runs=False), logs, days[14], baseline_pain=2
    )
    assert not walker.running.available
