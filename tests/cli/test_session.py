"""``kneefix session``: the guided session, skipping, stopping, and what gets logged."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from rich.console import Console

from kneefix.cli.guided import GuidedSession, StopRequestedError
from kneefix.cli.timers import Clock
from kneefix.content.schemas import Dose
from kneefix.programme.planner import PlannedExercise, PlannedSession
from tests.cli.helpers import Kneefix, flat

# Blank lines answer "press Enter" prompts; the pain questions re-ask on a blank answer, so a
# generous run of blank lines followed by the two ratings completes any session.
ENTER_THROUGH = "\n" * 300


def test_full_guided_session_is_logged_as_complete(kneefix: Kneefix) -> None:
    kneefix.start()
    result = kneefix("session", input=ENTER_THROUGH + "3\n2\n")

    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "Session complete" in out
    assert "s left" in out  # countdown timers ran
    assert "Rest" in out
    [log] = kneefix.json("log", "list")
    assert log["completed"] == 1.0
    assert (log["pain_during"], log["pain_after"]) == (3, 2)


def test_skipping_an_exercise_lowers_the_completed_share(kneefix: Kneefix) -> None:
    kneefix.start()
    planned = kneefix.json("today")["session"]["exercises"]
    result = kneefix("session", input="s\n" + ENTER_THROUGH + "2\n1\n")

    assert result.exit_code == 0, result.output
    [log] = kneefix.json("log", "list")
    assert log["completed"] == round((len(planned) - 1) / len(planned), 3)
    assert planned[0]["exercise_id"] not in log["exercises_done"]


def test_stopping_early_offers_to_log_what_was_done(kneefix: Kneefix) -> None:
    kneefix.start()
    # Do the first exercise (Enter to start; timers run), then quit at the second's prompt.
    result = kneefix("session", "--json", input="\nq\ny\n4\n3\n")

    assert result.exit_code == 0, result.output
    assert "Session stopped" in flat(result.stderr)
    logged = kneefix.json("log", "list")[0]
    assert 0 < logged["completed"] < 1
    assert logged["pain_during"] == 4


def test_pain_answers_are_reasked_until_valid(kneefix: Kneefix) -> None:
    kneefix.start()
    result = kneefix("session", input=ENTER_THROUGH + "eleven\n11\n5\n0\n")

    assert result.exit_code == 0, result.output
    assert flat(result.stdout).count("Please try again") >= 2
    assert kneefix.json("log", "list")[0]["pain_during"] == 5


def test_rest_day_session_can_be_declined(kneefix: Kneefix) -> None:
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    kneefix.start("--start-date", tomorrow.isoformat())
    result = kneefix("session", input="n\n")

    assert result.exit_code == 0, result.output
    assert "rest day" in flat(result.stdout)
    assert kneefix.json("log", "list") == []


def _interrupting_sleep(_seconds: float) -> None:
    raise KeyboardInterrupt


def test_ctrl_c_during_a_timer_stops_the_session_and_keeps_progress() -> None:
    hold = Dose(sets=2, hold_s=3, rest_s=10, per_side=False)
    session = PlannedSession(
        date=dt.date(2025, 1, 6),
        number=1,
        week=1,
        phase_index=0,
        phase_id="p1",
        phase_name="Phase one",
        exercises=(
            PlannedExercise(
                "a", "A", "activate", "article", Dose(sets=1, reps=5, per_side=False), (), ("c",), "w"
            ),
            PlannedExercise("b", "B", "lengthen", "article", hold, (), ("c",), "w"),
        ),
    )
    console = Console(file=io.StringIO())
    # Enter starts A, Enter finishes its one set, Enter starts B, whose first timer is interrupted.
    runner = GuidedSession(
        console, session, Clock(scale=1.0, sleep=_interrupting_sleep), io.StringIO("\n\n\n")
    )

    with pytest.raises(StopRequestedError):
        runner.run()

    assert runner.progress.done == {"a": 1}
    assert runner.progress.completed == 0.5
    assert runner.progress.exercises_done == ("a",)


def test_plain_reps_each_side_are_asked_side_by_side_with_a_switch_between() -> None:
    """Each side gets its own prompt, with the switch-sides countdown between; stopping on the second
    side leaves that set undone."""
    reps = Dose(sets=2, reps=8, rest_s=5, per_side=True)
    session = PlannedSession(
        date=dt.date(2025, 1, 6),
        number=1,
        week=1,
        phase_index=0,
        phase_id="p1",
        phase_name="Phase one",
        exercises=(PlannedExercise("a", "A", "activate", "article", reps, (), ("c",), "w"),),
    )
    out = io.StringIO()
    waited: list[float] = []
    # Enter starts A; set 1: left, right; set 2: left, then "s" stops on the right side.
    runner = GuidedSession(
        Console(file=out, width=200),
        session,
        Clock(scale=1.0, sleep=waited.append),
        io.StringIO("\n\n\n\ns\n"),
    )
    progress = runner.run()
    text = flat(out.getvalue())
    assert "Set 1/2 Left side: do 8 reps" in text and "Set 1/2 Right side: do 8 reps" in text
    assert "Set 2/2 Right side: do 8 reps" in text
    assert text.count("Switch sides") >= 2
    assert progress.done == {"a": 1}
