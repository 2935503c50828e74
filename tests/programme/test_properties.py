"""Properties that must hold for any log history, equipment set and schedule (hypothesis)."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence

from hypothesis import assume, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from kneefix.content.schemas import STEP_ORDER, Change, Dose
from kneefix.programme.planner import PlannedSession, available_equipment, build_plan, plan_session
from kneefix.programme.progression import (
    DOSE_FIELDS,
    DOSE_LIMITS,
    DoseState,
    apply_change,
    evaluate_rules,
)
from kneefix.programme.records import PersonSettings, SessionLog
from kneefix.programme.replay import PlanState, current_state, is_done
from tests.programme.fixtures import (
    CONTENT,
    EQUIPMENT,
    EXERCISES,
    MONDAY,
    OPTIONAL_EQUIPMENT,
    PROTOCOL,
    RULES,
)
from tests.programme.fixtures import settings as make_settings

RULE_KIND = {rule.id: rule.kind for rule in RULES}
pain = st.one_of(st.none(), st.integers(0, 10))


@st.composite
def histories(draw: st.DrawFn, max_size: int = 30) -> list[SessionLog]:
    """Logs on distinct days: gaps of 1-25 days, any completion and pain, some runs."""
    logs: list[SessionLog] = []
    day = MONDAY
    for index in range(draw(st.integers(0, max_size))):
        day += dt.timedelta(days=draw(st.integers(1, 25)) if index else 0)
        run = draw(st.integers(0, 9)) == 0
        logs.append(
            SessionLog(
                date=day,
                completed=draw(st.sampled_from([0.0, 0.3, 0.6, 0.8, 1.0])),
                pain_during=draw(pain),
                pain_after=draw(pain),
                next_morning_pain=draw(pain),
                kind="run" if run else "session",
                id=index,
            )
        )
    return logs


@st.composite
def people(draw: st.DrawFn) -> PersonSettings:
    weekdays = draw(
        st.one_of(st.none(), st.sets(st.integers(0, 6), min_size=1).map(lambda s: tuple(sorted(s))))
    )
    return make_settings(
        draw(st.frozensets(st.sampled_from(sorted(OPTIONAL_EQUIPMENT)))),
        days_per_week=draw(st.integers(1, 7)),
        runs=draw(st.booleans()),
        guideline_additions=draw(st.booleans()),
        weekdays=weekdays,
    )


def replay(
    logs: Sequence[SessionLog], person: PersonSettings, today: dt.date, baseline: int | None
) -> PlanState:
    return current_state(PROTOCOL, CONTENT, person, logs, today, baseline)


def not_harder(session: PlannedSession, reference: PlannedSession) -> bool:
    """Same or lower phase, and within one phase no exercise asks for more of anything."""
    if session.phase_index != reference.phase_index:
        return session.phase_index < reference.phase_index
    before = {item.exercise_id: item.dose for item in reference.exercises}
    for item in session.exercises:
        old = before.get(item.exercise_id)
        for field in DOSE_FIELDS:
            new_value, old_value = getattr(item.dose, field), getattr(old, field, None)
            if new_value is not None and old_value is not None and new_value > old_value:
                return False
    return True


@hyp_settings(max_examples=80, deadline=None)
@given(histories(), st.one_of(st.none(), st.integers(0, 10)))
def test_progress_never_follows_a_flare(logs: list[SessionLog], baseline: int | None) -> None:
    state = replay(logs, make_settings(), MONDAY + dt.timedelta(days=800), baseline)
    for entry in state.history:
        if entry.flare or entry.settled is not True:
            assert entry.rule_id is None or RULE_KIND[entry.rule_id] != "progress"
    sessions = [entry.log for entry in state.history if not entry.log.is_run]
    trained = [entry for entry in state.history if not entry.log.is_run]
    if sessions and trained[-1].flare:
        assert evaluate_rules(RULES, sessions, sessions[-1].date, baseline_pain=baseline).kind != "progress"


@hyp_settings(max_examples=80, deadline=None)
@given(histories(), st.integers(7, 60), st.one_of(st.none(), st.integers(0, 10)))
def test_a_break_never_makes_the_next_session_harder_than_the_last_completed(
    logs: list[SessionLog], gap: int, baseline: int | None
) -> None:
    person = make_settings()
    done = [entry for entry in replay(logs, person, MONDAY + dt.timedelta(days=900), baseline).history
            if is_done(entry.log)]  # fmt: skip
    if not done:
        return
    last = done[-1]
    state = replay(logs, person, last.log.date + dt.timedelta(days=gap), baseline)
    reference = plan_session(PROTOCOL, EXERCISES, person, last.state, last.log.date, equipment=EQUIPMENT)
    if state.next_session is None:  # paused for a review: no session at all is never harder
        assert state.paused and state.plan.sessions == ()
    else:
        assert not_harder(state.next_session, reference)
    # The same holds inside the history: each completed session after a long gap.
    for previous, entry in itertools.pairwise(done):
        if (entry.log.date - previous.log.date).days >= PROTOCOL.after_break.hold_after_days:
            before = plan_session(PROTOCOL, EXERCISES, person, previous.state, previous.log.date,
                                  equipment=EQUIPMENT)  # fmt: skip
            after = plan_session(
                PROTOCOL, EXERCISES, person, entry.state, entry.log.date, equipment=EQUIPMENT
            )
            assert not_harder(after, before)


@hyp_settings(max_examples=80, deadline=None)
@given(histories(), st.one_of(st.none(), st.integers(0, 10)))
def test_the_replayed_dose_stays_within_the_rules_floor_and_ceiling(
    logs: list[SessionLog], baseline: int | None
) -> None:
    state = replay(logs, make_settings(), MONDAY + dt.timedelta(days=900), baseline)
    for entry in [*state.history, None]:
        dose = entry.state if entry is not None else state.dose
        assert 0.5 <= dose.dose_scale <= 1.5
        assert 0 <= dose.phase_index < len(PROTOCOL.phases)


changes = st.builds(
    lambda target, op, value, floor, ceiling: Change(
        target=target,
        op=op,
        value=value,
        floor=floor,
        ceiling=None if ceiling is None else max(ceiling, floor or 0),
    ),
    st.sampled_from(["reps", "sets", "hold_s", "duration_s", "dose_scale"]),
    st.sampled_from(["add", "subtract", "replace", "percent"]),
    st.floats(-60, 60, allow_nan=False),
    st.one_of(st.none(), st.floats(0.1, 2)),
    st.one_of(st.none(), st.floats(1, 40)),
)
doses = st.builds(
    Dose,
    sets=st.integers(1, 10),
    reps=st.one_of(st.none(), st.integers(1, 50)),
    hold_s=st.one_of(st.none(), st.integers(1, 600)),
    duration_s=st.one_of(st.none(), st.integers(5, 900)),
)


@hyp_settings(max_examples=200, deadline=None)
@given(changes, doses, st.floats(0.1, 3))
def test_a_change_never_crosses_its_floor_and_ceiling(change: Change, dose: Dose, scale: float) -> None:
    """A floor stops a fall and a ceiling a rise; neither pushes a number that was already beyond it
    (an ease never raises a dose, a progression never lowers one)."""
    state = DoseState(dose_scale=round(scale, 4))
    after = apply_change(state, change, {"x": dose}, 3)
    if change.target == "dose_scale":
        value: float = after.dose_scale
        assert 0.1 <= value <= 3.0
        if change.floor is not None and change.floor <= 3.0:
            assert value >= min(change.floor, state.dose_scale) - 1e-9
        if change.ceiling is not None and change.ceiling >= 0.1:
            assert value <= max(change.ceiling, state.dose_scale) + 1e-9
        return
    before = getattr(dose, change.target)
    if before is None:
        assert after == state
        return
    value = before + after.delta("x", change.target)
    low, high = DOSE_LIMITS[change.target]
    if change.floor is not None and change.ceiling is not None:
        assume(math.ceil(change.floor) <= math.floor(change.ceiling))  # some whole number fits
    assert low <= value <= high
    if change.floor is not None and low <= change.floor <= high:
        assert value >= min(change.floor, max(before, low)) - 1e-9
    if change.ceiling is not None and low <= change.ceiling <= high:
        assert value <= max(change.ceiling, min(before, high)) + 1e-9


@hyp_settings(max_examples=80, deadline=None)
@given(people(), st.integers(0, 2), st.floats(0.5, 1.5), st.integers(-5, 5))
def test_sessions_never_need_missing_equipment_and_keep_step_order(
    person: PersonSettings, phase_index: int, scale: float, delta: int
) -> None:
    state = DoseState(phase_index, round(scale, 2)).with_delta("leg_extension", "reps", delta)
    plan = build_plan(PROTOCOL, EXERCISES, person, EQUIPMENT, state=state)
    have = available_equipment(person, EQUIPMENT)
    assert plan.sessions
    for session in plan.sessions:
        steps = [item.step for item in session.exercises]
        assert steps == sorted(steps, key=STEP_ORDER.index)
        assert person.guideline_additions or "hip" not in steps
        for item in session.exercises:
            assert set(item.equipment) <= have
        assert len({item.exercise_id for item in session.exercises}) == len(session.exercises)
    dates = [session.date for session in plan.sessions]
    assert dates == sorted(set(dates))


@hyp_settings(max_examples=60, deadline=None)
@given(histories(max_size=20), people(), st.integers(0, 60), st.randoms(use_true_random=False))
def test_the_plan_is_deterministic_whatever_order_the_logs_arrive_in(
    logs: list[SessionLog], person: PersonSettings, extra_days: int, shuffler: object
) -> None:
    today = (logs[-1].date if logs else MONDAY) + dt.timedelta(days=extra_days)
    first = replay(logs, person, today, 3)
    shuffled = list(logs)
    shuffler.shuffle(shuffled)  # type: ignore[attr-defined]
    second = replay(shuffled, person, today, 3)
    assert first == second
    assert first.to_dict() == second.to_dict()
    if first.plan.status == "paused":  # e.g. a run at pain 8: nothing is planned until it settles
        assert first.next_session is None and first.plan.sessions == ()
    else:
        assert first.next_session is not None and first.next_session.date >= today
        have = available_equipment(person, EQUIPMENT)
        assert all(set(item.equipment) <= have for item in first.next_session.exercises)
    runs_done = [log for log in logs if log.is_run]
    assert first.done_in_phase <= len([log for log in logs if not log.is_run])
    assert not first.running.open or person.runs or not runs_done
