"""A paused plan on every web page and in the API: the reason and what to do, and nothing to train.

The plan is paused the real way (next mornings well above the baseline for two weeks), then resumed by
a linked clinician through the page and through the API.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kneefix.content.loader import load_content
from kneefix.services import plan as plan_service
from tests.web.helpers import csrf_of, form_token_of, notices, person_with_plan, pin, sign_up
from tests.web.plan_states import pause_plan, profile_id_of

REASON = "2 or more points above your starting 3/10"


@pytest.fixture
def paused(client: TestClient, app: FastAPI) -> int:
    """A signed-in person whose plan is paused today; returns their profile id."""
    person_with_plan(client, "sam@example.org")
    profile_id = profile_id_of(client)
    pin(app, today=pause_plan(app, profile_id))
    return profile_id


def test_today_shows_why_and_what_to_do_with_no_session(client: TestClient, paused: int) -> None:
    page = client.get("/today")
    assert page.status_code == 200
    assert "<h1>Your plan is paused</h1>" in page.text
    banner = notices(page)[0]
    assert banner.startswith("Your plan is paused. Why:") and REASON in banner
    assert "physiotherapist or doctor" in page.text and 'href="/screening"' in page.text
    for absent in (
        'action="/today/log"',
        "data-exercise",
        "data-timer",
        "session.js",
        'name="hurt"',
        'id="run"',
    ):
        assert absent not in page.text, absent


def test_logging_while_paused_is_refused_with_the_reason(client: TestClient, paused: int) -> None:
    page = client.get("/today")
    response = client.post(
        "/today/log",
        data={"csrf_token": csrf_of(page), "form_token": "x", "done": ["bridge"], "pain_during": "2"},
    )
    assert response.status_code == 422
    assert any("paused" in text for text in notices(response))


def test_home_plan_progress_and_calendar_file_while_paused(client: TestClient, paused: int) -> None:
    home = client.get("/home")
    assert REASON in notices(home)[0] and "No session while your plan is paused" in home.text
    assert "Start today" not in home.text
    plan = client.get("/plan")
    assert REASON in notices(plan)[0]
    assert "No sessions and no runs while your plan is paused." in plan.text
    assert 'class="session planned"' not in plan.text
    assert "Dates and doses are a forecast" in plan.text  # the plan's own forecast note
    progress = client.get("/progress")
    assert any(text.startswith("Your plan is paused:") for text in notices(progress))
    assert ", paused." in progress.text
    ics = client.get("/plan.ics")
    assert b"BEGIN:VCALENDAR" in ics.content and b"BEGIN:VEVENT" not in ics.content


def test_the_api_shows_the_same_pause(client: TestClient, app: FastAPI, paused: int) -> None:
    today = client.get("/api/v1/today").json()
    with app.state.database.session() as db:
        expected = plan_service.today_view(db, load_content(), paused, app.state.settings.today).to_dict()
    assert today == expected
    assert today["status"] == "paused" and REASON in today["paused_reason"] and today["session"] is None
    plan = client.get("/api/v1/plan").json()
    assert plan["status"] == "paused" and REASON in plan["paused_reason"]
    assert plan["runs"] == [] and plan["plan"]["weeks"] == []
    assert [change["kind"] for change in plan["changes"]][-1] == "pause"
    assert set(plan["changes"][0]) == {"date", "kind", "rule_id", "explanation", "projected"}


def _linked_clinician(person: TestClient, clinician: TestClient) -> None:
    sign_up(clinician, "dr@example.org", role="clinician")
    home = clinician.get("/clinician")
    clinician.post(
        "/clinician/invites", data={"csrf_token": csrf_of(home), "form_token": form_token_of(home)}
    )
    code = re.findall(r'class="invite-code">([^<]+)<', clinician.get("/clinician").text)[0]
    sharing = person.get("/sharing")
    accepted = person.post("/sharing", data={"csrf_token": csrf_of(sharing), "code": code})
    assert accepted.status_code == 200


def test_a_clinician_sees_the_pause_first_and_resumes_the_plan(
    client: TestClient, other_client: TestClient, app: FastAPI, paused: int
) -> None:
    _linked_clinician(client, other_client)
    listing = other_client.get("/clinician?sort=flags&order=desc")
    assert 'class="attention"' in listing.text and "paused: your average next-morning pain" in listing.text
    rows = other_client.get("/api/v1/clinician/people?sort=flags&order=desc").json()
    assert rows[0]["attention"] and REASON in rows[0]["paused_reason"]

    person_page = other_client.get(f"/clinician/people/{paused}")
    assert "Resume plan" in person_page.text and 'name="kind" value="resume"' in person_page.text
    assert "No session: the plan is paused" in person_page.text
    token = re.search(r'name="form_token" value="([^"]+-resume)"', person_page.text)
    assert token is not None
    resumed = other_client.post(
        f"/clinician/people/{paused}/adjust",
        data={
            "csrf_token": csrf_of(person_page),
            "form_token": token.group(1),
            "kind": "resume",
            "note": "Reviewed: patellofemoral pain, carry on gently.",
        },
    )
    assert any("The plan is resumed" in text for text in notices(resumed))
    assert "Resume plan" not in resumed.text

    pin(app, today=app.state.settings.today + dt.timedelta(days=1))
    today = client.get("/api/v1/today").json()
    assert today["status"] != "paused" and today["session"] is not None
    assert "Your plan is paused" not in client.get("/today").text
    kinds = [change["kind"] for change in client.get("/api/v1/plan").json()["changes"]]
    assert kinds.index("resume") > kinds.index("pause")


def test_resume_through_the_api_and_only_when_paused(
    client: TestClient, other_client: TestClient, app: FastAPI, paused: int
) -> None:
    _linked_clinician(client, other_client)
    page = other_client.get("/clinician")
    headers = {"X-CSRF-Token": csrf_of(page)}
    url = f"/api/v1/clinician/people/{paused}/resume"
    first = other_client.post(url, json={"note": "Seen today."}, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["kind"] == "resume" and first.json()["note"] == "Seen today."
    again = other_client.post(url, json={"note": ""}, headers=headers)
    assert again.status_code == 422 and "not paused" in again.json()["detail"]
    assert (
        other_client.post("/api/v1/clinician/people/999/resume", json={}, headers=headers).status_code == 404
    )
