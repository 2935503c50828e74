"""Clinicians are not self-service: a clinician sign-up waits for an administrator, who approves or
declines it on /admin or with ``kneefix users``; only administrators see /admin (404 for others); an
administrator's invite approves a clinician at once; every decision is in the audit log.

Issue 11 ("Clinicians are not self-service"); ASVS 4.1.1/4.1.3 (access control on the server, least
privilege), 4.2.1 (no access to others' functions), 7.2.2 (security events logged), 2.5.6 (an
administrator's password reset signs the account out everywhere).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from kneefix.services import accounts, admin
from kneefix.settings import load_settings
from kneefix.storage import users
from kneefix.storage.models import AuditEvent, User
from kneefix.web.app import create_app
from tests.cli.helpers import Kneefix, assert_clean_error
from tests.mail_server import SmtpServer
from tests.security.test_password_reset import plain_text
from tests.web.helpers import PASSWORD, csrf_of, notices, sign_in

ADMIN = "boss@clinic.example"
DOC = "doc@clinic.example"


def browser(app: FastAPI) -> TestClient:
    return TestClient(app, follow_redirects=True)


def ask_to_be_clinician(app: FastAPI, email: str = DOC, invite: str = "") -> TestClient:
    """Sign up through the form, ticking "clinician" (no helper approves it here)."""
    client = browser(app)
    page = client.get("/signup" + (f"?invite={invite}" if invite else ""))
    fields = {"email": email, "password": PASSWORD, "confirm": PASSWORD, "role": "clinician"}
    if invite:
        fields["invite"] = invite
    response = client.post("/signup", data={**fields, "csrf_token": csrf_of(page)})
    assert response.status_code == 200, response.text[-300:]
    return client


def make_admin(app: FastAPI) -> TestClient:
    with app.state.database.session() as session:
        admin.add_account(session, email=ADMIN, password=PASSWORD, admin=True, display_name="Boss")
    client = browser(app)
    assert sign_in(client, ADMIN).url.path != "/signin"
    return client


def user_row(app: FastAPI, email: str) -> User:
    with app.state.database.session(write=False) as session:
        row: User | None = session.scalar(select(User).where(User.email == email))
        assert row is not None
        session.expunge(row)
        return row


def actions(app: FastAPI) -> list[tuple[str, str, int | None]]:
    with app.state.database.session(write=False) as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        return [(row.action, row.actor_role, row.subject_user_id) for row in rows]


def post_form(client: TestClient, path: str, fields: dict[str, str]) -> httpx.Response:
    response: httpx.Response = client.post(path, data={**fields, "csrf_token": csrf_of(client.get("/about"))})
    return response


def test_a_clinician_sign_up_waits_for_approval(app: FastAPI) -> None:
    """Issue 11: anyone could sign up as a clinician; now the account stays a person's account, with
    ``requested_role`` "clinician", and says it waits (ASVS 4.1.3)."""
    client = ask_to_be_clinician(app)
    landing = client.get("/account")
    assert "waits for this clinic's administrator" in landing.text
    assert client.get("/clinician").status_code == 403  # not a clinician yet
    row = user_row(app, DOC)
    assert (row.role, row.requested_role, row.is_admin) == ("person", "clinician", False)

    api = browser(app).post(
        "/api/v1/auth/signup",
        json={"email": "api.doc@example.org", "password": PASSWORD, "role": "clinician"},
    )
    assert api.status_code == 201 and api.json()["user"]["role"] == "person"
    assert user_row(app, "api.doc@example.org").requested_role == "clinician"


def test_an_administrator_approves_on_the_admin_page(app: FastAPI) -> None:
    """Issue 11: an admin page lists accounts awaiting approval with approve / decline buttons (CSRF
    like every form); approving makes the clinician; the audit log records it (ASVS 7.2.2)."""
    doctor = ask_to_be_clinician(app)
    boss = make_admin(app)
    page = boss.get("/admin")
    assert page.status_code == 200 and DOC in page.text and 'action="/admin/approve"' in page.text
    doc_id = user_row(app, DOC).id
    no_token = boss.post("/admin/approve", data={"user_id": str(doc_id)}, follow_redirects=False)
    assert no_token.status_code == 403 and user_row(app, DOC).role == "person"

    approved = post_form(boss, "/admin/approve", {"user_id": str(doc_id)})
    assert approved.url.path == "/admin" and f"{DOC} is now a clinician." in notices(approved)
    assert (user_row(app, DOC).role, user_row(app, DOC).requested_role) == ("clinician", None)
    assert doctor.get("/clinician").status_code == 200  # the same browser, now a clinician
    assert ("admin.clinician_approved", "admin", doc_id) in actions(app)

    again = post_form(boss, "/admin/approve", {"user_id": str(doc_id)})
    assert again.status_code == 422 and "has not asked to be a clinician" in again.text


def test_an_administrator_declines_and_the_account_stays_a_person(app: FastAPI) -> None:
    """Issue 11: decline leaves a person account; the decision is audited."""
    ask_to_be_clinician(app)
    boss = make_admin(app)
    doc_id = user_row(app, DOC).id
    declined = post_form(boss, "/admin/decline", {"user_id": str(doc_id)})
    assert declined.url.path == "/admin" and "declined" in " ".join(notices(declined))
    row = user_row(app, DOC)
    assert (row.role, row.requested_role) == ("person", None)
    assert ("admin.clinician_declined", "admin", doc_id) in actions(app)
    assert DOC not in boss.get("/admin").text.split('id="invite"')[0]  # no longer waiting


def test_only_administrators_reach_the_admin_pages(app: FastAPI) -> None:
    """Issue 11: non-admins get 404 on /admin (as for other forbidden things); anonymous callers are
    sent to sign in (ASVS 4.2.1)."""
    person = browser(app)
    ask_to_be_clinician(app, "someone@example.org")
    assert sign_in(person, "someone@example.org").url.path != "/signin"
    clinician = ask_to_be_clinician(app)
    with app.state.database.session() as session:
        admin.approve_clinician(session, admin.account_by_email(session, DOC).id, actor=None)
    for caller in (person, clinician):
        assert caller.get("/admin").status_code == 404
        target = user_row(app, "someone@example.org").id
        assert post_form(caller, "/admin/approve", {"user_id": str(target)}).status_code == 404
        assert post_form(caller, "/admin/invites", {"email": "x@example.org"}).status_code == 404
        assert 'href="/admin"' not in caller.get("/account").text
    assert user_row(app, "someone@example.org").requested_role == "clinician"  # nothing was approved
    anonymous = TestClient(app, follow_redirects=False)
    gone = anonymous.get("/admin")
    assert gone.status_code == 303 and gone.headers["location"].startswith("/signin")
    assert 'href="/admin"' in make_admin(app).get("/account").text


def test_the_admin_page_lists_the_newest_accounts_of_many(app: FastAPI) -> None:
    """Issue 11: the admin page "lists accounts": of a clinic's thousands, the newest, with the count."""
    with app.state.database.session() as session:
        for number in range(admin.ACCOUNTS_SHOWN + 4):
            users.create_user(session, email=f"person{number}@example.org", password_hash="unusable")
    page = make_admin(app).get("/admin")
    total = admin.ACCOUNTS_SHOWN + 5
    assert f"The newest {admin.ACCOUNTS_SHOWN} of {total} accounts" in page.text
    assert ADMIN in page.text and f"person{admin.ACCOUNTS_SHOWN + 3}@example.org" in page.text
    assert "person0@example.org" not in page.text


