"""Properties of the pain model on the real protocol, for any history (hypothesis).

* never progress or advance on a session whose next morning was above baseline + tolerance;
* a step back never raises any exercise's dose;
* a pause always stops today's session and the running ladder;
* next-morning noise within one point of the baseline never eases below the starting dose;
* the forecast never shows a dose above today's before a progression has happened.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from kneefix.content.loader import load_content
from kneefix.content.schemas import Dose
from kneefix.programme.planner import session_content, training_dates
from kneefix.programme.progression import DOSE_FIELDS, DoseState
from kneefix.programme.records import ReviewEvent, RunCheck, SessionLog
from kneefix.programme.replay import PlanState, current_state
from tests.programme.personas import START, settings

CONTENT = load_content()
PROTOCOL = CONTENT.protocols["runners_knee"]
PERSON = settings(runs=True)
DAYS = training_dates(PERSON, START, count=40)
pain = st.one_of(st.none(), st.integers(0, 10))


@st.composite
def histories(draw: st.DrawFn, max_size: int = 30) -> list[SessionLog]:
    """Sessions on the plan's days (some skipped), with any pain and completion; some runs.

    Often a run of good sessions comes first, so that later phases (and steps back from them) are
    reached, not only the first phase.
    """
    good = draw(st.sampled_from([0, 0, 7, 13]))
    count = draw(st.integers(0, max_size))
    chosen = sorted(draw(st.sets(st.integers(good, len(DAYS) - 1), min_size=0, max_size=count)))
    logs: list[SessionLog] = [SessionLog(DAYS[i], 1.0, 1, 1, 1, id=1000 + i) for i in range(good)]
    for index, position in enumerate(chosen):
        day = DAYS[position]
        logs.append(
            SessionLog(
                day,
                draw(st.sampled_from([0.3, 0.8, 1.0])),
                draw(pain),
                draw(pain),
                draw(pain),
                id=index,
            )
        )
        if draw(st.integers(0, 5)) == 0:
            logs.append(
                SessionLog(
                    day + dt.timedelta(days=1),
                    1.0,
                    draw(pain),
                    draw(pain),
                    draw(pain),
                    kind="run",
                    run_minutes=20.0,
                    id=100 + index,
                )
            )
    return logs


def replay(
    logs: Sequence[SessionLog],
    today: dt.date,
    baseline: int | None,
    events: Sequence[ReviewEvent] = (),
) -> PlanState:
    checks = (RunCheck(START + dt.timedelta(days=10), 0, 0),)
    return current_state(PROTOCOL, CONTENT, PERSON, logs, today, baseline, events=events, run_checks=checks)


def doses(state: DoseState) -> dict[str, Dose]:
    return {
        item.slot_id: item.dose
        for item in session_content(PROTOCOL, CONTENT.exercises, PERSON, state, CONTENT.equipment)[0]
    }


def not_above(new: dict[str, Dose], limit: dict[str, Dose]) -> bool:
    for slot, dose in new.items():
        old = limit.get(slot)
        if old is None:
            continue
        for field in DOSE_FIELDS:
            a, b = getattr(dose, field), getattr(old, field)
            if a is not None and b is not None and a > b:
                return False
    return True


LATE = START + dt.timedelta(days=120)


@hyp_settings(max_examples=60, deadline=None)
@given(histories(), st.integers(0, 8))
def test_never_progress_or_advance_on_an_unsettled_or_flared_session(
    logs: list[SessionLog], baseline: int
) -> None:
    state = replay(logs, LATE, baseline)
    for entry in state.history:
        if entry.flare or entry.settled is not True:
            assert entry.rule_id not in {"progress_step", "advance_phase"}
    for change in state.changes:
        if change.kind in {"progress", "advance"} and change.rule_id in {"progress_step", "advance_phase"}:
            logged = [e for e in state.history if e.log.date == change.date and not e.log.is_run]
            assert logged and logged[-1].settled is True and not logged[-1].flare


@hyp_settings(max_examples=60, deadline=None)
@given(histories(), st.integers(0, 8))
def test_a_step_back_never_raises_any_exercises_dose(logs: list[SessionLog], baseline: int) -> None:
    state = replay(logs, LATE, baseline)
    for change in state.changes:
        if change.kind != "regress":
            continue
        before = DoseState(**_state_args(change.details["before"]))
        after = DoseState(**_state_args(change.details["after"]))
        assert after.phase_index < before.phase_index
        assert not_above(doses(after), doses(before))


def _state_args(raw: object) -> dict[str, Any]:
    assert isinstance(raw, dict)
    return {
        "phase_index": raw["phase_index"],
        "dose_scale": raw["dose_scale"],
        "deltas": tuple(tuple(item) for item in raw["deltas"]),
        "variants": tuple(tuple(item) for item in raw["variants"]),
    }


@hyp_settings(max_examples=40, deadline=None)
@given(histories(), st.integers(0, 8), st.integers(0, 60))
def test_a_pause_always_stops_todays_session_and_the_ladder(
    logs: list[SessionLog], baseline: int, flag_day: int
) -> None:
    flag = ReviewEvent(
        START + dt.timedelta(days=flag_day), "screening", red_flag=True, reason="a warning sign."
    )
    for today in (flag.date, flag.date + dt.timedelta(days=5), LATE):
        state = replay(logs, today, baseline, (flag,))
        assert state.paused and state.paused_reason
        assert state.next_session is None and state.plan.sessions == () and state.plan.runs == ()
        assert state.running.status == "paused" and "paused" in state.running.summary


@hyp_settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 4),
    st.lists(st.integers(-1, 1), min_size=3, max_size=27),
    st.lists(st.integers(0, 3), min_size=27, max_size=27),
)
def test_noise_within_one_point_never_eases_below_the_starting_dose(
    baseline: int, wobble: list[int], during: list[int]
) -> None:
    logs = [
        SessionLog(DAYS[i], 1.0, during[i], during[i], baseline + step, id=i) for i, step in enumerate(wobble)
    ]
    state = replay(logs, DAYS[len(logs)], baseline)
    assert all(entry.state.dose_scale >= 1.0 for entry in state.history)
    assert not {"ease", "regress"} & {change.kind for change in state.changes}


@hyp_settings(max_examples=60, deadline=None)
@given(histories(), st.integers(0, 8), st.integers(0, 100))
def test_the_forecast_never_shows_a_dose_above_todays(
    logs: list[SessionLog], baseline: int, offset: int
) -> None:
    state = replay(logs, START + dt.timedelta(days=offset), baseline)
    if state.next_session is None:
        return
    today = {item.slot_id: item.dose for item in state.next_session.exercises}
    for session in state.plan.sessions:
        assert not_above({item.slot_id: item.dose for item in session.exercises}, today), session.date
