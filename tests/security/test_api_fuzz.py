"""The OpenAPI document says what the API does: schemathesis fuzzes every ``/api/v1`` operation in-process.

Issue 11: "A schemathesis run against it in the test suite (bounded in time) with 0 server errors and 0
schema violations." Each operation gets a few generated requests (seeded, so CI sees the same ones), sent
with a signed-in person's (or, on clinician routes, a clinician's) bearer token against an account that
has a plan, logs and scores, so reads answer 200 and the success bodies are checked against their schemas
too. The cheaper test below reads the document itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kneefix.errors import StorageError
from kneefix.web.api_document import ERROR_REF
from kneefix.web.errors import install_error_handlers
from kneefix.web.middleware import RETRY_AFTER_S
from tests.web.helpers import api_screening_body, api_token, bearer, csrf_of, sign_up

OPENAPI_PATH = "/api/v1/openapi.json"
EXAMPLES_PER_OPERATION = 8
CHECKS: list[Callable[..., Any]] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Run last: each may take away what the others read (the person's log, a token, an invite).
DESTRUCTIVE = ("DELETE", "PATCH")
# The analysis's own report.json, served as a file: its shape is the analysis's, not the API's.
FREE_FORM = {"GET /api/v1/checks/{check_id}/files/{name}"}
PUBLIC_OPERATIONS = {("POST", "/api/v1/auth/signup"), ("POST", "/api/v1/auth/token")}


def _seed_account(client: TestClient) -> dict[str, dict[str, str]]:
    """A person with a plan, a logged session, a score and a clinician they share with."""
    person = bearer(api_token(client, "fuzz@example.org"))
    assert client.post("/api/v1/screening", json=api_screening_body(), headers=person).status_code == 200
    logged = client.post("/api/v1/logs", json={"completed": 1, "pain_during": 2}, headers=person)
    assert logged.status_code == 201, logged.text
    scored = client.post("/api/v1/scores/kujala", json={"answers": ["a"] * 13}, headers=person)
    assert scored.status_code == 201, scored.text
    clinician = bearer(api_token(client, "fuzz-clinic@example.org", role="clinician"))
    invite = client.post("/api/v1/clinician/invites", json={"note": "fuzz"}, headers=clinician)
    assert invite.status_code == 201, invite.text
    shared = client.post("/api/v1/me/clinicians", json={"code": invite.json()["code"]}, headers=person)
    assert shared.status_code == 201, shared.text
    return {"person": person, "clinician": clinician}


def _ordered(operations: list[Any]) -> list[Any]:
    return sorted(operations, key=lambda op: (op.method.upper() in DESTRUCTIVE, op.path, op.method))


def _described(operation: Any, case: Any, error: BaseException) -> list[str]:
    """One line per distinct failure: the operation, what was wrong, and the request that showed it."""
    found = error.exceptions if isinstance(error, BaseExceptionGroup) else (error,)
    label = f"{operation.method.upper()} {operation.path}"
    request = f"path={case.path_parameters} query={case.query} body={case.body!r}"[:300]
    lines = []
    for failure in found:
        title = getattr(failure, "title", type(failure).__name__)
        message = " ".join(str(getattr(failure, "message", failure)).split())[:400]
        lines.append(f"{label}: {title}: {message}\n    {request}")
    return lines


def _fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str], failures: list[str]) -> int:
    """Send one operation's generated requests (``mode``: fitting the document, or not); failures are
    collected (one report for the whole API, not only the first); returns how many requests were sent."""
    sent = 0

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,  # the same requests on every run and machine
        database=None,
        deadline=None,  # the whole test's time is what is bounded
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the report names the request
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        nonlocal sent
        sent += 1
        checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])
        try:
            case.call_and_validate(headers=headers, checks=checks)
        except (Exception, BaseExceptionGroup) as error:  # schemathesis raises a FailureGroup
            failures.extend(_described(operation, case, error))

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid: no parameters and no body (GET /api/v1/me)
        assert mode is GenerationMode.NEGATIVE
    return sent


def test_api_fuzz_finds_no_server_error_and_no_schema_violation(app: FastAPI, client: TestClient) -> None:
    """Issue 11: every operation, fuzzed, answers only what its document says (status, type, body,
    headers) and never a 5xx."""
    tokens = _seed_account(client)
    schema = schemathesis.openapi.from_asgi(OPENAPI_PATH, app)
    found = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in found), "the document itself is broken"
    operations = _ordered([result.ok() for result in found if isinstance(result, Ok)])
    assert len(operations) > 40
    failures: list[str] = []
    examples = 0
    started = time.process_time()
    for operation in operations:
        who = "clinician" if "/clinician/" in operation.path else "person"
        headers = {} if (operation.method.upper(), operation.path) in PUBLIC_OPERATIONS else tokens[who]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            examples += _fuzz(operation, mode, headers, failures)
    spent = time.process_time() - started
    print(f"schemathesis: {examples} examples over {len(operations)} operations in {spent:.1f} s CPU")
    distinct = sorted(set(failures))
    if distinct:  # pytest shortens a long assertion message; the whole list is in the captured output
        print("\n".join(distinct))
    assert not distinct, "\n".join(distinct[:60]) + f"\n\n({len(failures)} failures in {examples} examples)"


def test_every_api_operation_is_typed_secured_and_documents_its_errors(client: TestClient) -> None:
    """Issue 11: typed responses for every route, bearer auth declared, 401 and 422 documented, every
    error in the one error shape, 503 with its Retry-After."""
    document = client.get(OPENAPI_PATH).json()
    schemes = document["components"]["securitySchemes"]
    assert any(scheme.get("scheme") == "bearer" for scheme in schemes.values())
    bearer_names = {name for name, scheme in schemes.items() if scheme.get("scheme") == "bearer"}
    problems: list[str] = []
    for path, methods in document["paths"].items():
        if not path.startswith("/api/v1/") or path == OPENAPI_PATH:
            continue
        for method, operation in methods.items():
            label = f"{method.upper()} {path}"
            responses = operation["responses"]
            successes = [code for code in responses if code.startswith("2")]
            if not successes:
                problems.append(f"{label}: no 2xx response")
            for code in successes:
                content = responses[code].get("content")
                if code == "204":
                    if content:
                        problems.append(f"{label}: 204 with a body")
                    continue
                if not content:
                    problems.append(f"{label}: {code} without a media type")
                for media, body in (content or {}).items():
                    shape = body.get("schema", {})
                    if media == "application/json":  # a named model, or a list of them
                        typed = "$ref" in shape or "$ref" in shape.get("items", {}) or label in FREE_FORM
                    elif media.endswith("+json"):  # a standard's own JSON document (FHIR): its outline
                        typed = shape.get("type") == "object" and bool(shape.get("required"))
                    else:  # a file: text or bytes
                        typed = shape.get("type") == "string"
                    if not typed:
                        problems.append(f"{label}: {code} {media} is untyped: {shape}")
            for code in ("422", "503"):
                if code not in responses:
                    problems.append(f"{label}: {code} not documented")
            for code, answer in responses.items():
                media = answer.get("content", {})
                if code[0] in "45" and media != {"application/json": {"schema": ERROR_REF}}:
                    problems.append(f"{label}: {code} is not the one error shape: {media}")
            if "Retry-After" not in responses["503"].get("headers", {}):
                problems.append(f"{label}: 503 without Retry-After")
            if (method.upper(), path) in PUBLIC_OPERATIONS:
                if operation.get("security") != []:
                    problems.append(f"{label}: public, but does not say so (security: [])")
                continue
            if "401" not in responses:
                problems.append(f"{label}: 401 not documented")
            if not any(set(requirement) & bearer_names for requirement in operation.get("security", [])):
                problems.append(f"{label}: bearer security not declared")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v1/logs", {"GET", "POST"}),
        ("POST", "/api/v1/me", {"GET"}),
        ("GET", "/api/v1/logs/1", {"PATCH", "DELETE"}),
        ("PUT", "/signin", {"GET", "POST"}),
    ],
)
def test_unsupported_method_answers_405_with_allow(
    client: TestClient, method: str, path: str, allowed: set[str]
) -> None:
    """Issue 11: "`Allow` on 405" (RFC 9110 15.5.6): every method of the path, not only the first route's."""
    response = client.request(method, path)
    assert response.status_code == 405
    assert {part.strip() for part in response.headers["allow"].split(",")} - {"HEAD"} == allowed
    if path.startswith("/api/"):
        assert isinstance(response.json()["detail"], str)


