"""Authorisation matrix, generated over every route of the person pages, account pages and JSON API.

Four callers try each route: nobody (anonymous), the owner of the data, another person, and a clinician
who is not linked to the owner. Routes that name an object (a log entry, an API token) are called with
the OWNER's ids. A person must never reach another person's data: the other callers get 404 (or 403 for
a clinician on person-only routes), the owner's object survives, and the owner's private marker text
never appears in their responses. The administration pages answer 404 to every signed-in caller but an
administrator (a fifth caller). Every route must be classified below, so a new route cannot slip
through untested.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kneefix.services import admin as admin_service
from kneefix.settings import load_settings
from kneefix.storage.models import WebSession
from kneefix.web.app import create_app
from kneefix.web.routes import account, admin, api, auth, person, recovery, running, screening
from tests.web.helpers import (
    PASSWORD,
    api_screening_body,
    bearer,
    csrf_of,
    person_with_plan,
    pin,
    sign_in,
    sign_up,
)

MARKER = "OWNER-PRIVATE-NOTE-7731"
OWNER_EMAIL = "owner@example.org"

PUBLIC = {
    "landing",
    "about",
    "api_docs",
    "signup_form",
    "signup",
    "signin_form",
    "signin",
    "signout",
    "api_signup",
    "api_token",
    "api_screening_questions",
    "forgot_password_form",
    "forgot_password",
    "reset_password_form",
    "reset_password",
    "signup_sent",
    "finish_signup_form",
    "finish_signup",
}
ADMIN_ONLY = {"admin_home", "admin_approve", "admin_decline", "admin_invite"}
"""Administrators only: everyone else signed in gets 404, as if there were nothing there."""
ANY_SIGNED_IN = {
    "resume_form",
    "resume_discard",
    "account",
    "account_password",
    "account_token_create",
    "account_token_revoke",
    "account_session_revoke",
    "account_sessions_revoke_all",
    "account_export",
    "account_delete",
    "api_me",
    "api_change_password",
    "api_list_tokens",
    "api_create_token",
    "api_revoke_token",
    "api_delete_account",
    "api_export",
}
OBJECT_PARAMS = {"log_id", "token_id", "session_id"}

ROUTERS = (
    auth.router,
    recovery.router,
    admin.router,
    account.router,
    person.router,
    running.router,
    screening.router,
    api.router,
    running.api_router,
)
ROUTES = [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]


@dataclass
class Caller:
    name: str
    browser: TestClient | None  # cookie session (pages)
    token: str | None  # Bearer token (API)
    email: str = ""


@dataclass
class World:
    owner: Caller
    other: Caller
    clinician: Caller
    anonymous: Caller
    admin: Caller
    counter: Iterator[int]
    app: FastAPI

    def owner_api(self) -> TestClient:
        assert self.owner.browser is not None
        return self.owner.browser

    def fresh_log(self) -> int:
        """A new entry of the owner's on the plan's first day (one session a day: the last one goes)."""
        headers = bearer(self.owner.token or "")
        for log in self.owner_api().get("/api/v1/logs", headers=headers).json():
            self.owner_api().delete(f"/api/v1/logs/{log['id']}", headers=headers)
        response = self.owner_api().post(
            "/api/v1/logs",
            json={"completed": 1, "pain_during": 2, "note": MARKER, "date": "2025-03-03"},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        log_id: int = response.json()["log"]["id"]
        return log_id

    def fresh_token(self) -> int:
        response = self.owner_api().post(
            "/api/v1/me/tokens",
            json={"name": f"{MARKER}-{next(self.counter)}"},
            headers=bearer(self.owner.token or ""),
        )
        token_id: int = response.json()["id"]
        return token_id

    def fresh_session(self) -> int:
        """Another browser signed in to the owner's account: the id of its server-side session."""
        sign_in(TestClient(self.app), OWNER_EMAIL)
        with self.app.state.database.session() as db:
            found: int = db.scalar(select(func.max(WebSession.id)))
        return found

    def session_exists(self, session_id: int) -> bool:
        with self.app.state.database.session() as db:
            row = db.get(WebSession, session_id)
            return row is not None and row.revoked_at is None

    def log_exists(self, log_id: int) -> bool:
        logs = self.owner_api().get("/api/v1/logs", headers=bearer(self.owner.token or "")).json()
        return any(log["id"] == log_id for log in logs)

    def token_exists(self, token_id: int) -> bool:
        tokens = self.owner_api().get("/api/v1/me/tokens", headers=bearer(self.owner.token or "")).json()
        return any(token["id"] == token_id for token in tokens)