def test_an_invited_clinician_is_approved_at_once(app: FastAPI) -> None:
    """Issue 11: an admin invites a clinician by email (a signed link, for that address only), so
    the clinician's sign-up is approved at once; a changed invite or another address still waits."""
    boss = make_admin(app)
    page = post_form(boss, "/admin/invites", {"email": DOC})
    assert page.status_code == 200
    match = re.search(r"<code[^>]*>(/signup\?invite=[^<]+)</code>", page.text)
    assert match, page.text[-800:]
    invite = urlsplit(match.group(1)).query.removeprefix("invite=")
    assert ("admin.clinician_invited", "admin", None) in actions(app)

    form = browser(app).get(f"/signup?invite={invite}")
    assert f'value="{DOC}"' in form.text and 'name="invite"' in form.text
    doctor = ask_to_be_clinician(app, DOC, invite)
    assert doctor.get("/clinician").status_code == 200
    approved = [entry for entry in actions(app) if entry[0] == "admin.clinician_approved"]
    assert approved == [("admin.clinician_approved", "admin", user_row(app, DOC).id)]

    ask_to_be_clinician(app, "other.doc@example.org", invite)  # someone else's address
    assert user_row(app, "other.doc@example.org").role == "person"
    forged = invite[:-2] + ("AA" if not invite.endswith("AA") else "BB")
    ask_to_be_clinician(app, "third.doc@example.org", forged)
    assert user_row(app, "third.doc@example.org").role == "person"
    taken = post_form(boss, "/admin/invites", {"email": DOC})
    assert taken.status_code == 422 and "already has an account" in taken.text


# ----- the command line -----------------------------------------------------------------------


