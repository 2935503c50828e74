"""The calendar a person subscribes to: a secret link that stays current as the plan moves (SEQUENCE
and DTSTAMP rise, moved sessions are cancelled), with reminders at the chosen time, revocable; the
``.ics`` download is the same calendar."""

from __future__ import annotations

import datetime as dt
import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from icalendar import Calendar

from tests.web.conftest import FIXED_TODAY
from tests.web.helpers import csrf_of, notices, person_with_plan, pin


def _make_link(client: TestClient) -> str:
    page = client.get("/plan")
    made = client.post("/plan/calendar", data={"csrf_token": csrf_of(page)})
    assert made.status_code == 200
    found = re.search(r"data-feed-url>([^<]+)<", made.text)
    assert found, "the new link is shown once"
    return found.group(1).replace("http://testserver", "")


def _events(body: bytes) -> dict[str, dict[str, object]]:
    events = {}
    for event in Calendar.from_ical(body).walk("VEVENT"):
        events[str(event["uid"])] = {
            "date": event.decoded("dtstart"),
            "sequence": int(str(event["sequence"])),
            "stamp": event.decoded("dtstamp"),
            "status": str(event.get("status", "")),
            "alarms": [str(a.get("trigger").to_ical().decode()) for a in event.walk("VALARM")],
        }
    return events


def test_the_feed_follows_the_plan_and_cancels_moved_sessions(app: FastAPI, client: TestClient) -> None:
    person_with_plan(client, "cal@example.org")
    path = _make_link(client)
    anonymous = TestClient(app)  # a calendar app: no cookies, only the secret in the URL
    first = anonymous.get(path)
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/calendar")
    before = _events(first.content)
    assert before and all(e["sequence"] == 0 and e["status"] == "" for e in before.values())
    assert _events(anonymous.get(path).content) == before  # nothing moved: the same calendar
    # Ten days pass with nothing logged: the plan moves the missed sessions forward.
    pin(app, today=FIXED_TODAY + dt.timedelta(days=10))
    after = _events(anonymous.get(path).content)
    live = {uid: e for uid, e in after.items() if e["status"] != "CANCELLED"}
    cancelled = {uid: e for uid, e in after.items() if e["status"] == "CANCELLED"}
    assert all(e["sequence"] == 1 for e in after.values())
    assert all(e["date"] >= app.state.settings.today for e in live.values())
    gone = set(before) - set(live)
    assert gone and gone <= set(cancelled)  # each session that moved away is cancelled, not left behind


def test_reminders_at_the_chosen_time_and_a_bad_time_is_refused(client: TestClient) -> None:
    person_with_plan(client, "alarm@example.org")
    page = client.get("/plan")
    saved = client.post("/plan/reminder", data={"csrf_token": csrf_of(page), "reminder": "07:30"})
    assert "Reminders at 07:30" in " ".join(notices(saved))
    download = client.get("/plan.ics")
    events = _events(download.content)
    assert events and all(e["alarms"] == ["PT7H30M"] for e in events.values())
    refused = client.post("/plan/reminder", data={"csrf_token": csrf_of(page), "reminder": "25:99"})
    assert refused.status_code == 422 and "HH:MM" in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert all(e["alarms"] == ["PT7H30M"] for e in _events(client.get("/plan.ics").content).values())
    cleared = client.post("/plan/reminder", data={"csrf_token": csrf_of(page), "reminder": ""})
    assert "No reminders." in " ".join(notices(cleared))
    assert all(e["alarms"] == [] for e in _events(client.get("/plan.ics").content).values())


def test_a_new_link_revokes_the_old_one_and_off_turns_it_off(app: FastAPI, client: TestClient) -> None:
    person_with_plan(client, "revoke@example.org")
    anonymous = TestClient(app)
    old = _make_link(client)
    new = _make_link(client)
    assert old != new
    assert anonymous.get(old).status_code == 404
    assert anonymous.get(new).status_code == 200
    page = client.get("/plan")
    client.post("/plan/calendar/off", data={"csrf_token": csrf_of(page)})
    assert anonymous.get(new).status_code == 404
    assert anonymous.get("/calendar/not-a-real-secret.ics").status_code == 404
    assert "Make a calendar link" in client.get("/plan").text