def _caller(app_client: TestClient, name: str, email: str, role: str) -> Caller:
    if role == "person":
        person_with_plan(app_client, email)
    else:
        sign_up(app_client, email, role=role)
    page = app_client.get("/account")
    created = app_client.post(
        "/api/v1/me/tokens", json={"name": "matrix"}, headers={"X-CSRF-Token": csrf_of(page)}
    )
    assert created.status_code == 201, created.text
    return Caller(name, app_client, created.json()["token"], email)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir: Path = tmp_path_factory.mktemp("matrix")
    settings = load_settings(data_dir=data_dir, environ={}, secret_key="m" * 40, run_worker=False)
    app = create_app(settings)
    pin(app, today=dt.date(2025, 3, 5))
    owner = _caller(TestClient(app), "owner", OWNER_EMAIL, "person")
    other = _caller(TestClient(app), "other", "other@example.org", "person")
    clinician = _caller(TestClient(app), "clinician", "clinic@example.org", "clinician")
    anonymous = Caller("anonymous", TestClient(app), None)
    with app.state.database.session() as session:
        admin_service.add_account(session, email="admin@example.org", password=PASSWORD, admin=True)
    admin_browser = TestClient(app)
    sign_in(admin_browser, "admin@example.org")
    administrator = Caller("admin", admin_browser, None, "admin@example.org")
    yield World(owner, other, clinician, anonymous, administrator, itertools.count(), app)
    app.state.database.close()


def _call(world: World, caller: Caller, route: APIRoute, ids: dict[str, int]) -> httpx.Response:
    method = next(iter(route.methods or {"GET"}))
    path = route.path.format(**ids)
    browser = caller.browser or world.anonymous.browser
    assert browser is not None
    response: httpx.Response
    if path.startswith("/api/"):
        headers = bearer(caller.token) if caller.token else {}
        body: dict[str, object] | None = None if method in ("GET", "DELETE") else {}
        response = browser.request(method, path, json=body, headers=headers)
    elif method == "GET":
        response = browser.get(path, follow_redirects=False)
    else:
        token = csrf_of(browser.get("/about"))
        response = browser.post(path, data={"csrf_token": token}, follow_redirects=False)
        if route.name == "account_sessions_revoke_all" and caller.email and caller.browser is not None:
            sign_in(caller.browser, caller.email)  # it signed the caller out too: back in for the next routes
    return response


def _ids(world: World, route: APIRoute) -> dict[str, int]:
    ids: dict[str, int] = {}
    if "{log_id}" in route.path:
        ids["log_id"] = world.fresh_log()
    if "{token_id}" in route.path:
        ids["token_id"] = world.fresh_token()
    if "{session_id}" in route.path:
        ids["session_id"] = world.fresh_session()
    return ids


def _still_there(world: World, ids: dict[str, int]) -> bool:
    if "log_id" in ids:
        return world.log_exists(ids["log_id"])
    if "token_id" in ids:
        return world.token_exists(ids["token_id"])
    if "session_id" in ids:
        return world.session_exists(ids["session_id"])
    return True


def test_every_route_is_classified() -> None:
    names = {route.name for route in ROUTES}
    assert len(names) == len(ROUTES), "route names must be unique"
    for route in ROUTES:
        params = set(route.param_convertors)
        assert params <= OBJECT_PARAMS, f"{route.path}: add its path parameters to the matrix"


@pytest.mark.parametrize("route", [r for r in ROUTES if r.name not in PUBLIC], ids=lambda r: f"{r.name}")
def test_anonymous_is_refused(world: World, route: APIRoute) -> None:
    ids = _ids(world, route)
    response = _call(world, world.anonymous, route, ids)
    if route.path.startswith("/api/"):
        assert response.status_code == 401
    else:
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin")
    assert MARKER not in response.text
    assert _still_there(world, ids)


