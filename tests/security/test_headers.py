"""Security headers on every answer, and pages a strict Content-Security-Policy does not break.

Issue 11, "Headers": a Content-Security-Policy without inline script, ``frame-ancestors 'none'``,
``X-Content-Type-Options: nosniff``, ``Referrer-Policy``, HSTS over https; ``/docs`` from local assets.
ASVS 4.0 L1 items: 14.4.3 (CSP), 14.4.4 (nosniff), 14.4.5 (HSTS), 14.4.6 (Referrer-Policy),
14.4.7 (framing), 8.2.1 (no caching of sensitive answers). The browser itself is checked in
``tests/web/test_csp_browser.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from kneefix.settings import Settings, load_settings
from kneefix.web.app import create_app
from kneefix.web.headers import CONTENT_SECURITY_POLICY, HSTS
from kneefix.web.middleware import LoadSheddingMiddleware
from kneefix.web.templating import TEMPLATES_DIR
from tests.web.helpers import csrf_of, form_token_of, log_today, person_with_plan, sign_up

ALWAYS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
# A route may send a stricter referrer policy than the app's (the password-reset page: no-referrer).
REFERRER_POLICIES = {"same-origin", "no-referrer"}
PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")
EXERCISE = "bridge"
SLOW_FILES = (".pdf", ".png")
INVITE_CODE = re.compile(r'class="invite-code">([A-Z0-9]{5}-[A-Z0-9]{5})<')


def _unsecured(answer: httpx.Response, what: str) -> list[str]:
    """What is wrong with an answer's security headers (nothing: an empty list)."""
    wrong = [name for name, value in ALWAYS.items() if answer.headers.get(name) != value]
    if answer.headers.get("referrer-policy") not in REFERRER_POLICIES:
        wrong.append("referrer-policy")
    if "camera=()" not in answer.headers.get("permissions-policy", ""):
        wrong.append("permissions-policy")
    if "strict-transport-security" in answer.headers:
        wrong.append("HSTS over plain http")
    return [f"{what} ({answer.status_code}): {name}" for name in wrong]


def _assert_secured(answer: httpx.Response, what: str) -> None:
    assert _unsecured(answer, what) == []


def _routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every route, also inside included routers (FastAPI keeps those as their own router)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included.routes)


def _filled(path: str) -> str:
    values = {"exercise_id": EXERCISE, "name": "report.json"}
    return PARAMETER.sub(lambda match: values.get(match.group(1), "1"), path)


@pytest.fixture
def clinician(app: FastAPI) -> TestClient:
    browser = TestClient(app, follow_redirects=True)
    sign_up(browser, "doc@example.org", role="clinician")
    return browser


@pytest.fixture
def linked(client: TestClient, clinician: TestClient) -> int:
    """The person (``client``) has a plan and a logged session, and shares them with ``clinician``."""
    person_with_plan(client, "runner@example.org")
    log_today(client, pain_during="3")
    page = clinician.get("/clinician")
    invited = clinician.post(
        "/clinician/invites",
        data={"csrf_token": csrf_of(page), "form_token": form_token_of(page), "note": "Runner"},
    )
    code = INVITE_CODE.findall(invited.text)[0]
    offer = client.get(f"/invite/{code}")
    client.post(f"/invite/{code}", data={"csrf_token": csrf_of(offer)})
    people = re.findall(r'href="/clinician/people/(\d+)"', clinician.get("/clinician").text)
    assert len(people) == 1
    return int(people[0])


# ----- no inline script or style anywhere ----------------------------------------------------------


