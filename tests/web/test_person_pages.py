"""A person's pages end to end through the app: screening, today, logging, morning, plan, progress."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kneefix.services import plan as plan_service
from kneefix.storage.models import Screening, SessionLogRow
from tests.web.conftest import FIXED_TODAY
from tests.web.helpers import (
    csrf_of,
    form_token_of,
    log_today,
    notices,
    person_with_plan,
    pin,
    screening_answers,
    sign_up,
    take_screening,
)


def count(app: FastAPI, model: type) -> int:
    with app.state.database.session() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_typical_screening_gives_a_plan(client: TestClient) -> None:
    sign_up(client, "sam@example.org")
    result = take_screening(client)
    assert result.url.path == "/screening/result"
    assert "usual pattern of runner" in result.text
    assert "Your plan" in result.text and "sessions over" in result.text
    assert client.get("/home").url.path == "/home"


def test_red_flag_stops_with_a_plain_explanation(client: TestClient) -> None:
    sign_up(client, "sam@example.org")
    result = take_screening(client, red_flag="hot_red_swollen_fever")
    assert "Get medical help now" in result.text
    assert "will not give you an exercise plan" in result.text
    assert "Your plan" not in result.text
    assert client.get("/today").url.path == "/screening/result"  # no plan pages without a plan


def test_atypical_symptoms_suggest_an_assessment_but_may_start(client: TestClient) -> None:
    sign_up(client, "sam@example.org")
    result = take_screening(client, typical=False)
    assert "do not quite match" in result.text
    assert "Your plan" in result.text


def test_missing_answers_come_back_with_everything_kept(client: TestClient, app: FastAPI) -> None:
    sign_up(client, "sam@example.org")
    page = client.get("/screening")
    data = screening_answers()
    del data["kujala_4"], data["rf_true_locking"]
    data |= {"csrf_token": csrf_of(page), "form_token": form_token_of(page)}
    response = client.post("/screening", data=data)
    assert response.status_code == 422
    [message] = [text for text in notices(response) if text.startswith("Please answer")]
    assert "knee-score question 4" in message and "knee locks" in message
    assert 'name="age" type="number"' in response.text and 'value="30"' in response.text
    assert re.search(r'name="symptoms" value="pain_squatting" checked', response.text)
    assert re.search(r'name="kujala_5" value="b" checked', response.text)
    assert count(app, Screening) == 0


def test_double_submitted_screening_is_stored_once(client: TestClient, app: FastAPI) -> None:
    sign_up(client, "sam@example.org")
    page = client.get("/screening")
    data = screening_answers() | {"csrf_token": csrf_of(page), "form_token": form_token_of(page)}
    first = client.post("/screening", data=data)
    second = client.post("/screening", data=data)
    assert first.url.path == second.url.path == "/screening/result"
    assert count(app, Screening) == 1


def test_today_shows_the_session_in_step_order_with_timers(client: TestClient) -> None:
    person_with_plan(client, "sam@example.org")
    page = client.get("/today")
    titles = re.findall(r'<h2 class="step-title">(.*?)</h2>', page.text)
    assert titles[:4] == [
        "1 · Loosen (roll)",
        "2 · Stretch",
        "3 · Strengthen the thigh",
        "4 · Whole movement",
    ]
    assert "data-seconds=" in page.text and "data-sets=" in page.text and "/static/session.js" in page.text
    assert 'name="pain_during"' in page.text


def test_logging_a_session_once_even_when_sent_twice(client: TestClient, app: FastAPI) -> None:
    person_with_plan(client, "sam@example.org")
    page = client.get("/today")
    done = re.findall(r'name="done" value="([^"]+)"', page.text)
    data = {"csrf_token": csrf_of(page), "form_token": form_token_of(page), "done": done, "pain_during": "3"}
    first = client.post("/today/log", data=data)
    client.post("/today/log", data=data)
    assert any("Session saved" in text for text in notices(first))
    assert count(app, SessionLogRow) == 1
    assert "Today's session is done" in client.get("/today").text


def test_log_needs_pain_and_keeps_the_ticks(client: TestClient, app: FastAPI) -> None:
    person_with_plan(client, "sam@example.org")
    page = client.get("/today")
    response = client.post(
        "/today/log",
        data={
            "csrf_token": csrf_of(page),
            "form_token": "t",
            "done": ["hamstring_stretch"],
            "note": "keep me",
        },
    )
    assert response.status_code == 422
    assert "how much your knee hurt" in response.text
    assert "keep me" in response.text
    assert re.search(r'value="hamstring_stretch" data-done checked', response.text)
    assert count(app, SessionLogRow) == 0


def test_morning_check_and_why_the_plan_changed(client: TestClient, app: FastAPI) -> None:
    person_with_plan(client, "sam@example.org")
    log_today(client)
    pin(app, today=FIXED_TODAY.replace(day=4))
    home = client.get("/home")
    assert "Morning check" in home.text
    page = client.get("/morning")
    assert "Monday 03 March" in page.text
    saved = client.post(
        "/morning", data={"csrf_token": csrf_of(page), "pain": "1", "session_day": "2025-03-03"}
    )
    assert saved.url.path == "/home"
    assert "1" in client.get("/logs").text
    assert client.get("/changes").status_code == 200


def test_plan_calendar_and_ics(client: TestClient) -> None:
    person_with_plan(client, "sam@example.org")
    log_today(client)
    page = client.get("/plan?month=2025-03")
    assert "March 2025" in page.text
    assert 'class="session done"' in page.text and 'class="session planned"' in page.text
    assert client.get("/plan?month=nonsense").status_code == 200
    ics = client.get("/plan.ics")
    assert ics.headers["content-type"].startswith("text/calendar")
    assert b"BEGIN:VCALENDAR" in ics.content and b"BEGIN:VEVENT" in ics.content


def test_progress_page_draws_three_charts(client: TestClient) -> None:
    person_with_plan(client, "sam@example.org")
    log_today(client)
    page = client.get("/progress")
    assert page.text.count('<svg class="chart"') == 3
    assert "Pain by week" in page.text and "Kujala knee score" in page.text
    png = client.get("/progress/chart.png")
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")


def test_kujala_rescore(client: TestClient) -> None:
    person_with_plan(client, "sam@example.org")
    page = client.get("/score/kujala")
    data = {f"kujala_{n}": "a" for n in range(1, 14)} | {
        "csrf_token": csrf_of(page),
        "form_token": form_token_of(page),
    }
    saved = client.post("/score/kujala", data=data)
    assert any("Kujala score saved: 100/100" in text for text in notices(saved))
    missing = client.post("/score/kujala", data={"csrf_token": csrf_of(page), "kujala_1": "a"})
    assert missing.status_code == 422 and "Please answer questions 2" in missing.text


def test_edit_and_delete_a_log_entry(client: TestClient, app: FastAPI) -> None:
    person_with_plan(client, "sam@example.org")
    log_today(client)
    logs = client.get("/logs")
    [log_id] = re.findall(r"/logs/(\d+)/edit", logs.text)
    form = client.get(f"/logs/{log_id}/edit")
    edited = client.post(
        f"/logs/{log_id}",
        data={
            "csrf_token": csrf_of(form),
            "date": "2025-03-03",
            "completed": "50",
            "pain_during": "6",
            "pain_after": "",
            "next_morning_pain": "",
            "note": "harder than it looked",
        },
    )
    assert "harder than it looked" in edited.text and "50%" in edited.text
    bad = client.post(f"/logs/{log_id}", data={"csrf_token": csrf_of(form), "pain_during": "eleven"})
    assert bad.status_code == 422
    client.post(f"/logs/{log_id}/delete", data={"csrf_token": csrf_of(form)})
    assert count(app, SessionLogRow) == 0


def test_about_page_renders_education_without_raw_html(client: TestClient) -> None:
    page = client.get("/about")
    assert page.status_code == 200
    assert "<h2>" in page.text and "<script>alert" not in page.text


def test_api_docs_page_lists_the_endpoints(client: TestClient) -> None:
    page = client.get("/api")
    assert "/api/v1/today" in page.text and "/api/v1/openapi.json" in page.text
    assert "cdn" not in page.text.lower()


def test_an_unexpected_bug_shows_a_plain_page_not_a_traceback(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = TestClient(app, raise_server_exceptions=False)
    person_with_plan(browser, "sam@example.org")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated bug in the plan service")

    monkeypatch.setattr(plan_service, "today_view", broken)
    page = browser.get("/today")
    assert page.status_code == 500
    assert "Something went wrong on our side" in page.text
    assert "Traceback" not in page.text and "simulated bug" not in page.text
    api = browser.get("/api/v1/today")
    assert api.status_code == 500 and "simulated bug" not in api.text
