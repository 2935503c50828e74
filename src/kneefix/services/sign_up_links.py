"""Sign-up by emailed link: with email configured, the sign-up form never says whether an address has
an account (issue 11, ASVS 2.2 / no account enumeration).

- The form (page or API) asks for the address, name and role, never a password, and answers every
  address the same: "check your email". It makes no account and signs nobody in. Only the mailbox's
  owner learns which email came: a new address gets a link to finish creating the account; an address
  that has an account gets "you already have an account: sign in, or reset your password".
- The link is stateless: a token signed with the secret key (itsdangerous, its own salt, so no other
  signed thing of kneefix passes for it) carrying the address, name, requested role, time zone, an
  administrator's clinician invite and the page to go on to, and its expiry
  (:data:`LINK_VALID_FOR`). Nothing is stored until the link is used, so no migration and nothing to
  clean up. It works once because using it makes the account: afterwards (or if the address got an
  account meanwhile) it says the address has an account and makes nothing.
- The link's page asks for the password (:func:`kneefix.services.credentials.check_new_password`), then
  the account is made through :func:`kneefix.services.accounts.sign_up`, so a clinician still only
  *requests* the role, unless the link carries a valid invite for this address
  (:func:`kneefix.services.admin.accept_invite`).
- The form is counted per source (bucket ``sign_up``, ``KNEEFIX_SIGNUP_PER_HOUR``, shared with direct
  sign-up: past it the form says to wait, which speaks about the caller only) and per address (bucket
  ``sign_up_email``, :data:`PER_ADDRESS_LIMIT` an hour, new or taken alike, so the count says
  nothing): past the address's limit nothing more is sent, silently. The email is composed here and
  sent by the caller after the answer, so both answers take the same time.
- The link is built on ``public_url`` (``KNEEFIX_PUBLIC_URL``), never the request's Host header.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import quote

from sqlalchemy.orm import Session

from kneefix.errors import InputError
from kneefix.programme.clock import parse_time_zone
from kneefix.services import accounts, admin, profiles, signed_links
from kneefix.services.mail import add_bodies, new_message
from kneefix.services.recovery import FORGOT_PATH
from kneefix.settings import MailSettings
from kneefix.storage import rates, users
from kneefix.storage.columns import utc_now
from kneefix.storage.records import UserInfo

FINISH_PATH = "/signup/finish"
SENT_PATH = "/signup/sent"
LINK_VALID_FOR = dt.timedelta(hours=24)
RATE_WINDOW = dt.timedelta(hours=1)
ADDRESS_BUCKET = "sign_up_email"
PER_ADDRESS_LIMIT = 3
"""Sign-up emails per address and :data:`RATE_WINDOW` (new or taken alike): enough for a lost email,
too few to flood an inbox."""
MAX_TOKEN_LENGTH = 4000
MAX_NEXT_LENGTH = 500
_SALT = "kneefix.sign-up-link.v1"

SENT_MESSAGE = (
    "Check your email: we sent a link to finish creating your account. It works for "
    f"{int(LINK_VALID_FOR.total_seconds() // 3600)} hours; if no email arrives, check your spam folder."
)
INVALID_LINK = (
    "This sign-up link cannot be used: it has expired or it is not complete. Sign up again to get a new one."
)
ADDRESS_HAS_ACCOUNT = (
    "This email address already has a kneefix account, so no new account was made. Sign in, or reset "
    "your password if you have forgotten it."
)


class UnusableLinkError(InputError):
    """A sign-up link that makes nothing: forged, damaged or expired, or (``taken``) its address
    already has an account. Its holder opened the emailed link, so saying which is no leak."""

    def __init__(self, message: str, *, taken: bool = False) -> None:
        super().__init__(message)
        self.taken = taken


@dataclass(frozen=True)
class SignUpLink:
    """What a sign-up link carries: the details typed on the form (checked), never a password."""

    email: str
    display_name: str = ""
    role: str = "person"
    time_zone: str | None = None
    invite: str = ""
    next: str = ""


@dataclass(frozen=True)
class LinkRequest:
    """What the form did: ``rate_limited`` when the source sent too many sign-ups; ``message`` the
    email to send after the answer (None past the address's limit)."""

    rate_limited: bool = False
    message: EmailMessage | None = None


def link_token(secret_key: str, details: SignUpLink, *, now: dt.datetime | None = None) -> str:
    """The signed token of a link for ``details``, valid :data:`LINK_VALID_FOR` from ``now``."""
    payload = {
        "e": details.email,
        "n": details.display_name,
        "r": details.role,
        "z": details.time_zone or "",
        # a longer one is no invite (admin.read_invite refuses it): left out of the link
        "i": details.invite if len(details.invite) <= admin.MAX_INVITE_LENGTH else "",
        "u": details.next if len(details.next) <= MAX_NEXT_LENGTH else "",
    }
    return signed_links.sign(secret_key, _SALT, payload, valid_for=LINK_VALID_FOR, now=now)


def read_link(secret_key: str, token: str, *, now: dt.datetime | None = None) -> SignUpLink | None:
    """What a token carries, or None when it is forged, damaged or expired (only checks the token)."""
    raw = signed_links.read(secret_key, _SALT, token, max_length=MAX_TOKEN_LENGTH, now=now)
    if raw is None:
        return None
    try:
        return SignUpLink(
            email=str(raw["e"]),
            display_name=str(raw["n"]),
            role=str(raw["r"]),
            time_zone=str(raw["z"]) or None,
            invite=str(raw["i"]),
            next=str(raw["u"]),
        )
    except KeyError:
        return None


def finish_url(public_url: str, token: str) -> str:
    """The absolute link, on the configured public address (never the request's Host header)."""
    return f"{public_url.rstrip('/')}{FINISH_PATH}?token={quote(token, safe='')}"


def request_sign_up(
    db: Session,
    *,
    email: str,
    display_name: str = "",
    role: str = "person",
    time_zone: str = "",
    invite: str = "",
    next: str = "",
    ip: str | None,
    per_hour: int,
    mail: MailSettings,
    secret_key: str,
    now: dt.datetime | None = None,
) -> LinkRequest:
    """Check the form, count it, and compose the email that answers it (sent by the caller after the
    response): a link to finish for a new address, "you already have an account" for a taken one.

    InputError for a mistake in the form, before anything is counted; the same for any address.
    """
    if not mail.enabled or mail.public_url is None:
        raise RuntimeError("sign-up by email needs KNEEFIX_SMTP_HOST and KNEEFIX_PUBLIC_URL")
    moment = now or utc_now()
    address = accounts.check_sign_up_details(email=email, role=role, display_name=display_name)
    zone = parse_time_zone(time_zone)
    if not accounts.claim_sign_up(db, ip, per_hour=per_hour, now=moment):
        return LinkRequest(rate_limited=True)
    if not rates.claim(db, ADDRESS_BUCKET, address, limit=PER_ADDRESS_LIMIT, window=RATE_WINDOW, now=moment):
        return LinkRequest()
    owner = users.find_user_by_email(db, address)
    if owner is not None:
        return LinkRequest(message=compose_taken_email(mail, owner))
    details = SignUpLink(
        email=address,
        display_name=display_name.strip(),
        role=role,
        time_zone=zone,
        invite=invite.strip(),
        next=next.strip(),
    )
    link = finish_url(mail.public_url, link_token(secret_key, details, now=moment))
    return LinkRequest(message=compose_link_email(mail, details, link))


def compose_link_email(mail: MailSettings, details: SignUpLink, link: str) -> EmailMessage:
    """The email to a new address: the link to choose a password and finish."""
    context = {
        "name": details.display_name or "there",
        "email": details.email,
        "finish_url": link,
        "hours": int(LINK_VALID_FOR.total_seconds() // 3600),
        "clinician": details.role == "clinician",
    }
    message = new_message(mail, details.email, "Finish creating your kneefix account")
    message["Auto-Submitted"] = "auto-generated"
    return add_bodies(message, "sign_up_link", context)


def compose_taken_email(mail: MailSettings, owner: UserInfo) -> EmailMessage:
    """The email to an address that has an account: sign in, or reset the password (nothing made)."""
    base = (mail.public_url or "").rstrip("/")
    context = {
        "name": owner.display_name or "there",
        "email": owner.email or "",
        "signin_url": f"{base}/signin",
        "forgot_url": f"{base}{FORGOT_PATH}",
    }
    message = new_message(mail, owner.email or "", "You already have a kneefix account")
    message["Auto-Submitted"] = "auto-generated"
    return add_bodies(message, "sign_up_taken", context)


def check_link(db: Session, secret_key: str, token: str, *, now: dt.datetime | None = None) -> SignUpLink:
    """The link's details when it can still make an account; UnusableLinkError otherwise (only reads,
    so the link's page can show it before it is used)."""
    details = read_link(secret_key, token, now=now)
    if details is None:
        raise UnusableLinkError(INVALID_LINK)
    if users.find_user_by_email(db, details.email) is not None:
        raise UnusableLinkError(ADDRESS_HAS_ACCOUNT, taken=True)
    return details


def finish_sign_up(
    db: Session,
    secret_key: str,
    token: str,
    *,
    password: str,
    ip: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[UserInfo, SignUpLink]:
    """Use a link: make the account with this password (the password rules apply: InputError, and the
    link stays usable), as :func:`settle_new_account` leaves it. UnusableLinkError when the link cannot
    be used, or the address got an account in the meantime (nothing is made)."""
    details = check_link(db, secret_key, token, now=now)
    try:
        user = accounts.sign_up(
            db, email=details.email, password=password, display_name=details.display_name, role=details.role
        )
    except accounts.EmailTakenError:  # made by another request between the check and now
        raise UnusableLinkError(ADDRESS_HAS_ACCOUNT, taken=True) from None
    settled = settle_new_account(
        db, secret_key, user, invite=details.invite, time_zone=details.time_zone, ip=ip
    )
    return settled, details


def settle_new_account(
    db: Session,
    secret_key: str,
    user: UserInfo,
    *,
    invite: str = "",
    time_zone: str | None = None,
    ip: str | None = None,
) -> UserInfo:
    """What follows a new account, made at once or by link: an administrator's clinician invite for
    its address approves it; a person's time zone is kept."""
    if invite and user.requested_role == "clinician":
        user = admin.accept_invite(db, secret_key, invite, user, ip=ip)
    if user.role == "person" and time_zone is not None:
        profiles.set_time_zone(db, accounts.person_profile(db, user.id).id, time_zone)
    return user
