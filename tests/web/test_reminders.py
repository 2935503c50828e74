"""The person's time zone and reminder emails on the web: "today" follows the zone, sign-up takes it,
the Reminders card saves time, zone and emails (emails only where the server sends them), and the
one-click unsubscribe works from the email itself without signing in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kneefix.content.loader import load_content
from kneefix.services import reminders
from kneefix.settings import Settings
from kneefix.web.app import create_app
from tests.mail_server import SmtpServer
from tests.web.helpers import PASSWORD, csrf_of, notices, person_with_plan, pin, sign_in

# Sunday 2 March 2025, 18:45 UTC: already Monday 3 March, 07:45, in Auckland (UTC+13).
SUNDAY_EVENING_UTC = dt.datetime(2025, 3, 2, 18, 45, tzinfo=dt.UTC)


def with_mail(settings: Settings, server: SmtpServer, **changes: object) -> Settings:
    """The test settings sending email to the test's SMTP server."""
    return settings.with_changes(
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_security="none",
        mail_from="kneefix <reminders@knee.example.org>",
        public_url="https://knee.example.org",
        **changes,
    )


@pytest.fixture
def mail_app(web_settings: Settings, smtp_server: SmtpServer) -> Iterator[FastAPI]:
    application = create_app(with_mail(web_settings, smtp_server))
    pin(application, today=None)
    pin(application, now=SUNDAY_EVENING_UTC)
    yield application
    application.state.database.close()


def save_reminders(client: TestClient, **fields: str) -> list[str]:
    page = client.get("/plan")
    response = client.post("/plan/reminder", data={"csrf_token": csrf_of(page), **fields})
    assert response.status_code == 200, response.text[-400:]
    return notices(response)


def test_today_is_the_date_in_the_persons_time_zone(app: FastAPI, client: TestClient) -> None:
    person_with_plan(client, "kiwi@example.org")  # the plan's first session is Monday 3 March
    pin(app, today=None)
    pin(app, now=SUNDAY_EVENING_UTC)
    save_reminders(client, reminder="", time_zone="UTC")
    in_utc = client.get("/api/v1/today").json()
    assert (in_utc["today"], in_utc["status"]) == ("2025-03-02", "rest")
    save_reminders(client, reminder="", time_zone="Pacific/Auckland")
    in_auckland = client.get("/api/v1/today").json()
    assert (in_auckland["today"], in_auckland["status"]) == ("2025-03-03", "session")
    assert "<h1>Today's session</h1>" in client.get("/today").text


def test_sign_up_takes_the_time_zone_and_refuses_an_unknown_one(
    client: TestClient, other_client: TestClient
) -> None:
    page = client.get("/signup")
    assert 'name="time_zone"' in page.text and "Europe/Lisbon" in page.text
    form = {"email": "ana@example.org", "password": PASSWORD, "confirm": PASSWORD, "role": "person"}
    refused = client.post("/signup", data={**form, "time_zone": "Mars/Olympus", "csrf_token": csrf_of(page)})
    assert refused.status_code == 422 and "not a time zone" in refused.text
    assert sign_in(other_client, "ana@example.org").url.path == "/signin"  # no account was made
    made = client.post("/signup", data={**form, "time_zone": "Europe/Lisbon", "csrf_token": csrf_of(page)})
    assert made.status_code == 200
    assert client.get("/api/v1/me/reminders").json()["time_zone"] == "Europe/Lisbon"


def test_without_email_on_the_server_the_card_offers_the_calendar_only(client: TestClient) -> None:
    person_with_plan(client, "nomail@example.org")
    page = client.get("/plan")
    assert "does not send email" in page.text and 'name="email_reminders"' not in page.text
    assert "Reminders at 06:45 (Europe/Oslo)" in " ".join(
        save_reminders(client, reminder="06:45", time_zone="Europe/Oslo")
    )
    refused = client.put("/api/v1/me/reminders", json={"email_reminders": True}, headers=_api_csrf(client))
    assert refused.status_code == 422 and "does not send email" in refused.json()["detail"]
    assert client.get("/api/v1/me/reminders").json() == {
        "reminder_time": "06:45",
        "time_zone": "Europe/Oslo",
        "email_reminders": False,
        "email_available": False,
    }


