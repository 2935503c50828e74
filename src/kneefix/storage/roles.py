"""Who may do what beyond their role: administrators, and people waiting to become clinicians.

A clinician sees the records people share with them, so nobody becomes one by ticking a box at sign-up:
the account is made as a person with ``requested_role = "clinician"`` and an administrator grants the
role (or declines, which leaves a person account).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kneefix.errors import InputError
from kneefix.storage.convert import user_info
from kneefix.storage.guards import require_user
from kneefix.storage.models import ROLES, User
from kneefix.storage.records import UserInfo


def request_role(session: Session, user_id: int, role: str) -> UserInfo:
    """Note that the account asks for ``role``; it keeps its present role until it is granted."""
    if role not in ROLES:
        raise InputError(f"Role must be one of {', '.join(ROLES)}, got {role!r}.")
    row = require_user(session, user_id)
    row.requested_role = role
    session.flush()
    return user_info(row)


def grant_role(session: Session, user_id: int, role: str) -> UserInfo:
    """Give the account ``role`` and clear any request."""
    if role not in ROLES:
        raise InputError(f"Role must be one of {', '.join(ROLES)}, got {role!r}.")
    row = require_user(session, user_id)
    row.role = role
    row.requested_role = None
    session.flush()
    return user_info(row)


def clear_request(session: Session, user_id: int) -> UserInfo:
    """Drop the account's request (declined); its role stays as it was."""
    row = require_user(session, user_id)
    row.requested_role = None
    session.flush()
    return user_info(row)


def set_admin(session: Session, user_id: int, is_admin: bool) -> UserInfo:
    """Make the account an administrator, or no longer one."""
    row = require_user(session, user_id)
    row.is_admin = is_admin
    session.flush()
    return user_info(row)


def pending_requests(session: Session) -> list[UserInfo]:
    """Signed-in accounts waiting for a role (oldest request first by account age)."""
    query = select(User).where(User.local_name.is_(None), User.requested_role.is_not(None)).order_by(User.id)
    return [user_info(row) for row in session.scalars(query)]


def count_admins(session: Session) -> int:
    """How many administrators there are (the last one cannot be removed by mistake)."""
    return int(session.scalar(select(func.count(User.id)).where(User.is_admin.is_(True))) or 0)


def newest_accounts(session: Session, *, limit: int) -> list[UserInfo]:
    """The ``limit`` most recently made signed-in accounts, newest first (a clinic may have thousands)."""
    query = select(User).where(User.local_name.is_(None)).order_by(User.id.desc()).limit(limit)
    return [user_info(row) for row in session.scalars(query)]
