"""Password recovery against a real SMTP server (aiosmtpd): the emailed link, once, in time, and only
from the configured public address; the same answer for every email; rate limits; sessions revoked.

Issue 11 ("Password recovery"); ASVS 2.5.1-2.5.2 (recovery secrets are random and not sent in
clear stored), 2.5.6 (a secure recovery mechanism), 3.3.3/3.3.4 (sessions end after a password reset),
2.2.1 (anti-automation on the recovery form).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from kneefix.errors import InputError
from kneefix.services import accounts, recovery
from kneefix.services.credentials import verify_password
from kneefix.settings import load_settings
from kneefix.storage import users
from kneefix.storage.db import Database
from kneefix.storage.models import AuditEvent, PasswordReset, WebSession
from kneefix.web.app import create_app
from tests.mail_server import SmtpServer
from tests.pg import fresh_postgres_url, postgres_url
from tests.web.helpers import PASSWORD, csrf_of, notices, pin, sign_in, sign_up

__all__ = ["fresh_postgres_url", "postgres_url"]

PUBLIC = "https://knee.example.org"
EMAIL = "tui@example.org"
NEW_PASSWORD = "a brand new secret 42"
LINK = re.compile(re.escape(PUBLIC) + r"/reset-password\?token=[A-Za-z0-9_\-%]+")
T0 = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def mail_app(tmp_path: Path, smtp_server: SmtpServer) -> Iterator[FastAPI]:
    """The app with email on: the test's SMTP server, and the public address links are built on."""
    settings = load_settings(
        data_dir=tmp_path / "data",
        environ={},
        secret_key="r" * 40,
        run_worker=False,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_security="none",
        mail_from="kneefix <accounts@knee.example.org>",
        public_url=PUBLIC,
        now=T0,
    )
    application = create_app(settings)
    yield application
    application.state.database.close()


def browser(app: FastAPI) -> TestClient:
    return TestClient(app, follow_redirects=True)


def ask_for_link(client: TestClient, email: str, **headers: str) -> httpx.Response:
    page = client.get("/forgot-password")
    fields = {"email": email, "csrf_token": csrf_of(page)}
    response: httpx.Response = client.post("/forgot-password", data=fields, headers=headers)
    return response


def plain_text(message: EmailMessage) -> str:
    """The decoded text part of a received email."""
    body = message.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    text: str = body.get_content()
    return text


def links_in(server: SmtpServer, to: str = EMAIL) -> list[str]:
    found = []
    for message in server.messages:
        if message["To"] == to:
            found += LINK.findall(plain_text(message))
    return found


def use_link(client: TestClient, link: str, password: str = NEW_PASSWORD) -> httpx.Response:
    split = urlsplit(link)
    page = client.get(f"{split.path}?{split.query}")
    assert page.status_code == 200, page.text[-400:]
    assert page.headers["referrer-policy"] == "no-referrer"  # the token stays out of other sites' logs
    token = unquote(split.query.removeprefix("token="))
    fields = {"token": token, "password": password, "confirm": password, "csrf_token": csrf_of(page)}
    response: httpx.Response = client.post("/reset-password", data=fields)
    return response


def test_the_emailed_link_resets_the_password_once_and_signs_out_every_browser(
    mail_app: FastAPI, smtp_server: SmtpServer
) -> None:
    """Issue 11: the email arrives with a link; the link works once; the old password is refused; the
    reset revokes the account's sessions and the owner gets a notice (ASVS 2.5.6, 2.5.5, 3.3.3)."""
    owner = browser(mail_app)
    sign_up(owner, EMAIL)
    assert owner.get("/account").url.path == "/account"  # signed in
    with mail_app.state.database.session() as session:  # a server-side session of the account
        account = users.find_user_by_email(session, EMAIL)
        assert account is not None
        # Sessions live by the real clock (the pinned T0 is in the past): this one has a day to run.
        alive_until = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        session.add(WebSession(token_hash="a" * 64, user_id=account.id, expires_at=alive_until))

    answer = ask_for_link(browser(mail_app), EMAIL)
    assert recovery.SENT_MESSAGE in notices(answer)
    [link] = links_in(smtp_server)
    [message] = smtp_server.messages
    assert message["From"] == "kneefix <accounts@knee.example.org>"
    assert message.get_body(preferencelist=("html",)) is not None

    token = unquote(urlsplit(link).query.removeprefix("token="))
    with mail_app.state.database.session(write=False) as session:
        [row] = session.scalars(select(PasswordReset)).all()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()  # only the hash is kept
        assert token not in (row.token_hash, row.requested_ip)
        assert row.expires_at - T0 == recovery.RESET_VALID_FOR

    stranger = browser(mail_app)  # the link is opened where nobody is signed in
    done = use_link(stranger, link)
    assert done.url.path == "/signin"
    assert any("Your password is changed" in text for text in notices(done))

    notice = smtp_server.messages[-1]  # the owner is told (ASVS 2.5.5)
    assert (notice["To"], notice["Subject"]) == (EMAIL, "Your kneefix password was changed")
    assert LINK.findall(plain_text(notice)) == []
    assert owner.get("/account").url.path == "/signin"  # the browser signed in before is signed out
    assert sign_in(browser(mail_app), EMAIL, PASSWORD).status_code == 401
    assert sign_in(browser(mail_app), EMAIL, NEW_PASSWORD).url.path != "/signin"
    with mail_app.state.database.session(write=False) as session:
        revoked = session.scalars(select(WebSession.revoked_at).order_by(WebSession.id)).all()
        # the owner's browser and the row added above are revoked; the sign-in just now is live
        assert revoked == [T0, T0, None]
        actions = session.scalars(select(AuditEvent.action)).all()
        assert "password.reset_by_link" in actions

    again = browser(mail_app)
    split = urlsplit(link)
    reopened = again.get(f"{split.path}?{split.query}")
    assert reopened.status_code == 400 and "cannot be used" in reopened.text
    second = again.post(
        "/reset-password",
        data={
            "token": token,
            "password": "yet another pass 9",
            "confirm": "yet another pass 9",
            "csrf_token": csrf_of(reopened),
        },
    )
    assert second.status_code == 400 and "cannot be used" in second.text
    assert sign_in(browser(mail_app), EMAIL, NEW_PASSWORD).url.path != "/signin"  # unchanged


