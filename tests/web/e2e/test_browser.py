"""End to end in a real browser: what a person and a clinician actually do, on a phone and a desktop.

One person signs up on a phone-sized screen, takes the screening, opens today's session, logs it,
looks at their progress, uploads a short real clip and waits for its analysis (the real pose model, in
the server's background worker). A clinician invites them, the person accepts through the link, and
the clinician opens their table and the person's page on a desktop-sized screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.web.e2e.conftest import DESKTOP, PHONE, LiveServer, readme_shot
from tests.web.helpers import approve_clinician

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
CLIP = "videos/deadlift_side/deadlift_side_jeffchen_good.mp4"  # 2 s, 62 frames
ANALYSIS_TIMEOUT_MS = 180_000


def shoot(page: Any, folder: Path, name: str, *, full_page: bool = True) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def image_width(locator: Any) -> int:
    """The decoded width of an image, after waiting for it to load (0 if it failed)."""
    script = (
        "img => img.complete ? img.naturalWidth : new Promise(done => {"
        " img.addEventListener('load', () => done(img.naturalWidth));"
        " img.addEventListener('error', () => done(0)); })"
    )
    return int(locator.evaluate(script))


def sign_up(page: Any, base: str, email: str, *, name: str, clinician: bool = False) -> None:
    page.goto(base + "/signup")
    page.fill("#email", email)
    page.fill("#display_name", name)
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.check('input[name="role"][value="clinician"]' if clinician else 'input[name="role"][value="person"]')
    page.click('button[type="submit"]:has-text("Create account")')
    page.wait_for_load_state()


RADIO_ANSWERS = {"runs": "yes", "pain": "3"}
KUJALA_BEST = {"kujala_1", "kujala_2", "kujala_11", "kujala_12", "kujala_13"}
CHECKBOXES = {"symptoms": ("pain_around_kneecap", "pain_stairs_downhill"), "equipment": ("foam_roller",)}


def _answer(name: str) -> str | None:
    if name in RADIO_ANSWERS:
        return RADIO_ANSWERS[name]
    if name.startswith("rf_"):
        return "no"  # no warning signs
    if name.startswith("kujala_"):
        return "a" if name in KUJALA_BEST else "b"
    return None


def take_screening(page: Any) -> None:
    """Walk the wizard one step at a time (JavaScript on), answering every question shown."""
    page.wait_for_url("**/screening")
    page.fill("#age", "31")
    for _ in range(12):
        step = page.locator("[data-step]:not([hidden])")
        names = step.locator("input[type=radio]").evaluate_all(
            "els => [...new Set(els.filter(e => !e.disabled && !e.closest('[hidden]')).map(e => e.name))]"
        )
        for name in names:
            value = _answer(name)
            selector = f'input[name="{name}"]' + (f'[value="{value}"]' if value else "")
            step.locator(selector).first.check(force=True)
        for field, values in CHECKBOXES.items():
            for value in values:
                box = step.locator(f'input[name="{field}"][value="{value}"]')
                if box.count():
                    box.check(force=True)
        if page.locator("[data-wizard-submit]").is_visible():
            page.click("[data-wizard-submit]")
            break
        page.click("[data-wizard-next]")
    page.wait_for_url("**/screening/result")


@pytest.mark.slow  # runs the pose model on a real clip
def test_a_person_from_sign_up_to_a_technique_result(
    browser: Any, live_server: LiveServer, shared_data: Path, shots: Path
) -> None:
    base = live_server.url
    context = browser.new_context(viewport=PHONE, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(base + "/")
        assert "not a diagnosis" in page.content().lower() or "does not diagnose" in page.content().lower()
        shoot(page, shots, "01-first-page-phone")

        sign_up(page, base, "runner@example.org", name="Riley")
        take_screening(page)
        assert page.locator("h1").inner_text() == "Your screening result"
        shoot(page, shots, "02-screening-result-phone")

        page.goto(base + "/today")
        page.wait_for_selector("form[data-session]")
        shoot(page, shots, "03-today-phone")
        # The README picture shows our own page, not a frame of the third-party test clip.
        readme_shot(shoot(page, shots, "readme-person-phone", full_page=False), "person-phone.png")
        # "I did this exercise" starts unticked: tick each one, as a person who did the whole session.
        for done in page.locator('input[name="done"]').all():
            done.check(force=True)
        page.check('input[name="pain_during"][value="2"]', force=True)
        page.check('input[name="pain_after"][value="1"]', force=True)
        page.click('button[type="submit"]:has-text("Save this session")')
        page.wait_for_load_state()
        assert "pain during 2/10" in page.content() or "Saved" in page.content() or "saved" in page.content()

        page.goto(base + "/progress")
        assert page.locator("svg, img").count() > 0
        shoot(page, shots, "04-progress-phone")

        page.goto(base + "/technique")
        capture = page.locator('input[type="file"][capture]')
        assert capture.get_attribute("accept") == "video/*"
        page.check('input[name="movement"][value="deadlift"]')
        page.set_input_files("#video", str(shared_data / CLIP))
        shoot(page, shots, "05-technique-upload-phone")
        page.click('button[type="submit"]:has-text("Analyse my video")')
        page.wait_for_url("**/technique/checks/*")
        progress_shot = shoot(page, shots, "06-technique-progress-phone", full_page=False)
        assert progress_shot.stat().st_size > 0
        # The page polls the JSON endpoint and reloads itself when the analysis is over.
        page.wait_for_selector("video.result-video, .notice.error", timeout=ANALYSIS_TIMEOUT_MS)
        assert page.locator(".notice.error").count() == 0, page.locator(".notice.error").inner_text()
        loaded = "() => (document.querySelector('video.result-video') || {}).readyState >= 1"
        page.wait_for_function(loaded, timeout=30_000)
        duration = page.evaluate("document.querySelector('video.result-video').duration")
        assert duration > 1.0  # the browser decoded the annotated H.264 video
        assert image_width(page.locator("img.angles")) > 100
        assert page.locator("table.reps tbody tr, table.landings tbody tr").count() >= 1
        shot = shoot(page, shots, "07-technique-result-phone")
        assert shot.stat().st_size > 0

        page.goto(base + "/technique")
        assert page.locator("table.checks tbody tr").count() == 1
    finally:
        context.close()


def test_a_clinician_invites_a_person_and_sees_their_picture(
    browser: Any, live_server: LiveServer, shots: Path
) -> None:
    base = live_server.url
    doctor = browser.new_context(viewport=DESKTOP, device_scale_factor=1)
    person = browser.new_context(viewport=PHONE, device_scale_factor=1)
    try:
        desk = doctor.new_page()
        desk.set_default_timeout(20_000)
        sign_up(desk, base, "physio@example.org", name="Dr Ana Silva", clinician=True)
        desk.wait_for_url("**/account")  # a clinician account waits for an administrator
        assert "waits for this clinic's administrator" in desk.content()
        approve_clinician(live_server.app, "physio@example.org")
        desk.goto(base + "/clinician")
        desk.click('button:has-text("Create an invite")')
        desk.wait_for_selector(".invite-code")
        link = desk.locator("a.invite-link").first.get_attribute("href")
        assert link and link.startswith(base + "/invite/")

        phone = person.new_page()
        phone.set_default_timeout(20_000)
        sign_up(phone, base, "casey@example.org", name="Casey Park")
        take_screening(phone)
        phone.goto(link)
        assert "Dr Ana Silva" in phone.content()
        shoot(phone, shots, "08-invite-phone")
        phone.click('button:has-text("Share my record")')
        phone.wait_for_url("**/sharing")
        assert "can now see your plan" in phone.content()

        desk.goto(base + "/clinician")
        row = desk.locator("table.people tbody tr", has_text="Casey Park")
        assert row.count() == 1
        desk.click('table.people th a:has-text("Adherence")')
        desk.wait_for_url("**sort=adherence**")
        assert desk.locator('th[aria-sort] a:has-text("Adherence")').count() == 1
        shoot(desk, shots, "09-clinician-table-desktop")
        desk.click('table.people a:has-text("Casey Park")')
        desk.wait_for_selector("#adjust")
        assert image_width(desk.locator("img.chart-img")) > 100
        shoot(desk, shots, "10-clinician-person-desktop")
        desk.select_option("#phase", "build")
        desk.fill("#phase-note", "Your knee is settling well.")
        desk.click('button:has-text("Change the phase")')
        desk.wait_for_load_state()
        assert "The plan was changed" in desk.content()

        phone.goto(base + "/changes")
        assert "Your clinician moved you to phase 2" in phone.content()
        assert "Your knee is settling well." in phone.content()
        shoot(phone, shots, "11-person-sees-change-phone")

        narrow = person.new_page()
        narrow.goto(base + "/signin")
        shoot(narrow, shots, "12-signin-phone")
        clinic_phone = browser.new_context(viewport=PHONE, device_scale_factor=1)
        try:
            small = clinic_phone.new_page()
            small.goto(base + "/signin")
            small.fill("#email", "physio@example.org")
            small.fill("#password", PASSWORD)
            small.click('button[type="submit"]:has-text("Sign in")')
            small.wait_for_url("**/clinician")
            shoot(small, shots, "13-clinician-table-phone")
        finally:
            clinic_phone.close()
    finally:
        doctor.close()
        person.close()


def test_the_demo_as_its_clinician_and_person_see_it(
    browser: Any, live_server: LiveServer, shots: Path
) -> None:
    """``--demo`` data in the real server: the clinician's table on a desktop, the person on a phone."""
    from kneefix.services.demo import CLINICIAN_EMAIL, PERSON_EMAIL, seed_demo

    accounts = seed_demo(live_server.app.state.database, live_server.data_dir)
    base = live_server.url
    desk_context = browser.new_context(viewport=DESKTOP, device_scale_factor=1)
    phone_context = browser.new_context(viewport=PHONE, device_scale_factor=1)
    try:
        desk = desk_context.new_page()
        desk.goto(base + "/signin")
        desk.fill("#email", CLINICIAN_EMAIL)
        desk.fill("#password", accounts.password)
        desk.click('button[type="submit"]:has-text("Sign in")')
        desk.wait_for_url("**/clinician")
        assert desk.locator("table.people tbody tr").count() == 3
        assert desk.locator("table.people tr.attention").count() >= 2
        readme_shot(shoot(desk, shots, "readme-clinician-desktop", full_page=False), "clinician-desktop.png")
        desk.click('table.people a:has-text("Alex Moreno")')
        desk.wait_for_selector("#adjust")
        assert image_width(desk.locator("img.chart-img")) > 100
        assert "Your clinician set" in desk.content()
        shoot(desk, shots, "14-demo-person-for-clinician-desktop")

        phone = phone_context.new_page()
        phone.goto(base + "/signin")
        phone.fill("#email", PERSON_EMAIL)
        phone.fill("#password", accounts.password)
        phone.click('button[type="submit"]:has-text("Sign in")')
        phone.wait_for_load_state()
        shoot(phone, shots, "15-demo-home-phone")
        phone.goto(base + "/progress")
        shoot(phone, shots, "16-demo-progress-phone")
        phone.goto(base + "/changes")
        assert "Your clinician set" in phone.content()
    finally:
        desk_context.close()
        phone_context.close()
