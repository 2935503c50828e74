"""Reminder emails: today's session or run, and the next-morning check, at the person's chosen time.

A pass (``kneefix reminders send``, or the loop the web app and ``kneefix worker`` run every few
minutes) looks at everyone who turned reminder emails on. For each, in *their* time zone:

* nothing is sent before the reminder time, nor more than :data:`SEND_WINDOW` after it (a server that
  was down all morning does not send the morning's email at night);
* the email says what is due today: the session (when today is a session day, the plan is not paused
  and the session is not logged yet), the run (when the running ladder has one due), and the morning
  check (when yesterday's session or run has no next-morning rating yet). Nothing due, no email;
* at most one email per person per local date: the date is claimed in the database before sending
  (:mod:`kneefix.storage.reminders`), so two passes at once send it once; a failed send is tried
  again by a later pass, three attempts in all.

Every email has a one-click unsubscribe (RFC 8058): the ``List-Unsubscribe`` header and the link in the
text carry a token that is an HMAC of the profile id under the app's secret key, so it needs no table,
cannot be guessed for another person, and works without signing in.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from sqlalchemy.orm import Session

from kneefix.content.loader import Content
from kneefix.errors import InputError, KneefixError, NotFoundError
from kneefix.programme.clock import local_now, parse_time_zone
from kneefix.programme.records import SessionLog
from kneefix.services.calendar import parse_reminder
from kneefix.services.logbook import first_missing_morning, morning_subject
from kneefix.services.mail import MailError, add_bodies, new_message, send
from kneefix.services.plan import today_view
from kneefix.settings import MailSettings
from kneefix.storage import calendars
from kneefix.storage import logs as log_store
from kneefix.storage import profiles as profile_store
from kneefix.storage import reminders as reminder_store
from kneefix.storage import users as user_store
from kneefix.storage.db import Database
from kneefix.storage.reminders import ReminderTarget

log = logging.getLogger(__name__)

SEND_WINDOW = dt.timedelta(hours=3)
"""How long after the reminder time an email is still worth sending."""
PASS_INTERVAL_S = 300.0
"""How often the web app's and the worker's loops run a pass."""
TOPICS = ("session", "run", "morning")
UNSUBSCRIBE_PATH = "/email/unsubscribe/"
_TOKEN_PURPOSE = b"kneefix reminder-email unsubscribe v1:"


# ----- one-click unsubscribe ---------------------------------------------------------------------


def _mac(secret_key: str, profile_id: int) -> str:
    digest = hmac.new(secret_key.encode("utf-8"), _TOKEN_PURPOSE + str(profile_id).encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:18]).decode("ascii")


def unsubscribe_token(secret_key: str, profile_id: int) -> str:
    return f"{profile_id}-{_mac(secret_key, profile_id)}"


def profile_for_unsubscribe(secret_key: str, token: str) -> int | None:
    """The profile id a genuine unsubscribe token names, or None for anything else."""
    number, _, mac = token.partition("-")
    if not number.isdigit() or len(number) > 12 or not mac:
        return None
    profile_id = int(number)
    return profile_id if hmac.compare_digest(mac, _mac(secret_key, profile_id)) else None


def unsubscribe(session: Session, secret_key: str, token: str) -> bool:
    """Turn reminder emails off for the token's person; False when the token is not genuine or the
    account is gone (the page says the same either way, so it reveals nothing)."""
    profile_id = profile_for_unsubscribe(secret_key, token)
    if profile_id is None:
        return False
    try:
        reminder_store.set_email_reminders(session, profile_id, False)
    except NotFoundError:
        return False
    return True


# ----- settings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderSettings:
    """The reminder time (calendar alarms and emails), the time zone it is in, and the emails."""

    reminder: dt.time | None
    time_zone: str | None
    email_reminders: bool
    email_available: bool  # the server sends email (SMTP and the public address are set)
    email: str | None

    def to_dict(self) -> dict[str, object]:
        return {
            "reminder_time": self.reminder.strftime("%H:%M") if self.reminder else None,
            "time_zone": self.time_zone,
            "email_reminders": self.email_reminders,
            "email_available": self.email_available,
        }


def reminder_settings(session: Session, profile_id: int, mail: MailSettings) -> ReminderSettings:
    profile = profile_store.get_profile(session, profile_id)
    return ReminderSettings(
        reminder=calendars.calendar_state(session, profile_id).reminder,
        time_zone=profile.time_zone,
        email_reminders=reminder_store.email_reminders_on(session, profile_id),
        email_available=mail.enabled,
        email=user_store.get_user(session, profile.user_id).email,
    )


def update_reminders(
    session: Session,
    profile_id: int,
    mail: MailSettings,
    *,
    reminder: str | None = None,
    time_zone: str | None = None,
    email_reminders: bool | None = None,
) -> ReminderSettings:
    """Change any of the three (None: leave it). Every value is checked before anything is saved, so a
    bad time zone does not leave a new reminder time half-applied."""
    when = parse_reminder(reminder) if reminder is not None else None
    zone = parse_time_zone(time_zone) if time_zone is not None else None
    current = reminder_settings(session, profile_id, mail)
    if email_reminders and not current.email_available:
        raise InputError("This kneefix server does not send email, so reminder emails cannot be turned on.")
    if email_reminders and not current.email:
        raise InputError("Reminder emails need an email address on the account.")
    if email_reminders and (when if reminder is not None else current.reminder) is None:
        raise InputError("Choose a reminder time for the emails to go out at.")
    if reminder is not None:
        calendars.set_reminder(session, profile_id, when)
    if time_zone is not None:
        reminder_store.set_time_zone(session, profile_id, zone)
    if email_reminders is not None:
        reminder_store.set_email_reminders(session, profile_id, email_reminders)
    return reminder_settings(session, profile_id, mail)


# ----- what is due -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueReminder:
    """What one person's email for one local date says."""

    target: ReminderTarget
    local_date: dt.date
    topics: tuple[str, ...]
    session_number: int | None
    exercises: tuple[str, ...]
    run: str | None
    morning_subject: str | None