def test_every_api_error_is_one_shape_with_a_sentence(client: TestClient) -> None:
    """Issue 11: "422 bodies (`detail` string vs array)": the app's own 422 and the request validation's
    422 both carry `detail` as a sentence; validation adds `errors` per field, never echoing the input."""
    secret = "a secret password that must not come back"
    unfit = client.post("/api/v1/auth/signup", json={"email": 5, "password": secret, "role": "admin"})
    assert unfit.status_code == 422
    body = unfit.json()
    assert isinstance(body["detail"], str) and "email" in body["detail"] and "role" in body["detail"]
    assert {tuple(problem["loc"]) for problem in body["errors"]} == {("body", "email"), ("body", "role")}
    assert secret not in unfit.text
    refused = client.post("/api/v1/auth/signup", json={"email": "a@b.org", "password": "short"})
    assert refused.status_code == 422 and "at least 8" in refused.json()["detail"]
    assert "errors" not in refused.json()
    document = client.get(OPENAPI_PATH).json()
    error_schema = document["components"]["schemas"]["ErrorOut"]
    assert error_schema["properties"]["detail"]["type"] == "string"
    assert "HTTPValidationError" not in document["components"]["schemas"]  # what FastAPI would send


def test_wrong_password_for_a_token_says_how_to_authenticate(client: TestClient) -> None:
    """Issue 11: the documented 401 carries its documented `WWW-Authenticate` header (RFC 9110 11.6.1)."""
    api_token(client, "who@example.org")
    wrong = client.post("/api/v1/auth/token", json={"email": "who@example.org", "password": "not it at all"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    unsigned = client.get("/api/v1/me")
    assert unsigned.status_code == 401 and unsigned.headers["www-authenticate"] == "Bearer"


def test_database_unavailable_is_a_503_with_retry_after() -> None:
    """Issue 11: "busy: 503 with Retry-After" also when the database is what is busy (StorageError)."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/api/v1/locked")
    def locked() -> None:
        raise StorageError("The database is busy; try again in a moment.")

    answer = TestClient(app).get("/api/v1/locked")
    assert answer.status_code == 503 and answer.headers["retry-after"] == str(RETRY_AFTER_S)
    assert answer.json() == {"detail": "The database is busy; try again in a moment."}


def test_the_browser_cookie_still_signs_in_to_the_api(client: TestClient) -> None:
    """Issue 11: bearer auth is declared "without breaking cookie auth for the browser"."""
    assert sign_up(client, "browser@example.org").status_code == 200
    page = client.get("/account")
    assert client.get("/api/v1/me").json()["email"] == "browser@example.org"
    assert client.post("/api/v1/me/tokens", json={"name": "x"}).status_code == 403  # no CSRF token
    made = client.post("/api/v1/me/tokens", json={"name": "x"}, headers={"X-CSRF-Token": csrf_of(page)})
    assert made.status_code == 201
