"""Counted actions for rate limits: sign-ups per address, invites per clinician, reset emails per account.

A limit is checked and the action counted in one short transaction, so two requests at once cannot both
slip under it (the same reason sign-in claims its try atomically, see :mod:`kneefix.storage.users`).
Old rows are pruned as new ones are counted.
"""

from __future__ import annotations

import datetime as dt
import zlib

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kneefix.storage.columns import utc_now
from kneefix.storage.models import RateEvent

#: Rows older than this are removed when a new one is counted (longer than any window in use).
KEEP_FOR = dt.timedelta(days=2)

# Advisory lock ids of the rate buckets: a fixed base (far from access.py's sign-in lock) plus a CRC.
_LOCK_BASE = 0x6B66_0000_0000


def count_recent(
    session: Session, bucket: str, key: str, *, window: dt.timedelta, now: dt.datetime | None = None
) -> int:
    """How many ``bucket`` actions ``key`` made within ``window`` before ``now``."""
    since = (now or utc_now()) - window
    query = select(func.count(RateEvent.id)).where(
        RateEvent.bucket == bucket, RateEvent.key == key, RateEvent.at >= since
    )
    return int(session.scalar(query) or 0)


def claim(
    session: Session,
    bucket: str,
    key: str,
    *,
    limit: int,
    window: dt.timedelta,
    now: dt.datetime | None = None,
) -> bool:
    """Count one ``bucket`` action by ``key`` if fewer than ``limit`` happened within ``window``.

    Returns False (and counts nothing) when the limit is reached. Call it inside a write transaction:
    on SQLite the write lock serialises claims; on PostgreSQL the claims of one bucket wait for each
    other on a transaction-scoped advisory lock, so a burst cannot all count below the limit.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_LOCK_BASE + zlib.crc32(bucket.encode()))))
    moment = now or utc_now()
    if count_recent(session, bucket, key, window=window, now=moment) >= limit:
        return False
    session.execute(delete(RateEvent).where(RateEvent.at < moment - KEEP_FOR))
    session.add(RateEvent(bucket=bucket, key=key[:320], at=moment))
    session.flush()
    return True
