"""Sign-up by emailed link, against a real SMTP server (aiosmtpd): with email on, the sign-up form answers
a new and a taken address byte for byte the same, and only the mailbox learns which it was.

Issue 11, "Sign-up must not reveal whether an email has an account" (ASVS 2.2 / OWASP account
enumeration; ASVS 2.5.2 for the link's short life; ASVS 4.1.3 for the clinician role that waits).
"""

from __future__ import annotations

import datetime as dt
import re
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from kneefix.services import accounts, admin, sign_up_links
from kneefix.storage.models import User
from tests.mail_server import SmtpServer
from tests.security.test_password_reset import PUBLIC, T0, browser, mail_app, plain_text
from tests.web.helpers import PASSWORD, csrf_of, notices, pin

__all__ = ["mail_app"]

OWNER = "owner@example.org"
NEW = "newcomer@example.org"
LINK = re.compile(re.escape(PUBLIC) + r"/signup/finish\?token=[A-Za-z0-9_\-.%]+")
CSRF = re.compile(r'(name="csrf[-_]token" (?:content|value)=")[^"]+')


def ask(client: TestClient, email: str, **fields: str) -> httpx.Response:
    """Send the sign-up form (no password: with email on, the link's page asks for it)."""
    page = client.get("/signup")
    assert 'name="password"' not in page.text
    data = {"email": email, "display_name": "", "role": "person", **fields, "csrf_token": csrf_of(page)}
    response: httpx.Response = client.post("/signup", data=data, follow_redirects=False)
    return response


def mails_to(server: SmtpServer, to: str) -> list[EmailMessage]:
    return [message for message in server.messages if message["To"] == to]


def link_in(server: SmtpServer, to: str) -> str:
    [message] = mails_to(server, to)
    [link] = LINK.findall(plain_text(message))
    return str(link)


def token_of(link: str) -> str:
    return unquote(urlsplit(link).query.removeprefix("token="))


def finish(client: TestClient, link: str, password: str = PASSWORD) -> httpx.Response:
    split = urlsplit(link)
    page = client.get(f"{split.path}?{split.query}")
    assert page.status_code == 200, page.text[-400:]
    assert page.headers["referrer-policy"] == "no-referrer"  # the token stays out of other sites' logs
    fields = {"token": token_of(link), "password": password, "confirm": password, "csrf_token": csrf_of(page)}
    response: httpx.Response = client.post(split.path, data=fields)
    return response


def account(app: FastAPI, email: str) -> User | None:
    with app.state.database.session(write=False) as session:
        row: User | None = session.scalar(select(User).where(User.email == email))
        if row is not None:
            session.expunge(row)
        return row


def make_owner(app: FastAPI) -> User:
    with app.state.database.session() as session:
        accounts.sign_up(session, email=OWNER, password=PASSWORD, display_name="Owner")
    found = account(app, OWNER)
    assert found is not None
    return found


def test_a_new_and_a_taken_address_get_the_same_answer_on_the_page_and_the_api(
    mail_app: FastAPI, smtp_server: SmtpServer
) -> None:
    """Issue 11 "Sign-up must not reveal whether an email has an account": with email on, the page and
    the API answer a new and a taken address byte for byte the same (apart from the CSRF token and the
    cookie); nothing is made and nobody signed in; the taken address's owner is told to sign in or reset
    the password, and the password is unchanged. Before: a new address was signed in at once."""
    owner = make_owner(mail_app)
    new_browser, taken_browser = browser(mail_app), browser(mail_app)
    new, taken = ask(new_browser, NEW), ask(taken_browser, OWNER)
    answered = (303, sign_up_links.SENT_PATH)
    assert (
        (new.status_code, new.headers["location"])
        == (taken.status_code, taken.headers["location"])
        == answered
    )
    assert new.content == taken.content
    varying = {"set-cookie", "date"}
    assert {k: v for k, v in new.headers.items() if k not in varying} == {
        k: v for k, v in taken.headers.items() if k not in varying
    }
    new_page, taken_page = (
        new_browser.get(sign_up_links.SENT_PATH),
        taken_browser.get(sign_up_links.SENT_PATH),
    )
    assert new_page.status_code == taken_page.status_code == 200
    assert CSRF.sub(r"\1", new_page.text) == CSRF.sub(r"\1", taken_page.text)
    assert notices(new_page) == [sign_up_links.SENT_MESSAGE]
    assert new_browser.get("/account").url.path == "/signin"  # nobody is signed in
    assert account(mail_app, NEW) is None  # nothing is made before the link is used

    api_new = browser(mail_app).post("/api/v1/auth/signup", json={"email": "api.new@example.org"})
    api_taken = browser(mail_app).post("/api/v1/auth/signup", json={"email": OWNER, "password": "x" * 20})
    assert api_new.status_code == api_taken.status_code == 202
    assert api_new.content == api_taken.content
    assert api_new.json() == {"message": sign_up_links.SENT_MESSAGE}
    assert account(mail_app, "api.new@example.org") is None

    assert LINK.findall(plain_text(mails_to(smtp_server, NEW)[0]))  # the new address gets a link
    assert len(LINK.findall(plain_text(mails_to(smtp_server, "api.new@example.org")[0]))) == 1
    told = mails_to(smtp_server, OWNER)
    assert len(told) == 2  # the page's try and the API's
    for message in told:
        text = plain_text(message)
        assert message["Subject"] == "You already have a kneefix account"
        assert f"{PUBLIC}/signin" in text and f"{PUBLIC}/forgot-password" in text
        assert LINK.findall(text) == []  # no link that could make an account
    after = account(mail_app, OWNER)
    assert after is not None and after.password_hash == owner.password_hash  # the password is unchanged


