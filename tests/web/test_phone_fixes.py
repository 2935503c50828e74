"""Issue 9's form fixes, through the pages: a form kept across an expired sign-in keeps every tick and
answer (and does not show its one-time token), and "I did this exercise" starts unticked."""

from __future__ import annotations

import html
import re
import time
from dataclasses import replace

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from kneefix.content.loader import load_content
from kneefix.storage.models import SessionLogRow
from kneefix.web.security import SESSION_COOKIE, SessionCodec
from tests.web.conftest import FIXED_TODAY
from tests.web.helpers import (
    PASSWORD,
    csrf_of,
    form_token_of,
    log_today,
    notices,
    person_with_plan,
    pin,
    screening_answers,
    sign_up,
)

HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
DONE_BOX = re.compile(r'<input type="checkbox" name="done" value="([^"]+)"[^>]*>')


def _expire_session(client: TestClient, app: FastAPI) -> None:
    """Rewrite the browser's cookie as a sign-in that began longer ago than sessions last."""
    settings = app.state.settings
    codec = SessionCodec(settings.signing_key, settings.session_max_age_s)
    session, _ = codec.loads(client.cookies[SESSION_COOKIE])
    assert session is not None
    old = replace(session, issued_at=int(time.time()) - settings.session_max_age_s - 60)
    [jar_cookie] = [cookie for cookie in client.cookies.jar if cookie.name == SESSION_COOKIE]
    client.cookies.set(SESSION_COOKIE, codec.dumps(old), domain=jar_cookie.domain, path=jar_cookie.path)


def _send_after_expiry(
    client: TestClient, app: FastAPI, email: str, path: str, data: dict[str, object]
) -> httpx.Response:
    """Send ``data`` to ``path`` on an expired sign-in, sign in again, and return the resume page."""
    token = csrf_of(client.get("/home"))
    _expire_session(client, app)
    response = client.post(
        path, data={"csrf_token": token, **data}, headers={"Referer": "http://testserver/"}
    )
    assert response.url.path == "/signin"
    assert any("signed out before that form was saved" in text for text in notices(response))
    resumed = client.post(
        "/signin", data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(response)}
    )
    assert resumed.url.path == "/resume"
    result: httpx.Response = resumed
    return result


def _hidden_fields(page: httpx.Response) -> list[tuple[str, str]]:
    """The (name, value) pairs "Save it now" sends again, in order (the CSRF token left out)."""
    [form] = [part for part in page.text.split("<form ") if "Save it now" in part.split("</form>")[0]]
    pairs = [(html.unescape(k), html.unescape(v)) for k, v in HIDDEN_INPUT.findall(form)]
    return [(k, v) for k, v in pairs if k != "csrf_token"]


def _as_form(fields: list[tuple[str, str]], csrf: str) -> dict[str, list[str]]:
    """The pairs as a form body, the way the browser sends "Save it now" (repeated names kept)."""
    form: dict[str, list[str]] = {"csrf_token": [csrf]}
    for name, value in fields:
        form.setdefault(name, []).append(value)
    return form


def _visible_text(page: httpx.Response) -> str:
    """What the page shows: its main part without tags, hidden inputs or the CSRF meta tag."""
    main = page.text.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    without_inputs = re.sub(r"<input[^>]*>", " ", main)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", without_inputs)))


def test_every_tick_of_a_session_log_survives_an_expired_sign_in(client: TestClient, app: FastAPI) -> None:
    person_with_plan(client, "sam@example.org")
    page = client.get("/today")
    planned = DONE_BOX.findall(page.text)
    assert len(planned) >= 3
    done, hurt = planned[:3], planned[1:3]
    form_token = form_token_of(page)
    sent: dict[str, object] = {
        "form_token": form_token,
        "done": done,
        "hurt": hurt,
        "pain_during": "4",
        "pain_after": "",
        "note": "felt fine & steady",
    }
    resumed = _send_after_expiry(client, app, "sam@example.org", "/today/log", sent)

    fields = _hidden_fields(resumed)
    assert [v for k, v in fields if k == "done"] == done
    assert [v for k, v in fields if k == "hurt"] == hurt
    assert ("pain_during", "4") in fields and ("note", "felt fine & steady") in fields
    assert ("form_token", form_token) in fields  # sent again, so a double save still counts once

    shown = _visible_text(resumed)
    assert form_token not in shown and "form token" not in shown.lower()
    names = {key: item.name for key, item in load_content().exercises.items()}
    for exercise in done:
        assert names[exercise] in shown  # the exercises by name, not by id
    assert "felt fine & steady" in shown

    saved = client.post("/today/log", data=_as_form(fields, csrf_of(resumed)))
    assert saved.url.path == "/today" and any("Session saved" in text for text in notices(saved))
    with app.state.database.session() as db:
        [log] = db.scalars(select(SessionLogRow)).all()
    assert sorted(log.hurt) == sorted(hurt)
    assert log.completed == pytest.approx(len(done) / len(planned), abs=0.001)


