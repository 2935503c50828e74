"""Authorisation matrix, generated over every technique, clinician and sharing route (pages and API).

Actors: an anonymous visitor, the owner (a person with a finished technique check), another person, a
clinician the owner shares with, and a clinician they do not. Every route that names an object (a
check, a person, an invite, an adjustment, a clinician) is tried by each intruder with every method it
accepts; afterwards the owner's data must be exactly as it was. The owner and their clinician are only
tried on reads (writes by them are covered in the feature tests).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from kneefix.services import clinic
from kneefix.services.worker import Worker
from tests.web.helpers import csrf_of, person_with_plan, sign_up
from tests.web.technique_media import fake_analysis, tiny_mp4

OWNED_MODULES = ("kneefix.web.routes.technique", "kneefix.web.routes.clinician")
OBJECT_PARAMS = ("check_id", "profile_id", "invite_id", "adjustment_id", "clinician_id")
SUCCESS = {200, 201, 202, 204}


@dataclass
class World:
    app: FastAPI
    clients: dict[str, TestClient]
    ids: dict[str, Any]


def _flatten(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every route the app serves, looking inside included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _flatten(inner.routes)


def _routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    for route in _flatten(app.routes):
        if route.endpoint.__module__ in OWNED_MODULES:
            for method in sorted(route.methods or ()):
                yield method, route.path


def _url(path: str, ids: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: str(ids[match.group(1)]), path)


@pytest.fixture
def world(app: FastAPI) -> World:
    clients = {
        name: TestClient(app, follow_redirects=False) for name in ("owner", "other", "doc", "stranger")
    }
    clients["anonymous"] = TestClient(app, follow_redirects=False)
    following = TestClient(app, follow_redirects=True)
    person_with_plan(following, "owner@example.org")
    clients["owner"].cookies = following.cookies
    video = tiny_mp4()
    page = following.get("/technique")
    token = re.search(r'name="request_id" value="([^"]+)"', page.text)
    assert token
    following.post(
        "/technique/checks",
        data={"csrf_token": csrf_of(page), "movement": "squat", "request_id": token.group(1)},
        files={"video": ("squat.mp4", video, "video/mp4")},
    )
    Worker(app.state.database, app.state.files, analyse=fake_analysis(video)).run_until_idle()
    for name, email, role in (
        ("other", "other@example.org", "person"),
        ("doc", "doc@example.org", "clinician"),
        ("stranger", "stranger@example.org", "clinician"),
    ):
        browser = TestClient(app, follow_redirects=True)
        sign_up(browser, email, role=role)
        if role == "person":
            person_with_plan(TestClient(app, follow_redirects=True), f"spare-{email}")
        clients[name].cookies = browser.cookies
    with app.state.database.session() as session:
        from kneefix.content.loader import load_content
        from kneefix.storage import check_queue as check_store
        from kneefix.storage import users as user_store

        owner = user_store.find_user_by_email(session, "owner@example.org")
        doc = user_store.find_user_by_email(session, "doc@example.org")
        assert owner is not None and doc is not None
        from kneefix.services.accounts import person_profile

        profile_id = person_profile(session, owner.id).id
        invite = clinic.create_invite(session, doc.id)
        clinic.accept_invite(session, invite.code, profile_id)
        spare_invite = clinic.create_invite(session, doc.id)
        adjustment = clinic.adjust_plan(
            session,
            load_content(),
            doc.id,
            profile_id,
            "phase",
            {"phase": "build"},
            today=app.state.settings.today,
        )
        check_id = check_store.list_checks(session, profile_id)[0].id
        from kneefix.storage import screenings as screening_store

        latest_screening = screening_store.latest_screening(session, profile_id)
        assert latest_screening is not None
    ids = {
        "screening_id": latest_screening.id,
        "check_id": check_id,
        "profile_id": profile_id,
        "invite_id": spare_invite.id,
        "adjustment_id": adjustment.id,
        "clinician_id": doc.id,
        "code": spare_invite.code,
        "name": "annotated.mp4",
    }
    return World(app, clients, ids)


def _send(client: TestClient, method: str, url: str) -> int:
    headers = {}
    if method not in ("GET", "HEAD"):
        page = client.get("/", follow_redirects=True)
        headers["X-CSRF-Token"] = csrf_of(page)
    body: dict[str, Any] | None = None
    if url.startswith("/api/") and method == "POST":
        body = {"kind": "phase", "payload": {"phase": "build"}, "note": "", "code": "ZZZZZ-ZZZZZ"}
    response = client.request(method, url, headers=headers, json=body)
    return int(response.status_code)


def _audience(path: str) -> str:
    if path.startswith(("/clinician", "/api/v1/clinician")):
        return "clinician"
    if path.startswith("/invite/"):
        return "invite"
    return "person"


def _intruder_expectation(actor: str, method: str, path: str) -> set[int]:
    """What an intruder may get: never a success on an object that is not theirs."""
    api = path.startswith("/api/")
    audience = _audience(path)
    if actor == "anonymous":
        if audience == "invite" and method == "GET":
            return {404}
        return {401} if api else {303}
    wrong_role = (audience == "clinician" and actor == "other") or (
        audience != "clinician" and actor == "stranger"
    )
    if audience == "invite":
        return {404} if method == "GET" else ({403} if actor == "stranger" else {303})
    if wrong_role:
        return {403}
    # The right role but not theirs: the object does not exist for them.
    return {404} if api or method == "GET" else {303, 404}


def _snapshot(world: World) -> dict[str, Any]:
    owner, doc = world.clients["owner"], world.clients["doc"]
    check = owner.get(f"/api/v1/checks/{world.ids['check_id']}").json()
    person = doc.get(f"/api/v1/clinician/people/{world.ids['profile_id']}").json()
    invites = doc.get("/api/v1/clinician/invites").json()
    return {
        "check": (check["status"], check["id"]),
        "video": owner.get(f"/api/v1/checks/{world.ids['check_id']}/files/annotated.mp4").content,
        "adjustments": [(a["id"], a["active"]) for a in person["adjustments"]],
        "invites": [(i["id"], i["open"]) for i in invites],
        "clinicians": owner.get("/api/v1/me/clinicians").json(),
    }


def test_intruders_get_nothing_and_change_nothing(world: World) -> None:
    before = _snapshot(world)
    # Holding a real invite code is what lets a person link, so intruders get an unknown one.
    ids = {**world.ids, "code": "ZZZZZ-ZZZZZ"}
    tried = 0
    for method, path in _routes(world.app):
        if not any(f"{{{param}}}" in path for param in (*OBJECT_PARAMS, "code")):
            continue
        url = _url(path, ids)
        for actor in ("anonymous", "other", "stranger"):
            got = _send(world.clients[actor], method, url)
            allowed = _intruder_expectation(actor, method, path)
            assert got in allowed, f"{actor} {method} {path}: got {got}, expected one of {sorted(allowed)}"
            tried += 1
    assert tried > 60  # every object route times three intruders
    assert _snapshot(world) == before


def test_the_owner_and_their_clinician_can_read_every_object_route(world: World) -> None:
    reads = [(method, path) for method, path in _routes(world.app) if method == "GET"]
    assert len(reads) >= 15
    for method, path in reads:
        if method != "GET":
            continue
        audience = _audience(path)
        url = _url(path, world.ids)
        reader = "doc" if audience == "clinician" else "owner"
        got = world.clients[reader].get(url).status_code
        assert got in SUCCESS, f"{reader} GET {path}: {got}"
        wrong = "owner" if reader == "doc" else "doc"
        if audience != "invite":
            assert world.clients[wrong].get(url).status_code == 403, f"{wrong} GET {path}"


def test_lists_show_only_what_belongs_to_the_asker(world: World) -> None:
    other, stranger = world.clients["other"], world.clients["stranger"]
    assert other.get("/api/v1/checks").json() == []
    assert "squat.mp4" not in other.get("/technique").text
    assert stranger.get("/api/v1/clinician/people").json() == []
    assert stranger.get("/api/v1/clinician/invites").json() == []
    assert "owner@example.org" not in stranger.get("/clinician").text
    assert other.get("/api/v1/me/clinicians").json() == []