def test_an_expired_link_is_refused(mail_app: FastAPI, smtp_server: SmtpServer) -> None:
    """Issue 11: expired link refused (ASVS 2.5.2: recovery secrets are short-lived)."""
    sign_up(browser(mail_app), EMAIL)
    ask_for_link(browser(mail_app), EMAIL)
    [link] = links_in(smtp_server)
    pin(mail_app, now=T0 + recovery.RESET_VALID_FOR + dt.timedelta(seconds=1))
    client = browser(mail_app)
    split = urlsplit(link)
    page = client.get(f"{split.path}?{split.query}")
    assert page.status_code == 400 and "cannot be used" in page.text
    token = unquote(split.query.removeprefix("token="))
    refused = client.post(
        "/reset-password",
        data={"token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": csrf_of(page)},
    )
    assert refused.status_code == 400
    assert sign_in(browser(mail_app), EMAIL, PASSWORD).url.path != "/signin"  # the old one still works


def test_using_one_link_spends_the_others(mail_app: FastAPI, smtp_server: SmtpServer) -> None:
    """Issue 11: all other reset links of the account are invalidated when one is used."""
    sign_up(browser(mail_app), EMAIL)
    ask_for_link(browser(mail_app), EMAIL)
    ask_for_link(browser(mail_app), EMAIL)
    first, second = links_in(smtp_server)
    assert first != second
    assert use_link(browser(mail_app), second).url.path == "/signin"
    split = urlsplit(first)
    assert browser(mail_app).get(f"{split.path}?{split.query}").status_code == 400


def test_a_refused_new_password_keeps_the_link_usable(mail_app: FastAPI, smtp_server: SmtpServer) -> None:
    """Issue 11: a new password must pass the password rules; the link is not spent by a refusal."""
    sign_up(browser(mail_app), EMAIL)
    ask_for_link(browser(mail_app), EMAIL)
    [link] = links_in(smtp_server)
    client = browser(mail_app)
    split = urlsplit(link)
    page = client.get(f"{split.path}?{split.query}")
    token = unquote(split.query.removeprefix("token="))
    short = client.post(
        "/reset-password",
        data={"token": token, "password": "short", "confirm": "short", "csrf_token": csrf_of(page)},
    )
    assert short.status_code == 422 and "at least 8 characters" in short.text
    assert 'name="token"' in short.text  # the form is offered again
    assert use_link(client, link).url.path == "/signin"


def test_the_answer_is_the_same_for_an_unknown_email(mail_app: FastAPI, smtp_server: SmtpServer) -> None:
    """Issue 11: the form answers the same whether or not the email has an account (ASVS 2.5.7 / no
    account enumeration); only the real account gets an email."""
    sign_up(browser(mail_app), EMAIL)
    known = ask_for_link(browser(mail_app), EMAIL)
    unknown = ask_for_link(browser(mail_app), "nobody@example.org")
    assert (known.status_code, known.url.path) == (unknown.status_code, unknown.url.path)
    assert notices(known) == notices(unknown) == [recovery.SENT_MESSAGE]
    strip = re.compile(r'(name="csrf[-_]token" (?:content|value)=")[^"]+')
    assert strip.sub(r"\1", known.text) == strip.sub(r"\1", unknown.text)
    assert [message["To"] for message in smtp_server.messages] == [EMAIL]


def test_the_link_is_built_on_the_public_address_not_the_host_header(
    mail_app: FastAPI, smtp_server: SmtpServer
) -> None:
    """Issue 11: the reset link's base URL comes from settings, never from the Host header
    (host-header poisoning)."""
    sign_up(browser(mail_app), EMAIL)
    ask_for_link(browser(mail_app), EMAIL, host="evil.example", **{"x-forwarded-host": "evil.example"})
    [message] = smtp_server.messages
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert "evil.example" not in body.get_content()
    assert len(links_in(smtp_server)) == 1


