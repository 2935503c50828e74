"""Reminder emails against a real SMTP server: on time in the person's own time zone, once per day,
saying what is due, retried after a failure, and with a one-click unsubscribe that only its owner's
token opens."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import replace

import pytest

from kneefix.content.loader import Content
from kneefix.errors import InputError
from kneefix.services import accounts, logbook, reminders, screening
from kneefix.services.mail import MailError, new_message, send
from kneefix.settings import MailSettings
from kneefix.storage import reminders as reminder_store
from kneefix.storage.db import Database
from tests.mail_server import SmtpServer, free_port
from tests.services.helpers import START, typical_answers

SECRET = "k" * 40
AUCKLAND = "Pacific/Auckland"  # UTC+13 in March (daylight saving)


def mail_for(server: SmtpServer) -> MailSettings:
    return MailSettings(
        host=server.host,
        port=server.port,
        security="none",
        sender="kneefix <reminders@knee.example.org>",
        public_url="https://knee.example.org",
        timeout_s=5,
    )


def person_with_email(db: Database, content: Content, email: str = "tui@example.org") -> int:
    """A web person screened on START (a Monday, the plan's first session), reminders at 07:30
    Auckland time, reminder emails on."""
    with db.session() as session:
        user = accounts.sign_up(session, email=email, password="correct horse battery", display_name="Tui")
        profile = accounts.person_profile(session, user.id)
        screening.run_start(
            session,
            content,
            profile.name,
            screening.StartRequest(typical_answers(content)),
            today=START,
            user_id=user.id,
        )
        reminders.update_reminders(
            session,
            profile.id,
            MailSettings(host="mail.invalid", public_url="https://knee.example.org"),
            reminder="07:30",
            time_zone=AUCKLAND,
            email_reminders=True,
        )
    return profile.id


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def run_pass(db: Database, content: Content, server: SmtpServer, at: str) -> reminders.ReminderPass:
    return reminders.send_due_reminders(db, content, mail_for(server), SECRET, utc(at))


def test_the_email_goes_at_the_reminder_time_in_the_persons_zone_and_once(
    db: Database, content: Content, smtp_server: SmtpServer
) -> None:
    person_with_email(db, content)
    # 18:00 UTC on Sunday 2 March is 07:00 on Monday 3 March in Auckland: not yet.
    assert run_pass(db, content, smtp_server, "2025-03-02T18:00").sent == 0
    # 18:45 UTC is 07:45 Monday in Auckland: the session is due there, though it is Sunday in UTC.
    assert run_pass(db, content, smtp_server, "2025-03-02T18:45").sent == 1
    assert run_pass(db, content, smtp_server, "2025-03-02T18:50").sent == 0  # once per local day
    [message] = smtp_server.messages
    assert message["To"] == "tui@example.org"
    assert message["Subject"] == "Today's session (Monday)"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe"].strip().startswith("<https://knee.example.org/email/unsubscribe/")
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    body = text.get_content()
    assert "Monday 3 March is a training day: session 1" in body
    assert "https://knee.example.org/today" in body
    assert "07:30 (Pacific/Auckland)" in body
    assert "not a diagnosis" in body
    assert 'href="https://knee.example.org/today"' in html.get_content()


def test_nothing_is_sent_long_after_the_reminder_time(
    db: Database, content: Content, smtp_server: SmtpServer
) -> None:
    person_with_email(db, content)
    # 23:00 UTC is 12:00 in Auckland, four and a half hours after 07:30: too late to be useful.
    assert run_pass(db, content, smtp_server, "2025-03-02T23:00").sent == 0
    assert smtp_server.messages == []


def test_the_morning_after_a_session_asks_for_the_knee_check(
    db: Database, content: Content, smtp_server: SmtpServer
) -> None:
    profile_id = person_with_email(db, content)
    with db.session() as session:
        logbook.log_session(
            session, content, profile_id, day=START, completed=1.0, pain_during=2, today=START
        )
    # Tuesday 07:40 in Auckland (18:40 UTC Monday): no session on Tuesday, but yesterday's needs rating.
    assert run_pass(db, content, smtp_server, "2025-03-03T18:40").sent == 1
    [message] = smtp_server.messages
    assert message["Subject"] == "How is your knee this morning?"
    body = message.get_body(("plain",))
    assert body is not None
    content_text = body.get_content()
    assert (
        "You logged a session yesterday" in content_text
        and "https://knee.example.org/morning" in content_text
    )
    assert "training day" not in content_text


def test_a_rated_morning_and_a_logged_session_leave_nothing_to_send(
    db: Database, content: Content, smtp_server: SmtpServer
) -> None:
    profile_id = person_with_email(db, content)
    tuesday = START + dt.timedelta(days=1)
    with db.session() as session:
        logbook.log_session(
            session, content, profile_id, day=START, completed=1.0, pain_during=2, today=START
        )
        logbook.record_morning_pain(session, content, profile_id, pain=1, today=tuesday)
    assert run_pass(db, content, smtp_server, "2025-03-03T18:40").idle == 1
    assert smtp_server.messages == []


def test_a_failed_send_is_kept_with_its_reason_and_tried_again(
    db: Database, content: Content, smtp_server: SmtpServer
) -> None:
    profile_id = person_with_email(db, content)
    nobody = replace(mail_for(smtp_server), port=free_port())  # nothing listens there
    failed = reminders.send_due_reminders(db, content, nobody, SECRET, utc("2025-03-02T18:45"))
    assert failed.sent == 0 and len(failed.failed) == 1 and "cannot reach the mail server" in failed.failed[0]
    with db.session(write=False) as session:
        [record] = reminder_store.sent_reminders(session, profile_id)
    assert record.status == "failed" and record.attempts == 1 and record.error
    assert run_pass(db, content, smtp_server, "2025-03-02T18:50").sent == 1  # the server is back
    with db.session(write=False) as session:
        [record] = reminder_store.sent_reminders(session, profile_id)
    assert (record.status, record.attempts, record.error) == ("sent", 2, None)
    assert len(smtp_server.messages) == 1


def test_a_refused_address_stops_after_three_attempts(
    db: Database, content: Content, smtp_server: SmtpServer
) -> None:
    person_with_email(db, content, email="gone@example.org")
    smtp_server.handler.refuse.add("gone@example.org")
    outcomes = [run_pass(db, content, smtp_server, f"2025-03-02T18:{minute}") for minute in (35, 40, 45, 50)]
    assert [len(outcome.failed) for outcome in outcomes] == [1, 1, 1, 0]
    assert "refused the address gone@example.org" in outcomes[0].failed[0]


def test_two_senders_at_once_claim_a_day_once(db: Database, content: Content) -> None:
    profile_id = person_with_email(db, content)
    results: list[int | None] = []

    def claim() -> None:
        with db.session() as session:
            results.append(reminder_store.claim(session, profile_id, START, ("session",)))

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result is not None for result in results) == 1


def test_only_the_genuine_token_unsubscribes(db: Database, content: Content) -> None:
    profile_id = person_with_email(db, content)
    token = reminders.unsubscribe_token(SECRET, profile_id)
    forged = f"{profile_id}-{'A' * 24}"
    other = reminders.unsubscribe_token(SECRET, profile_id + 1)
    with db.session() as session:
        assert not reminders.unsubscribe(session, SECRET, forged)
        assert not reminders.unsubscribe(session, "x" * 40, token)  # another server's key
        assert not reminders.unsubscribe(session, SECRET, other)  # a profile that does not exist
        assert reminders.reminder_settings(session, profile_id, MailSettings()).email_reminders
        assert reminders.unsubscribe(session, SECRET, token)
        assert not reminders.reminder_settings(session, profile_id, MailSettings()).email_reminders


def test_settings_are_checked_before_any_is_saved(db: Database, content: Content) -> None:
    profile_id = person_with_email(db, content)
    mail = MailSettings(host="mail.invalid", public_url="https://knee.example.org")
    with db.session() as session:
        with pytest.raises(InputError, match="not a time zone"):
            reminders.update_reminders(session, profile_id, mail, reminder="06:00", time_zone="Mars/Olympus")
        kept = reminders.reminder_settings(session, profile_id, mail)
        assert kept.reminder == dt.time(7, 30) and kept.time_zone == AUCKLAND
        with pytest.raises(InputError, match="does not send email"):
            reminders.update_reminders(session, profile_id, MailSettings(), email_reminders=True)
        with pytest.raises(InputError, match="reminder time"):
            reminders.update_reminders(session, profile_id, mail, reminder="", email_reminders=True)


def test_an_unreachable_server_is_a_plain_error() -> None:
    settings = MailSettings(host="127.0.0.1", port=free_port(), security="none", public_url="https://x.org")
    with pytest.raises(MailError, match=r"cannot reach the mail server 127\.0\.0\.1:\d+"):
        send(settings, new_message(settings, "a@example.org", "hello"))