def test_a_bad_time_zone_is_refused_at_its_field_and_nothing_changes(client: TestClient) -> None:
    person_with_plan(client, "typo@example.org")
    save_reminders(client, reminder="07:00", time_zone="Europe/Paris")
    page = client.get("/plan")
    refused = client.post(
        "/plan/reminder",
        data={"csrf_token": csrf_of(page), "reminder": "08:00", "time_zone": "Europe/Pariss"},
    )
    assert refused.status_code == 422
    assert 'data-error-for="time_zone"' in refused.text
    assert client.get("/api/v1/me/reminders").json()["reminder_time"] == "07:00"


def _api_csrf(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": csrf_of(client.get("/plan"))}


def test_reminder_emails_from_the_card_to_the_inbox_and_one_click_off(
    mail_app: FastAPI, smtp_server: SmtpServer
) -> None:
    client = TestClient(mail_app, follow_redirects=True)
    person_with_plan(client, "tui@example.org")
    page = client.get("/plan")
    assert 'name="email_reminders"' in page.text and "tui@example.org" in page.text
    said = save_reminders(
        client, reminder="07:30", time_zone="Pacific/Auckland", email_shown="1", email_reminders="on"
    )
    assert "Reminders at 07:30 (Pacific/Auckland) on training days, by email and in your calendar." in said[0]
    settings = mail_app.state.settings
    result = reminders.send_due_reminders(
        mail_app.state.database, load_content(), settings.mail, settings.signing_key, SUNDAY_EVENING_UTC
    )
    assert result.sent == 1
    [message] = smtp_server.messages
    assert message["To"] == "tui@example.org"
    link = message["List-Unsubscribe"].strip().strip("<>")
    path = urlsplit(link).path
    stranger = TestClient(mail_app)  # the mail app: no cookie, no form token
    assert "Stop reminder emails" in stranger.get(path).text  # opening the link changes nothing
    assert client.get("/api/v1/me/reminders").json()["email_reminders"] is True
    done = stranger.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and "no more reminder emails" in done.text
    assert client.get("/api/v1/me/reminders").json()["email_reminders"] is False
    # Turning them back on is the person's own choice, on the card.
    save_reminders(client, reminder="07:30", email_shown="1", email_reminders="on")
    assert client.get("/api/v1/me/reminders").json()["email_reminders"] is True
    save_reminders(client, reminder="07:30", email_shown="1")  # the tick left off
    assert client.get("/api/v1/me/reminders").json()["email_reminders"] is False


def test_a_forged_unsubscribe_link_changes_nothing_and_says_the_same(mail_app: FastAPI) -> None:
    client = TestClient(mail_app, follow_redirects=True)
    person_with_plan(client, "keep@example.org")
    save_reminders(client, reminder="07:30", email_shown="1", email_reminders="on")
    profile_id = client.get("/api/v1/me").json()["profile_id"]
    forged = TestClient(mail_app).post(f"/email/unsubscribe/{profile_id}-AAAAAAAAAAAAAAAAAAAAAAAA")
    assert forged.status_code == 200 and "no more reminder emails" in forged.text
    assert client.get("/api/v1/me/reminders").json()["email_reminders"] is True


def test_the_web_app_runs_the_reminder_loop_with_its_own_settings(
    web_settings: Settings, smtp_server: SmtpServer
) -> None:
    """``kneefix serve`` sends reminders itself: the loop starts with the app (when it runs its worker
    and email is set up), sends with the app's settings, and stops with it."""
    application = create_app(with_mail(web_settings, smtp_server, run_worker=True))
    with TestClient(application, follow_redirects=True) as client:
        loop = application.state.reminder_loop
        assert isinstance(loop, reminders.ReminderLoop) and loop.running
        person_with_plan(client, "loop@example.org")
        now = dt.datetime.now(dt.UTC)
        yesterday = (now - dt.timedelta(days=1)).date()
        logged = client.post(
            "/api/v1/logs",
            json={"date": yesterday.isoformat(), "completed": 1, "pain_during": 2},
            headers=_api_csrf(client),
        )
        assert logged.status_code == 201
        save_reminders(
            client, reminder=f"{now:%H:%M}", time_zone="UTC", email_shown="1", email_reminders="on"
        )
        result = loop.run_once()
        assert result is not None and result.sent == 1
        assert smtp_server.messages[0]["Subject"] in {
            "How is your knee this morning?",
            "Today's session, and this morning's knee check",
        }
    assert not loop.running
    application.state.database.close()


def test_without_email_or_worker_no_loop_runs(web_settings: Settings) -> None:
    for settings in (
        web_settings.with_changes(run_worker=True),
        web_settings.with_changes(smtp_host="x", public_url="https://k.org"),
    ):
        application = create_app(settings)
        with TestClient(application):
            assert application.state.reminder_loop is None
        application.state.database.close()
