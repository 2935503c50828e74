"""The audit log (issue 11, ASVS V7.1 / V8.3.5 "accesses to sensitive data are logged"): who viewed or
changed whose record, shown to the person and exported by an administrator."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kneefix.errors import NotFoundError
from kneefix.services import accounts, audit
from kneefix.settings import Settings
from kneefix.storage.db import Database
from kneefix.storage.records import UserInfo
from kneefix.web.app import create_app
from tests.cli.helpers import Kneefix
from tests.security.helpers import audit_rows, link, make_admin, new_clinician
from tests.web.conftest import FIXED_TODAY
from tests.web.helpers import PASSWORD, csrf_of, log_today, person_with_plan, pin, sign_up
from tests.web.technique_media import tiny_mp4

HEALTH_WORDS = ("pain", "kujala", "knee", "note", "swelling", "answers", "flag_")


@pytest.fixture
def doctor(app: FastAPI) -> TestClient:
    return new_clinician(app, "doc@example.org")


@pytest.fixture
def linked(client: TestClient, doctor: TestClient) -> int:
    person_with_plan(client, "runner@example.org")
    log_today(client, pain_during="4")
    return link(client, doctor)


def whos(page_text: str) -> str:
    return " ".join(page_text.split())


def test_a_clinician_view_is_in_the_persons_log_once_per_ten_minutes(
    client: TestClient, doctor: TestClient, linked: int
) -> None:
    """Issue 11: "who saw my record" shows the clinician's view; repeats within 10 minutes show once."""
    assert doctor.get(f"/clinician/people/{linked}").status_code == 200
    doctor.get(f"/clinician/people/{linked}")
    doctor.get(f"/clinician/people/{linked}/progress.png")
    page = client.get("/account/record-access")
    assert page.status_code == 200
    text = whos(page.text)
    assert "doc@example.org</td> <td>looked at your record" in text
    assert text.count("looked at your record") == 1
    assert "started sharing your record with a clinician" in text  # the link itself, by "you"
    api = client.get("/api/v1/me/audit").json()
    views = [line for line in api if line["action"] == "record.viewed"]
    assert len(views) == 1 and views[0]["who"] == "doc@example.org" and views[0]["role"] == "clinician"
    assert "/account/record-access" in client.get("/account").text


def test_a_view_after_ten_minutes_is_logged_again_and_the_api_client_too(
    client: TestClient, doctor: TestClient, linked: int, app: FastAPI
) -> None:
    """Issue 11: an API client reading the record is a view; the throttle is per actor per profile."""
    doctor.get(f"/clinician/people/{linked}")
    with app.state.database.session() as session:  # make the first view 11 minutes old
        from sqlalchemy import update

        from kneefix.storage.models import AuditEvent

        session.execute(
            update(AuditEvent)
            .where(AuditEvent.action == "record.viewed")
            .values(at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=11))
        )
    assert doctor.get(f"/api/v1/clinician/people/{linked}").status_code == 200
    views = [row for row in audit_rows(app) if row["action"] == "record.viewed"]
    assert len(views) == 2 and views[-1]["ip"] == "testclient"