def _morning_due(logs: list[SessionLog], today: dt.date) -> str | None:
    """What yesterday's unrated session was ("session", "run", ...), when the morning check is due."""
    missing = first_missing_morning(logs, today)
    if missing is None or missing.date != today - dt.timedelta(days=1):
        return None  # only the morning after: older gaps are shown in the app, not chased by email
    return morning_subject(logs, missing.date)


def due_reminder(
    session: Session, content: Content, target: ReminderTarget, now: dt.datetime
) -> DueReminder | None:
    """The email this person should get at ``now``, or None (not yet, too late, or nothing due)."""
    local = local_now(now, target.time_zone)
    at = dt.datetime.combine(local.date(), target.reminder, tzinfo=local.tzinfo)
    if not at <= local < at + SEND_WINDOW:
        return None
    today = local.date()
    try:
        view = today_view(session, content, target.profile_id, today)
    except NotFoundError:  # no plan yet (screening not done): nothing to remind of
        return None
    topics: list[str] = []
    exercises: tuple[str, ...] = ()
    number: int | None = None
    if view.status == "session" and not view.already_logged and view.session is not None:
        topics.append("session")
        exercises = tuple(exercise.name for exercise in view.session.exercises)
        number = view.session_number
    run = view.running.summary if view.run_due_today and view.status != "paused" else None
    if run:
        topics.append("run")
    subject = _morning_due(log_store.list_logs(session, target.profile_id), today)
    if subject:
        topics.append("morning")
    if not topics:
        return None
    return DueReminder(target, today, tuple(topics), number, exercises, run, subject)


# ----- the email ---------------------------------------------------------------------------------


def _subject(due: DueReminder) -> str:
    topics = set(due.topics)
    if topics == {"morning"}:
        return "How is your knee this morning?"
    today = "Today's session" if "session" in topics else "Today's run"
    if "session" in topics and "run" in topics:
        today = "Today's session and run"
    return (
        f"{today}, and this morning's knee check" if "morning" in topics else f"{today} ({due.local_date:%A})"
    )


