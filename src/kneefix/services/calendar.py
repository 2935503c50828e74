"""The person's calendar: the ``.ics`` download and a subscribable feed that stays current.

The feed lives at a URL with a secret in it (``/calendar/SECRET.ics``), because calendar apps cannot
sign in: anyone with the URL sees the plan's dates and exercise names, so only its SHA-256 is stored,
a new link revokes the old one, and the person can turn it off. Both the feed and the download carry
the same calendar: each version has a SEQUENCE and DTSTAMP that rise when the plan moves, sessions the
plan has moved away from are sent as cancelled, and a reminder (VALARM) goes off at the person's chosen
time on each session's and run's day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy.orm import Session

from kneefix.content.loader import Content
from kneefix.errors import InputError, NotFoundError
from kneefix.programme.ics import event_dates, plan_to_ics
from kneefix.services.plan import plan_state
from kneefix.storage import calendars
from kneefix.storage import profiles as profile_store
from kneefix.storage.calendars import CalendarState
from kneefix.storage.db import writes_beside
from kneefix.storage.records import ProfileInfo

FEED_TOKEN_BYTES = 32
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # a fixed stamp, for the digest of what the plan says


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def calendar_settings(session: Session, profile_id: int) -> CalendarState:
    return calendars.calendar_state(session, profile_id)


def new_feed(session: Session, profile_id: int) -> str:
    """A new secret feed token for this person (the previous link stops working). Shown once."""
    token = secrets.token_urlsafe(FEED_TOKEN_BYTES)
    calendars.set_feed_hash(session, profile_id, _hash(token))
    return token


def stop_feed(session: Session, profile_id: int) -> None:
    calendars.set_feed_hash(session, profile_id, None)


def parse_reminder(text: str) -> dt.time | None:
    """``HH:MM`` (24-hour) or empty for no reminder."""
    cleaned = text.strip()
    if not cleaned:
        return None
    try:
        when = dt.time.fromisoformat(cleaned)
    except ValueError:
        raise InputError(f"{cleaned!r} is not a time of day; give it as HH:MM, e.g. 07:30.") from None
    if len(cleaned) != 5 or when.second or when.microsecond:
        raise InputError(f"{cleaned!r}: give the reminder time as HH:MM, e.g. 07:30.")
    return when


def calendar_ics(
    session: Session, content: Content, profile_id: int, today: dt.date, now: dt.datetime | None = None
) -> bytes:
    """The person's calendar as it is now: upcoming sessions and runs, moved ones cancelled."""
    profile = profile_store.get_profile(session, profile_id)
    plan = plan_state(session, content, profile_id, today).plan
    state = calendars.calendar_state(session, profile_id)
    events = event_dates(plan, profile.name)
    digest = hashlib.sha256(plan_to_ics(plan, profile.name, stamp=EPOCH, reminder=state.reminder)).hexdigest()
    handout = calendars.current_handout(session, profile_id, digest, events, today)
    if handout is None:  # the plan moved (or days passed): store the new SEQUENCE, beside a GET's read
        with writes_beside(session) as writer:
            when = now or dt.datetime.now(dt.UTC)
            handout = calendars.record_handout(writer, profile_id, digest, events, when, today)
    return plan_to_ics(
        plan,
        profile.name,
        stamp=handout.stamp,
        sequence=handout.sequence,
        reminder=state.reminder,
        cancelled=handout.cancelled,
    )


def feed_owner(session: Session, token: str) -> ProfileInfo:
    """Whose calendar a feed URL is; NotFoundError for a token that is wrong, revoked or replaced.

    The caller then asks :func:`calendar_ics` for it on the owner's own date (their time zone).
    """
    profile_id = calendars.profile_for_feed(session, _hash(token)) if token else None
    if profile_id is None:
        raise NotFoundError("No calendar at this address: the link was turned off or replaced by a new one.")
    return profile_store.get_profile(session, profile_id)
