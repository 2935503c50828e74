"""Three personas end to end through the real CLI and database, logging on past dates with ``--date``.

The pure simulations (tests/programme/test_personas.py) check the decisions week by week; these check
that ``kneefix log``, ``log morning``, ``log run``, ``log run-check``, ``today --json`` and ``plan --json``
carry the same decisions to a person, with the public JSON contract of docs/progression.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kneefix.programme.planner import training_dates
from kneefix.programme.records import PersonSettings
from tests.cli.helpers import TYPICAL_FLAGS, Kneefix, assert_clean_error, without

CHANGE_KINDS = {"progress", "advance", "ease", "regress", "hold", "pause", "resume", "running", "shift"}


def begin(kneefix: Kneefix, weeks_ago: int, *, runs: bool = True) -> list[dt.date]:
    """Start a plan ``weeks_ago`` weeks back; return its training days up to yesterday."""
    start = dt.date.today() - dt.timedelta(weeks=weeks_ago)
    flags = [*TYPICAL_FLAGS] if runs else [*without(TYPICAL_FLAGS, "--runs"), "--no-runs"]
    kneefix.json("start", *flags, "--start-date", start.isoformat())
    person = PersonSettings(equipment=frozenset(), days_per_week=3, runs=runs, start_date=start)
    return training_dates(person, start, end=dt.date.today() - dt.timedelta(days=1))


def session(kneefix: Kneefix, day: dt.date, during: int, morning: int | None, *extra: str) -> Any:
    result = kneefix.json("log", "--date", day.isoformat(), "--pain-during", str(during),
                          "--pain-after", str(during), *extra)  # fmt: skip
    if morning is not None:
        kneefix.ok("log", "morning", "--date", day.isoformat(), "--pain", str(morning))
    return result


def check_contract(plan: dict[str, Any], today: dict[str, Any]) -> None:
    dates = [change["date"] for change in plan["changes"]]
    assert dates == sorted(dates), "changes are listed oldest first"
    for change in plan["changes"]:
        assert change["kind"] in CHANGE_KINDS and change["rule_id"] and change["explanation"]
    assert today["status"] in {"session", "rest", "paused"}
    assert (today["paused_reason"] is not None) == (today["status"] == "paused")


def test_a_steady_person_progresses_finishes_and_is_told_so(kneefix: Kneefix) -> None:
    for day in begin(kneefix, 7, runs=False):
        session(kneefix, day, 2, 1)
    plan = kneefix.json("plan")
    today = kneefix.json("today")
    check_contract(plan, today)
    kinds = [change["kind"] for change in plan["changes"]]
    assert kinds.count("advance") == 3 and "progress" in kinds and "ease" not in kinds
    assert plan["status"] == "maintenance" and plan["programme_finished"]
    assert today["programme_finished"] and today["running"] is None
    assert "finished the programme" in plan["changes"][-1]["explanation"]
    assert any("forecast" in note for note in plan["plan"]["notes"])


def test_a_flare_then_a_red_flag_pauses_everything_until_a_clear_screening(kneefix: Kneefix) -> None:
    days = begin(kneefix, 2)  # two weeks: short of the first phase's longest length
    for number, day in enumerate(days):
        if 3 <= number <= 5:
            session(kneefix, day, 7, 6)  # a flare: pain during 7, next morning 6 (baseline 3)
        else:
            session(kneefix, day, 2, 2)
    plan = kneefix.json("plan")
    kinds = [change["kind"] for change in plan["changes"]]
    assert "ease" in kinds
    assert all(
        c["rule_id"] not in {"progress_step", "advance_phase"}
        for c in plan["changes"][kinds.index("ease") :][:3]
    )

    # Re-screening with an emergency red flag pauses the plan at once, everywhere.
    flagged = [*without(TYPICAL_FLAGS, "--red-flags"), "--red-flags", "hot_red_swollen_fever"]
    kneefix.ok("start", *flagged, "--json")
    today = kneefix.json("today")
    check_contract(kneefix.json("plan"), today)
    assert today["status"] == "paused" and today["session"] is None
    assert "warning sign" in today["paused_reason"]
    assert today["running"]["status"] == "paused"
    assert_clean_error(kneefix("session"), "paused")
    assert_clean_error(kneefix("log", "run", "--minutes", "20", "--pain-during", "1"), "paused")
    assert kneefix.json("plan")["plan"]["weeks"] == []

    # A clear screening resumes it, with its pain as the new baseline.
    kneefix.ok("start", *TYPICAL_FLAGS, "--json")
    resumed = kneefix.json("today")
    assert resumed["status"] in {"session", "rest"} and resumed["session"] is not None
    assert kneefix.json("plan")["changes"][-1]["kind"] == "resume"


def test_a_runner_passes_the_check_logs_runs_and_moves_up_the_ladder(kneefix: Kneefix) -> None:
    days = begin(kneefix, 6)
    for day in days[:9]:
        session(kneefix, day, 1, 1)
    assert kneefix.json("today")["running"]["status"] == "check_needed"
    check_day = days[8] + dt.timedelta(days=1)
    check = kneefix.json("log", "run-check", "--date", check_day.isoformat(), "--walk-pain", "1",
                         "--hop-pain", "1")  # fmt: skip
    assert check["passed"]
    runs = 0
    day = check_day
    while day < dt.date.today() - dt.timedelta(days=1) and runs < 4:
        kneefix.json("log", "run", "--date", day.isoformat(), "--minutes", "25", "--distance-km", "2.5",
                     "--pain-during", "1", "--pain-after", "1")  # fmt: skip
        kneefix.ok("log", "morning", "--date", day.isoformat(), "--pain", "1")
        runs += 1
        day += dt.timedelta(days=2)
    plan = kneefix.json("plan")
    today = kneefix.json("today")
    check_contract(plan, today)
    assert today["running"]["stage"] == 3  # two good runs per stage: 1 -> 2 -> 3
    assert plan["plan"]["runs"] and plan["plan"]["runs"][0]["stage"] == 3
    assert [c["kind"] for c in plan["changes"]].count("running") == 3
    assert_clean_error(
        kneefix("log", "run", "--date", (day - dt.timedelta(days=2)).isoformat(), "--minutes", "20"),
        "already logged",
    )
    progress = kneefix.json("progress")
    assert sum(week["run_minutes"] for week in progress["weeks"]) == 100
    shown = kneefix.ok("progress").stdout
    assert "run min" in shown and "Running stage 3" in shown