@pytest.fixture
def kneefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Kneefix:
    monkeypatch.setenv("KNEEFIX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("KNEEFIX_DATABASE_URL", raising=False)
    monkeypatch.setenv("KNEEFIX_PUBLIC_URL", "https://knee.example.org")
    return Kneefix(tmp_path / "kneefix.db")


def test_the_command_line_makes_an_admin_approves_and_resets_passwords(
    kneefix: Kneefix, tmp_path: Path, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11: ``kneefix users add --admin`` (first step of an install), ``list``, ``approve``,
    ``reset-password`` (typed by the admin: old password refused, sessions signed out; or a
    one-time link with --link), all audited; the web app on the same database agrees."""
    for name, value in (("HOST", smtp_server.host), ("PORT", str(smtp_server.port)), ("SECURITY", "none")):
        monkeypatch.setenv(f"KNEEFIX_SMTP_{name}", value)
    kneefix.ok(
        "users", "add", "--admin", ADMIN, "--name", "Boss", input="admin password 1\nadmin password 1\n"
    )
    settings = load_settings(
        data_dir=tmp_path / "web", environ={}, secret_key="c" * 40, run_worker=False, database_url=kneefix.url
    )
    app = create_app(settings)
    try:
        boss = browser(app)
        assert sign_in(boss, ADMIN, "admin password 1").url.path != "/signin"
        assert boss.get("/admin").status_code == 200
        doctor = ask_to_be_clinician(app)

        listed = {row["email"]: row for row in kneefix.json("users", "list")}
        assert listed[ADMIN]["is_admin"] is True
        assert (listed[DOC]["role"], listed[DOC]["requested_role"]) == ("person", "clinician")
        assert "is now a clinician" in kneefix.ok("users", "approve", DOC).stdout
        assert doctor.get("/clinician").status_code == 200

        result = kneefix.ok("users", "reset-password", DOC, input="fresh password 7\nfresh password 7\n")
        assert "signed out" in result.stdout
        [notice] = smtp_server.messages  # the owner is told (ASVS 2.5.5)
        assert (notice["To"], notice["Subject"]) == (DOC, "Your kneefix password was changed")
        assert "by an administrator" in plain_text(notice)
        assert doctor.get("/clinician").url.path == "/signin"  # the old session ended
        assert sign_in(browser(app), DOC, PASSWORD).status_code == 401
        assert sign_in(browser(app), DOC, "fresh password 7").url.path != "/signin"

        link = kneefix.ok("users", "reset-password", "--link", DOC).stdout.strip().splitlines()[-1]
        assert link.startswith("https://knee.example.org/reset-password?token=")
        split = urlsplit(link)
        client = browser(app)
        form = client.get(f"{split.path}?{split.query}")
        assert form.status_code == 200
        token = split.query.removeprefix("token=")
        done = client.post(
            "/reset-password",
            data={
                "token": token,
                "password": "third password 3",
                "confirm": "third password 3",
                "csrf_token": csrf_of(form),
            },
        )
        assert done.url.path == "/signin"
        with app.state.database.session(write=False) as session:
            assert accounts.sign_in(session, email=DOC, password="third password 3", ip=None).user is not None
        logged = actions(app)
        doc_id = user_row(app, DOC).id
        assert ("admin.account_created", "cli", user_row(app, ADMIN).id) in logged
        assert ("admin.clinician_approved", "cli", doc_id) in logged
        assert [entry for entry in logged if entry[0] == "admin.password_reset"] == [
            ("admin.password_reset", "cli", doc_id),
            ("admin.password_reset", "cli", doc_id),
        ]
    finally:
        app.state.database.close()


def test_the_command_line_refuses_clearly(kneefix: Kneefix) -> None:
    """Issue 11: bad input gets a clear message, never a traceback; the last admin stays."""
    assert_clean_error(kneefix("users", "approve", "nobody@example.org"), "no account", "nobody@example.org")
    short = kneefix("users", "add", ADMIN, "--password-stdin", input="short\n")
    assert_clean_error(short, "at least 8 characters")
    kneefix.ok("users", "add", "--admin", ADMIN, "--password-stdin", input="admin password 1\n")
    assert_clean_error(
        kneefix("users", "add", ADMIN, "--password-stdin", input="another pass 1\n"), "already exists"
    )
    assert_clean_error(kneefix("users", "approve", ADMIN), "has not asked to be a clinician")
    assert_clean_error(kneefix("users", "admin", "--remove", ADMIN), "only administrator")
    kneefix.ok("users", "add", "--clinician", DOC, "--password-stdin", input="clinic password 1\n")
    assert kneefix.json("users", "list")[1]["role"] == "clinician"