def compose(due: DueReminder, mail: MailSettings, secret_key: str) -> EmailMessage:
    """The reminder as a text and HTML email with one-click unsubscribe headers."""
    if not mail.public_url:
        raise InputError("reminder emails need KNEEFIX_PUBLIC_URL, the address people open kneefix at.")
    base = mail.public_url.rstrip("/")
    unsubscribe_url = base + UNSUBSCRIBE_PATH + unsubscribe_token(secret_key, due.target.profile_id)
    context = {
        "due": due,
        "name": due.target.name,
        "day": f"{due.local_date:%A} {due.local_date.day} {due.local_date:%B}",
        "today_url": base + "/today",
        "morning_url": base + "/morning",
        "settings_url": base + "/plan#reminders",
        "unsubscribe_url": unsubscribe_url,
        "reminder": due.target.reminder.strftime("%H:%M"),
        "time_zone": due.target.time_zone or "the server's time zone",
    }
    message = new_message(mail, due.target.email, _subject(due))
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    return add_bodies(message, "reminder", context)


# ----- a pass ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderPass:
    """What one pass did: emails sent, emails that failed (with why), people with nothing to send."""

    sent: int
    failed: tuple[str, ...]
    idle: int


def send_due_reminders(
    database: Database, content: Content, mail: MailSettings, secret_key: str, now: dt.datetime
) -> ReminderPass:
    """Send every reminder email due at ``now``; each person in their own transactions, so one
    person's bad record or a refused address does not stop the others."""
    if not mail.enabled:
        raise InputError(
            "email is not configured: set KNEEFIX_SMTP_HOST and KNEEFIX_PUBLIC_URL (see docs/web.md)."
        )
    with database.session(write=False) as session:
        targets = reminder_store.reminder_targets(session)
    sent, failed, idle = 0, [], 0
    for target in targets:
        with database.session() as session:
            due = due_reminder(session, content, target, now)
            claim_id = (
                None
                if due is None
                else reminder_store.claim(session, target.profile_id, due.local_date, due.topics)
            )
        if due is None or claim_id is None:
            idle += 1
            continue
        error: str | None = None
        try:
            send(mail, compose(due, mail, secret_key))
        except MailError as problem:
            error = str(problem)
            log.warning("reminder email for profile %s not sent: %s", target.profile_id, error)
        with database.session() as session:
            reminder_store.finish(session, claim_id, error)
        if error:
            failed.append(f"{target.email}: {error}")
        else:
            sent += 1
    return ReminderPass(sent, tuple(failed), idle)


class ReminderLoop:
    """Runs a pass every :data:`PASS_INTERVAL_S` in a background thread (the web app's and the
    worker's), until stopped. A pass that fails (the database is away) is logged and tried again at
    the next tick; passes by several processes at once are safe (the claim)."""

    def __init__(
        self,
        database: Database,
        content: Content,
        mail: MailSettings,
        secret_key: str,
        *,
        interval_s: float = PASS_INTERVAL_S,
    ) -> None:
        self._args = (database, content, mail, secret_key)
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> ReminderPass | None:
        database, content, mail, secret_key = self._args
        try:
            return send_due_reminders(database, content, mail, secret_key, dt.datetime.now(dt.UTC))
        except KneefixError as error:
            log.warning("reminder pass failed: %s", error)
            return None

    def run_forever(self, stop: threading.Event | None = None) -> None:
        stopper = stop or self._stop
        while not stopper.is_set():
            self.run_once()
            stopper.wait(self.interval_s)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="kneefix-reminders", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


def start_embedded_loop(app: Any) -> None:
    """Lifecycle hook for the web app: send reminder emails from this process when it runs the
    embedded worker and email is configured (``--no-worker`` leaves it to ``kneefix worker``)."""
    settings = app.state.settings
    if not getattr(settings, "run_worker", True) or not settings.mail.enabled:
        app.state.reminder_loop = None
        return
    from kneefix.content.loader import load_content

    loop = ReminderLoop(app.state.database, load_content(), settings.mail, settings.signing_key)
    app.state.reminder_loop = loop
    loop.start()


def stop_embedded_loop(app: Any) -> None:
    loop = getattr(app.state, "reminder_loop", None)
    if isinstance(loop, ReminderLoop):
        loop.stop()
