"""The clinician side: invites, the table of people, one person's picture, plan adjustments, and who may
see what (a clinician only their linked people; a person never a clinician page)."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kneefix.services.worker import Worker
from tests.web.helpers import (
    api_screening_body,
    api_token,
    bearer,
    csrf_of,
    form_token_of,
    log_today,
    notices,
    person_with_plan,
    sign_in,
    sign_up,
)
from tests.web.technique_media import fake_analysis, tiny_mp4

INVITE_CODE = re.compile(r'class="invite-code">([A-Z0-9]{5}-[A-Z0-9]{5})<')


def exercise_ids(data: object) -> set[str]:
    """Every ``exercise_id`` anywhere in a JSON document (a plan, a session)."""
    found: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "exercise_id" and isinstance(value, str):
                found.add(value)
            else:
                found |= exercise_ids(value)
    elif isinstance(data, list):
        for item in data:
            found |= exercise_ids(item)
    return found


def create_invite(clinician: TestClient, note: str = "") -> str:
    page = clinician.get("/clinician")
    response = clinician.post(
        "/clinician/invites",
        data={"csrf_token": csrf_of(page), "form_token": form_token_of(page), "note": note},
    )
    codes = INVITE_CODE.findall(response.text)
    assert codes, response.text[-800:]
    return str(codes[0])


def accept(person: TestClient, code: str) -> httpx.Response:
    page = person.get(f"/invite/{code}")
    assert page.status_code == 200
    response: httpx.Response = person.post(f"/invite/{code}", data={"csrf_token": csrf_of(page)})
    return response


@pytest.fixture
def clinician(app: FastAPI) -> TestClient:
    browser = TestClient(app, follow_redirects=True)
    sign_up(browser, "doc@example.org", role="clinician")
    return browser


@pytest.fixture
def linked(client: TestClient, clinician: TestClient) -> int:
    """The person (``client``) has a plan, one logged session, and shares it with ``clinician``."""
    person_with_plan(client, "runner@example.org")
    log_today(client, pain_during="3")
    accept(client, create_invite(clinician, note="Runner"))
    rows = re.findall(r'href="/clinician/people/(\d+)"', clinician.get("/clinician").text)
    assert len(rows) == 1
    return int(rows[0])


def test_an_invite_link_links_the_person_to_the_clinician(
    client: TestClient, clinician: TestClient, linked: int
) -> None:
    table = clinician.get("/clinician")
    assert "runner@example.org" in table.text
    assert 'class="people"' in table.text and "aria-sort" in table.text
    sharing = client.get("/sharing")
    assert "doc@example.org" in sharing.text


def test_an_invite_can_be_used_once_and_a_wrong_code_says_so(
    client: TestClient, clinician: TestClient, other_client: TestClient
) -> None:
    code = create_invite(clinician)
    person_with_plan(client, "first@example.org")
    assert "can now see your plan" in " ".join(notices(accept(client, code)))
    person_with_plan(other_client, "second@example.org")
    second = accept(other_client, code)
    assert "already been used" in second.text
    missing = other_client.get("/invite/ZZZZZ-ZZZZZ")
    assert missing.status_code == 404 and "does not exist" in missing.text
    malformed = other_client.get("/invite/abc")
    assert "ten letters and digits" in malformed.text


def test_a_double_clicked_invite_form_creates_one_invite(clinician: TestClient) -> None:
    page = clinician.get("/clinician")
    data = {"csrf_token": csrf_of(page), "form_token": form_token_of(page), "note": ""}
    clinician.post("/clinician/invites", data=data)
    after = clinician.post("/clinician/invites", data=data)
    assert len(INVITE_CODE.findall(after.text)) == 1


def test_the_person_page_shows_the_full_picture(clinician: TestClient, linked: int) -> None:
    page = clinician.get(f"/clinician/people/{linked}")
    assert page.status_code == 200
    for heading in (
        "Progress",
        "Recent sessions",
        "Technique checks",
        "Adjust the plan",
        "Why the plan changed",
    ):
        assert heading in page.text
    chart = clinician.get(f"/clinician/people/{linked}/progress.png")
    assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG")


def test_a_dose_change_is_shown_to_the_person_with_the_note(
    client: TestClient, clinician: TestClient, linked: int
) -> None:
    page = clinician.get(f"/clinician/people/{linked}")
    exercise = re.search(r'<select id="exercise" name="exercise" required><option value="([^"]+)"', page.text)
    assert exercise
    response = clinician.post(
        f"/clinician/people/{linked}/adjust",
        data={
            "csrf_token": csrf_of(page),
            "form_token": form_token_of(page) + "-dose",
            "kind": "dose",
            "exercise": exercise.group(1),
            "sets": "4",
            "note": "Add one set this week.",
        },
    )
    assert "The plan was changed" in " ".join(notices(response))
    assert "Add one set this week." in response.text
    assert "Your clinician set" in client.get("/changes").text
    assert "Add one set this week." in client.get("/changes").text


def test_a_phase_change_moves_the_plan_and_can_be_withdrawn(
    client: TestClient, clinician: TestClient, linked: int
) -> None:
    headers = {"X-CSRF-Token": csrf_of(clinician.get("/clinician"))}
    made = clinician.post(
        f"/api/v1/clinician/people/{linked}/adjustments",
        json={"kind": "phase", "payload": {"phase": "load_integrate"}, "note": "Ready for more"},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    today = clinician.get(f"/api/v1/clinician/people/{linked}").json()["today"]
    assert today["phase_number"] == 3
    withdrawn = clinician.delete(
        f"/api/v1/clinician/people/{linked}/adjustments/{made.json()['id']}", headers=headers
    )
    assert withdrawn.status_code == 204
    assert clinician.get(f"/api/v1/clinician/people/{linked}").json()["today"]["phase_number"] == 1
    listed = clinician.get(f"/api/v1/clinician/people/{linked}/adjustments").json()
    assert [item["active"] for item in listed] == [False]


def test_a_bad_adjustment_is_refused_and_changes_nothing(clinician: TestClient, linked: int) -> None:
    page = clinician.get(f"/clinician/people/{linked}")
    response = clinician.post(
        f"/clinician/people/{linked}/adjust",
        data={
            "csrf_token": csrf_of(page),
            "form_token": form_token_of(page) + "-swap",
            "kind": "swap",
            "from_exercise": "not_in_plan",
            "to_exercise": "bridge",
        },
    )
    assert "The plan was not changed" in " ".join(notices(response))
    assert clinician.get(f"/api/v1/clinician/people/{linked}/adjustments").json() == []


def test_the_table_sorts_and_shows_the_latest_technique_result(
    client: TestClient, clinician: TestClient, linked: int, app: FastAPI, other_client: TestClient
) -> None:
    video = tiny_mp4()
    page = client.get("/technique")
    token = re.search(r'name="request_id" value="([^"]+)"', page.text)
    assert token
    client.post(
        "/technique/checks",
        data={"csrf_token": csrf_of(page), "movement": "squat", "request_id": token.group(1)},
        files={"video": ("squat.mp4", video, "video/mp4")},
    )
    Worker(app.state.database, app.state.files, analyse=fake_analysis(video)).run_until_idle()
    person_with_plan(other_client, "aaron@example.org")
    accept(other_client, create_invite(clinician))
    rows = clinician.get("/api/v1/clinician/people?sort=name").json()
    assert [row["email"] for row in rows] == ["aaron@example.org", "runner@example.org"]
    by_technique = clinician.get("/api/v1/clinician/people?sort=technique&order=desc").json()
    assert by_technique[0]["technique"] == "Squat: 1 rep, hips led 1 of 1"
    assert by_technique[1]["technique"] is None
    page_sorted = clinician.get("/clinician?sort=adherence&order=desc")
    assert 'aria-sort="descending"' in page_sorted.text
    check_id = clinician.get(f"/api/v1/clinician/people/{linked}").json()["checks"][0]["id"]
    result = clinician.get(f"/clinician/people/{linked}/checks/{check_id}")
    assert "<video" in result.text
    assert clinician.get(f"/clinician/people/{linked}/checks/{check_id}/files/annotated.mp4").content == video


def test_a_red_flag_shows_at_the_top_of_the_table(clinician: TestClient, client: TestClient) -> None:
    sign_up(client, "flagged@example.org")
    page = client.get("/screening")
    from tests.web.helpers import screening_answers

    data = screening_answers(red_flag="true_locking")
    data["csrf_token"] = csrf_of(page)
    data["form_token"] = form_token_of(page)
    client.post("/screening", data=data)
    accept(client, create_invite(clinician))
    rows = clinician.get("/api/v1/clinician/people?sort=flags&order=desc").json()
    assert rows[0]["red_flags"] and rows[0]["attention"] is True
    assert rows[0]["started"] is False
    assert 'class="attention"' in clinician.get("/clinician").text


# ----- who may see what ------------------------------------------------------------------------


def test_an_unlinked_clinician_sees_nothing_of_the_person(app: FastAPI, linked: int) -> None:
    stranger = TestClient(app, follow_redirects=True)
    sign_up(stranger, "other.doc@example.org", role="clinician")
    for url in (
        f"/clinician/people/{linked}",
        f"/clinician/people/{linked}/progress.png",
        f"/clinician/people/{linked}/checks/1",
        f"/clinician/people/{linked}/checks/1/files/annotated.mp4",
        f"/api/v1/clinician/people/{linked}",
        f"/api/v1/clinician/people/{linked}/adjustments",
    ):
        assert stranger.get(url).status_code == 404, url
    assert stranger.get("/api/v1/clinician/people").json() == []
    headers = {"X-CSRF-Token": csrf_of(stranger.get("/clinician"))}
    adjust = stranger.post(
        f"/api/v1/clinician/people/{linked}/adjustments",
        json={"kind": "phase", "payload": {"phase": "build"}},
        headers=headers,
    )
    assert adjust.status_code == 404


def test_stopping_sharing_removes_the_clinicians_access(
    client: TestClient, clinician: TestClient, linked: int
) -> None:
    page = client.get("/sharing")
    doctor_id = re.search(r'action="/sharing/(\d+)/stop"', page.text)
    assert doctor_id
    client.post(f"/sharing/{doctor_id.group(1)}/stop", data={"csrf_token": csrf_of(page)})
    assert clinician.get(f"/clinician/people/{linked}").status_code == 404
    assert clinician.get("/api/v1/clinician/people").json() == []


def test_a_person_cannot_open_clinician_pages(client: TestClient, linked: int) -> None:
    assert client.get("/clinician").status_code == 403
    assert client.get(f"/clinician/people/{linked}").status_code == 403
    assert client.get("/api/v1/clinician/people").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(app: FastAPI) -> None:
    anonymous = TestClient(app, follow_redirects=False)
    assert anonymous.get("/clinician").status_code == 303
    assert anonymous.get("/sharing").status_code == 303
    assert anonymous.get("/api/v1/clinician/people").status_code == 401
    assert anonymous.get("/api/v1/me/clinicians").status_code == 401


def test_an_invite_page_asks_an_anonymous_visitor_to_sign_in_first(
    app: FastAPI, clinician: TestClient
) -> None:
    code = create_invite(clinician)
    anonymous = TestClient(app, follow_redirects=True)
    page = anonymous.get(f"/invite/{code}")
    assert page.status_code == 200 and "Sign in" in page.text
    person_with_plan(anonymous, "later@example.org")
    sign_in(anonymous, "later@example.org")
    assert "can now see your plan" in " ".join(notices(accept(anonymous, code)))


def test_the_sharing_api_for_a_person(client: TestClient, clinician: TestClient) -> None:
    token = api_token(client, "api.person@example.org")
    headers = bearer(token)
    client.post("/api/v1/screening", json=api_screening_body(), headers=headers)
    doc_headers = {"X-CSRF-Token": csrf_of(clinician.get("/clinician"))}
    invite = clinician.post("/api/v1/clinician/invites", json={"note": "api"}, headers=doc_headers).json()
    assert invite["link"].endswith(f"/invite/{invite['code']}") and invite["open"] is True
    linked = client.post("/api/v1/me/clinicians", json={"code": invite["code"].lower()}, headers=headers)
    assert linked.status_code == 201 and linked.json()["email"] == "doc@example.org"
    assert [c["email"] for c in client.get("/api/v1/me/clinicians", headers=headers).json()] == [
        "doc@example.org"
    ]
    assert client.delete(f"/api/v1/me/clinicians/{linked.json()['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/me/clinicians", headers=headers).json() == []
    assert clinician.get("/api/v1/clinician/invites").json()[0]["open"] is False


def test_a_swap_changes_the_persons_own_session_and_calendar(
    client: TestClient, clinician: TestClient, linked: int
) -> None:
    before = client.get("/api/v1/today").json()["session"]["exercises"]
    old = before[0]["exercise_id"]
    choices = [
        ex for ex in ("quad_set", "bridge", "clamshell") if ex not in {e["exercise_id"] for e in before}
    ]
    headers = {"X-CSRF-Token": csrf_of(clinician.get("/clinician"))}
    made = clinician.post(
        f"/api/v1/clinician/people/{linked}/adjustments",
        json={"kind": "swap", "payload": {"from": old, "to": choices[0]}},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    after = [e["exercise_id"] for e in client.get("/api/v1/today").json()["session"]["exercises"]]
    assert choices[0] in after and old not in after
    planned = exercise_ids(client.get("/api/v1/plan").json())
    assert choices[0] in planned and old not in planned  # every upcoming session, not only today's
    changes = client.get("/api/v1/plan/changes").json()
    assert any("Your clinician replaced" in str(change) for change in changes)
