"""A linked clinician clears a screening's red flags after seeing the person (issue 11): only they may,
the plan carries on, a new red-flag screening pauses it again, and the person reads the note."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.security.helpers import audit_rows, link, new_clinician, red_flag_id
from tests.web.helpers import csrf_of, notices, person_with_plan, pin, take_screening
from tests.web.plan_states import pause_plan

LATER = dt.date(2025, 3, 10)
NOTE = "Examined 10 March: no effusion, full range; exercise is safe."
FORM = re.compile(r'action="(/clinician/people/\d+/screenings/(\d+)/clear)"')


@pytest.fixture
def doctor(app: FastAPI) -> TestClient:
    return new_clinician(app, "doc@example.org")


@pytest.fixture
def flagged(client: TestClient, doctor: TestClient, app: FastAPI) -> int:
    """A person with a plan, linked to ``doctor``, whose re-screening a week later raised a red flag."""
    person_with_plan(client, "runner@example.org")
    profile_id = link(client, doctor)
    pin(app, today=LATER)
    take_screening(client, red_flag=red_flag_id())
    assert client.get("/api/v1/today").json()["status"] == "paused"
    return profile_id


def clear(doctor: TestClient, profile_id: int, note: str = NOTE, seen: str = "yes") -> tuple[str, list[str]]:
    page = doctor.get(f"/clinician/people/{profile_id}")
    found = FORM.search(page.text)
    assert found, page.text[-1500:]
    response = doctor.post(found.group(1), data={"csrf_token": csrf_of(page), "note": note, "seen": seen})
    return response.text, notices(response)


def test_the_linked_clinician_clears_the_flags_and_the_plan_carries_on(
    client: TestClient, doctor: TestClient, flagged: int, app: FastAPI
) -> None:
    """Issue 11: the clearance resumes the plan, is recorded with the note, and the person reads it."""
    assert any("Write a note for the person" in text for text in clear(doctor, flagged, note="  ")[1])
    assert client.get("/api/v1/today").json()["status"] == "paused"  # a clearance needs a note
    assert any("Tick the box" in text for text in clear(doctor, flagged, seen="")[1])
    assert client.get("/api/v1/today").json()["status"] == "paused"  # and the "I have seen" box
    page, said = clear(doctor, flagged)
    assert any("red flags are cleared" in text for text in said), said
    assert "Red flags cleared by doc@example.org on 10 Mar 2025: " + NOTE in page
    assert client.get("/api/v1/today").json()["status"] != "paused"
    assert "found a warning sign" not in client.get("/home").text
    result = client.get("/screening/result").text
    assert "Red flags cleared by doc@example.org on 10 Mar 2025: " + NOTE in result
    changes = client.get("/changes").text
    assert "cleared the warning signs" in changes and NOTE in changes
    rows = [row for row in audit_rows(app) if row["action"] == "red_flag.cleared"]
    assert len(rows) == 1 and rows[0]["actor_role"] == "clinician" and NOTE not in str(rows[0])
    assert "cleared the warning signs of your screening" in client.get("/account/record-access").text
    # The dashboard no longer asks for attention, and says who cleared what.
    person = doctor.get("/api/v1/clinician/people").json()[0]
    assert person["red_flags"] == [] and not person["attention"]
    assert any("Red flags cleared by" in note for note in person["notes"])
    assert FORM.search(doctor.get(f"/clinician/people/{flagged}").text) is None  # nothing left to clear


def test_a_new_red_flag_screening_pauses_again(
    client: TestClient, doctor: TestClient, flagged: int, app: FastAPI
) -> None:
    """Issue 11: clearing applies to that screening's flags only; the next red flag pauses the plan."""
    clear(doctor, flagged)
    assert client.get("/api/v1/today").json()["status"] != "paused"
    take_screening(client, red_flag=red_flag_id())  # the same day, after the clearance
    today = client.get("/api/v1/today").json()
    assert today["status"] == "paused"
    page = doctor.get(f"/clinician/people/{flagged}")
    found = FORM.search(page.text)
    assert found is not None  # the new screening can be cleared in its turn
    old_id = int(found.group(2)) - 1
    stale = doctor.post(
        f"/clinician/people/{flagged}/screenings/{old_id}/clear",
        data={"csrf_token": csrf_of(page), "note": NOTE, "seen": "yes"},
    )
    assert any("latest screening" in text for text in notices(stale))
    assert client.get("/api/v1/today").json()["status"] == "paused"


def test_only_a_linked_clinician_can_clear(
    client: TestClient, doctor: TestClient, flagged: int, app: FastAPI
) -> None:
    """Issue 11 / ASVS V4.2.1: another clinician gets 404, the person 403; nothing is cleared."""
    action = FORM.search(doctor.get(f"/clinician/people/{flagged}").text)
    assert action is not None
    stranger = new_clinician(app, "stranger@example.org")
    page = stranger.get("/clinician")
    refused = stranger.post(action.group(1), data={"csrf_token": csrf_of(page), "note": NOTE, "seen": "yes"})
    assert refused.status_code == 404
    own = client.post(
        action.group(1), data={"csrf_token": csrf_of(client.get("/home")), "note": NOTE, "seen": "yes"}
    )
    assert own.status_code == 403
    assert client.get("/api/v1/today").json()["status"] == "paused"
    assert not [row for row in audit_rows(app) if row["action"] == "red_flag.cleared"]


def test_clearing_the_flags_leaves_a_pause_the_rules_began_for_pain(
    client: TestClient, doctor: TestClient, app: FastAPI
) -> None:
    """Issue 11, as a physiotherapist would: clearing one screening's flags ends only the pause that
    screening began; a pause for rising pain before it stays until the clinician resumes the plan."""
    person_with_plan(client, "runner@example.org")
    profile_id = link(client, doctor)
    paused_on = pause_plan(app, profile_id)
    pin(app, today=paused_on + dt.timedelta(days=1))
    take_screening(client, red_flag=red_flag_id())
    clear(doctor, profile_id)
    today = client.get("/api/v1/today").json()
    assert today["status"] == "paused" and "above your starting" in today["paused_reason"]


def test_the_api_clears_too_and_says_what_is_wrong(
    client: TestClient, doctor: TestClient, flagged: int
) -> None:
    """Issue 11: the same clearance through the API (422 without a note, 404 for a stranger's id)."""
    headers = {"X-CSRF-Token": csrf_of(doctor.get("/clinician"))}
    found = FORM.search(doctor.get(f"/clinician/people/{flagged}").text)
    assert found is not None
    url = f"/api/v1{found.group(1)}"
    empty = doctor.post(url, json={"note": " "}, headers=headers)
    assert empty.status_code == 422 and "Write a note" in empty.json()["detail"]
    assert (
        doctor.post(
            url.replace(f"/people/{flagged}/", "/people/999/"), json={"note": NOTE}, headers=headers
        ).status_code
        == 404
    )
    done = doctor.post(url, json={"note": NOTE}, headers=headers)
    assert done.status_code == 200 and done.json()["note"] == NOTE
    assert client.get("/api/v1/today").json()["status"] != "paused"
    again = doctor.post(url, json={"note": NOTE}, headers=headers)
    assert again.status_code == 422 and "Red flags cleared by" in again.json()["detail"]
