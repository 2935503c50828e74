"""Server-side records of signed-in browsers (``web_sessions``): what makes signing out real.

A browser's cookie carries a random token; only its SHA-256 is stored here (the hashing belongs to
:mod:`kneefix.services.credentials`, which passes the hash in). A sign-in counts only while its row is
unrevoked and unexpired, so signing out, "sign out everywhere", a password change and account deletion
(rows cascade with the user) end a copied cookie at once (ASVS 3.3.1).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from kneefix.errors import NotFoundError
from kneefix.storage.columns import utc_now
from kneefix.storage.convert import user_info
from kneefix.storage.guards import check_aware, check_text, require_user
from kneefix.storage.models import User, WebSession
from kneefix.storage.records import UserInfo

SEEN_RESOLUTION = dt.timedelta(minutes=1)
"""How fresh ``last_seen_at`` is kept: written at most once per this per browser, so page views do
not each turn into a write (the same as an API token's last use)."""


@dataclass(frozen=True)
class WebSessionInfo:
    """One signed-in browser, as the account page lists it (the token itself is never stored)."""

    id: int
    user_id: int
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    user_agent: str
    ip: str | None

    def live_at(self, moment: dt.datetime) -> bool:
        return self.revoked_at is None and self.expires_at > moment


def _info(row: WebSession) -> WebSessionInfo:
    return WebSessionInfo(
        id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        user_agent=row.user_agent,
        ip=row.ip,
    )


def create(
    session: Session,
    user_id: int,
    *,
    token_hash: str,
    expires_at: dt.datetime,
    user_agent: str = "",
    ip: str | None = None,
    now: dt.datetime | None = None,
) -> WebSessionInfo:
    """Record a new signed-in browser."""
    require_user(session, user_id)
    moment = now or utc_now()
    check_aware("Session start", moment)
    check_aware("Session expiry", expires_at)
    agent = "".join(ch for ch in user_agent if ch.isprintable())[:200]
    row = WebSession(
        user_id=user_id,
        token_hash=check_text("Session token hash", token_hash, max_length=64, allow_empty=False),
        created_at=moment,
        last_seen_at=moment,
        expires_at=expires_at,
        user_agent=agent,
        ip=None if ip is None else ip[:64],
    )
    session.add(row)
    session.flush()
    return _info(row)


def find(session: Session, token_hash: str) -> tuple[WebSessionInfo, UserInfo] | None:
    """The browser a token hash names and its account, revoked or expired ones too (the caller tells
    an expired sign-in apart from a revoked one); None for an unknown hash. Only reads."""
    row = session.scalar(select(WebSession).where(WebSession.token_hash == token_hash))
    if row is None:
        return None
    user = session.get(User, row.user_id)
    return None if user is None else (_info(row), user_info(user))


def list_live(session: Session, user_id: int, *, now: dt.datetime | None = None) -> list[WebSessionInfo]:
    """An account's signed-in browsers, most recently seen first."""
    moment = now or utc_now()
    rows = session.scalars(
        select(WebSession)
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None), WebSession.expires_at > moment)
        .order_by(WebSession.last_seen_at.desc(), WebSession.id.desc())
    )
    return [_info(row) for row in rows]


def revoke(session: Session, token_hash: str, *, now: dt.datetime | None = None) -> bool:
    """End the browser's sign-in that the token hash names; whether a live one was ended."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.token_hash == token_hash, WebSession.revoked_at.is_(None))
        .values(revoked_at=now or utc_now())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def revoke_one(session: Session, user_id: int, session_id: int, *, now: dt.datetime | None = None) -> None:
    """End one of the account's browsers by its id; NotFoundError when it is not this account's
    (or was already signed out)."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.id == session_id, WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now or utc_now())
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFoundError(f"There is no signed-in browser with id {session_id} on this account.")


def revoke_all(session: Session, user_id: int, *, now: dt.datetime | None = None) -> int:
    """End every sign-in of the account; returns how many were live."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now or utc_now())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def seen_is_stale(
    info: WebSessionInfo, now: dt.datetime, *, resolution: dt.timedelta = SEEN_RESOLUTION
) -> bool:
    """Whether the browser's ``last_seen_at`` is old enough to be written again."""
    return info.last_seen_at <= now - resolution


def note_seen(
    session: Session,
    session_id: int,
    *,
    at: dt.datetime | None = None,
    resolution: dt.timedelta = SEEN_RESOLUTION,
) -> bool:
    """Set ``last_seen_at`` unless it was set less than ``resolution`` before (the check is in the UPDATE,
    so racing requests write it once); whether it was written."""
    moment = at or utc_now()
    check_aware("Session use", moment)
    result = session.execute(
        update(WebSession)
        .where(WebSession.id == session_id, WebSession.last_seen_at <= moment - resolution)
        .values(last_seen_at=moment)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def prune(session: Session, *, before: dt.datetime) -> int:
    """Forget sign-ins that expired before ``before``; returns how many. A revoked row is kept until
    then too (at most ``KNEEFIX_SESSION_DAYS``), so when a browser was signed out stays on record."""
    result = session.execute(delete(WebSession).where(WebSession.expires_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
