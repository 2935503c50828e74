"""The one "needs a plan" guard: every page and endpoint that shows the plan declares ``PersonWithPlan``,
and for a person without a plan each page sends them to the screening (or to its result when one was
saved without a plan) while each API endpoint answers 409 with the same message."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from kneefix.web.deps import require_plan
from kneefix.web.routes import api, calendar, person, printouts, running
from tests.web.helpers import notices, sign_up, take_screening


def _uses_guard(dependant: Any) -> bool:
    return any(dep.call is require_plan or _uses_guard(dep) for dep in dependant.dependencies)


ROUTERS = [module.router for module in (person, running, calendar, printouts, api)] + [running.api_router]


def _guarded_gets() -> list[str]:
    """Every GET path without parameters whose handler depends on the guard."""
    return sorted(
        route.path
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        and "GET" in (route.methods or set())
        and "{" not in route.path
        and _uses_guard(route.dependant)
    )


def test_the_plan_pages_and_endpoints_all_use_the_one_guard() -> None:
    guarded = _guarded_gets()
    for expected in ("/home", "/today", "/plan", "/progress", "/morning", "/api/v1/today", "/api/v1/plan"):
        assert expected in guarded, expected
    assert "/screening" not in guarded and "/account" not in guarded


def test_without_a_plan_pages_go_to_the_screening_and_the_api_says_409(
    app: FastAPI, client: TestClient
) -> None:
    sign_up(client, "new@example.org")
    for path in _guarded_gets():
        response = client.get(path, follow_redirects=False)
        if path.startswith("/api/"):
            assert response.status_code == 409, path
            assert "POST /api/v1/screening" in response.json()["detail"], path
        else:
            assert response.status_code == 303, path
            assert response.headers["location"].endswith("/screening"), path
    landed = client.get("/plan")
    assert landed.url.path == "/screening"
    assert any("Answer the screening questions first" in text for text in notices(landed))


def test_a_screening_that_stopped_sends_the_pages_to_its_result(client: TestClient) -> None:
    sign_up(client, "flag@example.org")
    take_screening(client, red_flag="true_locking")
    response = client.get("/today", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].endswith("/screening/result")