@pytest.mark.parametrize("route", [r for r in ROUTES if r.name not in PUBLIC], ids=lambda r: f"{r.name}")
def test_another_person_never_reaches_the_owners_data(world: World, route: APIRoute) -> None:
    ids = _ids(world, route)
    response = _call(world, world.other, route, ids)
    if ids or route.name in ADMIN_ONLY:
        assert response.status_code == 404, response.text[:300]
        assert _still_there(world, ids)
    else:
        assert response.status_code not in (401, 403, 500), response.text[:300]
    assert MARKER not in response.text
    assert OWNER_EMAIL not in response.text


@pytest.mark.parametrize("route", [r for r in ROUTES if r.name not in PUBLIC], ids=lambda r: f"{r.name}")
def test_an_unlinked_clinician_never_reaches_the_owners_data(world: World, route: APIRoute) -> None:
    ids = _ids(world, route)
    response = _call(world, world.clinician, route, ids)
    own_account_route = route.name in ANY_SIGNED_IN
    expected = {403} if not own_account_route else ({404} if ids else {200, 201, 204, 303, 422})
    if route.name in ADMIN_ONLY:
        expected = {404}
    assert response.status_code in expected, (route.path, response.status_code, response.text[:300])
    assert MARKER not in response.text
    assert OWNER_EMAIL not in response.text
    assert _still_there(world, ids)


@pytest.mark.parametrize("route", [r for r in ROUTES if r.name not in PUBLIC], ids=lambda r: f"{r.name}")
def test_the_owner_gets_in(world: World, route: APIRoute) -> None:
    # An empty form or body is refused as incomplete (422) where input is needed, never for access.
    ids = _ids(world, route)
    response = _call(world, world.owner, route, ids)
    if route.name in ADMIN_ONLY:  # the owner is no administrator
        assert response.status_code == 404, (route.path, response.text[:300])
        return
    assert response.status_code in {200, 201, 204, 303, 409, 422}, (route.path, response.text[:300])
    if response.status_code == 303:
        assert not response.headers["location"].startswith("/signin")


@pytest.mark.parametrize("route", [r for r in ROUTES if r.name in ADMIN_ONLY], ids=lambda r: f"{r.name}")
def test_an_administrator_gets_into_the_admin_routes(world: World, route: APIRoute) -> None:
    """Issue 11 (clinicians are not self-service): the admin routes open for an administrator only."""
    response = _call(world, world.admin, route, {})
    assert response.status_code in {200, 303, 422}, (route.path, response.text[:300])
    if response.status_code == 303:
        assert not response.headers["location"].startswith("/signin")
    assert MARKER not in response.text


@pytest.mark.parametrize("route", [r for r in ROUTES if r.name in PUBLIC], ids=lambda r: f"{r.name}")
def test_public_routes_show_nothing_private(world: World, route: APIRoute) -> None:
    response = _call(world, world.anonymous, route, {})
    assert response.status_code < 500
    assert MARKER not in response.text and OWNER_EMAIL not in response.text


def test_the_screening_endpoint_ignores_who_the_body_names(world: World) -> None:
    """Nothing in a request body can point at another profile: the profile always comes from the caller."""
    browser = world.other.browser
    assert browser is not None
    body = api_screening_body() | {"profile_id": 1}
    response = browser.post("/api/v1/screening", json=body, headers=bearer(world.other.token or ""))
    assert response.status_code == 422  # unknown fields are refused outright


@pytest.mark.parametrize(
    "route",
    [r for r in ROUTES if not r.path.startswith("/api/") and (r.methods or set()) & {"POST", "PUT", "PATCH"}],
    ids=lambda r: f"{r.name}",
)
def test_every_form_without_its_csrf_token_is_refused(world: World, route: APIRoute) -> None:
    ids = _ids(world, route)
    browser = world.owner.browser
    assert browser is not None
    response = browser.post(route.path.format(**ids), data={"note": "x"}, follow_redirects=False)
    assert response.status_code == 403
    assert "nothing was saved" in response.text
    assert _still_there(world, ids)