def test_plan_change_export_clearance_deletion_and_unlinking_are_recorded(
    client: TestClient, doctor: TestClient, linked: int, app: FastAPI
) -> None:
    """Issue 11: plan changes, exports (JSON, PDF), deletions and links are in the log, with the actor."""
    headers = {"X-CSRF-Token": csrf_of(doctor.get("/clinician"))}
    made = doctor.post(
        f"/api/v1/clinician/people/{linked}/adjustments",
        json={"kind": "phase", "payload": {"phase": "load_integrate"}, "note": "Ready for more"},
        headers=headers,
    )
    assert made.status_code == 201
    assert (
        doctor.delete(
            f"/api/v1/clinician/people/{linked}/adjustments/{made.json()['id']}", headers=headers
        ).status_code
        == 204
    )
    assert doctor.get(f"/clinician/people/{linked}/report.pdf").status_code == 200
    assert client.get("/account/export.json").status_code == 200
    logs = client.get("/api/v1/logs").json()
    page = client.get("/logs")
    client.post(f"/logs/{logs[0]['id']}/delete", data={"csrf_token": csrf_of(page)})
    clinician_id = client.get("/api/v1/me/clinicians").json()[0]["id"]
    sharing = client.get("/sharing")
    client.post(f"/sharing/{clinician_id}/stop", data={"csrf_token": csrf_of(sharing)})
    rows = audit_rows(app)
    actions = [(row["action"], row["actor_role"], row["detail"].get("kind")) for row in rows]
    assert ("plan.adjusted", "clinician", "made") in actions
    assert ("plan.adjusted", "clinician", "withdrawn") in actions
    assert ("export.downloaded", "clinician", None) in actions
    assert ("export.downloaded", "person", "account") in actions
    assert ("record.deleted", "person", "log") in actions
    assert ("link.removed", "person", None) in actions
    # Account-level events (an account's export, the clinician's approval) name no profile.
    about_the_record = [row for row in rows if not row["action"].startswith(("account.", "admin."))]
    assert {row["profile_id"] for row in about_the_record} == {linked}
    text = whos(client.get("/account/record-access").text)
    for line in (
        "adjusted your plan",
        "withdrew an earlier change to your plan",
        "downloaded your data as a progress report",
        "you</td> <td>downloaded your data as JSON",
        "you</td> <td>deleted a logged session",
        "stopped sharing your record with a clinician",
    ):
        assert line in text, line
    # After unlinking, the clinician's attempt is a 404 and is not logged as a view.
    before = len(audit_rows(app))
    assert doctor.get(f"/clinician/people/{linked}").status_code == 404
    assert len(audit_rows(app)) == before
    # A technique check deleted through the API, then the whole account: both outlive the record.
    api = {"X-CSRF-Token": csrf_of(client.get("/technique"))}
    sent = client.post(
        "/api/v1/checks",
        headers=api,
        data={"movement": "squat", "request_id": "audit-check-0001"},
        files={"video": ("squat.mp4", tiny_mp4(), "video/mp4")},
    )
    assert sent.status_code == 202, sent.text
    assert client.delete(f"/api/v1/checks/{sent.json()['id']}", headers=api).status_code == 204
    account = client.get("/account")
    client.post(
        "/account/delete",
        data={"csrf_token": csrf_of(account), "password": PASSWORD, "confirm_delete": "yes"},
    )
    tail = [(row["action"], row["detail"].get("kind"), row["profile_id"]) for row in audit_rows(app)[-2:]]
    assert tail == [("record.deleted", "check", linked), ("record.deleted", "account", linked)]


def test_detail_holds_no_health_data(
    client: TestClient, doctor: TestClient, linked: int, app: FastAPI
) -> None:
    """Issue 11: ``detail`` holds ids and kinds only, never health data (the log outlives the record)."""
    headers = {"X-CSRF-Token": csrf_of(doctor.get("/clinician"))}
    doctor.post(
        f"/api/v1/clinician/people/{linked}/adjustments",
        json={"kind": "phase", "payload": {"phase": "load_integrate"}, "note": "knee pain swelling note"},
        headers=headers,
    )
    doctor.get(f"/clinician/people/{linked}")
    for row in audit_rows(app):
        stored = json.dumps(row["detail"]).lower()
        assert not any(word in stored for word in HEALTH_WORDS), stored
    with pytest.raises(ValueError, match="not one of"):
        audit.clean_detail({"note": "knee pain"})
    with pytest.raises(ValueError, match="short kind word"):
        audit.clean_detail({"kind": "Knee swelling after a fall"})
    with pytest.raises(ValueError, match="not an audit action"):
        audit._check_action("record.peeked")


def test_a_person_sees_only_their_own_log(
    client: TestClient, other_client: TestClient, doctor: TestClient, linked: int, app: FastAPI
) -> None:
    """Issue 11 / ASVS V4.2.1: one person's log is never shown to another."""
    doctor.get(f"/clinician/people/{linked}")
    person_with_plan(other_client, "other@example.org")
    assert "doc@example.org" not in other_client.get("/account/record-access").text
    theirs = other_client.get("/api/v1/me/audit").json()
    assert [(line["who"], line["action"]) for line in theirs] == [("you", "plan.changed")]  # their own plan
    with app.state.database.session(write=False) as session:
        own = accounts.find_account(session, "runner@example.org")
        assert own is not None
        stranger = UserInfo(
            id=own.id + 100, email=None, display_name="", role="person", created_at=own.created_at
        )
        with pytest.raises(NotFoundError):
            audit.record_access(session, stranger, accounts.person_profile(session, own.id))
    assert doctor.get("/account/record-access").status_code == 403  # a clinician has no record page


