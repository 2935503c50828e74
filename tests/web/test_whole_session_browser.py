"""One person's whole training day on a phone-sized Chromium, start to finish: the guided session with
an "each side" exercise and held reps (timers at 1/20 speed), a reload in the middle that keeps the
place, the easier version opened one tap away, "this hurt" ticked, the session saved with its pain,
the next session switching to the easier version, and the reminder settings saved on the plan page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kneefix.settings import load_settings
from kneefix.web.app import create_app
from tests.web.helpers import PASSWORD, api_screening_body, bearer, pin, serve
from tests.web.test_layout_browser import CHROMIUM, SIZES, _close_pages, _signed_in_page  # noqa: F401

pytestmark = pytest.mark.browser

MONDAY = dt.date(2025, 3, 3)  # the plan's first session
EMAIL = "whole@example.org"


@pytest.fixture(scope="module")
def day_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    if CHROMIUM is None:
        pytest.skip("no Chromium binary (apt-get install chromium) - browser tests need Debian's Chromium")
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("day"), environ={}, secret_key="d" * 40, run_worker=False
    )
    app = create_app(settings)
    pin(app, today=MONDAY)
    pin(app, timer_scale=0.05)
    client = TestClient(app)
    token = client.post("/api/v1/auth/signup", json={"email": EMAIL, "password": PASSWORD}).json()["token"]
    body = api_screening_body() | {"equipment": ["foam_roller", "lacrosse_ball", "stability_ball"]}
    assert client.post("/api/v1/screening", json=body, headers=bearer(token)).status_code == 200
    for url in serve(app):
        yield url, app


def _wait_idle(page: Any, card: Any) -> None:
    page.wait_for_function("el => el.textContent === ''", arg=card.locator("[data-timer]").element_handle())


def _finish_card(page: Any, card: Any) -> None:
    """Do every set of an exercise with the guided controls (the set buttons; timed ones by timer)."""
    sets = int(card.get_attribute("data-sets") or 0)
    timed = card.get_attribute("data-seconds") is not None
    for _ in range(sets):
        _wait_idle(page, card)
        if timed:
            card.locator("[data-timer-start]").click()
            page.wait_for_function(
                "el => el.textContent === '' || el.classList.contains('resting')",
                arg=card.locator("[data-timer]").element_handle(),
            )
        else:
            card.locator("[data-set-done]").click()
    page.wait_for_function(
        "el => el.checked", arg=card.locator("[data-done]").element_handle(), timeout=60_000
    )


def test_a_whole_training_day_on_a_phone(browser: Any, day_server: tuple[str, Any], tmp_path: Path) -> None:
    url, app = day_server
    page, errors = _signed_in_page(browser, url, SIZES["phone"], email=EMAIL)
    page.goto(url + "/today")
    cards = page.locator("article[data-exercise]")
    exercises = [cards.nth(i).get_attribute("data-exercise") for i in range(cards.count())]
    assert len(exercises) >= 4

    # 1. An "each side" exercise with held reps, done rep by rep, with a reload half-way.
    held = page.locator("[data-exercise][data-per-side='1'][data-hold][data-reps]").first
    held_id = held.get_attribute("data-exercise")
    reps = int(held.get_attribute("data-reps") or 0)
    button = held.locator("[data-rep]")
    for _ in range(reps):  # the whole left side
        _wait_idle(page, held)
        button.click()
    page.wait_for_function(
        "el => el.textContent.startsWith('Switch sides')", arg=held.locator("[data-timer]").element_handle()
    )
    _wait_idle(page, held)
    held.locator("[data-rep]").click()
    _wait_idle(page, held)
    page.reload()
    held = page.locator(f"[data-exercise='{held_id}']")
    assert held.locator("[data-status]").inner_text().endswith("right side")
    assert held.locator("[data-rep-count]").inner_text() == f"1 / {reps} reps"
    _finish_card(page, held)

    # 2. The easier version of another exercise, one tap away, with its own demonstration.
    with_easier = page.locator("article[data-exercise]:has(details.easier)").first
    hurt_id = with_easier.get_attribute("data-exercise")
    easier = with_easier.locator("details.easier")
    easier_id = easier.get_attribute("data-easier")
    easier.locator("summary").click()
    page.wait_for_function("el => el.open", arg=easier.element_handle())
    picture = easier.locator("img").first
    picture.wait_for(state="visible")  # its own drawn demonstration, not only its name
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=picture.element_handle())
    page.screenshot(path=str(tmp_path / "easier.png"))

    # 3. Every other exercise through the guided controls; "this hurt" on the one with the easier version.
    for exercise in exercises:
        card = page.locator(f"article[data-exercise='{exercise}']")
        if not card.locator("[data-done]").is_checked():
            _finish_card(page, card)
    with_easier.locator("[data-hurt]").check()
    page.locator("input[name=pain_during][value='3']").check(force=True)
    page.locator("input[name=pain_after][value='2']").check(force=True)
    page.click("button:has-text('Save this session')")
    page.wait_for_load_state()
    assert "Session saved" in page.content()

    # The log has everything done and the exercise that hurt; the next session uses its easier version.
    client = TestClient(app)
    token = client.post("/api/v1/auth/token", json={"email": EMAIL, "password": PASSWORD}).json()["token"]
    [log] = client.get("/api/v1/logs", headers=bearer(token)).json()
    assert log["completed"] == 1 and log["pain_during"] == 3 and log["pain_after"] == 2
    assert log["hurt"] == [hurt_id]
    pin(app, today=MONDAY + dt.timedelta(days=2))
    try:
        upcoming = client.get("/api/v1/today", headers=bearer(token)).json()["session"]
    finally:
        pin(app, today=MONDAY)
    assert easier_id in [exercise["exercise_id"] for exercise in upcoming["exercises"]]
    assert hurt_id not in [exercise["exercise_id"] for exercise in upcoming["exercises"]]

    # 4. The reminder settings on the plan page.
    page.goto(url + "/plan")
    page.fill("#reminder", "18:15")
    page.select_option("#time_zone", "America/Toronto")
    page.click("#reminders button[type=submit]")
    page.wait_for_load_state()
    assert "Reminders at 18:15 (America/Toronto)" in page.locator(".notice").first.inner_text()
    assert page.locator("#reminder").input_value() == "18:15"
    assert page.locator("#time_zone").input_value() == "America/Toronto"
    settings = client.get("/api/v1/me/reminders", headers=bearer(token)).json()
    assert (settings["reminder_time"], settings["time_zone"]) == ("18:15", "America/Toronto")
    assert errors == []
