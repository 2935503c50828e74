"""Reminder settings (time zone, reminder emails wanted) and the record of reminder emails sent.

A reminder email is *claimed* by inserting its (profile, local date) row before it is sent; the unique
pair means a second sender running at the same moment gets ``False`` and sends nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kneefix.storage.guards import require_profile
from kneefix.storage.models import Profile, ReminderEmail, User

MAX_ERROR_CHARS = 500
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class ReminderTarget:
    """A person who asked for reminder emails, with what the email needs to reach them on time."""

    profile_id: int
    name: str
    email: str
    time_zone: str | None
    reminder: dt.time


@dataclass(frozen=True)
class SentReminder:
    local_date: dt.date
    topics: tuple[str, ...]
    status: str
    attempts: int
    error: str | None


def set_time_zone(session: Session, profile_id: int, zone: str | None) -> None:
    require_profile(session, profile_id).time_zone = zone
    session.flush()


def set_email_reminders(session: Session, profile_id: int, wanted: bool) -> None:
    require_profile(session, profile_id).email_reminders = wanted
    session.flush()


def email_reminders_on(session: Session, profile_id: int) -> bool:
    return bool(require_profile(session, profile_id).email_reminders)


def reminder_targets(session: Session) -> list[ReminderTarget]:
    """Everyone with reminder emails on, a reminder time and an email address, by profile id."""
    rows = session.execute(
        select(Profile.id, Profile.name, User.email, Profile.time_zone, Profile.reminder_time)
        .join(User, User.id == Profile.user_id)
        .where(
            Profile.email_reminders.is_(True),
            Profile.reminder_time.is_not(None),
            User.email.is_not(None),
        )
        .order_by(Profile.id)
    ).all()
    return [
        ReminderTarget(row[0], row[1], row[2], row[3], dt.time.fromisoformat(row[4]))
        for row in rows
        if row[2] and row[4]
    ]


def claim(session: Session, profile_id: int, local_date: dt.date, topics: tuple[str, ...]) -> int | None:
    """Claim the reminder email for this person and date: its row id, or None when another pass sent
    it, is sending it, or has tried :data:`MAX_ATTEMPTS` times already.

    Both ways of claiming are single statements the database arbitrates (an INSERT against the unique
    pair, an UPDATE guarded by the status), so two senders never both win.
    """
    row = ReminderEmail(profile_id=profile_id, local_date=local_date, topics=list(topics), status="sending")
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
        return row.id
    except IntegrityError:
        pass
    retried: CursorResult[tuple[()]] = session.execute(  # type: ignore[assignment]
        update(ReminderEmail)
        .where(
            ReminderEmail.profile_id == profile_id,
            ReminderEmail.local_date == local_date,
            ReminderEmail.status == "failed",
            ReminderEmail.attempts < MAX_ATTEMPTS,
        )
        .values(status="sending", attempts=ReminderEmail.attempts + 1, topics=list(topics))
        .execution_options(synchronize_session=False)
    )
    if retried.rowcount != 1:
        return None
    found: int | None = session.scalar(
        select(ReminderEmail.id).where(
            ReminderEmail.profile_id == profile_id, ReminderEmail.local_date == local_date
        )
    )
    return found


def finish(session: Session, claim_id: int, error: str | None = None) -> None:
    """Mark a claimed email sent, or failed with the reason (a later pass may try it again)."""
    row = session.get(ReminderEmail, claim_id)
    if row is None:  # the person deleted their account while the email went out
        return
    row.status = "failed" if error else "sent"
    row.error = error[:MAX_ERROR_CHARS] if error else None
    session.flush()


def sent_reminders(session: Session, profile_id: int) -> list[SentReminder]:
    """The reminder emails claimed for this person, oldest first."""
    rows = session.scalars(
        select(ReminderEmail).where(ReminderEmail.profile_id == profile_id).order_by(ReminderEmail.local_date)
    )
    return [SentReminder(r.local_date, tuple(r.topics), r.status, r.attempts, r.error) for r in rows]
