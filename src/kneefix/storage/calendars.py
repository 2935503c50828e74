"""The person's subscribable calendar: the feed secret's hash, the reminder time, and what the calendar
last handed out (its digest, SEQUENCE and DTSTAMP)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kneefix.storage.guards import require_profile
from kneefix.storage.models import Profile


@dataclass(frozen=True)
class CalendarState:
    has_feed: bool
    reminder: dt.time | None
    digest: str | None
    sequence: int
    stamp: dt.datetime | None


def calendar_state(session: Session, profile_id: int) -> CalendarState:
    row = require_profile(session, profile_id)
    reminder = dt.time.fromisoformat(row.reminder_time) if row.reminder_time else None
    return CalendarState(
        row.calendar_token_hash is not None,
        reminder,
        row.calendar_digest,
        row.calendar_sequence or 0,
        row.calendar_stamp,
    )


def set_feed_hash(session: Session, profile_id: int, token_hash: str | None) -> None:
    """Store the hash of a new feed secret (the old URL stops working), or None to turn the feed off."""
    require_profile(session, profile_id).calendar_token_hash = token_hash
    session.flush()


def profile_for_feed(session: Session, token_hash: str) -> int | None:
    """The profile whose feed secret hashes to this, if any."""
    found: int | None = session.scalar(select(Profile.id).where(Profile.calendar_token_hash == token_hash))
    return found


def set_reminder(session: Session, profile_id: int, reminder: dt.time | None) -> None:
    require_profile(session, profile_id).reminder_time = (
        None if reminder is None else reminder.strftime("%H:%M")
    )
    session.flush()


KEEP_CANCELLED_DAYS = 90
"""How long a moved session's cancellation stays in the calendar (its date's age, in days)."""


@dataclass(frozen=True)
class Handout:
    """What to stamp on the calendar being handed out: SEQUENCE, DTSTAMP, and the events it must
    cancel (uid -> date), handed out before and no longer in the plan."""

    sequence: int
    stamp: dt.datetime
    cancelled: dict[str, dt.date]


@dataclass(frozen=True)
class _Next:
    """What the profile's calendar columns become when a calendar is handed out, and the handout."""

    handout: Handout
    digest: str
    events: dict[str, str]
    changed: bool


def _next_handout(
    row: Profile, digest: str, events: dict[str, dt.date], now: dt.datetime, today: dt.date
) -> _Next:
    known = {uid: dt.date.fromisoformat(day) for uid, day in (row.calendar_events or {}).items()}
    horizon = today - dt.timedelta(days=KEEP_CANCELLED_DAYS)
    known = {uid: day for uid, day in known.items() if day >= horizon}
    sequence, stamp = row.calendar_sequence or 0, row.calendar_stamp
    moved = row.calendar_digest != digest or stamp is None
    if moved:
        sequence += 0 if stamp is None else 1
        stamp = now
    assert stamp is not None
    known.update(events)
    stored = {uid: day.isoformat() for uid, day in sorted(known.items())}
    cancelled = {uid: day for uid, day in known.items() if uid not in events}
    return _Next(Handout(sequence, stamp, cancelled), digest, stored, moved or row.calendar_events != stored)


def current_handout(
    session: Session, profile_id: int, digest: str, events: dict[str, dt.date], today: dt.date
) -> Handout | None:
    """The handout when this calendar is the one handed out last and nothing needs storing (the usual
    case: the same plan fetched again); None when :func:`record_handout` has something to write.
    Only reads, so a calendar app polling the feed does not write on every fetch."""
    row = require_profile(session, profile_id)
    upcoming = _next_handout(row, digest, events, dt.datetime.now(dt.UTC), today)
    return None if upcoming.changed else upcoming.handout


def record_handout(
    session: Session,
    profile_id: int,
    digest: str,
    events: dict[str, dt.date],
    now: dt.datetime,
    today: dt.date,
) -> Handout:
    """Record a calendar with this digest and these events (uid -> date) as handed out. SEQUENCE and
    DTSTAMP stay as they were if it is what was handed out last, else the sequence goes up by one and
    the stamp is ``now``. Cancellations are kept for events up to :data:`KEEP_CANCELLED_DAYS` before
    ``today`` (the person's date, which tests and demos may set). Writes only what changed."""
    row = require_profile(session, profile_id)
    upcoming = _next_handout(row, digest, events, now, today)
    if upcoming.changed:
        row.calendar_sequence = upcoming.handout.sequence
        row.calendar_digest = upcoming.digest
        row.calendar_stamp = upcoming.handout.stamp
        row.calendar_events = upcoming.events
        session.flush()
    return upcoming.handout
