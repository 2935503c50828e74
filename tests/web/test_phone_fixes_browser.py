"""Issue 9's phone layout fixes, measured in Debian's Chromium at 390 x 844.

The 0-10 pain buttons sit on one row and the scale's labels do not run together; /logs and the
technique result do not make the page scroll sideways; after a bad submit the focus is on the first
invalid field, with the message next to it; the "save what you sent" page fits the screen and lists
every tick. Screenshots go to ``$KNEEFIX_SCREENSHOTS`` when set (to look at them), else to the test's
temporary folder.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kneefix.motion.types import LandingResult, LessItem, Report
from kneefix.services.worker import Worker
from kneefix.settings import load_settings
from kneefix.web.app import create_app
from kneefix.web.security import SESSION_COOKIE, SessionCodec
from tests.web.helpers import PASSWORD, api_screening_body, bearer, pin, serve
from tests.web.technique_media import fake_analysis, sample_report, tiny_mp4
from tests.web.test_layout_browser import (
    CHROMIUM,
    SIZES,
    TODAY,
    _close_pages,  # noqa: F401  (fixture)
    _seed,
    _shots,
    _signed_in_page,
)

pytestmark = pytest.mark.browser

PHONE = SIZES["phone"]
WIDTH = PHONE[0]
SECRET = "p" * 40
LONG_NOTE = (
    "Felt the left knee on the stairs afterwards; physio said see "
    "https://example.org/a-very-long-address-without-any-place-to-break-it-over-two-lines"
)
RESUMER = "robin@example.org"


@dataclass(frozen=True)
class Phone:
    url: str
    squat_check: int
    landing_check: int
    max_age_s: int


def _landing_report(movement: str) -> Report:
    landing = LandingResult(
        landing=1,
        initial_contact_s=0.3,
        hip_flexion_ic_deg=22.0,
        knee_flexion_ic_deg=18.0,
        peak_knee_flexion_s=0.5,
        peak_knee_flexion_deg=71.0,
        hip_flexion_at_peak_knee_deg=64.0,
        trunk_flexion_at_peak_knee_deg=31.0,
        valgus_peak_deg=9.0,
        less=[LessItem(number=1, name="Knee flexion at initial contact", error=0, measurable=True)],
        less_total_measured=3,
    )
    report = sample_report(movement).model_copy(update={"reps": [], "landings": [landing]})
    return report.model_copy(update={"feedback": ["Land softly, bending hips and knees together."]})


@pytest.fixture(scope="module")
def phone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phone]:
    if CHROMIUM is None:
        pytest.skip("no Chromium binary (apt-get install chromium) - browser tests need Debian's Chromium")
    data_dir = tmp_path_factory.mktemp("phone")
    settings = load_settings(data_dir=data_dir, environ={}, secret_key=SECRET, run_worker=False)
    app = create_app(settings)
    pin(app, today=TODAY)
    pin(app, timer_scale=0.05)
    client = TestClient(app)
    _seed(client)
    token = client.post("/api/v1/auth/token", json={"email": "alex@example.org", "password": PASSWORD})
    headers = bearer(token.json()["token"])
    missed = {"date": dt.date(2025, 3, 15).isoformat(), "completed": 0.5, "pain_during": 3, "note": LONG_NOTE}
    assert client.post("/api/v1/logs", json=missed, headers=headers).status_code == 201
    video = tiny_mp4()
    ids = []
    for number, movement in enumerate(("squat", "landing")):
        sent = client.post(
            "/api/v1/checks",
            headers=headers,
            data={"movement": movement, "request_id": f"phone-check-{number:04d}"},
            files={"video": ("clip.mp4", video, "video/mp4")},
        )
        assert sent.status_code == 202, sent.text
        ids.append(sent.json()["id"])
        analysis = fake_analysis(video, _landing_report if movement == "landing" else None)
        assert Worker(app.state.database, app.state.files, analyse=analysis).run_until_idle() == 1
    # A second person, who sends a form after their sign-in ran out.
    signup = client.post("/api/v1/auth/signup", json={"email": RESUMER, "password": PASSWORD})
    screened = client.post(
        "/api/v1/screening", json=api_screening_body(), headers=bearer(signup.json()["token"])
    )
    assert screened.status_code == 200
    for url in serve(app):
        yield Phone(url, ids[0], ids[1], settings.session_max_age_s)


def _page_width(page: Any) -> int:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width


def _boxes(locator: Any) -> list[dict[str, float]]:
    return [box for box in (item.bounding_box() for item in locator.all()) if box is not None]


def test_the_pain_scale_is_one_row_with_labels_apart(browser: Any, phone: Phone, tmp_path: Path) -> None:
    page, errors = _signed_in_page(browser, phone.url, PHONE)
    page.goto(phone.url + "/today")
    scale = page.locator("fieldset.pain-scale").first
    scale.scroll_into_view_if_needed()
    buttons = scale.locator(".scale label")
    assert buttons.count() == 11
    tops = buttons.evaluate_all("els => els.map(e => e.offsetTop)")
    assert len(set(tops)) == 1, f"the 0-10 buttons wrap onto {len(set(tops))} rows: {tops}"
    for box in _boxes(buttons):
        assert box["width"] >= 24 and box["height"] >= 40, box  # a finger-sized target
        assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH
    anchors = _boxes(scale.locator(".scale-anchors > span"))
    assert len(anchors) == 3
    for left, right in itertools.pairwise(anchors):
        same_line = left["y"] < right["y"] + right["height"] and right["y"] < left["y"] + left["height"]
        if same_line:
            gap = right["x"] - (left["x"] + left["width"])
            assert gap >= 6, f"scale labels {anchors} run together (gap {gap:.1f}px)"
    assert all(box["x"] + box["width"] <= WIDTH for box in anchors)
    scale.screenshot(path=str(_shots(tmp_path) / "phone-fix-pain-scale.png"))
    assert _page_width(page) <= WIDTH
    assert errors == []


@pytest.mark.parametrize("which", ["logs", "squat", "landing"])
def test_tables_do_not_make_the_page_scroll_sideways(
    browser: Any, phone: Phone, which: str, tmp_path: Path
) -> None:
    page, errors = _signed_in_page(browser, phone.url, PHONE)
    path = {
        "logs": "/logs",
        "squat": f"/technique/checks/{phone.squat_check}",
        "landing": f"/technique/checks/{phone.landing_check}",
    }[which]
    page.goto(phone.url + path)
    table = page.locator("main table").first
    assert table.count() == 1
    page.screenshot(path=str(_shots(tmp_path) / f"phone-fix-table-{which}.png"), full_page=True)
    assert _page_width(page) <= WIDTH, f"{path} is {_page_width(page)}px wide on a {WIDTH}px screen"
    # Every value and button is on the screen: nothing hides past the right edge of a scrolled box.
    cells = page.locator("main table td")
    assert cells.count() > 0
    for box in _boxes(cells):
        assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH + 0.5, (path, box)
    if which == "logs":
        assert LONG_NOTE[:30] in page.locator("main table").inner_text()
        for button in _boxes(page.locator("main table .button")):
            assert button["x"] + button["width"] <= WIDTH
    assert errors == []


def _active(page: Any) -> dict[str, Any]:
    active: dict[str, Any] = page.evaluate(
        "() => { const e = document.activeElement;"
        " return {tag: e.tagName, name: e.getAttribute('name'), value: e.value,"
        " invalid: (e.closest('[aria-invalid=true]') || e).getAttribute('aria-invalid')}; }"
    )
    return active


def _focus_in_view(page: Any) -> bool:
    """Whether the focused field and the message next to it are on the screen."""
    seen: bool = page.evaluate(
        "() => { const r = document.activeElement.closest('fieldset, .field, .choice, .choices')"
        ".getBoundingClientRect(); const m = document.querySelector('#form-error').getBoundingClientRect();"
        " return r.top >= 0 && r.top < innerHeight - 40 && m.bottom > 0; }"
    )
    return seen


def _near(page: Any, error: str, field: str) -> float:
    """Vertical distance in px between the error message and the field it is about."""
    distance: float = page.evaluate(
        "([e, f]) => { const a = document.querySelector(e).getBoundingClientRect();"
        " const b = document.querySelector(f).getBoundingClientRect();"
        " return Math.max(0, b.top - a.bottom, a.top - b.bottom); }",
        [error, field],
    )
    return distance


def test_a_log_without_pain_puts_the_message_and_the_focus_on_the_pain_scale(
    browser: Any, phone: Phone, tmp_path: Path
) -> None:
    page, errors = _signed_in_page(browser, phone.url, PHONE)
    page.goto(phone.url + "/today")
    page.locator("[data-done]").first.check(force=True)
    page.click("form[data-session] button[type=submit]")
    page.wait_for_selector("#form-error")
    assert "how much your knee hurt" in page.locator("#form-error").inner_text()
    active = _active(page)
    assert (active["tag"], active["name"]) == ("INPUT", "pain_during"), active
    assert active["invalid"] == "true"
    assert _near(page, "#form-error", "input[name=pain_during]") < 80
    assert page.locator("fieldset.pain-scale:has(input[name=pain_during]) #form-error").count() == 1
    assert _focus_in_view(page)
    page.screenshot(path=str(_shots(tmp_path) / "phone-fix-error-pain.png"))
    assert errors == []


def test_a_log_without_ticks_focuses_the_first_exercise(browser: Any, phone: Phone, tmp_path: Path) -> None:
    page, errors = _signed_in_page(browser, phone.url, PHONE)
    page.goto(phone.url + "/today")
    boxes = page.locator("[data-done]")
    assert boxes.count() > 0
    assert boxes.evaluate_all("els => els.filter(e => e.checked).length") == 0  # nothing ticked to start
    page.locator("input[name=pain_during][value='3']").check(force=True)
    page.click("form[data-session] button[type=submit]")
    page.wait_for_selector("#form-error")
    first = boxes.first.get_attribute("value")
    active = _active(page)
    assert (active["name"], active["value"], active["invalid"]) == ("done", first, "true"), active
    assert _near(page, "#form-error", "[data-done]") < 80
    assert _focus_in_view(page)
    page.screenshot(path=str(_shots(tmp_path) / "phone-fix-error-done.png"))
    assert errors == []


def test_without_script_the_first_exercise_is_still_focused(browser: Any, phone: Phone) -> None:
    page, _ = _signed_in_page(browser, phone.url, PHONE, java_script_enabled=False)
    page.goto(phone.url + "/today")
    page.locator("input[name=pain_during][value='3']").check(force=True)
    page.click("form[data-session] button[type=submit]")
    page.wait_for_selector("#form-error")
    active = _active(page)
    assert (active["name"], active["invalid"]) == ("done", "true"), active
    # The message at the top of the page links to the question for the pain scale too.
    page.goto(phone.url + "/today")
    page.click("form[data-session] button[type=submit]")
    page.wait_for_selector("#form-error")
    link = page.locator("#form-error a[href='#pain_during-field']")
    assert link.count() == 1 and page.locator("#pain_during-field").count() == 1


def test_a_kujala_score_with_a_gap_focuses_the_unanswered_question(
    browser: Any, phone: Phone, tmp_path: Path
) -> None:
    page, errors = _signed_in_page(browser, phone.url, PHONE)
    page.goto(phone.url + "/score/kujala")
    for number in range(1, 14):
        if number not in (7, 9):
            page.locator(f"input[name=kujala_{number}]").first.check(force=True)
    page.click("main form button[type=submit]")
    page.wait_for_selector("[aria-invalid=true]")
    active = _active(page)
    assert (active["name"], active["invalid"]) == ("kujala_7", "true"), active
    in_view = page.evaluate(
        "() => { const r = document.activeElement.closest('fieldset').getBoundingClientRect();"
        " return r.top >= 0 && r.top < innerHeight - 40; }"
    )
    assert in_view, "the unanswered question is not on the screen"
    for number in (7, 9):
        group = page.locator(f"fieldset:has(input[name=kujala_{number}])")
        assert "Please answer this question" in group.inner_text()
    page.screenshot(path=str(_shots(tmp_path) / "phone-fix-error-kujala.png"))
    assert _page_width(page) <= WIDTH
    assert errors == []


def _expire(context: Any, phone: Phone) -> None:
    """Rewrite the browser's session cookie as a sign-in that began longer ago than sessions last."""
    codec = SessionCodec(SECRET, phone.max_age_s)
    [cookie] = [c for c in context.cookies() if c["name"] == SESSION_COOKIE]
    session, _ = codec.loads(cookie["value"])
    assert session is not None
    old = replace(session, issued_at=session.issued_at - phone.max_age_s - 60)
    context.add_cookies([{**cookie, "value": codec.dumps(old)}])