def test_the_admin_export_has_the_events_and_anyone_else_is_refused(
    client: TestClient, doctor: TestClient, linked: int, app: FastAPI
) -> None:
    """Issue 11: an administrator exports the log (CSV, JSON Lines); a non-admin gets 404."""
    doctor.get(f"/clinician/people/{linked}")
    assert doctor.get("/admin/audit.csv").status_code == 404
    assert client.get("/admin/audit.jsonl").status_code == 404
    admin = TestClient(app, follow_redirects=True)
    sign_up(admin, "admin@example.org")
    make_admin(app, "admin@example.org")
    assert 'href="/admin/audit.csv"' in admin.get("/admin").text
    response = admin.get("/admin/audit.csv?since=2000-01-01")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {"record.viewed", "link.created"} <= {row["action"] for row in rows}
    assert next(row for row in rows if row["action"] == "record.viewed")["profile_id"] == str(linked)
    lines = admin.get("/admin/audit.jsonl").text.splitlines()
    assert json.loads(lines[-1])["action"] == "admin.audit_exported"  # this very export, logged before it
    assert admin.get("/admin/audit.csv?since=tomorrow").status_code == 422
    assert admin.get("/admin/audit.csv?until=2000-01-01").text.splitlines() == [",".join(audit.EXPORT_FIELDS)]


def test_the_cli_exports_the_log_and_records_its_own_changes(kneefix: Kneefix, tmp_path: Path) -> None:
    """Issue 11: ``kneefix audit export`` streams CSV or JSON Lines; the command line's plan set-up,
    settings change, exports and deletions are logged with the actor "cli"."""
    kneefix.start(profile="sam")
    kneefix.ok("settings", "--days", "4", profile="sam")
    entry = kneefix.json("log", "--pain-during", "3", profile="sam")["log"]["id"]
    kneefix.ok("log", "delete", str(entry), profile="sam")
    kneefix.ok("export", "--out", str(tmp_path / "sam.json"), profile="sam")
    kneefix.ok("report", "--pdf", str(tmp_path / "sam.pdf"), profile="sam")
    kneefix.ok("profiles", "delete", "sam", "--yes")
    out = tmp_path / "audit.jsonl"
    kneefix.ok("audit", "export", "--out", str(out), "--since", "2000-01-01")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {row["actor_role"] for row in rows} == {"cli"}
    assert [(row["action"], row["detail"].get("kind") or row["detail"].get("format")) for row in rows] == [
        ("plan.changed", "screening"),
        ("plan.changed", "settings"),
        ("record.deleted", "log"),
        ("export.downloaded", "json"),
        ("export.downloaded", "report-pdf"),
        ("record.deleted", "profile"),
        ("admin.audit_exported", "jsonl"),
    ]
    assert out.stat().st_mode & 0o077 == 0  # the owner's only
    as_csv = tmp_path / "audit.csv"
    kneefix.ok("audit", "export", "--out", str(as_csv), "--until", "2000-01-01")
    assert as_csv.read_text().splitlines() == [",".join(audit.EXPORT_FIELDS)]
    wrong = kneefix("audit", "export", "--out", str(tmp_path / "a.txt"))
    assert wrong.exit_code != 0 and ".csv or .jsonl" in wrong.output
    bad_day = kneefix("audit", "export", "--out", str(out), "--since", "soon")
    assert bad_day.exit_code != 0 and "date like" in bad_day.output


def test_a_view_that_cannot_be_logged_shows_nothing(web_settings: Settings, tmp_path: Path) -> None:
    """Issue 11 (docs/security.md, Audit log): while the database cannot take the view's event (another
    program holds the write lock past the busy timeout), the clinician gets 503 and not the record."""
    database = Database(web_settings.database_url, busy_timeout_s=0.3)
    application = create_app(web_settings, database=database)
    pin(application, today=FIXED_TODAY)
    try:
        person = TestClient(application, follow_redirects=True)
        person_with_plan(person, "runner@example.org")
        doctor = new_clinician(application, "doc@example.org")
        profile_id = link(person, doctor)
        holder = sqlite3.connect(Path(str(database.url.database)), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            refused = doctor.get(f"/api/v1/clinician/people/{profile_id}")
            assert refused.status_code == 503 and "runner@example.org" not in refused.text
            page = doctor.get(f"/clinician/people/{profile_id}")
            assert page.status_code == 503 and "Recent sessions" not in page.text
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert doctor.get(f"/clinician/people/{profile_id}").status_code == 200
        assert [row["action"] for row in audit_rows(application)].count("record.viewed") == 1
    finally:
        database.close()