def test_every_answer_of_a_screening_survives_an_expired_sign_in(client: TestClient, app: FastAPI) -> None:
    sign_up(client, "kim@example.org")
    page = client.get("/screening")
    answers = screening_answers()
    sent = {**answers, "form_token": form_token_of(page)}
    resumed = _send_after_expiry(client, app, "kim@example.org", "/screening", sent)

    fields = _hidden_fields(resumed)
    assert [v for k, v in fields if k == "symptoms"] == answers["symptoms"]
    assert [v for k, v in fields if k == "equipment"] == answers["equipment"]
    for name, value in answers.items():
        if isinstance(value, str):
            assert (name, value) in fields, name
    assert form_token_of(page) not in _visible_text(resumed)

    result = client.post("/screening", data=_as_form(fields, csrf_of(resumed)))
    assert result.url.path == "/screening/result", result.text[-400:]


def test_a_form_kept_by_an_older_cookie_is_still_offered(client: TestClient, app: FastAPI) -> None:
    """A cookie written before repeated fields were kept held a dict: it still works after the update."""
    person_with_plan(client, "sam@example.org")
    settings = app.state.settings
    codec = SessionCodec(settings.signing_key, settings.session_max_age_s)
    session, _ = codec.loads(client.cookies[SESSION_COOKIE])
    assert session is not None
    pending: dict[str, object] = {
        "action": "/today/log",
        "fields": {"pain_during": "3", "note": "old cookie"},
    }
    [jar_cookie] = [cookie for cookie in client.cookies.jar if cookie.name == SESSION_COOKIE]
    client.cookies.set(
        SESSION_COOKIE,
        codec.dumps(replace(session, pending=pending)),
        domain=jar_cookie.domain,
        path=jar_cookie.path,
    )
    page = client.get("/resume")
    assert page.url.path == "/resume"
    assert ("note", "old cookie") in _hidden_fields(page) and "old cookie" in _visible_text(page)


def test_i_did_this_exercise_starts_unticked(client: TestClient) -> None:
    person_with_plan(client, "sam@example.org")
    page = client.get("/today")
    boxes = DONE_BOX.findall(page.text)
    assert boxes
    for tag in re.findall(r'<input type="checkbox" name="done"[^>]*>', page.text):
        assert not re.search(r"\schecked\b", tag), tag


def test_a_re_shown_log_keeps_exactly_the_ticks_that_were_sent(client: TestClient) -> None:
    person_with_plan(client, "sam@example.org")
    page = client.get("/today")
    planned = DONE_BOX.findall(page.text)
    response = client.post(
        "/today/log",
        data={"csrf_token": csrf_of(page), "form_token": "t", "done": planned[:1]},
    )
    assert response.status_code == 422
    ticked = re.findall(
        r'<input type="checkbox" name="done" value="([^"]+)" data-done checked', response.text
    )
    assert ticked == planned[:1]


def test_a_log_without_ticks_points_at_the_first_exercise(client: TestClient) -> None:
    """Without any script, the first "I did this exercise" box is focused and marked invalid."""
    person_with_plan(client, "sam@example.org")
    page = client.get("/today")
    response = client.post(
        "/today/log", data={"csrf_token": csrf_of(page), "form_token": "t", "pain_during": "3"}
    )
    assert response.status_code == 422 and "Tick the exercises you did" in response.text
    [first, *_] = re.findall(r'<input type="checkbox" name="done"[^>]*>', response.text)
    assert 'aria-invalid="true"' in first and "autofocus" in first


def test_a_morning_check_without_a_number_marks_the_scale(client: TestClient, app: FastAPI) -> None:
    """The message names the scale (for the script that moves it there), and without any script the
    scale is marked invalid, described by the message, and its first button takes the focus."""
    person_with_plan(client, "sam@example.org")
    log_today(client)
    pin(app, today=FIXED_TODAY.replace(day=4))
    page = client.get("/morning")
    response = client.post("/morning", data={"csrf_token": csrf_of(page), "session_day": "2025-03-03"})
    assert response.status_code == 422
    assert re.search(r'id="form-error" data-error-for="pain"', response.text)
    group = re.search(r'<div class="scale" role="radiogroup"[^>]*>', response.text)
    assert group and 'aria-invalid="true"' in group.group(0) and "form-error" in group.group(0)
    assert re.search(r'<input type="radio" name="pain" value="0"[^>]*autofocus', response.text)
    assert "/static/form_errors.js" in response.text
    fresh = client.get("/morning").text
    assert 'aria-invalid="true"' not in fresh and "autofocus" not in fresh