def test_the_form_kept_across_an_expired_sign_in_fits_and_keeps_every_tick(
    browser: Any, phone: Phone, tmp_path: Path
) -> None:
    page, errors = _signed_in_page(browser, phone.url, PHONE, RESUMER)
    page.goto(phone.url + "/today")
    boxes = page.locator("[data-done]")
    ticked = boxes.evaluate_all("els => els.slice(0, 3).map(e => e.value)")
    names = [page.locator(f"article:has([data-done][value='{v}']) h3").inner_text() for v in ticked]
    for value in ticked:
        page.locator(f"[data-done][value='{value}']").check(force=True)
    page.locator(f"[data-hurt][value='{ticked[1]}']").check(force=True)
    page.locator("input[name=pain_during][value='4']").check(force=True)
    page.fill("#note", LONG_NOTE)
    token = page.locator("input[name=form_token]").first.input_value()
    _expire(page.context, phone)
    page.click("form[data-session] button[type=submit]")
    page.wait_for_url("**/signin**")
    page.fill("#email", RESUMER)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/resume")
    page.screenshot(path=str(_shots(tmp_path) / "phone-fix-resume.png"), full_page=True)
    assert _page_width(page) <= WIDTH
    shown = page.locator("main").inner_text()
    assert token not in shown and "form token" not in shown.lower()
    for name in names:
        assert name.split(" easier version")[0].split(" guideline addition")[0].strip() in shown
    sent = page.locator("form:has(button:text('Save it now')) input[name=done]")
    assert sent.evaluate_all("els => els.map(e => e.value)") == ticked
    page.click("button:text('Save it now')")
    page.wait_for_url("**/today")
    assert "Session saved" in page.locator("main").inner_text()
    assert errors == []
