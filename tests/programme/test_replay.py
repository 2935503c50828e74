"""Replaying logs: progress and ease, phase timing, missed sessions, breaks and return to running."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from kneefix.programme.planner import PlannedSession, training_dates
from kneefix.programme.records import RunCheck, SessionLog
from kneefix.programme.replay import PlanState, current_state
from tests.programme.fixtures import CONTENT, MONDAY, PROTOCOL, good_log, logs_on, settings

PERSON = settings()
PLAN_DAYS = training_dates(PERSON, MONDAY, count=40)  # Mon, Wed, Sat from Monday 6 January 2025


def upcoming(state: PlanState) -> PlannedSession:
    """The next session, which these tests' states always have."""
    assert state.next_session is not None
    return state.next_session


def state_after(
    logs: list[SessionLog],
    today: dt.date,
    baseline: int | None = 3,
    run_checks: tuple[RunCheck, ...] = (),
    **kwargs: Any,
) -> PlanState:
    return current_state(PROTOCOL, CONTENT, settings(**kwargs), logs, today, baseline, run_checks=run_checks)


def run(day: dt.date, pain: int = 1, morning: int | None = 1) -> SessionLog:
    return SessionLog(day, 1.0, pain, pain, morning, kind="run", run_minutes=20.0)


CHECK = (RunCheck(MONDAY, walk_pain=1, hop_pain=0),)


def test_with_no_logs_the_first_session_is_on_the_start_date() -> None:
    state = state_after([], MONDAY)
    assert upcoming(state).date == MONDAY
    assert state.next_session_is_today
    assert (state.phase_id, state.done_in_phase, state.sessions_needed_in_phase) == ("settle", 0, 6)
    assert state.changes == ()
    assert state.plan.sessions[0] == state.next_session


def test_on_a_rest_day_the_next_session_is_the_next_training_day() -> None:
    state = state_after([good_log(MONDAY)], MONDAY)
    assert upcoming(state).date == PLAN_DAYS[1]
    assert not state.next_session_is_today


def test_three_easy_sessions_add_reps_with_an_explanation() -> None:
    state = state_after(logs_on(PLAN_DAYS[:3]), PLAN_DAYS[3])
    assert [c.rule_id for c in state.changes if c.kind != "running"] == ["more_reps"]
    assert state.changes[0].explanation == "3 easy sessions, so two more reps."
    by_id = {item.exercise_id: item.dose for item in upcoming(state).exercises}
    assert by_id["leg_extension"].reps == 12
    assert state.dose.delta("leg_extension", "reps") == 2


def test_high_pain_eases_the_next_session_and_explains_the_numbers() -> None:
    logs = [*logs_on(PLAN_DAYS[:2]), SessionLog(PLAN_DAYS[2], 1.0, 7, 5, 2)]
    state = state_after(logs, PLAN_DAYS[3])
    assert [c.kind for c in state.changes] == ["ease"]
    assert state.changes[0].explanation == "Pain reached 7/10, so the dose drops to 80%."
    assert state.dose.dose_scale == 0.8
    by_id = {item.exercise_id: item.dose for item in upcoming(state).exercises}
    assert by_id["leg_extension"].reps == 8


def test_a_step_up_needs_a_fresh_window_at_the_new_dose() -> None:
    state = state_after(logs_on(PLAN_DAYS[:5]), PLAN_DAYS[5])
    plan_changes = [c.rule_id for c in state.changes if c.kind != "running"]
    assert plan_changes == ["more_reps"]  # sessions 4 and 5 alone are not enough
    state = state_after(logs_on(PLAN_DAYS[:6]), PLAN_DAYS[6])
    assert [c.rule_id for c in state.changes if c.kind != "running"] == ["more_reps", "advance"]


