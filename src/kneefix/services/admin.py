"""Administration: who is a clinician, who is an administrator, and passwords set by an administrator.

A clinician reads the records people share with them, so the role is never self-service: signing up as
a clinician makes a person account that asks for the role (``requested_role``), and an administrator
approves or declines it, on ``/admin`` or with ``kneefix users approve``. An administrator may also
invite a clinician by email: the invite is a signed, expiring link bound to that address, so signing up
with it is approved at once (and it works once: the address then has an account).

Each approval, decline, invitation and administrator's password reset is written to the audit log in
the same transaction as the change. ``actor`` is the signed-in administrator, or None for the command
line (someone with a shell on the server, who can read the database anyway).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import quote

from sqlalchemy.orm import Session

from kneefix.errors import InputError, NotFoundError
from kneefix.services import accounts, audit, signed_links
from kneefix.services.credentials import check_new_password
from kneefix.services.mail import add_bodies, new_message
from kneefix.services.recovery import new_reset_link, replace_password
from kneefix.settings import MailSettings
from kneefix.storage import roles, users
from kneefix.storage.records import UserInfo

CLI_ACTOR = audit.Actor.cli("kneefix users (command line)")
INVITE_VALID_FOR = dt.timedelta(days=7)
INVITE_PATH = "/signup"
_INVITE_SALT = "kneefix.clinician-invite.v1"
MAX_INVITE_LENGTH = 1000
"""Longer is no invite."""
WAITING_FOR_APPROVAL = (
    "Your account is made. A clinician account must be approved by this clinic's administrator before "
    "it can follow people; until then it works as a person's account."
)


def _actor(actor: UserInfo | None, ip: str | None = None) -> audit.Actor:
    """Who acted: the command line's operator, or a signed-in administrator."""
    if actor is None:
        return CLI_ACTOR
    return audit.Actor.of(actor, ip, role="admin" if actor.is_admin else None)


def account_by_email(session: Session, email: str) -> UserInfo:
    """The signed-in account with this email; NotFoundError (not a traceback) for anything else."""
    user = users.find_user_by_email(session, email)
    if user is None or user.is_local:
        raise NotFoundError(f"There is no account with the email {email.strip()!r}.")
    return user


def _account(session: Session, user_id: int) -> UserInfo:
    user = users.get_user(session, user_id)
    if user.is_local:
        raise NotFoundError(f"There is no user with id {user_id}.")
    return user


# ----- accounts ------------------------------------------------------------------------------------


def add_account(
    session: Session,
    *,
    email: str,
    password: str,
    display_name: str = "",
    clinician: bool = False,
    admin: bool = False,
) -> UserInfo:
    """An account made by an administrator on the command line: a clinician is approved at once, and
    ``admin`` makes it an administrator (the first step of a clinic's install)."""
    role = "clinician" if clinician else "person"
    try:
        user = accounts.sign_up(
            session, email=email, password=password, display_name=display_name, role=role, approved=True
        )
    except accounts.EmailTakenError:
        # The operator may know: the neutral sign-up answer is for strangers on the sign-up page.
        raise InputError(f"An account with the email {email.strip().lower()} already exists.") from None
    if admin:
        user = roles.set_admin(session, user.id, True)
    role = "admin" if user.is_admin else user.role
    audit.record(session, CLI_ACTOR, "admin.account_created", subject_user_id=user.id, detail={"role": role})
    return user


def list_accounts(session: Session) -> list[UserInfo]:
    """Every signed-in account, oldest first."""
    return users.list_users(session)


ACCOUNTS_SHOWN = 200
"""How many accounts the admin page lists (the newest); ``kneefix users list`` shows them all."""


def newest_accounts(session: Session) -> tuple[list[UserInfo], int]:
    """The newest :data:`ACCOUNTS_SHOWN` accounts, newest first, and how many there are in all."""
    return roles.newest_accounts(session, limit=ACCOUNTS_SHOWN), users.count_users(session)


def pending_clinicians(session: Session) -> list[UserInfo]:
    """Accounts that asked to be clinicians and wait for an administrator."""
    return [user for user in roles.pending_requests(session) if user.requested_role == "clinician"]


def approve_clinician(
    session: Session, user_id: int, *, actor: UserInfo | None, ip: str | None = None
) -> UserInfo:
    """Grant the clinician role an account asked for; InputError when it did not ask."""
    user = _account(session, user_id)
    if user.requested_role != "clinician":
        raise InputError(f"{user.email} has not asked to be a clinician, so there is nothing to approve.")
    approved = roles.grant_role(session, user.id, "clinician")
    audit.record(session, _actor(actor, ip), "admin.clinician_approved", subject_user_id=user.id)
    return approved