def test_the_emailed_link_chooses_the_password_and_signs_in(
    mail_app: FastAPI, smtp_server: SmtpServer
) -> None:
    """Issue 11: the new address's email leads to the "choose your password" page (password rules
    apply, and a refused one keeps the link usable); then the account is made, with the name and time
    zone from the form, and signed in. Used once, the link says the address has an account."""
    answer = ask(browser(mail_app), NEW, display_name="Newcomer", time_zone="Europe/Lisbon")
    assert answer.status_code == 303
    link = link_in(smtp_server, NEW)
    client = browser(mail_app)
    page = client.get(urlsplit(link).path + "?" + urlsplit(link).query)
    weak = client.post(
        sign_up_links.FINISH_PATH,
        data={
            "token": token_of(link),
            "password": "password",
            "confirm": "password",
            "csrf_token": csrf_of(page),
        },
    )
    assert weak.status_code == 422 and 'name="token"' in weak.text and account(mail_app, NEW) is None
    done = finish(client, link)
    assert done.url.path == "/screening"
    assert "Welcome to kneefix. Your account is ready." in notices(done)
    assert client.get("/account").url.path == "/account"  # signed in, with a server-side session
    made = account(mail_app, NEW)
    assert made is not None
    assert (made.display_name, made.role, made.requested_role) == ("Newcomer", "person", None)
    with mail_app.state.database.session(write=False) as session:
        assert accounts.person_profile(session, made.id).time_zone == "Europe/Lisbon"

    again = browser(mail_app)
    split = urlsplit(link)
    reopened = again.get(f"{split.path}?{split.query}")
    assert reopened.status_code == 400 and sign_up_links.ADDRESS_HAS_ACCOUNT in notices(reopened)
    assert reopened.headers["referrer-policy"] == "no-referrer"


def test_an_expired_or_tampered_link_makes_nothing(mail_app: FastAPI, smtp_server: SmtpServer) -> None:
    """Issue 11 (ASVS 2.5.2): the link is signed and lives 24 hours; a changed one, or one opened too
    late, is refused on the page and when sent, and no account is made."""
    ask(browser(mail_app), NEW)
    token = token_of(link_in(smtp_server, NEW))
    body, _, signature = token.rpartition(".")
    other_address = sign_up_links.link_token("another key" * 4, sign_up_links.SignUpLink(email=NEW), now=T0)
    tampered = [body + "." + signature[::-1], body[:-2] + "." + signature, other_address, "", "x" * 5000]
    pin(mail_app, now=T0 + sign_up_links.LINK_VALID_FOR + dt.timedelta(seconds=1))
    client = browser(mail_app)
    for bad in [token, *tampered]:
        page = client.get(sign_up_links.FINISH_PATH, params={"token": bad})
        assert page.status_code == 400 and sign_up_links.INVALID_LINK in notices(page)
        sent = client.post(
            sign_up_links.FINISH_PATH,
            data={"token": bad, "password": PASSWORD, "confirm": PASSWORD, "csrf_token": csrf_of(page)},
        )
        assert sent.status_code == 400 and sign_up_links.INVALID_LINK in notices(sent)
    assert account(mail_app, NEW) is None
    assert client.get("/account").url.path == "/signin"


