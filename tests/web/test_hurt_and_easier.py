""" "This hurt" in the session log, and the easier version shown beside each exercise (pages and API)."""

from __future__ import annotations

import datetime as dt
import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.web.helpers import (
    api_screening_body,
    api_token,
    bearer,
    csrf_of,
    form_token_of,
    notices,
    person_with_plan,
    pin,
)

EXERCISE = "seated_leg_extension_12"


def _session_ids(client: TestClient) -> list[str]:
    session = client.get("/api/v1/today").json()["session"]
    return [item["exercise_id"] for item in session["exercises"]]


def test_every_exercise_has_a_this_hurt_box_and_its_easier_version(client: TestClient) -> None:
    person_with_plan(client, "sam@example.org")
    page = client.get("/today")
    exercises = client.get("/api/v1/today").json()["session"]["exercises"]
    hurt_boxes = re.findall(r'name="hurt" value="([^"]+)"', page.text)
    assert hurt_boxes == [item["exercise_id"] for item in exercises]
    for item in exercises:
        if item["easier_id"]:
            assert f'data-easier="{item["easier_id"]}"' in page.text
            assert f"Easier version: {item['easier_name']}" in page.text


def test_ticking_this_hurt_swaps_to_the_easier_version_next_time(client: TestClient, app: FastAPI) -> None:
    person_with_plan(client, "sam@example.org")
    easier = next(
        item
        for item in client.get("/api/v1/today").json()["session"]["exercises"]
        if item["exercise_id"] == EXERCISE
    )["easier_id"]
    page = client.get("/today")
    done = re.findall(r'name="done" value="([^"]+)"', page.text)
    saved = client.post(
        "/today/log",
        data={
            "csrf_token": csrf_of(page),
            "form_token": form_token_of(page),
            "done": done,
            "hurt": [EXERCISE],
            "pain_during": "3",
        },
    )
    assert any(text.startswith("Session saved") and "hurt" in text for text in notices(saved))
    [log] = client.get("/api/v1/logs").json()
    assert log["hurt"] == [EXERCISE]
    pin(app, today=app.state.settings.today + dt.timedelta(days=2))
    ids = _session_ids(client)
    assert easier in ids and EXERCISE not in ids
    assert "easier version</span>" in client.get("/today").text


def test_a_hurt_id_outside_the_session_comes_back_with_the_ticks_kept(client: TestClient) -> None:
    person_with_plan(client, "sam@example.org")
    page = client.get("/today")
    response = client.post(
        "/today/log",
        data={
            "csrf_token": csrf_of(page),
            "form_token": form_token_of(page),
            "done": [EXERCISE],
            "hurt": [EXERCISE, "not_in_this_session"],
            "pain_during": "3",
        },
    )
    assert response.status_code == 422 and "not_in_this_session" in notices(response)[0]
    assert re.search(rf'value="{EXERCISE}" data-hurt checked', response.text)


def test_the_api_takes_hurt_on_a_session_log(client: TestClient) -> None:
    headers = bearer(api_token(client, "api@example.org"))
    assert client.post("/api/v1/screening", json=api_screening_body(), headers=headers).status_code == 200
    ids = [
        item["exercise_id"]
        for item in client.get("/api/v1/today", headers=headers).json()["session"]["exercises"]
    ]
    body = {"done": ids, "pain_during": 2, "hurt": [ids[-1]]}
    wrong = client.post("/api/v1/logs", json=body | {"hurt": ["nope"]}, headers=headers)
    assert wrong.status_code == 422 and "nope" in wrong.json()["detail"]
    created = client.post("/api/v1/logs", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["log"]["hurt"] == [ids[-1]]
