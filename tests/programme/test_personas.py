"""Personas played week by week through the real runners_knee protocol (docs/progression.md).

Each week's expected state is written as ``<status><phase>``: ``a`` active, ``p`` paused, ``m``
maintenance (programme finished), then the 0-based phase. The expectations were checked against the
model by hand: when a persona's line changes, read the decisions it prints before changing the line.
"""

from __future__ import annotations

import datetime as dt

import pytest

from kneefix.programme.records import ReviewEvent
from tests.programme.personas import (
    START,
    Persona,
    Simulation,
    baseline_two_bad_mornings,
    constant_high,
    flare_in_week_3,
    good_runs,
    hurt_once,
    missed_weeks,
    never_rates_mornings,
    noise,
    roller_hurt_once,
    simulate,
    skips_optional,
    slow_creep,
    steady,
)

WEEKS = 10


def weekly(sim: Simulation) -> list[str]:
    return [state.status[0] + str(state.phase_index) for state in sim.weekly]


def no_progress_on_a_flare(sim: Simulation) -> None:
    for entry in sim.final().history:
        if entry.flare or entry.settled is not True:
            assert entry.rule_id not in {"progress_step", "advance_phase"}, entry


@pytest.fixture(scope="module")
def steady_sim() -> Simulation:
    return simulate(Persona("steady", 3, steady), WEEKS)


def test_steady_progresses_phase_by_phase_and_finishes_into_maintenance(steady_sim: Simulation) -> None:
    assert weekly(steady_sim) == ["a0", "a1", "a1", "a2", "a2", "m2", "m2", "m2", "m2", "m2"]
    assert [steady_sim.week_of(c.date) for c in steady_sim.final().changes if c.kind == "advance"] == [
        2,
        4,
        6,
    ]
    assert {c.kind for c in steady_sim.final().changes} == {"progress", "advance"}
    final = steady_sim.final()
    assert final.programme_complete and "finished the programme" in final.changes[-1].explanation
    # Maintenance: two sessions a week, and no more reps piled on (no "3 x 19").
    week = [s for s in final.plan.sessions if s.date < final.plan.sessions[0].date + dt.timedelta(days=7)]
    assert len(week) == 2
    assert all(
        item.dose.reps is None or item.dose.reps <= 15 for s in final.plan.sessions for item in s.exercises
    )


def test_a_flare_eases_then_steps_back_without_raising_any_dose() -> None:
    sim = simulate(Persona("flare", 3, flare_in_week_3), WEEKS)
    assert weekly(sim) == ["a0", "a1", "a0", "a0", "a1", "a1", "a2", "a2", "m2", "m2"]
    kinds = [(sim.week_of(c.date), c.kind) for c in sim.final().changes]
    assert (3, "ease") in kinds and (3, "regress") in kinds
    no_progress_on_a_flare(sim)
    regress = next(c for c in sim.final().changes if c.kind == "regress")
    before, after = regress.details["before"], regress.details["after"]
    assert isinstance(before, dict) and isinstance(after, dict)
    assert after["phase_index"] == before["phase_index"] - 1
    assert after["dose_scale"] <= before["dose_scale"]


def test_missed_weeks_shift_the_plan_and_restart_a_step_easier() -> None:
    sim = simulate(Persona("missed", 3, missed_weeks), WEEKS)
    assert weekly(sim) == ["a0", "a1", "a0", "a0", "a0", "a1", "a1", "a2", "a2", "m2"]
    back = [c for c in sim.final().changes if c.rule_id == "after_break"]
    assert len(back) == 1 and back[0].kind == "ease" and "16 days" in back[0].explanation
    assert all(state.status != "paused" for state in sim.weekly)


def test_a_runner_meeting_the_criteria_opens_the_ladder_only_after_the_readiness_check() -> None:
    sim = simulate(Persona("runner", 2, steady, runs=True, run_report=good_runs, run_check_on_week=3), WEEKS)
    assert weekly(sim) == ["a0", "a1", "a1", "a2", "a2", "m2", "m2", "m2", "m2", "m2"]
    statuses = [state.running.status for state in sim.weekly]
    assert statuses[:3] == ["closed", "check_needed", "open"]
    opened = next(c for c in sim.final().changes if c.rule_id == "return_to_running")
    assert opened.date >= sim.run_checks[0].date
    stages = [state.running.stage_number or 0 for state in sim.weekly]
    assert stages[2:6] == sorted(stages[2:6]) and stages[-1] == 6
    assert sim.weekly[-1].running.finished
    assert sim.weekly[3].plan.runs, "runs are in the forecast while the ladder is open"


def test_a_slow_creep_never_progresses_after_it_starts_and_pauses_for_review() -> None:
    sim = simulate(Persona("creep", 1, slow_creep), WEEKS)
    assert weekly(sim) == ["a0", "a0", "p0", "p0", "p0", "p0", "p0", "p0", "p0", "p0"]
    no_progress_on_a_flare(sim)
    assert "advance" not in sim.kinds()
    pause = next(c for c in sim.final().changes if c.kind == "pause")
    assert sim.week_of(pause.date) == 3
    assert "physiotherapist" in pause.explanation