def test_a_phase_advances_only_after_its_minimum_weeks_of_sessions() -> None:
    # Six good sessions on six consecutive days: enough sessions, but not two weeks yet.
    daily = [good_log(MONDAY + dt.timedelta(days=i)) for i in range(6)]
    state = state_after(daily, MONDAY + dt.timedelta(days=6))
    assert state.phase_id == "settle"
    # The same six sessions on the planned days take two weeks and earn the next phase.
    state = state_after(logs_on(PLAN_DAYS[:6]), PLAN_DAYS[6])
    assert state.phase_id == "build"
    assert state.phase_started == PLAN_DAYS[5] + dt.timedelta(days=1)
    assert state.done_in_phase == 0
    assert state.changes[-1].kind == "advance"
    assert state.changes[-1].explanation == "6 good sessions: on to Build."
    assert state.dose.deltas == ()  # the new phase starts at its own base dose


def test_missed_sessions_shift_the_plan_instead_of_piling_up() -> None:
    missed = [SessionLog(day, 0.0, note="missed") for day in PLAN_DAYS[3:5]]
    state = state_after([*logs_on(PLAN_DAYS[:3]), *missed], PLAN_DAYS[5])
    assert state.done_in_phase == 3
    assert upcoming(state).date == PLAN_DAYS[5]
    # The remaining three sessions of the phase are still ahead, one per training day.
    assert [s.phase_id for s in state.plan.sessions[:4]] == ["settle", "settle", "settle", "build"]
    assert len({s.date for s in state.plan.sessions}) == len(state.plan.sessions)
    assert state.phase_id == "settle"


def test_a_week_off_holds_the_dose_at_the_last_completed_session() -> None:
    logs = logs_on(PLAN_DAYS[:3])  # earns +2 reps after the third session
    last = PLAN_DAYS[2]
    back = last + dt.timedelta(days=9)
    state = state_after(logs, back)
    assert state.changes[-1].kind == "shift"
    assert "9 days" in state.changes[-1].explanation
    assert state.changes[-1].details.get("projected") is True
    by_id = {item.exercise_id: item.dose for item in upcoming(state).exercises}
    assert by_id["leg_extension"].reps == 10  # the +2 earned before the break is not taken yet
    assert state.history[-1].state.delta("leg_extension", "reps") == 0


def test_two_weeks_off_steps_the_dose_down() -> None:
    logs = logs_on(PLAN_DAYS[:2])
    back = PLAN_DAYS[1] + dt.timedelta(days=16)
    state = state_after(logs, back)
    assert state.changes[-1].kind == "ease"
    assert state.changes[-1].rule_id == "after_break"
    assert state.dose.dose_scale == 0.9  # the protocol's mildest dose ease: -10%
    gap = (upcoming(state).date - PLAN_DAYS[1]).days  # counted to the next session's day
    assert gap == 17
    assert f"{gap} days" in state.changes[-1].explanation and "90%" in state.changes[-1].explanation


def test_a_session_logged_after_a_break_records_the_shift_on_its_date() -> None:
    back = PLAN_DAYS[2] + dt.timedelta(days=20)
    state = state_after([*logs_on(PLAN_DAYS[:3]), good_log(back)], back + dt.timedelta(days=1))
    breaks = [c for c in state.changes if c.rule_id == "after_break"]
    assert [c.date for c in breaks] == [back]
    assert state.history[-1].state.dose_scale == 0.9
    assert state.history[-1].state.delta("leg_extension", "reps") == 0


def test_return_to_running_needs_the_plans_criteria_and_the_readiness_check() -> None:
    logs = logs_on(PLAN_DAYS[:3])
    unchecked = state_after(logs, PLAN_DAYS[3])
    assert not unchecked.running.open and unchecked.running.status == "check_needed"
    assert "readiness check" in unchecked.running.missing[0]
    failed = state_after(logs, PLAN_DAYS[3], run_checks=(RunCheck(PLAN_DAYS[3], walk_pain=1, hop_pain=4),))
    assert not failed.running.open
    early = state_after(logs_on(PLAN_DAYS[:2]), PLAN_DAYS[2], run_checks=CHECK)
    assert early.running.status == "closed" and "sessions in a row" in early.running.missing[0]
    stale = (RunCheck(MONDAY - dt.timedelta(days=40), walk_pain=0, hop_pain=0),)
    assert not state_after(logs, PLAN_DAYS[3], run_checks=stale).running.open


