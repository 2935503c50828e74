"""``kneefix log``: sessions after the fact, next-morning pain, list, edit and delete."""

from __future__ import annotations

import datetime as dt

from tests.cli.helpers import Kneefix, assert_clean_error, flat


def test_log_after_the_fact_then_list_it(kneefix: Kneefix) -> None:
    kneefix.start()
    entry = kneefix.json(
        "log", "--completed", "80%", "--pain-during", "3", "--pain-after", "2", "--note", "ok"
    )

    assert entry["log"]["completed"] == 0.8
    assert entry["log"]["pain_during"] == 3
    logs = kneefix.json("log", "list")
    assert [(log["id"], log["note"]) for log in logs] == [(entry["log"]["id"], "ok")]


def test_done_exercises_set_the_completed_share(kneefix: Kneefix) -> None:
    kneefix.start()
    planned = [item["exercise_id"] for item in kneefix.json("today")["session"]["exercises"]]

    assert_clean_error(kneefix("log", "--done", "juggling"), "Unknown exercise id(s): juggling")
    entry = kneefix.json("log", "--done", ",".join(planned[:2]), "--pain-during", "2")

    assert entry["log"]["completed"] == round(2 / len(planned), 3)
    assert entry["log"]["exercises_done"] == planned[:2]


def test_one_session_a_day_and_none_before_the_start(kneefix: Kneefix) -> None:
    kneefix.start()
    kneefix.ok("log", "--pain-during", "2", "--pain-after", "1")
    assert_clean_error(kneefix("log", "--pain-during", "3"), "already logged on")
    assert len(kneefix.json("log", "list")) == 1  # the first entry is kept as it was
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    assert_clean_error(kneefix("log", "--date", yesterday, "--pain-during", "2"), "before your plan started")


def test_next_morning_pain_attaches_to_the_latest_earlier_session(kneefix: Kneefix) -> None:
    start = dt.date.today() - dt.timedelta(days=3)
    kneefix.start("--start-date", start.isoformat())
    kneefix.ok("log", "--date", start.isoformat(), "--pain-during", "2", "--pain-after", "1")

    result = kneefix.json("log", "morning", "--pain", "1")

    assert result["log"]["date"] == start.isoformat()
    assert result["log"]["next_morning_pain"] == 1


def test_morning_pain_without_any_session_is_a_clear_error(kneefix: Kneefix) -> None:
    kneefix.start()
    assert_clean_error(kneefix("log", "morning", "--pain", "2"), "No session is logged before today")


def test_a_painful_session_eases_the_plan_and_says_why(kneefix: Kneefix) -> None:
    kneefix.start()
    result = kneefix.json("log", "--pain-during", "8", "--pain-after", "7")

    kinds = [change["kind"] for change in result["plan_changes"]]
    assert "ease" in kinds
    assert "8/10" in result["plan_changes"][0]["explanation"]
    assert "ease" in flat(kneefix.ok("progress").stdout)


def test_edit_and_delete_a_wrong_entry(kneefix: Kneefix) -> None:
    kneefix.start()
    entry_id = kneefix.json("log", "--pain-during", "8")["log"]["id"]

    edited = kneefix.json("log", "edit", str(entry_id), "--pain-during", "2", "--morning", "1")
    assert edited["log"]["pain_during"] == 2
    assert edited["log"]["next_morning_pain"] == 1
    # The ease earned by the wrong 8/10 disappears with the correction.
    assert all(change["kind"] != "ease" for change in kneefix.json("plan")["changes"])

    cleared = kneefix.json("log", "edit", str(entry_id), "--morning", "none")
    assert cleared["log"]["next_morning_pain"] is None

    kneefix.ok("log", "delete", str(entry_id))
    assert kneefix.json("log", "list") == []
    assert_clean_error(kneefix("log", "delete", str(entry_id)), "no session log")


def test_bad_log_values_fail_cleanly_and_save_nothing(kneefix: Kneefix) -> None:
    kneefix.start()
    assert_clean_error(kneefix("log", "--pain-during", "12"), "from 0 (no pain) to 10")
    assert_clean_error(kneefix("log", "--completed", "lots"), "Completed must be")
    assert_clean_error(kneefix("log", "--date", "31-12-2020"), "YYYY-MM-DD")
    future = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    assert_clean_error(kneefix("log", "--date", future), "in the future")
    assert_clean_error(kneefix("log", "edit", "1"), "no session log")
    assert kneefix.json("log", "list") == []


def test_log_before_start_needs_a_profile(kneefix: Kneefix) -> None:
    assert_clean_error(kneefix("log", "--pain-during", "2"), "No profile named 'default'")
