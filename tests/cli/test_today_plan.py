"""``kneefix today``, ``kneefix plan`` and ``kneefix settings``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from icalendar import Calendar

from kneefix.content.schemas import STEP_ORDER
from tests.cli.helpers import Kneefix, assert_clean_error, flat


def test_today_lists_the_four_steps_in_order_then_hip(kneefix: Kneefix) -> None:
    kneefix.start()
    view = kneefix.json("today")

    assert view["rest_day"] is False
    steps = [item["step"] for item in view["session"]["exercises"]]
    assert steps == sorted(steps, key=STEP_ORDER.index)
    assert steps[0] == "inhibit"
    assert {"inhibit", "lengthen", "activate", "integrate", "hip"} <= set(steps)
    first = view["session"]["exercises"][0]
    assert first["dose_text"] and first["cues"] and first["why"]


def test_today_text_shows_dose_equipment_cues_and_why(kneefix: Kneefix) -> None:
    kneefix.start()
    out = flat(kneefix.ok("today").stdout)

    positions = [out.index(title) for title in ("Step 1", "Step 2", "Step 3", "Step 4")]
    assert positions == sorted(positions)
    assert "Dose:" in out and "Equipment:" in out and "Why:" in out
    assert "addition from the clinical guidelines" in out


def test_hip_additions_can_be_switched_off(kneefix: Kneefix) -> None:
    kneefix.start("--no-guideline-additions")
    steps = {item["step"] for item in kneefix.json("today")["session"]["exercises"]}
    assert "hip" not in steps

    kneefix.ok("settings", "--guideline-additions")
    steps = {item["step"] for item in kneefix.json("today")["session"]["exercises"]}
    assert "hip" in steps


def test_no_equipment_gives_a_session_needing_only_home_items(kneefix: Kneefix) -> None:
    kneefix.start()
    kneefix.ok("settings", "--equipment", "none")
    view = kneefix.json("today")

    needed = {item for exercise in view["session"]["exercises"] for item in exercise["equipment"]}
    assert needed <= {"wall", "chair", "towel", "water_bottles"}


def test_rest_day_says_so_and_gives_the_next_session(kneefix: Kneefix) -> None:
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    kneefix.start("--start-date", tomorrow.isoformat())

    view = kneefix.json("today")
    assert view["rest_day"] is True
    assert view["next_session_date"] == tomorrow.isoformat()
    out = flat(kneefix.ok("today").stdout)
    assert "rest day" in out and "next session" in out


def test_plan_table_and_json_cover_every_phase(kneefix: Kneefix) -> None:
    kneefix.start()
    plan = kneefix.json("plan")

    sessions = [session for week in plan["plan"]["weeks"] for session in week["sessions"]]
    assert len({session["phase_id"] for session in sessions}) == plan["phase_count"]
    dates = [session["date"] for session in sessions]
    assert dates == sorted(dates) and len(set(dates)) == len(dates)
    out = flat(kneefix.ok("plan").stdout)
    assert "week" in out and "phase 1 of" in out


def test_plan_table_numbers_logged_sessions_and_continues_the_count(kneefix: Kneefix) -> None:
    start = dt.date.today() - dt.timedelta(days=7)
    kneefix.start("--start-date", start.isoformat())
    kneefix.ok("log", "--date", start.isoformat(), "--completed", "1", "--pain-during", "2")
    rows = [line for line in kneefix.ok("plan").stdout.splitlines() if "│" in line]
    cells = [row.split("│") for row in rows]
    numbers = [c[3].strip() for c in cells if len(c) > 3 and c[2].strip()]  # skip wrapped lines
    assert numbers[:3] == ["1", "2", "3"]  # the logged session is 1, the plan goes on from 2
    assert "done 100%" in rows[0] and "Settle" in rows[0]


def test_plan_ics_writes_one_event_per_session(kneefix: Kneefix, tmp_path: Path) -> None:
    kneefix.start()
    target = tmp_path / "cal" / "plan.ics"
    plan = kneefix.json("plan", "--ics", str(target))

    calendar = Calendar.from_ical(target.read_bytes())
    events = [component for component in calendar.walk() if component.name == "VEVENT"]
    expected = sum(len(week["sessions"]) for week in plan["plan"]["weeks"])
    assert len(events) == expected


def test_plan_ics_into_a_folder_is_a_clear_error(kneefix: Kneefix, tmp_path: Path) -> None:
    kneefix.start()
    assert_clean_error(kneefix("plan", "--ics", str(tmp_path)), "is a folder")


def test_settings_change_days_and_weekdays(kneefix: Kneefix) -> None:
    kneefix.start()
    settings = kneefix.json("settings", "--weekdays", "tue,thu")["settings"]
    assert settings["training_weekdays"] == [1, 3]
    assert settings["days_per_week"] == 2
    for session in kneefix.json("plan")["plan"]["weeks"][0]["sessions"]:
        assert dt.date.fromisoformat(session["date"]).weekday() in {1, 3}

    settings = kneefix.json("settings", "--days", "4")["settings"]
    assert settings["training_weekdays"] is None
    assert settings["days_per_week"] == 4
    assert_clean_error(kneefix("settings", "--weekdays", "funday"), "is not a weekday")
