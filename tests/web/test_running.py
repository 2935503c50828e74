"""Return to running on the web and in the API: the readiness check, run logs, calendar and progress.

The person gets there the real way: five weeks of easy, settled sessions meet the plan's criteria, so
only the readiness check is left; passing it opens the ladder and the first run is due that day.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from icalendar import Calendar

from kneefix.content.loader import load_content
from kneefix.services import plan as plan_service
from kneefix.storage import run_checks
from tests.web.helpers import csrf_of, notices, person_with_plan, pin
from tests.web.plan_states import profile_id_of, ready_to_run


@pytest.fixture
def ready(client: TestClient, app: FastAPI) -> int:
    person_with_plan(client, "runner@example.org")
    profile_id = profile_id_of(client)
    pin(app, today=ready_to_run(app, profile_id))
    return profile_id


def _token(page_text: str, suffix: str) -> str:
    match = re.search(rf'name="form_token" value="([^"]+{suffix})"', page_text)
    assert match, f"no form token ending {suffix}"
    return match.group(1)


def _pass_check(client: TestClient) -> None:
    page = client.get("/today")
    data = {
        "csrf_token": csrf_of(page),
        "form_token": _token(page.text, "-check"),
        "walk_pain": "1",
        "hop_pain": "2",
    }
    saved = client.post("/today/run-check", data=data)
    assert any("Return to running is open" in text for text in notices(saved)), notices(saved)


def test_the_readiness_check_form_then_the_run_form(client: TestClient, app: FastAPI, ready: int) -> None:
    home = client.get("/home")
    assert "Ready to run again?" in home.text and 'href="/today#run"' in home.text
    page = client.get("/today")
    assert 'action="/today/run-check"' in page.text and 'action="/today/run"' not in page.text
    assert "readiness check" in page.text
    missing = client.post(
        "/today/run-check",
        data={"csrf_token": csrf_of(page), "form_token": _token(page.text, "-check"), "walk_pain": "1"},
    )
    assert missing.status_code == 422 and "hops" in notices(missing)[0]
    assert re.search(r'name="walk_pain" value="1"\s+checked', missing.text)

    _pass_check(client)
    page = client.get("/today")
    assert 'action="/today/run"' in page.text and 'name="minutes"' in page.text
    assert 'action="/today/run-check"' not in page.text
    assert "Running stage 1" in page.text
    assert "Run today" in client.get("/home").text


def test_a_check_sent_twice_is_stored_once(client: TestClient, app: FastAPI, ready: int) -> None:
    page = client.get("/today")
    data = {
        "csrf_token": csrf_of(page),
        "form_token": _token(page.text, "-check"),
        "walk_pain": "4",
        "hop_pain": "4",
    }
    first = client.post("/today/run-check", data=data)
    assert any(text.startswith("Not yet") for text in notices(first))
    client.post("/today/run-check", data=data)
    with app.state.database.session() as db:
        assert len(run_checks.list_run_checks(db, ready)) == 1


def test_logging_a_run_from_the_today_page(client: TestClient, app: FastAPI, ready: int) -> None:
    _pass_check(client)
    page = client.get("/today")
    token = _token(page.text, "-run")
    bad = client.post(
        "/today/run", data={"csrf_token": csrf_of(page), "form_token": token, "minutes": "soon"}
    )
    assert bad.status_code == 422 and "Minutes must be a number" in notices(bad)[0]
    assert re.search(r'name="minutes" type="number"[^>]*value="soon"', bad.text)  # the form comes back
    data = {
        "csrf_token": csrf_of(page),
        "form_token": token,
        "minutes": "22",
        "distance_km": "1,6",
        "run_pain_during": "1",
        "run_pain_after": "1",
    }
    saved = client.post("/today/run", data=data)
    assert any(text.startswith("Run saved") for text in notices(saved))
    client.post("/today/run", data=data)  # a double click stores once
    runs = [log for log in client.get("/api/v1/logs").json() if log["kind"] == "run"]
    assert len(runs) == 1 and runs[0]["run_minutes"] == 22 and runs[0]["run_distance_km"] == 1.6
    after = client.get("/today")
    assert "Today's run is done" in after.text and 'action="/today/run"' not in after.text
    assert "Run: 22 min, 1.6 km" in client.get("/logs").text

    pin(app, today=app.state.settings.today + dt.timedelta(days=1))
    morning = client.get("/morning")
    assert "This is about your run on" in morning.text and "running stage" in morning.text
    assert "after your run on" in client.get("/home").text


def test_calendar_ics_and_progress_show_runs(client: TestClient, app: FastAPI, ready: int) -> None:
    _pass_check(client)
    today = app.state.settings.today
    page = client.get(f"/plan?month={today:%Y-%m}")
    assert 'class="session run planned"' in page.text and "Run, stage 1" in page.text
    assert "stage 1, alternate 2 min walking" in page.text
    first = Calendar.from_ical(client.get("/plan.ics").content)
    runs = [event for event in first.walk("VEVENT") if str(event["summary"]).startswith("Run:")]
    assert runs and runs[0].decoded("dtstart") >= today
    sessions = [event for event in first.walk("VEVENT") if str(event["summary"]).startswith("Knee session")]
    assert {str(event["uid"]) for event in runs}.isdisjoint(str(event["uid"]) for event in sessions)
    again = Calendar.from_ical(client.get("/plan.ics").content)
    assert [str(event["uid"]) for event in again.walk("VEVENT")] == [
        str(event["uid"]) for event in first.walk("VEVENT")
    ]

    page = client.get("/today")
    client.post(
        "/today/run",
        data={
            "csrf_token": csrf_of(page),
            "form_token": _token(page.text, "-run"),
            "minutes": "25",
            "distance_km": "1.6",
            "run_pain_during": "1",
        },
    )
    progress = client.get("/progress")
    assert "Running minutes per week" in progress.text
    assert re.search(r"<td data-runs>1 · 25 min · 1.6 km</td>", progress.text)
    assert 'class="session run done"' in client.get(f"/plan?month={today:%Y-%m}").text


def test_the_running_api(client: TestClient, app: FastAPI, ready: int) -> None:
    page = client.get("/home")
    headers = {"X-CSRF-Token": csrf_of(page)}
    closed = client.post("/api/v1/runs", json={"minutes": 20}, headers=headers)
    assert closed.status_code == 422 and "not open yet" in closed.json()["detail"]
    check = client.post("/api/v1/run-check", json={"walk_pain": 1, "hop_pain": 1}, headers=headers)
    assert check.status_code == 201 and check.json()["passed"] is True
    assert (
        client.post("/api/v1/run-check", json={"walk_pain": 11, "hop_pain": 1}, headers=headers).status_code
        == 422
    )
    today = client.get("/api/v1/today").json()
    with app.state.database.session() as db:
        assert today == plan_service.today_view(db, load_content(), ready, app.state.settings.today).to_dict()
    assert today["running"]["status"] == "open" and today["running"]["due_today"] is True
    body = {"minutes": 21.5, "distance_km": 1.6, "pain_during": 2, "pain_after": 1, "request_id": "run-1"}
    run = client.post("/api/v1/runs", json=body, headers=headers)
    assert run.status_code == 201, run.text
    assert run.json()["log"]["kind"] == "run" and run.json()["log"]["run_minutes"] == 21.5
    assert (
        client.post("/api/v1/runs", json=body, headers=headers).json()["log"]["id"] == run.json()["log"]["id"]
    )
    twice = client.post("/api/v1/runs", json=body | {"request_id": "run-2"}, headers=headers)
    assert twice.status_code == 422 and "already logged" in twice.json()["detail"]
    plan = client.get("/api/v1/plan").json()
    assert plan["running"]["stage"] == 1 and plan["runs"] == plan["plan"]["runs"] and plan["runs"]
    assert "running" in [change["kind"] for change in plan["changes"]]
