"""Accounts: web users (person or clinician) and the implicit local user of the command line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kneefix.errors import InputError, NotFoundError
from kneefix.storage.batches import id_chunks
from kneefix.storage.columns import utc_now
from kneefix.storage.convert import user_info
from kneefix.storage.guards import check_text, require_user
from kneefix.storage.models import ROLES, Profile, User
from kneefix.storage.records import UserInfo

LOCAL_USER = "local"


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding spaces."""
    cleaned = check_text("Email", email, max_length=320, allow_empty=False).lower()
    local, at, domain = cleaned.partition("@")
    if not at or not local or "." not in domain or any(ch.isspace() for ch in cleaned):
        raise InputError(f"{email!r} is not an email address.")
    return cleaned


DISPLAY_NAME_MAX = 200


def check_display_name(display_name: str) -> str:
    """A display name as it is stored (trimmed, plain text, at most :data:`DISPLAY_NAME_MAX`)."""
    return check_text("Display name", display_name, max_length=DISPLAY_NAME_MAX)


def find_local_user_id(session: Session) -> int | None:
    """The command-line user's id, or None before its first write (only reads, for read sessions)."""
    found: int | None = session.scalar(select(User.id).where(User.local_name == LOCAL_USER))
    return found


def local_user_id(session: Session) -> int:
    """The id of this machine's command-line user, created on first use.

    Two programs starting at once on a fresh database both try to create it; the loser of that race
    reads the winner's row instead of failing.
    """
    existing = find_local_user_id(session)
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            user = User(local_name=LOCAL_USER, display_name="This computer", role="person")
            session.add(user)
        return user.id
    except IntegrityError:
        winner = session.scalar(select(User.id).where(User.local_name == LOCAL_USER))
        if winner is None:
            raise
        return winner


def create_user(
    session: Session,
    *,
    email: str,
    password_hash: str,
    display_name: str = "",
    role: str = "person",
) -> UserInfo:
    """A new signed-in account; InputError if the email is taken or the role unknown."""
    if role not in ROLES:
        raise InputError(f"Role must be one of {', '.join(ROLES)}, got {role!r}.")
    address = normalise_email(email)
    name = check_display_name(display_name)
    if session.scalar(select(User.id).where(User.email == address)) is not None:
        raise InputError(f"An account with the email {address} already exists.")
    user = User(email=address, password_hash=password_hash, display_name=name, role=role)
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError as error:
        raise InputError(f"An account with the email {address} already exists.") from error
    return user_info(user)


def get_user(session: Session, user_id: int) -> UserInfo:
    """The account, or NotFoundError."""
    return user_info(require_user(session, user_id))


def users_by_id(session: Session, user_ids: Iterable[int]) -> dict[int, UserInfo]:
    """The accounts with these ids, in one query (ids that are no account are left out)."""
    found: dict[int, UserInfo] = {}
    for chunk in id_chunks(sorted(set(user_ids))):
        found.update(
            (row.id, user_info(row)) for row in session.scalars(select(User).where(User.id.in_(chunk)))
        )
    return found


def find_user_by_email(session: Session, email: str) -> UserInfo | None:
    """The account with this email (any case), or None; never raises for an unknown address."""
    try:
        address = normalise_email(email)
    except InputError:
        return None
    row = session.scalar(select(User).where(User.email == address))
    return None if row is None else user_info(row)


def list_users(session: Session, *, role: str | None = None) -> list[UserInfo]:
    """Signed-in accounts (not the local user), oldest first."""
    query = select(User).where(User.local_name.is_(None)).order_by(User.id)
    if role is not None:
        query = query.where(User.role == role)
    return [user_info(row) for row in session.scalars(query)]


def count_users(session: Session) -> int:
    """How many signed-in accounts exist (the first one may be treated specially by the web app)."""
    return int(session.scalar(select(func.count(User.id)).where(User.local_name.is_(None))) or 0)


def set_password_hash(
    session: Session, user_id: int, password_hash: str, *, changed_at: dt.datetime | None = None
) -> UserInfo:
    """Store a new password hash and when it changed (sessions older than that can be refused)."""
    row = require_user(session, user_id)
    row.password_hash = password_hash
    row.password_changed_at = changed_at or utc_now()
    session.flush()
    return user_info(row)


def update_user(
    session: Session, user_id: int, *, display_name: str | None = None, email: str | None = None
) -> UserInfo:
    """Change the display name and/or email (InputError if the new email is taken)."""
    row = require_user(session, user_id)
    if display_name is not None:
        row.display_name = check_display_name(display_name)
    if email is not None:
        address = normalise_email(email)
        taken = session.scalar(select(User.id).where(User.email == address, User.id != user_id))
        if taken is not None:
            raise InputError(f"An account with the email {address} already exists.")
        row.email = address
    session.flush()
    return user_info(row)


def delete_user(session: Session, user_id: int) -> list[int]:
    """Delete an account and everything it owns; returns the ids of the profiles removed with it.

    The caller removes files kept for those profiles (uploads, analyses) after the commit.
    """
    require_user(session, user_id)
    profile_ids = list(session.scalars(select(Profile.id).where(Profile.user_id == user_id)))
    session.execute(delete(User).where(User.id == user_id))
    session.expunge_all()
    return profile_ids


def require_role(session: Session, user_id: int, role: str) -> UserInfo:
    """The account if it has ``role``; NotFoundError otherwise (no hint that it exists)."""
    row = session.get(User, user_id)
    if row is None or row.role != role:
        raise NotFoundError(f"There is no {role} with id {user_id}.")
    return user_info(row)