def test_requests_are_rate_limited_per_account_and_per_source(
    mail_app: FastAPI, smtp_server: SmtpServer
) -> None:
    """Issue 11: rate limited per account (silently: the answer does not say the account exists) and
    per source (ASVS 2.2.1)."""
    sign_up(browser(mail_app), EMAIL)
    client = browser(mail_app)
    answers = [ask_for_link(client, EMAIL) for _ in range(recovery.PER_ACCOUNT_LIMIT + 2)]
    assert {answer.status_code for answer in answers} == {200}
    assert all(notices(answer) == [recovery.SENT_MESSAGE] for answer in answers)
    assert len(links_in(smtp_server)) == recovery.PER_ACCOUNT_LIMIT

    spent = recovery.PER_ACCOUNT_LIMIT + 2
    for number in range(recovery.PER_SOURCE_LIMIT - spent):
        assert ask_for_link(client, f"someone{number}@example.org").status_code == 200
    refused = ask_for_link(client, "one.more@example.org")
    assert refused.status_code == 429
    assert recovery.TOO_MANY_MESSAGE in refused.text
    pin(mail_app, now=T0 + recovery.RATE_WINDOW + dt.timedelta(seconds=1))
    assert ask_for_link(client, EMAIL).status_code == 200  # the window passed
    assert len(links_in(smtp_server)) == recovery.PER_ACCOUNT_LIMIT + 1


def test_without_email_the_form_points_to_the_administrator(app: FastAPI) -> None:
    """Issue 11: no email configured: no link is made; the page says who can reset the password."""
    sign_up(browser(app), EMAIL)
    page = browser(app).get("/forgot-password")
    assert "kneefix users reset-password" in page.text and 'name="email"' not in page.text
    answer = ask_for_link(browser(app), EMAIL)
    assert answer.status_code == 200 and "does not send email" in answer.text
    with app.state.database.session(write=False) as session:
        assert session.scalars(select(PasswordReset)).all() == []


def test_the_sign_in_page_offers_recovery(client: TestClient) -> None:
    """Issue 11: a "Forgot your password?" link on the sign-in page."""
    assert 'href="/forgot-password"' in client.get("/signin").text


@pytest.mark.postgres
def test_one_link_used_twice_at_once_changes_the_password_once_on_postgresql(fresh_postgres_url: str) -> None:
    """Issue 11: single use holds under a race (two tabs sending the same link at once, on PostgreSQL,
    where requests really run side by side): one new password wins, the other is refused."""
    database = Database(fresh_postgres_url)
    try:
        with database.session() as session:
            user = accounts.sign_up(session, email=EMAIL, password=PASSWORD)
            link = recovery.new_reset_link(session, user, public_url=PUBLIC)
        token = unquote(urlsplit(link).query.removeprefix("token="))
        start = threading.Barrier(2)
        outcomes: dict[str, bool] = {}

        def use(password: str) -> None:
            start.wait()
            try:
                with database.session() as session:
                    recovery.reset_password(session, token=token, password=password)
                outcomes[password] = True
            except InputError:
                outcomes[password] = False

        tries = [threading.Thread(target=use, args=(f"new password number {n}",)) for n in (1, 2)]
        for thread in tries:
            thread.start()
        for thread in tries:
            thread.join(timeout=30)
        assert sorted(outcomes.values()) == [False, True]
        [winner] = [password for password, won in outcomes.items() if won]
        with database.session(write=False) as session:
            stored = users.get_user(session, user.id).password_hash
            assert verify_password(stored, winner)
            assert session.scalars(select(PasswordReset.used_at)).all() != [None]
    finally:
        database.close()


def test_a_reset_revokes_api_tokens_and_a_change_spends_reset_links(app: FastAPI, client: TestClient) -> None:
    """Issue 11: a reset is a recovery, so API tokens made with the old password stop working; the
    owner's own change on the account page keeps them but spends every outstanding reset link."""
    from tests.web.helpers import api_token

    token = api_token(client, EMAIL)
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    database: Database = app.state.database
    with database.session() as session:
        owner = users.find_user_by_email(session, EMAIL)
        assert owner is not None
        link = recovery.new_reset_link(session, owner, public_url=PUBLIC)
        accounts.change_password(session, owner.id, current=PASSWORD, new=NEW_PASSWORD)
    link_token = unquote(urlsplit(link).query.removeprefix("token="))
    with database.session(write=False) as session:
        assert not recovery.reset_link_is_live(session, link_token)  # the change spent it
    assert client.get("/api/v1/me", headers=bearer).status_code == 200  # the owner's change keeps it

    with database.session() as session:
        recovery.replace_password(session, owner.id, "another new secret 77")
    assert client.get("/api/v1/me", headers=bearer).status_code == 401  # the reset revoked it
