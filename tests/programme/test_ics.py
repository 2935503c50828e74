"""The iCalendar export parses back with one all-day event per session and stable UIDs."""

from __future__ import annotations

import datetime as dt

from icalendar import Calendar

from kneefix.programme.ics import plan_to_ics
from kneefix.programme.planner import build_plan
from tests.programme.fixtures import EQUIPMENT, EXERCISES, MONDAY, PROTOCOL, settings


def test_every_session_becomes_an_all_day_event_listing_its_exercises() -> None:
    plan = build_plan(PROTOCOL, EXERCISES, settings(frozenset({"tennis_ball"})), EQUIPMENT)
    calendar = Calendar.from_ical(plan_to_ics(plan, "Sam"))
    events = list(calendar.walk("VEVENT"))
    assert len(events) == len(plan.sessions)
    first, session = events[0], plan.sessions[0]
    assert first.decoded("dtstart") == MONDAY
    assert first.decoded("dtend") == MONDAY + dt.timedelta(days=1)
    assert str(first["summary"]) == "Knee session: Settle, week 1"
    description = str(first["description"])
    for item in session.exercises:
        assert f"{item.name}: {item.dose_text}" in description
    assert "Roll tennis" in description and "Note:" in description
    assert str(calendar["x-wr-calname"]) == "Knee programme: Sam"
    assert len({str(event["uid"]) for event in events}) == len(events)


def test_uids_and_bytes_are_stable_and_the_name_is_not_exposed_in_them() -> None:
    plan = build_plan(PROTOCOL, EXERCISES, settings(), EQUIPMENT)
    first, second = plan_to_ics(plan, "Sam Smith"), plan_to_ics(plan, "Sam Smith")
    assert first == second
    uids = [str(e["uid"]) for e in Calendar.from_ical(first).walk("VEVENT")]
    assert all(uid.endswith("@kneefix") and "Sam" not in uid for uid in uids)
    other = [str(e["uid"]) for e in Calendar.from_ical(plan_to_ics(plan, "Alex")).walk("VEVENT")]
    assert set(uids).isdisjoint(other)


def test_a_replanned_calendar_keeps_the_uid_of_a_session_on_the_same_day() -> None:
    plan = build_plan(PROTOCOL, EXERCISES, settings(), EQUIPMENT)
    shifted = build_plan(PROTOCOL, EXERCISES, settings(), EQUIPMENT, start=plan.sessions[3].date)
    by_date = {
        e.decoded("dtstart"): str(e["uid"])
        for e in Calendar.from_ical(plan_to_ics(plan, "Sam")).walk("VEVENT")
    }
    again = {
        e.decoded("dtstart"): str(e["uid"])
        for e in Calendar.from_ical(plan_to_ics(shifted, "Sam")).walk("VEVENT")
    }
    shared = set(by_date) & set(again)
    assert shared and all(by_date[day] == again[day] for day in shared)
