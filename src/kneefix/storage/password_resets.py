"""Password-reset links: only the SHA-256 of each token is kept, each expires, and each works once.

Using a link is one conditional UPDATE (``used_at IS NULL AND expires_at > now``), so two tabs sending
the same link at once cannot both change the password; using one also spends every other unused link
of the account, so an older email found later in an inbox opens nothing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from kneefix.storage.columns import utc_now
from kneefix.storage.models import PasswordReset

#: Spent and expired rows older than this are removed when a new link is made.
KEEP_FOR = dt.timedelta(days=7)


def add_reset(
    session: Session,
    user_id: int,
    *,
    token_hash: str,
    expires_at: dt.datetime,
    requested_ip: str | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Store a new link's token hash; returns the row id. Old spent or expired rows are pruned."""
    moment = now or utc_now()
    session.execute(delete(PasswordReset).where(PasswordReset.expires_at < moment - KEEP_FOR))
    row = PasswordReset(
        user_id=user_id,
        token_hash=token_hash,
        created_at=moment,
        expires_at=expires_at,
        requested_ip=None if requested_ip is None else requested_ip[:64],
    )
    session.add(row)
    session.flush()
    return row.id


def live_reset_user(session: Session, token_hash: str, *, now: dt.datetime | None = None) -> int | None:
    """The account a still-usable link belongs to (unused, unexpired), or None; only reads."""
    moment = now or utc_now()
    found: int | None = session.scalar(
        select(PasswordReset.user_id).where(
            PasswordReset.token_hash == token_hash,
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > moment,
        )
    )
    return found


def use_reset(session: Session, token_hash: str, *, now: dt.datetime | None = None) -> int | None:
    """Spend the link and every other unused link of its account; the account id, or None when the
    link was unknown, already used or expired (then nothing changes)."""
    moment = now or utc_now()
    user_id = live_reset_user(session, token_hash, now=moment)
    if user_id is None:
        return None
    spent = session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.token_hash == token_hash,
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > moment,
        )
        .values(used_at=moment)
    )
    if int(getattr(spent, "rowcount", 0) or 0) != 1:  # another request spent it first
        return None
    spend_all(session, user_id, now=moment)
    return user_id


def spend_all(session: Session, user_id: int, *, now: dt.datetime | None = None) -> int:
    """Mark every unused link of the account used (after any password change); returns how many."""
    result = session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
        .values(used_at=now or utc_now())
    )
    return int(getattr(result, "rowcount", 0) or 0)