class _InlineFinder(HTMLParser):
    """What a page would need ``'unsafe-inline'`` for: script bodies, ``on*=`` handlers, ``style``
    attributes and ``<style>`` elements, ``javascript:`` links, and scripts from another site."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            elif name == "style":
                self.found.append(f"<{tag} style=...>")
            elif (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value}>")
            elif name in ("src", "href") and re.match(r"(https?:)?//", value or "") and tag != "a":
                self.found.append(f"<{tag} {name}={value}> from another site")
        if tag == "style":
            self.found.append("<style> element")
        if tag == "script":
            if not dict(attrs).get("src"):
                self.found.append("<script> without src")
            self._in_script = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append(f"<script> body: {data.strip()[:60]}")


def inline_parts(html: str) -> list[str]:
    finder = _InlineFinder()
    finder.feed(html)
    finder.close()
    return finder.found


TEMPLATE_INLINE = re.compile(
    r"""<script(?![^>]*\ssrc=)[^>]*>|<style\b|\sstyle\s*=|\son[a-z]+\s*=|javascript:""", re.IGNORECASE
)


def test_no_template_holds_inline_script_handlers_styles_or_javascript_links() -> None:
    """Issue 11 "a Content-Security-Policy without inline script" (ASVS 14.4.3): every template as
    written, including the ones only an error or a clinician sees."""
    templates = sorted(TEMPLATES_DIR.rglob("*.html"))
    assert len(templates) > 20
    found = {
        str(path.relative_to(TEMPLATES_DIR)): TEMPLATE_INLINE.findall(path.read_text(encoding="utf-8"))
        for path in templates
    }
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_the_scanner_finds_what_the_policy_would_block() -> None:
    """The page scanner below is not blind: each kind of inline content it must catch, it catches."""
    page = (
        '<p style="color:red" onclick="x()">a</p><a href=" JavaScript:history.back()">b</a>'
        "<script>alert(1)</script><script src='/static/base.js'></script><style>p{}</style>"
        '<script src="https://cdn.example.net/x.js"></script>'
    )
    assert inline_parts(page) == [
        "<p style=...>",
        "<p onclick=...>",
        "<a href= JavaScript:history.back()>",
        "<script> without src",
        "<script> body: alert(1)",
        "<style> element",
        "<script src=https://cdn.example.net/x.js> from another site",
    ]
    assert TEMPLATE_INLINE.findall(page)


def test_every_route_answers_with_the_headers_and_no_page_holds_inline_script_or_style(
    app: FastAPI, client: TestClient, clinician: TestClient, linked: int
) -> None:
    """Issue 11 "Security headers on every response" and "a Content-Security-Policy without inline
    script" (ASVS 14.4.3-14.4.7). Every route: each GET for a person with a plan and a log, for the
    clinician they share with and for a signed-out visitor; each unsafe method for the person without
    a CSRF token (refused, and the refusal carries the headers too). Every HTML answer among them (the
    charts and drawings included), the signed-out pages and /docs hold no inline script or style."""
    anonymous = TestClient(app, follow_redirects=False)
    roles = (("person", client), ("clinician", clinician), ("anonymous", anonymous))
    missing: list[str] = []
    pages: dict[str, str] = {}
    seen: set[int] = set()
    for route in _routes(app.routes):
        path = _filled(route.path)
        for method in sorted(route.methods or ()):
            for who, browser in roles if method == "GET" else roles[:1]:
                if who != "anonymous" and path.endswith(SLOW_FILES):
                    continue  # drawn on every request (a second each); one of them is fetched below
                answer = browser.request(method, path, json={})
                missing += _unsecured(answer, f"{who} {method} {route.path}")
                seen.add(answer.status_code)
                if method == "GET" and answer.headers.get("content-type", "").startswith("text/html"):
                    pages[f"{who} {route.path}"] = answer.text
    missing += _unsecured(client.get("/progress/report.pdf"), "person GET /progress/report.pdf")
    pages["clinician /clinician/people/{id}"] = clinician.get(f"/clinician/people/{linked}").text
    for path in ("/", "/signup", "/about", "/api", "/docs", "/no-such-page"):
        pages[f"anonymous {path}"] = anonymous.get(path).text
    pages["413"] = anonymous.post("/signin", headers={"content-length": str(10**12)}, content=b"").text
    assert missing == []
    assert {200, 303, 401, 403, 404} <= seen  # pages, redirects, refusals and errors alike
    assert len(pages) > 40 and "<svg" in pages["person /progress"]
    assert {name: hits for name, html in pages.items() if (hits := inline_parts(html))} == {}


# ----- the headers on every kind of answer ---------------------------------------------------------


def test_static_files_errors_health_and_docs_carry_the_headers(app: FastAPI) -> None:
    """Issue 11 "on every response": static files, a 404, a 405, the health check, /docs and its
    assets, a crash (answered by Starlette outside every middleware), the 413 given before the app
    reads the body, and the load-shedding 503."""

    def crash() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/crash-for-test", crash)
    browser = TestClient(app, raise_server_exceptions=False)
    answers = {
        "static": browser.get("/static/kneefix.css"),
        "404 page": browser.get("/no-such-page"),
        "404 api": browser.get("/api/v1/no-such-thing"),
        "405": browser.delete("/signin"),
        "health": browser.get("/healthz"),
        "docs": browser.get("/docs"),
        "docs script": browser.get("/docs/assets/swagger-ui-bundle.js"),
        "crash": browser.get("/crash-for-test"),
        "413": browser.post("/signin", headers={"content-length": str(10**12)}, content=b""),
        "413 api": browser.post("/api/v1/auth/token", headers={"content-length": str(10**12)}, content=b""),
    }
    shedding = _find(app, LoadSheddingMiddleware)
    shedding.in_flight = shedding.max_in_flight  # as if every place were taken by a slow request
    try:
        answers["503"] = browser.get("/signin")
        answers["503 api"] = browser.get("/api/v1/today")
    finally:
        shedding.in_flight = 0
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {
        "static": 200,
        "404 page": 404,
        "404 api": 404,
        "405": 405,
        "health": 200,
        "docs": 200,
        "docs script": 200,
        "crash": 500,
        "413": 413,
        "413 api": 413,
        "503": 503,
        "503 api": 503,
    }
    for name, answer in answers.items():
        _assert_secured(answer, name)
    assert "Something went wrong on our side" in answers["crash"].text


def _find(app: FastAPI, kind: type[LoadSheddingMiddleware]) -> LoadSheddingMiddleware:
    """The app's own instance of a middleware (built on the first request)."""
    layer: object = app.middleware_stack
    while layer is not None:
        if isinstance(layer, kind):
            return layer
        layer = getattr(layer, "app", None)
    raise AssertionError(f"no {kind.__name__} in the app")


