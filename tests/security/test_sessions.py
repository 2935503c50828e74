"""Server-side sessions: signing out ends a sign-in for good, also for a copy of the cookie.

The cookie is still signed (itsdangerous), but the signature alone no longer signs anyone in: the token
it carries must name a live ``web_sessions`` row.
"""

from __future__ import annotations

import datetime as dt
import re

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from kneefix.storage.models import WebSession
from kneefix.web.security import SESSION_COOKIE
from tests.web.helpers import PASSWORD, api_token, csrf_of, sign_in, sign_up

EMAIL = "sam@example.org"
NEW_PASSWORD = "a brand new passphrase"


def _copy_of(client: TestClient, app: FastAPI) -> TestClient:
    """A second browser holding a copy of ``client``'s session cookie (a stolen cookie)."""
    thief = TestClient(app, follow_redirects=True)
    thief.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE])
    return thief


def _signed_in(client: TestClient) -> bool:
    path: str = client.get("/account").url.path
    return path == "/account"


def _post(client: TestClient, path: str, data: dict[str, str] | None = None) -> httpx.Response:
    page = client.get("/account")
    response: httpx.Response = client.post(path, data={**(data or {}), "csrf_token": csrf_of(page)})
    return response


def test_a_copied_cookie_is_refused_after_sign_out(client: TestClient, app: FastAPI) -> None:
    """ASVS 3.3.1: sign-out invalidates the session server-side; a copy of the cookie taken before
    (which the old stateless cookie let in for 14 days) is a signed-out visitor afterwards."""
    sign_up(client, EMAIL)
    thief = _copy_of(client, app)
    assert _signed_in(thief)  # the copy works while the sign-in lasts
    _post(client, "/signout")
    assert not _signed_in(client)
    assert not _signed_in(thief)
    assert thief.get("/api/v1/me").status_code == 401
    with app.state.database.session() as db:
        [row] = db.scalars(select(WebSession)).all()
    assert row.revoked_at is not None


def test_the_database_keeps_only_a_hash_of_the_session_token(client: TestClient, app: FastAPI) -> None:
    """ASVS 3.2.2 / issue 11: the row is looked up by SHA-256 of the cookie's token, and a leaked
    table holds no working sign-ins."""
    sign_up(client, EMAIL, password=PASSWORD)
    with app.state.database.session() as db:
        [row] = db.scalars(select(WebSession)).all()
    assert re.fullmatch(r"[0-9a-f]{64}", row.token_hash)
    assert row.token_hash not in client.cookies[SESSION_COOKIE]
    assert row.revoked_at is None and row.user_agent == "testclient"


def test_sign_out_everywhere_ends_every_browser(
    client: TestClient, other_client: TestClient, app: FastAPI
) -> None:
    """ASVS 3.3.1 (issue 11 "Sign out everywhere"): one button ends the sign-in of every browser,
    this one too, and the copies of their cookies."""
    sign_up(client, EMAIL)
    sign_in(other_client, EMAIL)
    thief = _copy_of(other_client, app)
    page = client.get("/account")
    assert page.text.count('/revoke"') >= 2 and "(this browser)" in page.text  # both browsers listed
    response = _post(client, "/account/sessions/revoke-all")
    assert "signed out everywhere" in response.text
    assert not _signed_in(client) and not _signed_in(other_client) and not _signed_in(thief)
    assert sign_in(client, EMAIL).status_code == 200  # signing in again still works


def test_signing_out_one_listed_browser(client: TestClient, other_client: TestClient, app: FastAPI) -> None:
    """Issue 11: the account page lists signed-in browsers with a "sign out" each; one ends that
    browser only, and another account's browser cannot be signed out by id."""
    sign_up(client, EMAIL)
    sign_in(other_client, EMAIL)
    with app.state.database.session() as db:
        first, second = db.scalars(select(WebSession).order_by(WebSession.id)).all()
    _post(client, f"/account/sessions/{second.id}/revoke")
    assert _signed_in(client) and not _signed_in(other_client)
    stranger = TestClient(app, follow_redirects=True)
    sign_up(stranger, "eve@example.org")
    assert _post(stranger, f"/account/sessions/{first.id}/revoke").status_code == 404
    assert _signed_in(client)


