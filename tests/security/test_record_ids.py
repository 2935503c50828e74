"""Every route with a record id in its path refuses ids no database can hold with a 422, never a 500.

A fuzzer found 245 server errors from ids past 64-bit integers: the driver overflowed. The ids are
checked where the path is read (``web.deps.RecordId``), so each route says which field is wrong.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator, Sequence

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from tests.web.helpers import api_screening_body, api_token, bearer

TOO_LARGE = str(2**64)
ID_PART = re.compile(r"\{(\w+_id)\}")


def _api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every route, also inside included routers (FastAPI keeps those as their own router)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _api_routes(included.routes)


def _id_routes(app: FastAPI) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for route in _api_routes(app.routes):
        hints = typing.get_type_hints(route.endpoint, include_extras=True)
        numbered = [name for name in ID_PART.findall(route.path) if _is_int(hints.get(name))]
        if numbered:
            found.extend((method, route.path) for method in sorted(route.methods or ()))
    return found


def _is_int(hint: object) -> bool:
    """``int`` itself or ``Annotated[int, ...]`` (not a text id such as an exercise's slug)."""
    if typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    return hint is int


def _filled(path: str, value: str) -> str:
    return ID_PART.sub(value, path).replace("{name}", "report.json").replace("{kind}", "report")


@pytest.mark.parametrize("bad", [TOO_LARGE, "0", "-3"])
def test_ids_out_of_range_are_refused_as_invalid_on_every_route(
    app: FastAPI, client: TestClient, bad: str
) -> None:
    person = api_token(client, "ids@example.org")
    assert (
        client.post("/api/v1/screening", json=api_screening_body(), headers=bearer(person)).status_code == 200
    )
    clinician = api_token(client, "doc@example.org", role="clinician")
    routes = _id_routes(app)
    assert len(routes) >= 30  # the checks, logs, tokens, printouts and the clinician's people
    answers: dict[tuple[str, str, bool], int] = {}
    for token in (person, clinician):
        for method, path in routes:
            answer = client.request(method, _filled(path, bad), headers=bearer(token), json={})
            answers[(method, path, token == person)] = answer.status_code
    server_errors = {key: status for key, status in answers.items() if status >= 500}
    assert server_errors == {}
    # A GET has no form to check first: for the role the route is for, the id itself is refused (the
    # other role may be turned away first, 403).
    for method, path in routes:
        if method == "GET":
            assert 422 in (answers[(method, path, True)], answers[(method, path, False)]), path
    unexpected = {key: status for key, status in answers.items() if status not in (403, 422)}
    assert unexpected == {}  # a change without a CSRF token may be stopped by that first (403)


def test_the_largest_id_a_database_holds_is_simply_not_found(client: TestClient) -> None:
    person = api_token(client, "max@example.org")
    assert client.get(f"/api/v1/checks/{2**63 - 1}", headers=bearer(person)).status_code == 404