def test_return_to_running_opens_after_good_sessions_and_stages_advance() -> None:
    logs = logs_on(PLAN_DAYS[:3])
    state = state_after(logs, PLAN_DAYS[3], run_checks=CHECK)
    assert state.running.open and state.running.stage is not None and state.running.stage.stage == 1
    assert any(c.kind == "running" for c in state.changes)
    assert [r.stage for r in state.plan.runs][:3] == [1, 1, 2]  # runs are in the forecast
    runs = [run(PLAN_DAYS[2] + dt.timedelta(days=d)) for d in (1, 3)]
    state = state_after([*logs, *runs], PLAN_DAYS[2] + dt.timedelta(days=4), run_checks=CHECK)
    assert state.running.stage is not None and state.running.stage.stage == 2
    assert state.running.next_run_from == PLAN_DAYS[2] + dt.timedelta(days=5)
    assert "stage 2" in state.running.summary
    # Runs are not training sessions: they do not count towards the phase.
    assert state.done_in_phase == 3


def test_a_painful_run_steps_back_a_stage() -> None:
    logs = logs_on(PLAN_DAYS[:3])
    start = PLAN_DAYS[2]
    runs = [run(start + dt.timedelta(days=d), pain) for d, pain in ((1, 1), (3, 1), (5, 6))]
    state = state_after([*logs, *runs], start + dt.timedelta(days=6), run_checks=CHECK)
    assert state.running.stage is not None and state.running.stage.stage == 1
    running_changes = [c for c in state.changes if c.kind == "running"]
    assert "did not go well" in running_changes[-1].explanation


def test_running_stays_closed_for_non_runners_and_after_painful_sessions() -> None:
    assert not state_after(logs_on(PLAN_DAYS[:3]), PLAN_DAYS[3], runs=False).running.available
    sore = logs_on(PLAN_DAYS[:3], pain=4, morning=1)
    state = state_after(sore, PLAN_DAYS[3])
    assert state.running.available and not state.running.open


def test_logs_after_today_are_ignored() -> None:
    future = logs_on(PLAN_DAYS[:6])
    assert state_after(future, PLAN_DAYS[1]).done_in_phase == 2


def test_the_state_is_deterministic_and_json_ready() -> None:
    logs = [*logs_on(PLAN_DAYS[:4]), SessionLog(PLAN_DAYS[4], 0.6, 6, 6, 4)]
    first = state_after(list(reversed(logs)), PLAN_DAYS[5])
    second = state_after(logs, PLAN_DAYS[5])
    assert first == second
    dumped = json.loads(json.dumps(first.to_dict()))
    assert dumped["next_session"]["date"] == PLAN_DAYS[5].isoformat()
    assert dumped["running"]["summary"]
    assert dumped["changes"][-1]["kind"] == "ease"


def test_a_clinicians_phase_move_starts_that_phase_at_its_base_dose() -> None:
    logs = logs_on(PLAN_DAYS[:4])  # +2 reps earned in the first phase
    moved_on = PLAN_DAYS[3]
    state = current_state(PROTOCOL, CONTENT, PERSON, logs, PLAN_DAYS[4], 3, phase_overrides=[(moved_on, 2)])
    assert state.phase_id == "load"
    assert state.phase_started == moved_on
    assert state.done_in_phase == 1  # the session on the day of the move counts in the new phase
    assert state.dose.dose_scale == 1.0
    future = current_state(
        PROTOCOL, CONTENT, PERSON, logs, PLAN_DAYS[4], 3, phase_overrides=[(PLAN_DAYS[9], 2)]
    )
    assert future.phase_id == "settle"  # a move dated later has no effect yet
