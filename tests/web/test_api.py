"""The JSON API, endpoint by endpoint, as an API client with a Bearer token."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.web.conftest import FIXED_TODAY
from tests.web.helpers import PASSWORD, api_screening_body, api_token, bearer, csrf_of, pin, sign_up


def person(client: TestClient, email: str = "api@example.org", *, screened: bool = True) -> dict[str, str]:
    headers = bearer(api_token(client, email))
    if screened:
        response = client.post("/api/v1/screening", json=api_screening_body(), headers=headers)
        assert response.status_code == 200, response.text
    return headers


def test_openapi_document_lists_every_endpoint(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    paths = set(schema["paths"])
    for path in (
        "/api/v1/auth/signup",
        "/api/v1/auth/token",
        "/api/v1/me",
        "/api/v1/me/password",
        "/api/v1/me/tokens",
        "/api/v1/me/tokens/{token_id}",
        "/api/v1/me/delete",
        "/api/v1/screening/questions",
        "/api/v1/screening",
        "/api/v1/today",
        "/api/v1/plan",
        "/api/v1/plan.ics",
        "/api/v1/plan/changes",
        "/api/v1/logs",
        "/api/v1/logs/{log_id}",
        "/api/v1/logs/morning",
        "/api/v1/runs",
        "/api/v1/run-check",
        "/api/v1/clinician/people/{profile_id}/resume",
        "/api/v1/progress",
        "/api/v1/progress/chart.png",
        "/api/v1/scores",
        "/api/v1/scores/kujala",
        "/api/v1/export",
    ):
        assert path in paths, path
    assert "bearer" in schema["info"]["description"].lower()
    assert not any(path.startswith(("/today", "/signin")) for path in paths)  # pages stay out of the API doc


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_openapi_document_is_consistent(client: TestClient) -> None:
    """Unique operation ids, every reference resolves, every operation documents its answers."""
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    operations = [op for methods in schema["paths"].values() for op in methods.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    assert all(op.get("responses") and op.get("summary") for op in operations)
    components = schema["components"]["schemas"]
    for ref in _refs(schema):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in components, ref
    run_body = schema["paths"]["/api/v1/runs"]["post"]["requestBody"]["content"]["application/json"]
    assert run_body["schema"]["$ref"].endswith("/RunIn")
    assert "hurt" in components["LogIn"]["properties"]


def test_signup_token_me(client: TestClient) -> None:
    response = client.post("/api/v1/auth/signup", json={"email": "A@B.org", "password": PASSWORD})
    assert response.status_code == 201
    body = response.json()
    assert body["user"]["email"] == "a@b.org" and body["user"]["role"] == "person"
    me = client.get("/api/v1/me", headers=bearer(body["token"])).json()
    assert me["profile_id"] == body["user"]["profile_id"]
    assert "set-cookie" not in client.get("/api/v1/me", headers=bearer(body["token"])).headers


def test_bad_bodies_are_422_with_reasons(client: TestClient) -> None:
    short = client.post("/api/v1/auth/signup", json={"email": "a@b.org", "password": "x"})
    assert short.status_code == 422 and "at least 8" in short.json()["detail"]
    typo = client.post("/api/v1/auth/signup", json={"email": "a@b.org", "pasword": PASSWORD})
    assert typo.status_code == 422
    assert PASSWORD not in typo.text  # the raw input is not echoed back
    taken = client.post("/api/v1/auth/signup", json={"email": "c@b.org", "password": PASSWORD})
    again = client.post("/api/v1/auth/signup", json={"email": "c@b.org", "password": PASSWORD})
    # A taken email is refused without saying that it has an account (issue 11: no enumeration).
    assert taken.status_code == 201 and again.status_code == 422
    assert "could not create an account" in again.json()["detail"] and "c@b.org" not in again.text


def test_token_endpoint_and_its_rate_limit(client: TestClient, app: FastAPI) -> None:
    api_token(client, "t@example.org")
    good = client.post(
        "/api/v1/auth/token", json={"email": "t@example.org", "password": PASSWORD, "name": "cli"}
    )
    assert good.status_code == 201 and good.json()["token"].startswith("kfx_")
    limit = app.state.settings.signin_max_failures
    codes = [
        client.post(
            "/api/v1/auth/token", json={"email": "t@example.org", "password": "nope nope"}
        ).status_code
        for _ in range(limit + 1)
    ]
    assert codes == [401] * limit + [429]


def test_unknown_or_missing_token_is_401(client: TestClient) -> None:
    assert client.get("/api/v1/me").status_code == 401
    response = client.get("/api/v1/me", headers=bearer("kfx_made_up"))
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


def test_token_management(client: TestClient) -> None:
    headers = person(client, screened=False)
    created = client.post("/api/v1/me/tokens", json={"name": "watch"}, headers=headers)
    assert created.status_code == 201
    listed = client.get("/api/v1/me/tokens", headers=headers).json()
    assert {token["name"] for token in listed} == {"API client", "watch"}
    assert all("token" not in token for token in listed)
    watch = bearer(created.json()["token"])
    assert client.delete(f"/api/v1/me/tokens/{created.json()['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=watch).status_code == 401
    assert client.delete("/api/v1/me/tokens/9999", headers=headers).status_code == 404


def test_password_change(client: TestClient) -> None:
    headers = person(client, screened=False)
    wrong = client.post(
        "/api/v1/me/password",
        json={"current_password": "no no no!", "new_password": "another one"},
        headers=headers,
    )
    assert wrong.status_code == 422
    ok = client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "another one"},
        headers=headers,
    )
    assert ok.status_code == 204
    assert (
        client.post(
            "/api/v1/auth/token", json={"email": "api@example.org", "password": "another one"}
        ).status_code
        == 201
    )


def test_screening_questions_and_screening(client: TestClient) -> None:
    headers = person(client, screened=False)
    questions = client.get("/api/v1/screening/questions").json()
    assert len(questions["kujala"]["items"]) == 13 and questions["red_flags"] and questions["equipment"]
    assert client.get("/api/v1/today", headers=headers).status_code == 409
    assert client.get("/api/v1/screening", headers=headers).status_code == 404
    body = api_screening_body() | {"request_id": "once"}
    first = client.post("/api/v1/screening", json=body, headers=headers).json()
    assert first["verdict"] == "typical" and first["started"] is True
    repeat = client.post("/api/v1/screening", json=body, headers=headers).json()
    assert repeat["repeat"] is True
    latest = client.get("/api/v1/screening", headers=headers).json()
    assert latest["verdict"] == "typical"
    flagged = api_screening_body() | {"red_flags": {**body["red_flags"], "true_locking": True}}
    refused = client.post("/api/v1/screening", json=flagged, headers=headers).json()
    assert refused["verdict"] == "refer_now" and refused["started"] is False
    missing = api_screening_body()
    missing["red_flags"].pop("true_locking")
    assert client.post("/api/v1/screening", json=missing, headers=headers).status_code == 422


def test_plan_today_ics_and_changes(client: TestClient) -> None:
    headers = person(client)
    today = client.get("/api/v1/today", headers=headers).json()
    assert today["today"] == FIXED_TODAY.isoformat() and today["session"]["exercises"]
    plan = client.get("/api/v1/plan", headers=headers).json()
    assert plan["phase_index"] == 0 and plan["plan"]["weeks"]
    ics = client.get("/api/v1/plan.ics", headers=headers)
    assert ics.headers["content-type"].startswith("text/calendar") and b"BEGIN:VEVENT" in ics.content
    assert client.get("/api/v1/plan/changes", headers=headers).json() == []


def test_logs_crud_and_morning(client: TestClient, app: FastAPI) -> None:
    headers = person(client)
    created = client.post(
        "/api/v1/logs", json={"completed": 1, "pain_during": 3, "request_id": "r1"}, headers=headers
    )
    assert created.status_code == 201
    log_id = created.json()["log"]["id"]
    again = client.post(
        "/api/v1/logs", json={"completed": 1, "pain_during": 3, "request_id": "r1"}, headers=headers
    )
    assert again.json()["log"]["id"] == log_id
    assert len(client.get("/api/v1/logs", headers=headers).json()) == 1
    future = client.post("/api/v1/logs", json={"date": "2030-01-01", "completed": 1}, headers=headers)
    assert future.status_code == 422 and "future" in future.json()["detail"]
    patched = client.patch(f"/api/v1/logs/{log_id}", json={"pain_after": 2, "note": "ok"}, headers=headers)
    assert patched.json()["log"]["pain_after"] == 2 and patched.json()["log"]["pain_during"] == 3
    pin(app, today=FIXED_TODAY.replace(day=4))
    morning = client.post("/api/v1/logs/morning", json={"pain": 1}, headers=headers)
    assert morning.status_code == 200 and morning.json()["log"]["next_morning_pain"] == 1
    assert client.delete(f"/api/v1/logs/{log_id}", headers=headers).status_code == 204
    assert client.delete(f"/api/v1/logs/{log_id}", headers=headers).status_code == 404


def test_progress_scores_and_export(client: TestClient) -> None:
    headers = person(client)
    client.post("/api/v1/logs", json={"completed": 1, "pain_during": 2}, headers=headers)
    progress = client.get("/api/v1/progress", headers=headers).json()
    assert progress["done_to_date"] == 1 and progress["streak"] == 1
    chart = client.get("/api/v1/progress/chart.png", headers=headers)
    assert chart.content.startswith(b"\x89PNG")
    scored = client.post("/api/v1/scores/kujala", json={"answers": ["b"] * 10 + ["a"] * 3}, headers=headers)
    assert scored.status_code == 201 and scored.json()["change"]["meaningful"] in (True, False)
    short = client.post("/api/v1/scores/kujala", json={"answers": ["a"] * 12}, headers=headers)
    assert short.status_code == 422
    instruments = [score["instrument"] for score in client.get("/api/v1/scores", headers=headers).json()]
    assert instruments.count("kujala") == 2 and "nprs" in instruments
    export = client.get("/api/v1/export", headers=headers).json()
    assert export["account"]["email"] == "api@example.org" and export["profiles"][0]["session_logs"]


def test_delete_account(client: TestClient) -> None:
    headers = person(client)
    assert (
        client.post("/api/v1/me/delete", json={"password": "wrong wrong"}, headers=headers).status_code == 422
    )
    assert client.post("/api/v1/me/delete", json={"password": PASSWORD}, headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_clinician_has_no_plan_endpoints(client: TestClient) -> None:
    headers = bearer(api_token(client, "doc@example.org", role="clinician"))
    assert client.get("/api/v1/me", headers=headers).json()["profile_id"] is None
    response = client.get("/api/v1/today", headers=headers)
    assert response.status_code == 403 and "for people following a plan" in response.json()["detail"]


def test_cookie_session_works_for_the_api_with_the_csrf_header(client: TestClient) -> None:
    sign_up(client, "web@example.org")
    assert client.get("/api/v1/me").json()["email"] == "web@example.org"
    refused = client.post("/api/v1/me/tokens", json={"name": "x"})
    assert refused.status_code == 403
    page = client.get("/account")
    accepted = client.post("/api/v1/me/tokens", json={"name": "x"}, headers={"X-CSRF-Token": csrf_of(page)})
    assert accepted.status_code == 201
