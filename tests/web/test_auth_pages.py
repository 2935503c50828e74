"""Accounts in the browser: sign up, sign in, rate limit, CSRF, cookies, expired sessions, password change."""

from __future__ import annotations

import time
from dataclasses import replace

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from kneefix.storage.models import LoginAttempt, User
from kneefix.web.security import SESSION_COOKIE, SessionCodec
from tests.web.helpers import PASSWORD, csrf_of, notices, person_with_plan, sign_in, sign_up


def users_in(app: FastAPI) -> list[User]:
    with app.state.database.session() as db:
        return list(db.scalars(select(User).where(User.local_name.is_(None))))


def test_first_page_explains_and_offers_sign_up(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Not a diagnosis" in page.text
    assert 'href="/signup"' in page.text and 'href="/signin"' in page.text


def test_sign_up_stores_an_argon2_hash_and_leads_to_the_screening(client: TestClient, app: FastAPI) -> None:
    response = sign_up(client, "Sam@Example.org")
    assert response.url.path == "/screening"
    [user] = users_in(app)
    assert user.email == "sam@example.org"
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_session_cookie_flags(app: FastAPI) -> None:
    plain = TestClient(app)
    cookie = plain.get("/").headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = TestClient(app, base_url="https://testserver")
    assert "Secure" in secure.get("/").headers["set-cookie"]


def test_sign_up_problems_keep_what_was_typed(client: TestClient, app: FastAPI) -> None:
    page = client.get("/signup")
    response = client.post(
        "/signup",
        data={
            "email": "kim@example.org",
            "display_name": "Kim",
            "password": "abc",
            "confirm": "abc",
            "csrf_token": csrf_of(page),
        },
    )
    assert response.status_code == 422
    assert "at least 8 characters" in response.text
    assert 'value="kim@example.org"' in response.text and 'value="Kim"' in response.text
    assert users_in(app) == []


def test_double_submitted_sign_up_makes_one_account_and_signs_in(client: TestClient, app: FastAPI) -> None:
    page = client.get("/signup")
    data = {
        "email": "dup@example.org",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "csrf_token": csrf_of(page),
    }
    before = dict(client.cookies)  # the second click arrives with the cookie the first one had
    client.post("/signup", data=data)
    second = TestClient(app, cookies=before)
    again = second.post("/signup", data=data)
    assert again.status_code == 200
    assert len(users_in(app)) == 1


def test_form_without_csrf_token_is_refused_and_saves_nothing(client: TestClient, app: FastAPI) -> None:
    client.get("/signup")
    response = client.post(
        "/signup", data={"email": "x@example.org", "password": PASSWORD, "confirm": PASSWORD}
    )
    assert response.status_code == 403
    assert "nothing was saved" in response.text
    assert users_in(app) == []


def test_form_from_a_foreign_site_is_refused(client: TestClient, app: FastAPI) -> None:
    page = client.get("/signup")
    response = client.post(
        "/signup",
        data={
            "email": "x@example.org",
            "password": PASSWORD,
            "confirm": PASSWORD,
            "csrf_token": csrf_of(page),
        },
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert "KNEEFIX_TRUSTED_ORIGINS" in response.text
    assert users_in(app) == []


def test_trusted_origin_is_accepted(app: FastAPI) -> None:
    app.state.settings = app.state.settings.with_changes(trusted_origins=("https://knee.example.org",))
    browser = TestClient(app)
    page = browser.get("/signup")
    response = browser.post(
        "/signup",
        data={
            "email": "p@example.org",
            "password": PASSWORD,
            "confirm": PASSWORD,
            "csrf_token": csrf_of(page),
        },
        headers={"Origin": "https://knee.example.org"},
    )
    assert response.status_code == 200 and response.url.path == "/screening"


def test_sign_in_and_out(client: TestClient) -> None:
    sign_up(client, "sam@example.org")
    page = client.get("/account")
    client.post("/signout", data={"csrf_token": csrf_of(page)})
    assert client.get("/account").url.path == "/signin"
    response = sign_in(client, "sam@example.org")
    assert response.url.path == "/screening"  # no plan yet: home sends a person to the screening


def test_wrong_password_gets_one_message_for_both_cases(client: TestClient) -> None:
    sign_up(client, "sam@example.org")
    client.cookies.clear()
    wrong_password = sign_in(client, "sam@example.org", "not the password")
    unknown_email = sign_in(client, "nobody@example.org", "not the password")
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert notices(wrong_password) == notices(unknown_email)


def test_rate_limit_refuses_the_attempt_after_the_limit(client: TestClient, app: FastAPI) -> None:
    sign_up(client, "sam@example.org")
    client.cookies.clear()
    limit = app.state.settings.signin_max_failures
    for _ in range(limit):
        assert sign_in(client, "sam@example.org", "wrong password").status_code == 401
    refused = sign_in(client, "sam@example.org", PASSWORD)  # even the right password waits now
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.text
    with app.state.database.session() as db:
        failures = db.scalars(select(LoginAttempt).where(LoginAttempt.ok.is_(False))).all()
    assert len(failures) == limit


def test_next_parameter_only_follows_local_paths(client: TestClient) -> None:
    sign_up(client, "sam@example.org")
    page = client.get("/account")
    client.post("/signout", data={"csrf_token": csrf_of(page)})
    form = client.get("/signin?next=https://evil.example/")
    response = client.post(
        "/signin",
        data={
            "email": "sam@example.org",
            "password": PASSWORD,
            "next": "//evil.example/x",
            "csrf_token": csrf_of(form),
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/home"


def test_password_change_signs_out_other_browsers(client: TestClient, other_client: TestClient) -> None:
    sign_up(client, "sam@example.org")
    sign_in(other_client, "sam@example.org")
    assert other_client.get("/account").url.path == "/account"
    page = client.get("/account")
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a brand new one",
            "confirm": "a brand new one",
            "csrf_token": csrf_of(page),
        },
    )
    assert "Your password is changed" in response.text
    assert client.get("/account").url.path == "/account"  # this browser stays in
    assert other_client.get("/account").url.path == "/signin"  # the other one is out
    client.cookies.clear()
    assert sign_in(client, "sam@example.org", PASSWORD).status_code == 401
    assert sign_in(client, "sam@example.org", "a brand new one").status_code == 200


def test_wrong_current_password_changes_nothing(client: TestClient) -> None:
    sign_up(client, "sam@example.org")
    page = client.get("/account")
    response = client.post(
        "/account/password",
        data={
            "current_password": "nope nope",
            "new_password": "a brand new one",
            "confirm": "a brand new one",
            "csrf_token": csrf_of(page),
        },
    )
    assert response.status_code == 422
    assert "current password is not right" in response.text


def _expire_session(client: TestClient, app: FastAPI) -> None:
    """Rewrite the browser's cookie as a sign-in that began longer ago than sessions last."""
    settings = app.state.settings
    codec = SessionCodec(settings.signing_key, settings.session_max_age_s)
    session, _ = codec.loads(client.cookies[SESSION_COOKIE])
    assert session is not None
    old = replace(session, issued_at=int(time.time()) - settings.session_max_age_s - 60)
    [jar_cookie] = [cookie for cookie in client.cookies.jar if cookie.name == SESSION_COOKIE]
    client.cookies.set(SESSION_COOKIE, codec.dumps(old), domain=jar_cookie.domain, path=jar_cookie.path)


def test_expired_session_redirects_to_sign_in_with_a_message(client: TestClient, app: FastAPI) -> None:
    person_with_plan(client, "sam@example.org")
    _expire_session(client, app)
    page = client.get("/progress")
    assert page.url.path == "/signin"
    assert page.url.params["next"] == "/progress"
    assert any("session expired" in text for text in notices(page))
    back = client.post(
        "/signin",
        data={
            "email": "sam@example.org",
            "password": PASSWORD,
            "next": "/progress",
            "csrf_token": csrf_of(page),
        },
    )
    assert back.url.path == "/progress"


def test_form_sent_after_expiry_is_kept_and_offered_after_sign_in(client: TestClient, app: FastAPI) -> None:
    person_with_plan(client, "sam@example.org")
    page = client.get("/today")
    token = csrf_of(page)
    _expire_session(client, app)
    response = client.post(
        "/today/log",
        data={
            "csrf_token": token,
            "form_token": "f1",
            "done": ["hamstring_stretch"],
            "pain_during": "4",
            "note": "felt fine",
        },
        headers={"Referer": "http://testserver/today"},
    )
    assert response.status_code == 200 and response.url.path == "/signin"
    assert any("signed out before that form was saved" in text for text in notices(response))
    resumed = client.post(
        "/signin",
        data={
            "email": "sam@example.org",
            "password": PASSWORD,
            "next": "/today",
            "csrf_token": csrf_of(response),
        },
    )
    assert resumed.url.path == "/resume"
    assert "felt fine" in resumed.text and 'name="pain_during" value="4"' in resumed.text
    saved = client.post(
        "/today/log",
        data={
            "csrf_token": csrf_of(resumed),
            "form_token": "f1",
            "done": ["hamstring_stretch"],
            "pain_during": "4",
            "note": "felt fine",
        },
    )
    assert saved.url.path == "/today"
    assert "felt fine" in client.get("/logs").text


def test_pages_need_sign_in(client: TestClient) -> None:
    for path in ("/home", "/today", "/plan", "/progress", "/account", "/screening", "/logs"):
        page = client.get(path)
        assert page.url.path == "/signin", path
        assert any("Please sign in" in text for text in notices(page))


def test_unknown_page_is_a_plain_404(client: TestClient) -> None:
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert "There is nothing at this address." in page.text


def test_sign_up_from_an_invite_link_returns_to_the_invite(client: TestClient) -> None:
    """An invite link sends a newcomer to sign up with ?next=/invite/CODE; they come back to accept it."""
    page = client.get("/signup?next=/invite/ABC123")
    assert 'name="next" value="/invite/ABC123"' in page.text
    data = {
        "email": "new@example.org",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "next": "/invite/ABC123",
        "csrf_token": csrf_of(page),
    }
    response = client.post("/signup", data=data, follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"].endswith("/invite/ABC123")


def test_sign_up_never_follows_an_off_site_next(client: TestClient) -> None:
    page = client.get("/signup?next=//evil.example/steal")
    data = {
        "email": "other@example.org",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "next": "//evil.example/steal",
        "csrf_token": csrf_of(page),
    }
    response = client.post("/signup", data=data, follow_redirects=False)
    assert response.headers["location"].endswith("/screening")
