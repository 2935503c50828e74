"""``kneefix reminders``: the profile's reminder time and zone, and ``reminders send`` delivering the
emails due now to a real SMTP server, with the settings ``kneefix serve`` reads."""

from __future__ import annotations

import datetime as dt

import pytest

from kneefix.content.loader import load_content
from kneefix.services import accounts, reminders, screening
from kneefix.settings import MailSettings
from kneefix.storage.db import Database
from tests.cli.helpers import TYPICAL_FLAGS, Kneefix
from tests.mail_server import SmtpServer
from tests.services.helpers import typical_answers


def test_reminder_time_and_zone_are_checked_and_saved(kneefix: Kneefix) -> None:
    kneefix.ok("start", *TYPICAL_FLAGS)
    assert kneefix.json("reminders") == {
        "profile": "default",
        "reminder_time": None,
        "time_zone": None,
        "email_reminders": False,
        "email_available": False,
    }
    refused = kneefix("reminders", "--time", "07:30", "--time-zone", "Europe/Londn")
    assert refused.exit_code != 0 and "not a time zone" in refused.output
    assert kneefix.json("reminders")["reminder_time"] is None  # nothing was half-saved
    said = kneefix.ok("reminders", "--time", "07:30", "--time-zone", "Europe/London").stdout
    assert "07:30 (time zone: Europe/London)" in said


def test_send_delivers_what_is_due_and_needs_email_configured(
    kneefix: Kneefix, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = load_content()
    with Database(kneefix.url) as database, database.session() as session:
        user = accounts.sign_up(session, email="ira@example.org", password="correct horse battery")
        profile = accounts.person_profile(session, user.id)
        start = screening.StartRequest(typical_answers(content), start_date=dt.date(2025, 3, 3))
        screening.run_start(session, content, profile.name, start, today=dt.date(2025, 3, 3), user_id=user.id)
        reminders.update_reminders(
            session,
            profile.id,
            MailSettings(host="x", public_url="https://x.org"),
            reminder="07:30",
            time_zone="Europe/Berlin",
            email_reminders=True,
        )
    off = kneefix("reminders", "send", "--now", "2025-03-03T06:40+00:00")
    assert off.exit_code != 0 and "email is not configured" in off.output
    monkeypatch.setenv("KNEEFIX_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("KNEEFIX_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("KNEEFIX_SMTP_SECURITY", "none")
    monkeypatch.setenv("KNEEFIX_MAIL_FROM", "kneefix <no-reply@knee.example.org>")
    monkeypatch.setenv("KNEEFIX_PUBLIC_URL", "https://knee.example.org/")
    sent = kneefix.ok("reminders", "send", "--now", "2025-03-03T06:40+00:00")  # 07:40 in Berlin
    assert "Sent 1 reminder email(s)" in sent.stdout
    [message] = smtp_server.messages
    assert message["From"] == "kneefix <no-reply@knee.example.org>" and message["To"] == "ira@example.org"
    assert "https://knee.example.org/today" in str(message.get_body(("plain",)))
    again = kneefix.ok("reminders", "send", "--now", "2025-03-03T06:45+00:00")
    assert "Sent 0 reminder email(s)" in again.stdout
    naive = kneefix("reminders", "send", "--now", "2025-03-03T06:45")
    assert naive.exit_code != 0 and "UTC offset" in naive.output


def test_serve_prints_its_configuration_with_secrets_masked(
    kneefix: Kneefix, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KNEEFIX_SMTP_PASSWORD", "hunter2-hunter2")
    monkeypatch.setenv("KNEEFIX_SECRET_KEY", "q" * 40)
    shown = kneefix.ok("serve", "--print-config", "--port", "8123", "--no-worker").stdout
    lines = dict(line.split("=", 1) for line in shown.splitlines())
    assert lines["KNEEFIX_PORT"] == "8123" and lines["KNEEFIX_RUN_WORKER"] == "false"
    assert lines["KNEEFIX_DATABASE_URL"] == kneefix.url  # the global --db the helper passes
    assert (
        lines["KNEEFIX_SMTP_PASSWORD"] == "(set, hidden)" and "hunter2" not in shown and "q" * 40 not in shown
    )