def decline_clinician(
    session: Session, user_id: int, *, actor: UserInfo | None, ip: str | None = None
) -> UserInfo:
    """Refuse the request; the account stays a person account (it can still follow a plan)."""
    user = _account(session, user_id)
    if user.requested_role != "clinician":
        raise InputError(f"{user.email} has not asked to be a clinician, so there is nothing to decline.")
    declined = roles.clear_request(session, user.id)
    audit.record(session, _actor(actor, ip), "admin.clinician_declined", subject_user_id=user.id)
    return declined


def set_admin(session: Session, email: str, is_admin: bool) -> UserInfo:
    """Make an account an administrator or no longer one (command line only); the last administrator
    is not removed, so the approvals page always has someone who can open it."""
    user = account_by_email(session, email)
    if not is_admin and user.is_admin and roles.count_admins(session) <= 1:
        raise InputError(f"{user.email} is the only administrator; make another one first.")
    changed = roles.set_admin(session, user.id, is_admin)
    action = "admin.admin_granted" if is_admin else "admin.admin_removed"
    audit.record(session, CLI_ACTOR, action, subject_user_id=user.id)
    return changed


# ----- passwords ----------------------------------------------------------------------------------


def set_password(session: Session, email: str, password: str, *, actor: UserInfo | None = None) -> UserInfo:
    """An administrator sets the account's password (told to its owner by a channel they trust):
    every session of the account is revoked and every reset link spent."""
    user = account_by_email(session, email)
    check_new_password(password, email=user.email)
    changed = replace_password(session, user.id, password)
    audit.record(
        session, _actor(actor), "admin.password_reset", subject_user_id=user.id, detail={"via": "set"}
    )
    return changed


def reset_link(session: Session, email: str, *, public_url: str | None, actor: UserInfo | None = None) -> str:
    """A one-time reset link for the administrator to pass on (when the server sends no email)."""
    if not public_url:
        raise InputError(
            "a reset link needs KNEEFIX_PUBLIC_URL (the address people open kneefix at); "
            "or set the password yourself: kneefix users reset-password EMAIL."
        )
    user = account_by_email(session, email)
    link = new_reset_link(session, user, public_url=public_url)
    audit.record(
        session, _actor(actor), "admin.password_reset", subject_user_id=user.id, detail={"via": "link"}
    )
    return link


# ----- invites ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invite:
    """A valid invite: the address it is for and the administrator who sent it."""

    email: str
    invited_by: int


def invite_token(secret_key: str, email: str, *, invited_by: int, now: dt.datetime | None = None) -> str:
    """A signed invite for ``email``, valid :data:`INVITE_VALID_FOR` (nothing is stored)."""
    payload = {"e": users.normalise_email(email), "b": invited_by}
    return signed_links.sign(secret_key, _INVITE_SALT, payload, valid_for=INVITE_VALID_FOR, now=now)


def read_invite(secret_key: str, token: str, *, now: dt.datetime | None = None) -> Invite | None:
    """The invite a token carries, or None when it is forged, damaged or expired."""
    data = signed_links.read(secret_key, _INVITE_SALT, token, max_length=MAX_INVITE_LENGTH, now=now)
    if data is None:
        return None
    try:
        return Invite(str(data["e"]), int(data["b"]))
    except (KeyError, TypeError, ValueError):
        return None


def invite_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}{INVITE_PATH}?invite={quote(token, safe='')}"


def invite_clinician(
    session: Session,
    secret_key: str,
    email: str,
    *,
    actor: UserInfo,
    public_url: str | None,
    ip: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    """An invite link for a clinician (absolute on ``public_url``, else a path to pass on as it is);
    InputError when the address already has an account (it would never be usable)."""
    address = users.normalise_email(email)
    if users.find_user_by_email(session, address) is not None:
        raise InputError(
            f"{address} already has an account; approve it on this page if it asked to be a clinician."
        )
    token = invite_token(secret_key, address, invited_by=actor.id, now=now)
    audit.record(session, _actor(actor, ip), "admin.clinician_invited")
    return invite_url(public_url or "", token)


def compose_invite_email(mail: MailSettings, email: str, link: str, inviter: UserInfo) -> EmailMessage:
    context = {
        "email": email,
        "invite_url": link,
        "inviter": inviter.display_name or inviter.email or "An administrator",
        "days": INVITE_VALID_FOR.days,
    }
    message = new_message(mail, email, "You are invited to kneefix as a clinician")
    message["Auto-Submitted"] = "auto-generated"
    return add_bodies(message, "clinician_invite", context)


def accept_invite(
    session: Session, secret_key: str, token: str, user: UserInfo, *, ip: str | None = None
) -> UserInfo:
    """Approve a just-made account as a clinician when its invite is valid and names its address;
    otherwise the account keeps waiting for approval (unchanged)."""
    invite = read_invite(secret_key, token)
    if invite is None or user.email != invite.email or user.requested_role != "clinician":
        return user
    approved = roles.grant_role(session, user.id, "clinician")
    inviter = audit.Actor(invite.invited_by, "admin", "", ip)
    audit.record(
        session, inviter, "admin.clinician_approved", subject_user_id=user.id, detail={"via": "invite"}
    )
    return approved
