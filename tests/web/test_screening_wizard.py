"""The screening wizard: safety questions straight after age, and a warning sign ends it at that step."""

from __future__ import annotations

import html
import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from kneefix.content.loader import load_content
from kneefix.programme.screening import questions_for
from kneefix.storage.models import Screening
from tests.web.helpers import csrf_of, form_token_of, notices, screening_answers, sign_up

CONTENT = load_content()


def post(client: TestClient, data: dict[str, Any]) -> Any:
    page = client.get("/screening")
    tokens = {"csrf_token": csrf_of(page), "form_token": form_token_of(page)}
    return client.post("/screening", data={**data, **tokens})


def text_of(page: Any) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def saved(app: FastAPI) -> list[Screening]:
    with app.state.database.session() as db:
        rows = list(db.scalars(select(Screening)))
        db.expunge_all()
        return rows


def test_safety_questions_come_straight_after_age(client: TestClient) -> None:
    sign_up(client, "sam@example.org")
    page = client.get("/screening").text
    order = [page.index(f'id="step-{step}"') for step in ("about", "safety", "symptoms", "kujala", "pain")]
    assert order == sorted(order)
    about = page[page.index('id="step-about"') : page.index('id="step-safety"')]
    assert 'name="age"' in about and 'name="runs"' not in about  # running is a plan question, asked last
    # Most urgent first: the emergency question leads.
    safety = page[page.index('id="step-safety"') : page.index('id="step-symptoms"')]
    assert safety.index("rf_hot_red_swollen_fever") < safety.index("rf_recent_injury_ottawa")


def test_a_yes_ends_the_wizard_at_that_step_with_the_referral(client: TestClient, app: FastAPI) -> None:
    sign_up(client, "sam@example.org")
    asked = questions_for(30, CONTENT)
    stop_at = next(index for index, flag in enumerate(asked) if flag.id == "true_locking")
    # What the wizard sends when it stops: the age and the safety answers up to the yes, nothing else.
    data: dict[str, Any] = {"age": "30"}
    data |= {f"rf_{flag.id}": "no" for flag in asked[:stop_at]}
    data["rf_true_locking"] = "yes"
    result = post(client, data)

    assert result.url.path == "/screening/result", text_of(result)[-400:]
    page = text_of(result)
    locking = asked[stop_at]
    for words in (locking.title, locking.reason, locking.action):
        assert " ".join(words.split()) in page
    assert "will not give you an exercise plan" in page
    assert "stopped" in page
    [row] = saved(app)
    assert row.verdict == "refer_now" and row.red_flags == ["true_locking"]
    assert row.answers["pain_now"] is None and "kujala" in row.answers["not_asked"]


def test_the_wizard_script_ends_at_the_first_yes(client: TestClient) -> None:
    sign_up(client, "sam@example.org")
    script = client.get("/static/wizard.js").text
    assert "data-stop-on-yes" in client.get("/screening").text
    assert "stopOnYes" in script


def test_a_full_form_with_a_yes_still_refers(client: TestClient) -> None:
    sign_up(client, "sam@example.org")
    result = post(client, screening_answers(red_flag="hot_red_swollen_fever"))
    assert "Get medical help now" in text_of(result)


def test_a_kujala_answer_that_contradicts_runners_knee_refers(client: TestClient, app: FastAPI) -> None:
    sign_up(client, "sam@example.org")
    data = screening_answers() | {"kujala_2": "c"}  # cannot stand on the leg
    result = post(client, data)

    page = text_of(result)
    flag = next(flag for flag in CONTENT.red_flags if flag.id == "cannot_bear_weight")
    assert flag.title in page and " ".join(flag.action.split()) in page
    assert "I cannot stand on it" in page  # the answer that raised it
    assert "Your plan" not in page
    [row] = saved(app)
    assert row.verdict == "refer_now" and row.red_flags == ["cannot_bear_weight"]


def test_kujala_options_that_raise_a_warning_sign_are_marked_for_the_script(client: TestClient) -> None:
    sign_up(client, "sam@example.org")
    page = client.get("/screening").text
    assert re.search(r'name="kujala_2" value="c"[^>]*data-raises="0-120"', page)
    assert not re.search(r'name="kujala_2" value="b"[^>]*data-raises', page)
    assert re.search(r'name="kujala_1" value="c"[^>]*data-raises="[^"]*9-16', page)


def test_a_yes_to_a_question_for_other_ages_is_refused_plainly(client: TestClient, app: FastAPI) -> None:
    sign_up(client, "sam@example.org")
    data = screening_answers(age=40) | {"rf_adolescent_hip_or_limp": "yes"}
    response = post(client, data)

    assert response.status_code == 422
    message = " ".join(notices(response))
    assert "aged 9 to 16" in message and "40" in message
    assert saved(app) == []


def test_a_no_to_a_question_for_other_ages_is_ignored(client: TestClient) -> None:
    # Without scripts every question is on the page; a "no" to one for other ages changes nothing.
    sign_up(client, "sam@example.org")
    result = post(client, screening_answers(age=40))
    assert result.url.path == "/screening/result"
    assert "Your plan" in result.text


def test_without_a_yes_the_rest_is_still_required(client: TestClient) -> None:
    sign_up(client, "sam@example.org")
    asked = questions_for(30, CONTENT)
    response = post(client, {"age": "30"} | {f"rf_{flag.id}": "no" for flag in asked})
    assert response.status_code == 422
    message = " ".join(notices(response))
    assert "knee-score questions" in message and "your pain right now" in message
    assert "whether you run" in message
