"""Password recovery: an emailed link that works once, for a short while, and signs out every browser.

- The link carries a random token (256 bits); only its SHA-256 is stored (``password_resets``), so a
  copy of the database opens no account. It expires after :data:`RESET_VALID_FOR` and works once; a
  reset (by link or by an administrator, :func:`replace_password`) spends every other link of the
  account.
- The "forgot password" form answers the same whether or not the email has an account. Each request
  is counted per address (whether or not it is an account, so the count says nothing either) and per
  source address with :func:`kneefix.storage.rates.claim`: past the per-address limit nothing more is
  sent, silently; past the per-source limit the form says to wait (that speaks about the caller only).
- The link's address is built from the ``public_url`` setting, never from the request's Host header,
  so nobody can make kneefix email a link to their own server (host-header poisoning).
- Using the link revokes every session of the account (:func:`kneefix.storage.web_sessions.revoke_all`),
  so a browser left signed in elsewhere is signed out at its next request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import quote

from sqlalchemy.orm import Session

from kneefix.errors import InputError
from kneefix.services import audit
from kneefix.services.credentials import check_new_password, hash_password
from kneefix.services.mail import MailError, add_bodies, new_message, send
from kneefix.settings import MailSettings
from kneefix.storage import access, password_resets, rates, users, web_sessions
from kneefix.storage.columns import utc_now
from kneefix.storage.records import UserInfo

log = logging.getLogger("kneefix.mail")

RESET_PATH = "/reset-password"
FORGOT_PATH = "/forgot-password"
RESET_VALID_FOR = dt.timedelta(minutes=45)
RATE_WINDOW = dt.timedelta(hours=1)
PER_ACCOUNT_LIMIT = 3
"""Reset emails per address and :data:`RATE_WINDOW`: enough for a lost email, too few to flood an inbox."""
PER_SOURCE_LIMIT = 20
"""Requests per source address and :data:`RATE_WINDOW` (a clinic's shared network makes several)."""
MAX_TOKEN_LENGTH = 200

INVALID_LINK = (
    "This password-reset link cannot be used: it was already used, it has expired, or a newer one "
    "replaced it. Ask for a new link on the “Forgot your password?” page."
)
SENT_MESSAGE = (
    "If an account has this email address, we have sent it a link to choose a new password. "
    f"The link works once, for {int(RESET_VALID_FOR.total_seconds() // 60)} minutes; "
    "check your spam folder if it does not arrive."
)
TOO_MANY_MESSAGE = (
    "Too many password-reset requests came from your network in the last hour. Wait an hour and try again."
)
NO_MAIL_MESSAGE = (
    "This kneefix server does not send email, so it cannot send a reset link. Ask the clinic's "
    "administrator to reset your password (kneefix users reset-password)."
)


def token_hash(token: str) -> str:
    """What is stored for a link: the SHA-256 of its token, never the token itself."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def reset_url(public_url: str, token: str) -> str:
    """The absolute link, on the configured public address (never the request's Host header)."""
    return f"{public_url.rstrip('/')}{RESET_PATH}?token={quote(token, safe='')}"


def new_reset_link(
    session: Session,
    user: UserInfo,
    *,
    public_url: str,
    ip: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    """A fresh single-use link for the account (its token's hash stored, valid :data:`RESET_VALID_FOR`)."""
    moment = now or utc_now()
    token = secrets.token_urlsafe(32)
    password_resets.add_reset(
        session,
        user.id,
        token_hash=token_hash(token),
        expires_at=moment + RESET_VALID_FOR,
        requested_ip=ip,
        now=moment,
    )
    return reset_url(public_url, token)


@dataclass(frozen=True)
class ResetRequest:
    """What the "forgot password" form did: ``rate_limited`` when the source sent too many requests;
    ``message`` the email to send after the answer (None for an unknown address, or past its limit)."""

    rate_limited: bool = False
    message: EmailMessage | None = None


def request_reset(
    session: Session,
    *,
    email: str,
    ip: str | None,
    mail: MailSettings,
    now: dt.datetime | None = None,
) -> ResetRequest:
    """Count the request and, for an account within its limits, make a link and compose its email.

    The email is composed here and sent by the caller after the transaction commits (the web app sends
    it after answering), so the stored link exists before the email does and the answer takes the same
    time whether or not an email goes out.
    """
    if not mail.enabled or mail.public_url is None:
        return ResetRequest()
    moment = now or utc_now()
    address = email.strip().lower()[:320]
    source = ip or "unknown"
    if not rates.claim(
        session, "reset_source", source, limit=PER_SOURCE_LIMIT, window=RATE_WINDOW, now=moment
    ):
        return ResetRequest(rate_limited=True)
    if not address:
        return ResetRequest()
    if not rates.claim(
        session, "reset_account", address, limit=PER_ACCOUNT_LIMIT, window=RATE_WINDOW, now=moment
    ):
        return ResetRequest()
    user = users.find_user_by_email(session, address)
    if user is None or user.is_local or not user.email:
        return ResetRequest()
    link = new_reset_link(session, user, public_url=mail.public_url, ip=ip, now=moment)
    audit.record(
        session, audit.Actor.anonymous(ip), audit.Action.RESET_LINK_SENT, subject_user_id=user.id, now=moment
    )
    return ResetRequest(message=compose_reset_email(mail, user, link))


def compose_reset_email(mail: MailSettings, user: UserInfo, link: str) -> EmailMessage:
    """The reset email, as text and HTML."""
    context = {
        "name": user.display_name or "there",
        "email": user.email or "",
        "reset_url": link,
        "minutes": int(RESET_VALID_FOR.total_seconds() // 60),
    }
    message = new_message(mail, user.email or "", "Choose a new kneefix password")
    message["Auto-Submitted"] = "auto-generated"
    return add_bodies(message, "password_reset", context)


def compose_changed_email(
    mail: MailSettings, user: UserInfo, *, how: str, when: dt.datetime | None = None
) -> EmailMessage | None:
    """The notice that the account's password was changed (ASVS 2.5.5), or None without email."""
    if not mail.enabled or mail.public_url is None or not user.email:
        return None
    context = {
        "name": user.display_name or "there",
        "email": user.email,
        "how": how,
        "when": (when or utc_now()).astimezone(dt.UTC).strftime("%d %B %Y, %H:%M"),
        "forgot_url": mail.public_url.rstrip("/") + FORGOT_PATH,
    }
    message = new_message(mail, user.email, "Your kneefix password was changed")
    message["Auto-Submitted"] = "auto-generated"
    return add_bodies(message, "password_changed", context)


def send_quietly(mail: MailSettings, message: EmailMessage) -> bool:
    """Send an account email after the answer has gone; a failure is logged (the person only sees
    that no email came, which the answer already allowed for). True when the server took it."""
    try:
        send(mail, message)
    except MailError as error:
        log.warning("an account email was not sent: %s", error)
        return False
    return True


def reset_link_is_live(session: Session, token: str, *, now: dt.datetime | None = None) -> bool:
    """Whether the link can still be used (only reads: the form page shows it before it is used)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return False
    return password_resets.live_reset_user(session, token_hash(token), now=now) is not None


def replace_password(
    session: Session,
    user_id: int,
    new_password: str,
    *,
    recovering: bool = True,
    now: dt.datetime | None = None,
) -> UserInfo:
    """Set a new password (already checked) and sign the account out everywhere: every session
    revoked, every unused reset link spent. Shared by the reset link, the administrator's reset and
    the account page's change.

    ``recovering`` (a reset, by link or by an administrator) also revokes the account's API tokens:
    whoever knew the old password may have made one. A change made by the signed-in owner keeps them.
    """
    moment = now or utc_now()
    user = users.set_password_hash(session, user_id, hash_password(new_password), changed_at=moment)
    password_resets.spend_all(session, user_id, now=moment)
    web_sessions.revoke_all(session, user_id, now=moment)
    if recovering:
        access.delete_all_api_tokens(session, user_id)
    return user


def reset_password(
    session: Session,
    *,
    token: str,
    password: str,
    ip: str | None = None,
    now: dt.datetime | None = None,
) -> UserInfo:
    """Use a reset link: check the new password, spend the link (and the account's others), set the
    password, revoke every session. InputError when the link cannot be used or the password is refused;
    a refused password leaves the link usable, so the person can try another."""
    moment = now or utc_now()
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InputError(INVALID_LINK)
    hashed = token_hash(token)
    user_id = password_resets.live_reset_user(session, hashed, now=moment)
    if user_id is None:
        raise InputError(INVALID_LINK)
    user = users.get_user(session, user_id)
    check_new_password(password, email=user.email)
    if password_resets.use_reset(session, hashed, now=moment) is None:
        raise InputError(INVALID_LINK)
    changed = replace_password(session, user_id, password, now=moment)
    audit.record(
        session, audit.Actor.of(user, ip), audit.Action.RESET_BY_LINK, subject_user_id=user_id, now=moment
    )
    return changed