def test_health_data_is_not_cached_but_static_files_and_drawings_may_be(
    client: TestClient, app: FastAPI
) -> None:
    """ASVS 8.2.1: pages and API answers (health data) say ``no-store``; static files, Swagger UI's
    files and the exercise drawings (the same for everyone) keep their caching; a route that chose its
    own caching keeps it."""
    person_with_plan(client, "cache@example.org")
    for path in ("/today", "/progress", "/logs", "/api/v1/today", "/api/v1/logs", "/healthz"):
        assert client.get(path).headers.get("cache-control") == "no-store", path
    assert "cache-control" not in client.get("/static/kneefix.css").headers
    assert client.get("/docs/assets/swagger-ui.css").headers["cache-control"].startswith("public")
    assert client.get(f"/exercises/{EXERCISE}/demo.svg").headers["cache-control"].startswith("public")


# ----- HSTS over https only ------------------------------------------------------------------------


def _app(tmp_path: Path, **changes: object) -> FastAPI:
    settings: Settings = load_settings(
        data_dir=tmp_path / "data", environ={}, secret_key="h" * 40, run_worker=False, **changes
    )
    return create_app(settings)


@pytest.mark.parametrize(
    ("base", "proxy", "forwarded", "expected"),
    [
        ("https://testserver", {}, None, True),
        ("http://testserver", {}, None, False),
        # A client claiming https itself is not believed: the proxy headers come from no trusted proxy.
        ("http://testserver", {"proxy_headers": True, "forwarded_allow_ips": "10.1.2.3"}, "https", False),
        ("http://testserver", {}, "https", False),
        # The proxy in KNEEFIX_FORWARDED_ALLOW_IPS says the browser used https: believed.
        ("http://testserver", {"proxy_headers": True, "forwarded_allow_ips": "*"}, "https", True),
        ("http://testserver", {"proxy_headers": True, "forwarded_allow_ips": "*"}, "http", False),
    ],
)
def test_hsts_only_when_the_browser_used_https(
    tmp_path: Path, base: str, proxy: dict[str, object], forwarded: str | None, expected: bool
) -> None:
    """Issue 11 "HSTS over HTTPS" (ASVS 14.4.5): present on answers to https requests as the trusted
    proxy reports them, on pages, API answers, static files and redirects; never on plain http, where
    it would pin a development server to https."""
    app = _app(tmp_path, **proxy)
    try:
        browser = TestClient(app, base_url=base, follow_redirects=False)
        headers = {"X-Forwarded-Proto": forwarded} if forwarded else {}
        for path in ("/signin", "/api/v1/today", "/static/kneefix.css", "/today"):
            answer = browser.get(path, headers=headers)
            assert (answer.headers.get("strict-transport-security") == HSTS) is expected, path
            assert "includesubdomains" not in answer.headers.get("strict-transport-security", "").lower()
    finally:
        app.state.database.close()


def test_docs_are_served_from_this_site(client: TestClient) -> None:
    """Issue 11 "/docs served from local assets": the page loads Swagger UI from this app only (its
    script, stylesheet and start-up file all answer here), and only those files of the bundle."""
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(source.startswith("/") for source in sources), sources
    for source in sources:
        assert client.get(source).status_code == 200, source
    assert "/docs/assets/swagger-ui-bundle.js" in sources
    assert 'data-openapi-url="/api/v1/openapi.json"' in page.text
    assert client.get("/docs/assets/redoc.standalone.js").status_code == 404  # not used: not served
    assert client.get("/docs/assets/../__init__.py").status_code == 404