def test_constant_high_pain_starts_easier_eases_and_pauses_within_two_weeks() -> None:
    sim = simulate(Persona("high", 7, constant_high, severity="severe"), WEEKS)
    assert weekly(sim) == ["a0", "p0", "p0", "p0", "p0", "p0", "p0", "p0", "p0", "p0"]
    changes = sim.final().changes
    assert changes[0].rule_id == "starting_point_severe"
    assert [c.kind for c in changes[1:-1]] == ["ease"] * (len(changes) - 2)
    assert changes[-1].rule_id == "pause_high_pain"
    first = simulate(Persona("high", 7, constant_high, severity="severe"), 1).weekly[0]
    assert first.history[0].state.variants, "a severe start uses the easier versions"


def test_noise_within_one_point_never_eases_and_is_never_called_a_build_up() -> None:
    sim = simulate(Persona("noise", 2, noise), WEEKS)
    assert weekly(sim) == ["a0", "a1", "a1", "a2", "a2", "m2", "m2", "m2", "m2", "m2"]
    assert not {"ease", "regress", "pause"} & set(sim.kinds())
    assert all("building" not in c.explanation for c in sim.final().changes)


def test_skipping_the_optional_steps_never_blocks_progress() -> None:
    sim = simulate(Persona("skips", 3, skips_optional), WEEKS)
    assert weekly(sim) == ["a0", "a1", "a1", "a2", "a2", "m2", "m2", "m2", "m2", "m2"]
    logged = sim.final().history[0].log
    assert logged.completed == 0.7 and "hamstring_stretch" not in logged.exercises_done


def test_without_next_morning_ratings_the_plan_holds_and_says_why() -> None:
    sim = simulate(Persona("unrated", 3, never_rates_mornings), WEEKS)
    assert weekly(sim) == ["a0"] * WEEKS
    holds = [c for c in sim.final().changes if c.kind == "hold"]
    assert holds and all(c.rule_id == "hold_unrated" for c in holds)
    assert len(holds) >= 4  # listed once, then a reminder every two weeks
    assert "Rate tomorrow morning" in holds[0].explanation
    assert sim.final().dose.dose_scale == 1.0  # never eased, never raised


def test_the_reviewers_case_mornings_far_above_baseline_are_not_settled() -> None:
    sim = simulate(Persona("b2", 2, baseline_two_bad_mornings), WEEKS)
    assert weekly(sim)[:2] == ["a0", "p0"]
    assert all(
        "settled" not in c.explanation or "had not settled" in c.explanation for c in sim.final().changes
    )
    assert [c.rule_id for c in sim.final().changes][:3] == ["ease_not_settled"] * 3
    assert sim.final().changes[-1].rule_id == "pause_over_baseline"
    no_progress_on_a_flare(sim)


def test_an_exercise_that_hurt_moves_to_its_easier_version_then_back() -> None:
    sim = simulate(Persona("hurt", 3, hurt_once), 4)
    states = sim.weekly
    first_week = [item.exercise_id for item in states[0].next_session.exercises]  # type: ignore[union-attr]
    assert "quad_set" in first_week and "seated_leg_extension_12" not in first_week
    back = [item.exercise_id for item in states[1].next_session.exercises]  # type: ignore[union-attr]
    assert "seated_leg_extension_12" in back
    assert any("full version" in c.explanation for c in sim.final().changes if c.kind == "progress")


def test_rolling_that_hurt_moves_to_the_gentler_version_then_back() -> None:
    """Rolling and stretching are never made harder by the rules, but one that hurt eases like any
    exercise (the Today page says "Next time: <easier version>") and comes back once sessions settle."""
    sim = simulate(Persona("roller", 3, roller_hurt_once), 4)
    first_week = [item.exercise_id for item in sim.weekly[0].next_session.exercises]  # type: ignore[union-attr]
    assert "hamstring_self_massage" in first_week and "hamstring_roll_foam_roller" not in first_week
    eased = [c for c in sim.final().changes if c.rule_id == "exercise_hurt"]
    assert [c.kind for c in eased] == ["ease"]
    back = [item.exercise_id for item in sim.weekly[1].next_session.exercises]  # type: ignore[union-attr]
    assert "hamstring_roll_foam_roller" in back
    assert any("full version of Hamstring roll" in c.explanation for c in sim.final().changes)


def test_a_red_flag_on_re_screening_pauses_until_a_clear_screening() -> None:
    events = (
        ReviewEvent(START + dt.timedelta(days=16), "screening", red_flag=True, reason="a hot, red knee."),
        ReviewEvent(START + dt.timedelta(days=30), "screening", pain=2),
    )
    sim = simulate(Persona("flagged", 3, steady), 7, events)
    assert weekly(sim) == ["a0", "a1", "p1", "p1", "a1", "a1", "a2"]
    kinds = [c.kind for c in sim.final().changes]
    assert kinds.index("pause") < kinds.index("resume")
    paused = sim.weekly[2]
    assert (
        paused.next_session is None
        and paused.plan.sessions == ()
        and "hot, red knee" in (paused.paused_reason or "")
    )
    assert sim.final().baseline_pain == 2  # the clear re-screening's pain is the new baseline
