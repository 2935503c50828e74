"""Pages and API reads take no write lock: they answer while another program holds it, and the few
things a read must note (an API token's last use, a missing profile) are written beside it, rarely.

The write lock here is held by a plain ``sqlite3`` connection, the way a backup, ``kneefix import`` or
another server process would hold it; the app's busy timeout is shortened so a refused write shows
at once instead of after five seconds.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from kneefix.settings import Settings
from kneefix.storage import Database
from kneefix.storage import repository as repo
from kneefix.storage.models import ApiToken
from kneefix.web.app import create_app
from tests.web.conftest import FIXED_TODAY
from tests.web.helpers import api_screening_body, api_token, bearer, person_with_plan, pin

PAGES = ["/home", "/today", "/plan", "/progress", "/logs", "/changes", "/account", "/plan.ics"]
API_READS = ["/api/v1/me", "/api/v1/today", "/api/v1/plan", "/api/v1/logs", "/api/v1/progress"]


@pytest.fixture
def quick_app(web_settings: Settings) -> Iterator[FastAPI]:
    """The app on a database whose writes give up after 0.3 s (5 s in production)."""
    database = Database(web_settings.database_url, busy_timeout_s=0.3)
    application = create_app(web_settings, database=database)
    pin(application, today=FIXED_TODAY)
    yield application
    database.close()


@pytest.fixture
def write_lock(quick_app: FastAPI) -> Iterator[sqlite3.Connection]:
    """Another program holding the database's write lock; call ``.execute("ROLLBACK")`` to let go."""
    path = Path(quick_app.state.database.url.database)
    holder = sqlite3.connect(path, isolation_level=None)
    yield holder
    if holder.in_transaction:
        holder.execute("ROLLBACK")
    holder.close()


def test_pages_and_api_reads_answer_while_another_program_holds_the_write_lock(
    quick_app: FastAPI, write_lock: sqlite3.Connection
) -> None:
    browser = TestClient(quick_app, follow_redirects=True)
    person_with_plan(browser, "reader@example.org")
    api = TestClient(quick_app)
    token = api_token(api, "api@example.org")
    assert api.post("/api/v1/screening", json=api_screening_body(), headers=bearer(token)).status_code == 200
    # The first calendar download records what it handed out (its SEQUENCE); the same one again only reads.
    assert browser.get("/plan.ics").status_code == 200
    write_lock.execute("BEGIN IMMEDIATE")
    for path in PAGES:
        assert browser.get(path).status_code == 200, path
    for path in API_READS:
        assert api.get(path, headers=bearer(token)).status_code == 200, path
    # A change still waits for the lock, and says so when it cannot have it.
    refused = api.post("/api/v1/scores/kujala", json={"answers": ["a"] * 13}, headers=bearer(token))
    assert refused.status_code == 503 and "busy" in refused.json()["detail"]
    write_lock.execute("ROLLBACK")
    saved = api.post("/api/v1/scores/kujala", json={"answers": ["a"] * 13}, headers=bearer(token))
    assert saved.status_code == 201


def _last_used(client: TestClient, token: str) -> dt.datetime | None:
    listed = client.get("/api/v1/me/tokens", headers=bearer(token)).json()
    assert len(listed) == 1
    value = listed[0]["last_used_at"]
    return None if value is None else dt.datetime.fromisoformat(value)


def test_a_tokens_last_use_is_written_once_a_minute_not_on_every_read(app: FastAPI) -> None:
    client = TestClient(app)
    token = api_token(client, "poller@example.org")
    first = _last_used(client, token)  # the first use is noted, and this very answer shows it
    assert first is not None
    for _ in range(3):
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert _last_used(client, token) == first  # used again within the minute: nothing written
    database: Database = app.state.database
    with database.session() as session:  # as if the minute had passed
        session.execute(update(ApiToken).values(last_used_at=first - dt.timedelta(minutes=2)))
    later = _last_used(client, token)
    assert later is not None and later >= first


def test_a_tokens_use_that_cannot_be_written_does_not_fail_the_read(
    quick_app: FastAPI, write_lock: sqlite3.Connection
) -> None:
    client = TestClient(quick_app)
    token = api_token(client, "blocked@example.org")
    write_lock.execute("BEGIN IMMEDIATE")
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    write_lock.execute("ROLLBACK")
    assert _last_used(client, token) is not None  # noted on the next use instead


def test_a_missing_profile_is_made_again_by_a_page_view(app: FastAPI) -> None:
    client = TestClient(app)
    token = api_token(client, "lost@example.org")
    me = client.get("/api/v1/me", headers=bearer(token)).json()
    database: Database = app.state.database

    def profiles() -> list[int]:
        with database.session(write=False) as session:
            return [profile.id for profile in repo.list_profiles(session, user_id=me["id"])]

    with database.session() as session:
        repo.delete_profile(session, me["profile_id"])
    assert profiles() == []
    again = client.get("/api/v1/me", headers=bearer(token)).json()["profile_id"]
    assert profiles() == [again]
    assert client.get("/home", headers=bearer(token)).status_code == 200
    assert profiles() == [again]