def test_a_link_used_after_the_address_got_an_account_makes_nothing(
    mail_app: FastAPI, smtp_server: SmtpServer
) -> None:
    """Issue 11: if the address got an account after the link was sent, the link says so and makes
    nothing: the account and its password are as they were."""
    ask(browser(mail_app), OWNER)  # no account yet: a link is sent
    link = link_in(smtp_server, OWNER)
    owner = make_owner(mail_app)
    client = browser(mail_app)
    split = urlsplit(link)
    page = client.get(f"{split.path}?{split.query}")
    assert page.status_code == 400 and sign_up_links.ADDRESS_HAS_ACCOUNT in notices(page)
    assert 'name="password"' not in page.text and 'href="/forgot-password"' in page.text
    fields = {
        "token": token_of(link),
        "password": "a brand new secret 42",
        "confirm": "a brand new secret 42",
    }
    sent = client.post(sign_up_links.FINISH_PATH, data={**fields, "csrf_token": csrf_of(page)})
    assert sent.status_code == 400 and sign_up_links.ADDRESS_HAS_ACCOUNT in notices(sent)
    after = account(mail_app, OWNER)
    assert after is not None and (after.id, after.password_hash) == (owner.id, owner.password_hash)
    assert client.get("/account").url.path == "/signin"


def test_sign_up_emails_per_address_are_limited_silently(mail_app: FastAPI, smtp_server: SmtpServer) -> None:
    """Issue 11 (ASVS 2.2.1): at most three sign-up emails an hour to one address, new or taken alike;
    past that the answer is the same and nothing is sent (an inbox cannot be flooded)."""
    answers = [ask(browser(mail_app), NEW) for _ in range(sign_up_links.PER_ADDRESS_LIMIT + 2)]
    assert {(answer.status_code, answer.headers["location"]) for answer in answers} == {
        (303, sign_up_links.SENT_PATH)
    }
    assert len(mails_to(smtp_server, NEW)) == sign_up_links.PER_ADDRESS_LIMIT
    pin(mail_app, now=T0 + sign_up_links.RATE_WINDOW + dt.timedelta(seconds=1))
    ask(browser(mail_app), NEW)
    assert len(mails_to(smtp_server, NEW)) == sign_up_links.PER_ADDRESS_LIMIT + 1


def test_a_clinician_sign_up_by_link_still_waits_for_approval(
    mail_app: FastAPI, smtp_server: SmtpServer
) -> None:
    """Issue 11 (ASVS 4.1.3): asking for the clinician role by link still only requests it; an
    administrator's invite for that address, carried through the link, approves it at once."""
    doctor = "doc@clinic.example"
    ask(browser(mail_app), doctor, role="clinician")
    link = link_in(smtp_server, doctor)
    assert "administrator" in plain_text(mails_to(smtp_server, doctor)[0])
    client = browser(mail_app)
    done = finish(client, link)
    assert done.url.path == "/account" and any("must be approved" in text for text in notices(done))
    assert client.get("/clinician").status_code == 403
    waiting = account(mail_app, doctor)
    assert waiting is not None and (waiting.role, waiting.requested_role) == ("person", "clinician")

    with mail_app.state.database.session() as session:
        boss = admin.add_account(session, email="boss@clinic.example", password=PASSWORD, admin=True)
        invite = admin.invite_token(
            mail_app.state.settings.signing_key, "invited@clinic.example", invited_by=boss.id
        )
    invited = browser(mail_app)
    form = invited.get(f"/signup?invite={invite}")
    assert 'name="invite"' in form.text
    sent = invited.post(
        "/signup",
        data={
            "email": "invited@clinic.example",
            "role": "clinician",
            "invite": invite,
            "csrf_token": csrf_of(form),
        },
        follow_redirects=False,
    )
    assert sent.headers["location"] == sign_up_links.SENT_PATH
    assert finish(invited, link_in(smtp_server, "invited@clinic.example")).url.path == "/clinician"
    approved = account(mail_app, "invited@clinic.example")
    assert approved is not None and (approved.role, approved.requested_role) == ("clinician", None)