def test_password_change_signs_out_other_browsers_and_renews_this_one(
    client: TestClient, other_client: TestClient, app: FastAPI
) -> None:
    """ASVS 3.3.3 / issue 11: a password change revokes every session; the browser that changed it
    stays signed in with a fresh session, so a copy of its old cookie is refused too."""
    sign_up(client, EMAIL)
    sign_in(other_client, EMAIL)
    old_copy = _copy_of(client, app)
    response = _post(
        client,
        "/account/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert "Your password is changed" in response.text
    assert _signed_in(client)
    assert not _signed_in(other_client) and not _signed_in(old_copy)


def test_deleting_the_account_removes_its_sessions(client: TestClient, app: FastAPI) -> None:
    """Issue 11: account deletion ends its sessions (the rows cascade with the user)."""
    sign_up(client, EMAIL)
    thief = _copy_of(client, app)
    _post(client, "/account/delete", {"password": PASSWORD, "confirm_delete": "yes"})
    assert not _signed_in(thief)
    with app.state.database.session() as db:
        assert db.scalars(select(WebSession)).all() == []


def test_last_seen_is_written_at_most_once_a_minute(client: TestClient, app: FastAPI) -> None:
    """Issue 11: "last seen" is bookkeeping written beside GET's read session, only when stale."""
    sign_up(client, EMAIL)
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    with app.state.database.session() as db:
        row = db.scalars(select(WebSession)).one()
        row.last_seen_at = long_ago
    assert _signed_in(client)  # a GET: its read session refuses writes, the visit is noted beside it
    with app.state.database.session() as db:
        seen = db.scalars(select(WebSession)).one().last_seen_at
    assert seen > long_ago
    assert _signed_in(client)
    with app.state.database.session() as db:
        assert db.scalars(select(WebSession)).one().last_seen_at == seen  # under a minute: not rewritten


def test_an_expired_session_row_is_refused(client: TestClient, app: FastAPI) -> None:
    """ASVS 3.3.1: a sign-in ends when its row expires, whatever the cookie's own age says."""
    sign_up(client, EMAIL)
    with app.state.database.session() as db:
        row = db.scalars(select(WebSession)).one()
        row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    page = client.get("/account")
    assert page.url.path == "/signin"
    assert "session expired" in page.text


def test_a_revoked_api_token_is_refused_at_once(client: TestClient) -> None:
    """Issue 11: API tokens are revocable on request (page and API) and refused right after."""
    token = api_token(client, "api@example.org")
    headers = {"authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    [info] = client.get("/api/v1/me/tokens", headers=headers).json()
    second = client.post("/api/v1/me/tokens", json={"name": "second"}, headers=headers).json()
    assert client.delete(f"/api/v1/me/tokens/{info['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    # ... and through the account page, in a browser
    other = {"authorization": f"Bearer {second['token']}"}
    assert client.get("/api/v1/me", headers=other).status_code == 200
    sign_in(client, "api@example.org")
    response = _post(client, f"/account/tokens/{second['id']}/revoke")
    assert "The token is revoked" in response.text
    assert client.get("/api/v1/me", headers=other).status_code == 401


def test_the_browser_list_shows_a_hostile_user_agent_as_text(app: FastAPI) -> None:
    """ASVS 5.3.1: the user agent a browser sends is shown escaped on the account page."""
    hostile = TestClient(app, follow_redirects=True, headers={"user-agent": "<script>alert(1)</script>"})
    sign_up(hostile, EMAIL)
    page = hostile.get("/account")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_a_password_change_through_the_api_keeps_the_calling_browser(
    client: TestClient, other_client: TestClient
) -> None:
    """Issue 11: the API's password change revokes the sessions too; a browser calling it with its
    cookie (and CSRF header) stays signed in, another browser is out."""
    sign_up(client, EMAIL)
    sign_in(other_client, EMAIL)
    page = client.get("/account")
    changed = client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers={"X-CSRF-Token": csrf_of(page)},
    )
    assert changed.status_code == 204
    assert _signed_in(client) and not _signed_in(other_client)
