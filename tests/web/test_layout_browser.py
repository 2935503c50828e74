"""The person's main pages in a real browser at phone and desktop sizes.

Debian's Chromium through Playwright (never a downloaded browser). Each page must fit the screen width
(no sideways scrolling on a phone), raise no script errors, and the small scripts must work: the
screening shows one step at a time, the session counters and rest timers run. Screenshots go to
``$KNEEFIX_SCREENSHOTS`` when set (to look at them), else to the test's temporary folder.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from kneefix.settings import load_settings
from kneefix.web.app import create_app
from tests.web.helpers import PASSWORD, api_screening_body, bearer, pin, serve

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
PAGES = ["/home", "/today", "/plan?month=2025-03", "/progress", "/account", "/screening"]
TODAY = dt.date(2025, 3, 19)
SCREENER = "wren@example.org"


def _seed(client: TestClient) -> None:
    """A person three weeks in: screened on 3 March, sessions logged, mornings rated, Kujala re-scored."""
    response = client.post(
        "/api/v1/auth/signup",
        json={"email": "alex@example.org", "password": PASSWORD, "display_name": "Alex"},
    )
    headers = bearer(response.json()["token"])
    body = api_screening_body() | {
        "kujala": ["b", "a", "b", "c", "c", "c", "b", "b", "b", "b", "a", "a", "a"],
        "pain": 5,
        "equipment": ["foam_roller", "lacrosse_ball", "dumbbells"],
    }
    assert client.post("/api/v1/screening", json=body, headers=headers).status_code == 200
    days = [3, 5, 8, 10, 12, 17]  # the plan's Monday, Wednesday, Saturday rhythm, one Saturday missed
    for number, day in enumerate(days):
        date = dt.date(2025, 3, day).isoformat()
        log = {
            "date": date,
            "completed": 1,
            "pain_during": max(1, 5 - number),
            "pain_after": max(0, 4 - number),
        }
        assert client.post("/api/v1/logs", json=log, headers=headers).status_code == 201
        morning = {"pain": max(0, 4 - number), "session_date": date}
        assert client.post("/api/v1/logs/morning", json=morning, headers=headers).status_code == 200
    client.post("/api/v1/scores/kujala", json={"answers": ["a"] * 4 + ["b"] * 4 + ["a"] * 5}, headers=headers)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if CHROMIUM is None:
        pytest.skip("no Chromium binary (apt-get install chromium) - browser tests need Debian's Chromium")
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("browser"), environ={}, secret_key="b" * 40, run_worker=False
    )
    app = create_app(settings)
    pin(app, today=TODAY)
    pin(app, timer_scale=0.05)  # rest timers of 30 s run in 1.5 s here
    client = TestClient(app)
    _seed(client)
    # The wizard tests re-screen (with warning signs, which pause a plan): they use their own account.
    client.post("/api/v1/auth/signup", json={"email": SCREENER, "password": PASSWORD})
    yield from serve(app)


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("KNEEFIX_SCREENSHOTS", str(tmp_path)))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(autouse=True)
def _close_pages(request: pytest.FixtureRequest) -> Iterator[None]:
    """Close every browser context a test opened: a page left open keeps running its scripts and
    animations, and dozens of them slow the whole suite down."""
    yield
    if "browser" in request.fixturenames:
        for context in list(request.getfixturevalue("browser").contexts):
            context.close()


def _signed_in_page(
    browser: Any, server: str, size: tuple[int, int], email: str = "alex@example.org", **options: Any
) -> tuple[Any, list[str]]:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, **options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server + "/signin")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/signin" not in url)
    return page, errors


@pytest.mark.parametrize("size_name", list(SIZES))
def test_pages_fit_the_screen_without_script_errors(
    browser: Any, server: str, size_name: str, tmp_path: Path
) -> None:
    width, height = SIZES[size_name]
    folder = _shots(tmp_path)
    anonymous = browser.new_context(viewport={"width": width, "height": height}).new_page()
    anonymous.goto(server + "/")
    anonymous.screenshot(path=str(folder / f"{size_name}-landing.png"), full_page=True)
    assert anonymous.evaluate("document.documentElement.scrollWidth") <= width
    page, errors = _signed_in_page(browser, server, (width, height))
    for path in PAGES:
        page.goto(server + path)
        name = path.strip("/").split("?")[0].replace("/", "-") or "home"
        page.screenshot(path=str(folder / f"{size_name}-{name}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"{path} is {overflow}px wide on a {width}px screen"
        assert page.locator("h1").count() == 1, path
    assert errors == []


def test_screening_wizard_shows_one_step_at_a_time(browser: Any, server: str) -> None:
    page, errors = _signed_in_page(browser, server, SIZES["phone"], SCREENER)
    page.goto(server + "/screening")
    visible = page.locator("[data-step]:visible")
    assert visible.count() == 1
    assert page.locator("[data-wizard-progress]").inner_text() == "Step 1 of 6"
    page.fill("#age", "")
    page.click("[data-wizard-next]")
    assert "Please answer" in page.locator(".notice.warn[role=alert]").inner_text()
    page.fill("#age", "14")
    page.click("[data-wizard-next]")
    # The warning signs come straight after the age, and only those that apply at 14 are asked:
    # tibial-tubercle pain (11-15) yes, the lower-kneecap-tip question (9-12) no.
    assert page.locator("[data-wizard-progress]").inner_text() == "Step 2 of 6"
    assert page.locator("input[name=rf_tibial_tubercle_pain]").first.is_visible()
    assert not page.locator("input[name=rf_inferior_pole_pain]").first.is_visible()
    page.click("[data-wizard-back]")
    assert page.locator("[data-wizard-progress]").inner_text() == "Step 1 of 6"
    assert errors == []


def test_a_warning_sign_yes_ends_the_wizard_at_that_step(browser: Any, server: str) -> None:
    page, errors = _signed_in_page(browser, server, SIZES["phone"], SCREENER)
    page.goto(server + "/screening")
    page.fill("#age", "40")
    page.click("[data-wizard-next]")
    assert page.locator("[data-wizard-progress]").inner_text() == "Step 2 of 6"
    page.check("input[name=rf_hot_red_swollen_fever][value=no]", force=True)
    page.check("input[name=rf_recent_injury_ottawa][value=yes]", force=True)
    # The questions after the yes are gone, and the only way on is the referral.
    assert not page.locator("input[name=rf_true_locking]").first.is_visible()
    assert not page.locator("[data-wizard-next]").is_visible()
    assert "questions stop here" in page.locator(".notice.stop[role=alert]").inner_text()
    page.click("[data-wizard-submit]")
    page.wait_for_url("**/screening/result")
    assert "A recent injury that may need an X-ray" in page.content()
    assert "will not give you an exercise plan" in page.content()
    assert errors == []


def test_a_kujala_answer_that_raises_a_warning_sign_ends_the_wizard(browser: Any, server: str) -> None:
    page, errors = _signed_in_page(browser, server, SIZES["phone"], SCREENER)
    page.goto(server + "/screening")
    page.fill("#age", "40")
    page.click("[data-wizard-next]")
    # "No" to every warning sign for this age (a "yes" kept from an earlier screening hides the rest
    # until it is changed, so go round until none is left open).
    for _ in range(3):
        for name in page.locator(".red-flag:not([hidden]) input[value=no]:not(:checked)").evaluate_all(
            "els => els.map(e => e.name)"
        ):
            page.check(f"input[name={name}][value=no]", force=True)
    page.click("[data-wizard-next]")
    page.check("input[name=symptoms][value=pain_around_kneecap]", force=True)
    page.click("[data-wizard-next]")
    assert page.locator("[data-wizard-progress]").inner_text() == "Step 4 of 6"
    for number in range(1, 14):
        page.check(f"input[name=kujala_{number}][value=a]", force=True)
    assert page.locator("[data-wizard-next]").is_visible()
    page.check("input[name=kujala_2][value=c]", force=True)  # cannot stand on the leg
    assert not page.locator("[data-wizard-next]").is_visible()
    page.click("[data-wizard-submit]")
    page.wait_for_url("**/screening/result")
    assert "Cannot stand on the leg" in page.content()
    assert errors == []


def test_guided_session_counts_sets_and_rests(browser: Any, server: str, tmp_path: Path) -> None:
    page, errors = _signed_in_page(browser, server, SIZES["phone"])
    page.goto(server + "/today")
    card = page.locator("[data-exercise][data-sets='3']").first
    assert card.locator("[data-set-count]").inner_text() == "Set 1 of 3"
    card.locator("[data-set-done]").click()
    assert card.locator("[data-set-count]").inner_text() == "Set 2 of 3"
    timer = card.locator("[data-timer]")
    assert "Rest" in timer.inner_text()  # the rest starts by itself
    page.wait_for_function("el => !el.classList.contains('resting')", arg=timer.element_handle())
    card.locator("[data-set-done]").click()
    card.locator("[data-set-done]").click()
    assert "All 3 sets done" in card.locator("[data-set-count]").inner_text()
    assert card.locator("[data-done]").is_checked()
    page.screenshot(path=str(_shots(tmp_path) / "phone-today-in-use.png"))
    assert errors == []


@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
def test_every_exercise_today_shows_its_demonstration(
    browser: Any, server: str, motion: str, tmp_path: Path
) -> None:
    """Every demonstration loads; the one on the screen plays and goes back to its still when it
    scrolls away (so a page of them does not keep a phone busy); someone who asks for reduced motion
    sees the key poses side by side. The page still fits a phone."""
    page, errors = _signed_in_page(browser, server, SIZES["phone"], reduced_motion=motion)
    page.goto(server + "/today")
    cards = page.locator("article.exercise")
    pictures = page.locator("article.exercise > figure.demo img")
    assert cards.count() > 0 and pictures.count() == cards.count()
    animated = 0
    for picture in pictures.all():
        picture.scroll_into_view_if_needed()
        page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=picture.element_handle())
        if motion == "reduce":
            source = str(picture.evaluate("i => i.currentSrc"))
            assert source.endswith("/poses.svg"), source
            continue
        # The script swaps in the animation when the picture is on the screen; on a busy machine the
        # observer fires a little after the still has loaded, so wait for the swap, not a snapshot.
        try:
            page.wait_for_function(
                "i => i.currentSrc.endsWith('/demo.svg') && i.complete",
                arg=picture.element_handle(),
                timeout=10_000,
            )
        except PlaywrightTimeoutError:
            continue
        animated += 1
    if motion == "no-preference":
        assert animated == pictures.count()  # each played while it was on the screen
        first = pictures.first
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_function(
            "i => i.getAttribute('src').endsWith('/still.svg')", arg=first.element_handle()
        )
    page.screenshot(path=str(_shots(tmp_path) / f"phone-today-demos-{motion}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES["phone"][0]
    assert errors == []
