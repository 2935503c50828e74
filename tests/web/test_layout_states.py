"""The paused plan and return to running in a real browser: they fit a phone and raise no script errors.

A paused person (next mornings well above the baseline) and a runner whose readiness check passed, on
one server; each test sets the app's "today" to its person's day. Screenshots go to
``$KNEEFIX_SCREENSHOTS`` when set, else to the test's temporary folder.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kneefix.settings import load_settings
from kneefix.web.app import create_app
from tests.web.helpers import csrf_of, person_with_plan, pin, serve
from tests.web.plan_states import START, pause_plan, profile_id_of, ready_to_run
from tests.web.test_layout_browser import CHROMIUM, SIZES, _close_pages, _shots, _signed_in_page  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

PAUSED, RUNNER = "paused@example.org", "runner@example.org"


@dataclass
class States:
    url: str
    app: FastAPI
    days: dict[str, dt.date]


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> Iterator[States]:
    if CHROMIUM is None:
        pytest.skip("no Chromium binary (apt-get install chromium) - browser tests need Debian's Chromium")
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("states"), environ={}, secret_key="p" * 40, run_worker=False
    )
    app = create_app(settings)
    days: dict[str, dt.date] = {}
    for email, reach in ((PAUSED, pause_plan), (RUNNER, ready_to_run)):
        pin(app, today=START)
        client = TestClient(app, follow_redirects=True)
        person_with_plan(client, email)
        days[email] = reach(app, profile_id_of(client))
        pin(app, today=days[email])
        if email == RUNNER:
            headers = {"X-CSRF-Token": csrf_of(client.get("/home"))}
            checked = client.post("/api/v1/run-check", json={"walk_pain": 1, "hop_pain": 1}, headers=headers)
            assert checked.status_code == 201, checked.text
    for url in serve(app):
        yield States(url, app, days)


@pytest.mark.parametrize("size_name", list(SIZES))
def test_the_paused_today_page(browser: Any, states: States, size_name: str, tmp_path: Path) -> None:
    pin(states.app, today=states.days[PAUSED])
    width, height = SIZES[size_name]
    page, errors = _signed_in_page(browser, states.url, (width, height), PAUSED)
    page.goto(states.url + "/today")
    page.screenshot(path=str(_shots(tmp_path) / f"{size_name}-today-paused.png"), full_page=True)
    assert page.locator("h1").inner_text() == "Your plan is paused"
    assert page.locator("#paused").is_visible() and page.locator("[data-exercise]").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert errors == []


@pytest.mark.parametrize("size_name", list(SIZES))
def test_the_run_form_on_today(browser: Any, states: States, size_name: str, tmp_path: Path) -> None:
    pin(states.app, today=states.days[RUNNER])
    width, height = SIZES[size_name]
    page, errors = _signed_in_page(browser, states.url, (width, height), RUNNER)
    page.goto(states.url + "/today#run")
    page.screenshot(path=str(_shots(tmp_path) / f"{size_name}-today-run.png"), full_page=True)
    form = page.locator("[data-run-form]")
    assert form.is_visible() and form.locator("input[name=minutes]").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.goto(states.url + f"/plan?month={states.days[RUNNER]:%Y-%m}")
    page.screenshot(path=str(_shots(tmp_path) / f"{size_name}-plan-runs.png"), full_page=True)
    assert page.locator(".session.run").count() >= 1
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert errors == []
