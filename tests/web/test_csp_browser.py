"""The strict Content-Security-Policy in a real browser: the main pages break none of it, and what
used to be inline still works (issue 11, "Headers": a Content-Security-Policy without inline script).

Debian's Chromium through Playwright. Every ``securitypolicyviolation`` event and every console line
about the policy is collected while a person goes through today's session (with its demonstrations),
the plan, progress, account, screening, technique and log pages, an error page and ``/docs``; the
scripts moved out of the pages must still run: the guided session counts sets, the wizard shows its
steps, deleting a log entry asks first, "Go back" goes back, Swagger UI draws the API and its "Try it
out" sends the CSRF token. Lives beside
the other browser tests because the sync Playwright instance is one per process (``tests/web``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.web.helpers import PASSWORD
from tests.web.test_layout_browser import SIZES, _close_pages, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} blocked ${event.blockedURI} on ${location.pathname}`);
});
"""


def _violations(page: Any) -> list[str]:
    found: list[str] = page.evaluate("window.__violations || []")
    return found


def test_main_pages_keep_the_policy_and_their_scripts_still_work(
    browser: Any,
    server: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Issue 11 (ASVS 14.4.3): no page the person uses asks for anything the policy blocks."""
    shots = Path(os.environ.get("KNEEFIX_SCREENSHOTS", str(tmp_path)))
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": SIZES["phone"][0], "height": SIZES["phone"][1]})
    context.add_init_script(WATCH)
    page = context.new_page()
    console: list[str] = []
    errors: list[str] = []
    page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    violations: list[str] = []

    def visit(path: str, layout: bool = True) -> None:
        page.goto(server + path)
        if layout:  # the site's pages run base.js first (Swagger UI's page has its own)
            assert page.evaluate("document.documentElement.classList.contains('has-js')"), path
        violations.extend(_violations(page))

    page.goto(server + "/signin")
    page.fill("#email", "alex@example.org")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/signin" not in url)

    visit("/today")  # the guided session and the demonstrations (same-origin SVG images)
    card = page.locator("[data-exercise][data-sets='3']").first
    card.locator("[data-set-done]").click()
    assert card.locator("[data-set-count]").inner_text() == "Set 2 of 3"
    picture = page.locator("figure.demo img").first
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=picture.element_handle())
    violations.extend(_violations(page))
    page.screenshot(path=str(shots / "csp-today.png"))

    for path in ("/plan?month=2025-03", "/progress", "/account", "/technique", "/changes", "/api"):
        visit(path)
    visit("/screening")
    assert page.locator("[data-wizard-progress]").inner_text() == "Step 1 of 6"

    visit("/logs")  # the delete button's question, once an inline onsubmit, now base.js
    rows = page.locator("tbody tr")
    before = rows.count()
    assert before > 0
    page.once("dialog", lambda dialog: dialog.dismiss())
    rows.first.locator("button.danger").click()
    page.wait_for_timeout(200)
    assert rows.count() == before and page.url.endswith("/logs")
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        rows.first.locator("button.danger").click()
    assert page.locator("tbody tr").count() == before - 1
    violations.extend(_violations(page))

    visit("/no-such-page")  # "Go back" (once a javascript: link) is a button base.js shows and wires
    back = page.locator("[data-history-back]")
    assert back.is_visible()
    back.click()
    page.wait_for_url("**/logs")

    visit(
        "/docs", layout=False
    )  # Swagger UI from this site, started by a static file, reading the OpenAPI document
    page.wait_for_selector(".opblock", timeout=20_000)
    assert page.locator(".opblock").count() > 20
    # "Try it out" as the signed-in person: an unsafe request, which passes only with the CSRF token
    # swagger-init.js adds (a new API token, 201; without the token it would be 403).
    operation = page.locator(".opblock-post:has([data-path='/api/v1/me/tokens'])")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    status.wait_for(timeout=10_000)
    assert status.inner_text().strip() == "201"
    violations.extend(_violations(page))
    page.screenshot(path=str(shots / "csp-docs.png"))

    assert violations == []
    assert [line for line in console if "Content Security Policy" in line or "Policy" in line] == []
    assert errors == []

    # The watch is not blind: an injected inline handler is refused, reported, and never runs.
    page.evaluate(
        "document.body.insertAdjacentHTML('beforeend', '<img src=/x.png onerror=\"window.ran=1\">')"
    )
    page.wait_for_function("window.__violations.length > 0")
    assert "script-src-attr" in _violations(page)[0]
    assert page.evaluate("window.ran") is None
