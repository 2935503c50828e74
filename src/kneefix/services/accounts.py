"""Accounts for the web app: sign up, sign in (rate-limited), passwords, API tokens, deletion.

Pages and the JSON API both call these functions, so the rules live once: what a valid password is,
how many failed sign-ins are allowed, that a person's account always has exactly one coaching profile,
and that deleting an account removes its files (uploaded videos, analyses) as well as its rows.

All functions take a SQLAlchemy ``Session`` inside the caller's transaction; none of them prints or
prompts. Security primitives (argon2, token hashing, password rules) come from
:mod:`kneefix.services.credentials`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from kneefix.errors import InputError, NotFoundError
from kneefix.services import audit, recovery, uploads
from kneefix.services.credentials import (
    check_new_password,
    dummy_verify,
    hash_api_token,
    hash_password,
    hash_session_token,
    new_api_token,
    new_session_token,
    password_needs_rehash,
    verify_password,
)
from kneefix.settings import Settings
from kneefix.storage import access, profiles, rates, roles, users, web_sessions
from kneefix.storage import export as export_store
from kneefix.storage.columns import utc_now
from kneefix.storage.db import own_transaction, writes_beside
from kneefix.storage.files import FileStore
from kneefix.storage.records import ApiTokenInfo, ProfileInfo, UserInfo
from kneefix.storage.web_sessions import WebSessionInfo

PERSON_PROFILE = "default"
ROLES = ("person", "clinician")
WRONG_CREDENTIALS = "That email and password do not match an account. Check both and try again."


@dataclass(frozen=True)
class SignInOutcome:
    """The result of a sign-in try; it never raises, so the caller's transaction keeps the attempt."""

    user: UserInfo | None
    error: str | None = None
    rate_limited: bool = False
    retry_after_s: float = 0.0


# ----- sign up and sign in ----------------------------------------------------------------------


def check_sign_up_details(*, email: str, role: str, display_name: str = "") -> str:
    """The checks of a sign-up form that need neither the database nor a password (so they run before
    it is rate-counted, and a sign-up by emailed link makes them before it sends anything); returns
    the address as it is stored."""
    if role not in ROLES:
        raise InputError("Choose whether you are a person with a sore knee or a clinician.")
    if not email.strip():
        raise InputError("Enter your email address.")
    address = users.normalise_email(email)
    users.check_display_name(display_name)
    return address


def _check_sign_up(*, email: str, password: str, role: str, display_name: str = "") -> None:
    """Every check of a sign-up form that needs no database: the details, then the password rules."""
    check_sign_up_details(email=email, role=role, display_name=display_name)
    check_new_password(password, email=email)


def claim_sign_up(db: Session, ip: str | None, *, per_hour: int, now: dt.datetime | None = None) -> bool:
    """Count one sign-up from ``ip`` if it sent fewer than ``per_hour`` in the last hour (bucket
    ``sign_up``), in a short transaction of its own, so a refused try still counts. Shared by direct
    sign-up (:func:`register`) and sign-up by emailed link (:mod:`kneefix.services.sign_up_links`)."""
    with own_transaction(db) as claim:
        return rates.claim(
            claim, SIGN_UP_BUCKET, ip or "unknown", limit=per_hour, window=SIGN_UP_WINDOW, now=now
        )


def sign_up(
    db: Session,
    *,
    email: str,
    password: str,
    display_name: str = "",
    role: str = "person",
    approved: bool = False,
) -> UserInfo:
    """Create an account (and, for a person, their coaching profile); InputError says what to fix.

    Nobody makes themselves a clinician: unless ``approved`` (an administrator's own command), asking
    for the role makes a person account that waits for an administrator (:mod:`kneefix.services.admin`).
    An email that has an account raises :class:`EmailTakenError`, whose message does not say so:
    pages and the API answer it through :func:`register`, which keeps the answer neutral.
    """
    _check_sign_up(email=email, password=password, role=role, display_name=display_name)
    with own_transaction(db) as probe:  # a short look of its own: the hashing below holds no lock
        taken = users.find_user_by_email(probe, email) is not None
    if taken:
        raise EmailTakenError(NEUTRAL_SIGN_UP_REFUSAL)
    password_hash = hash_password(password)
    requested = role if role == "clinician" and not approved else None
    try:
        user = users.create_user(
            db,
            email=email,
            password_hash=password_hash,
            display_name=display_name.strip(),
            role="person" if requested else role,
        )
    except InputError:
        if users.find_user_by_email(db, email) is not None:  # made meanwhile by a request beside this one
            raise EmailTakenError(NEUTRAL_SIGN_UP_REFUSAL) from None
        raise
    if requested:
        return roles.request_role(db, user.id, requested)
    if role == "person":
        profiles.get_or_create_profile(db, PERSON_PROFILE, user_id=user.id)
    return user


def find_account(db: Session, email: str) -> UserInfo | None:
    return users.find_user_by_email(db, email)


NEUTRAL_SIGN_UP_REFUSAL = (
    "We could not create an account with these details. If you already have an account, sign in "
    "(or reset your password if you have forgotten it)."
)
SIGN_UP_RATE_LIMITED = (
    "Too many sign-ups from your network in the last hour. For everyone's safety, try again later."
)
SIGN_UP_BUCKET = "sign_up"
SIGN_UP_WINDOW = dt.timedelta(hours=1)


class EmailTakenError(InputError):
    """A sign-up for an email that has an account; its message never says so (no enumeration)."""


@dataclass(frozen=True)
class SignUpOutcome:
    """What a direct sign-up form led to.

    ``user`` is the new account, or the existing one when the email had an account and the password
    was its right one (the same form sent twice: that simply signs in, as a rate-limited sign-in);
    then ``existing`` is True. ``refused`` is the neutral answer for a taken email with any other
    password; ``rate_limited`` means the source sent too many sign-ups this hour. Errors in the form
    itself raise InputError instead.
    """

    user: UserInfo | None
    existing: bool = False
    refused: bool = False
    rate_limited: bool = False
    message: str = ""


def register(
    db: Session,
    *,
    email: str,
    password: str,
    display_name: str = "",
    role: str = "person",
    ip: str | None,
    per_hour: int,
    sign_in_limits: SignInLimits | None = None,
    sign_in_if_taken: bool = True,
    now: dt.datetime | None = None,
) -> SignUpOutcome:
    """Sign up at once from a page or the API when this server sends no email, rate-limited per
    source and without saying whether the email has an account.

    The form is checked first (a typo costs no sign-up); then the try is counted for ``ip``
    (:func:`claim_sign_up`); then the account is made. A taken email costs one argon2 operation like a
    new account (a sign-in with the password, or a dummy check), and is answered with a neutral
    message. What follows still differs (a new account is signed in): without an emailed link that
    cannot be hidden, only slowed by the per-source limit. With email configured the pages and the API
    use :func:`kneefix.services.sign_up_links.request_sign_up` instead, which answers both the same.
    """
    moment = now or utc_now()
    _check_sign_up(email=email, password=password, role=role, display_name=display_name)
    if not claim_sign_up(db, ip, per_hour=per_hour, now=moment):
        dummy_verify()
        return SignUpOutcome(None, rate_limited=True, message=SIGN_UP_RATE_LIMITED)
    try:
        return SignUpOutcome(
            sign_up(db, email=email, password=password, display_name=display_name, role=role)
        )
    except EmailTakenError:
        pass
    if sign_in_if_taken:
        outcome = sign_in(db, email=email, password=password, ip=ip, limits=sign_in_limits, now=moment)
        if outcome.user is not None:
            return SignUpOutcome(outcome.user, existing=True)
        if outcome.rate_limited:
            dummy_verify()  # a refused sign-in checks no password: spend the time anyway
    else:
        dummy_verify()
    return SignUpOutcome(None, refused=True, message=NEUTRAL_SIGN_UP_REFUSAL)


@dataclass(frozen=True)
class SignInLimits:
    """How failed sign-ins are slowed down, per (account, source) pair, per account and per source.

    - ``max_failures`` failures for one account from one address within ``window_s`` block that pair
      until the window has passed: an attacker hammering an account from one address is stopped.
    - Past ``max_failures`` failures for one account from all addresses together (since its last
      successful sign-in, within the window), each further try must wait after the last failure,
      doubling from ``backoff_base_s`` up to ``backoff_cap_s``: many addresses guessing together get
      about one try a minute, and the owner, from their own address, gets in after at most that wait.
    - Past ``source_free_failures`` failures from one address (any accounts, within the window), the
      same doubling wait applies to that address: a shared network (an office, a mobile carrier) is
      slowed, never locked out for the window, and credential stuffing from one address gets about one
      try a minute.

    Refused tries are not counted, so hammering while refused neither extends the wait nor blocks the
    owner for longer. :meth:`from_settings` takes the numbers from ``KNEEFIX_SIGNIN_*``.
    """

    max_failures: int = 5
    window_s: int = 900
    source_free_failures: int = 20
    backoff_base_s: float = 2.0
    backoff_cap_s: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SignInLimits:
        return cls(
            max_failures=settings.signin_max_failures,
            window_s=settings.signin_window_s,
            source_free_failures=settings.signin_source_free_failures,
            backoff_base_s=settings.signin_backoff_base_s,
            backoff_cap_s=settings.signin_backoff_cap_s,
        )

    def backoff_s(self, failures: int, free: int) -> float:
        """The wait after the last failure once ``failures`` reached ``free`` (0 before)."""
        if failures < free:
            return 0.0
        return min(self.backoff_cap_s, self.backoff_base_s * 2.0 ** min(failures - free, 30))


def _wait_message(seconds: float) -> str:
    if seconds >= 90:
        wait = f"{max(1, round(seconds / 60))} minutes"
    else:
        whole = max(1, int(-(-seconds // 1)))
        wait = f"{whole} second{'s' if whole != 1 else ''}"
    return f"Too many failed sign-ins. For your safety, wait {wait} and try again."


def _sign_in_wait(
    claim: Session, *, address: str, ip: str | None, moment: dt.datetime, limits: SignInLimits
) -> float:
    """How long this try must still wait (0: it may go ahead), by the rules of :class:`SignInLimits`."""
    since = moment - dt.timedelta(seconds=limits.window_s)
    waits: list[float] = []
    if address:
        if ip is not None:
            pair = access.failed_logins(claim, since=since, email=address, ip=ip)
            if pair.count >= limits.max_failures and pair.first_at is not None:
                waits.append((pair.first_at - since).total_seconds())
        last_ok = access.last_good_login(claim, email=address)
        account = access.failed_logins(claim, since=max(since, last_ok or since), email=address)
        waits.append(_left(account, limits.backoff_s(account.count, limits.max_failures), moment))
    if ip is not None:
        source = access.failed_logins(claim, since=since, ip=ip)
        waits.append(_left(source, limits.backoff_s(source.count, limits.source_free_failures), moment))
    return max(waits, default=0.0)


def _left(failures: access.FailedLogins, backoff_s: float, moment: dt.datetime) -> float:
    if backoff_s <= 0 or failures.last_at is None:
        return 0.0
    return max(0.0, backoff_s - (moment - failures.last_at).total_seconds())


def sign_in(
    db: Session,
    *,
    email: str,
    password: str,
    ip: str | None,
    limits: SignInLimits | None = None,
    now: dt.datetime | None = None,
) -> SignInOutcome:
    """Check email and password, counting failures in the database and slowing them down by
    ``limits`` (:class:`SignInLimits`).

    The same message is given for an unknown email and a wrong password, and both take the same time.
    Each try is claimed first, counted as a failure until its password proves right, in one short
    atomic transaction: twenty tries at once check at most ``max_failures`` passwords. The password is
    checked outside any write transaction, so sign-ins do not queue behind each other's hashing.
    """
    rules = limits or SignInLimits()
    moment = now or utc_now()
    address = email.strip().lower()
    with own_transaction(db) as claim:
        access.serialise_sign_in_claims(claim)
        wait = _sign_in_wait(claim, address=address, ip=ip, moment=moment, limits=rules)
        if wait > 0:
            return SignInOutcome(None, _wait_message(wait), rate_limited=True, retry_after_s=wait)
        attempt = access.record_login_attempt(claim, email=address or None, ip=ip, ok=False, at=moment)
        user = users.find_user_by_email(claim, address) if address else None
    if user is None or user.is_local:
        dummy_verify()
        return SignInOutcome(None, WRONG_CREDENTIALS)
    if not verify_password(user.password_hash, password):
        return SignInOutcome(None, WRONG_CREDENTIALS)
    new_hash = (
        hash_password(password) if user.password_hash and password_needs_rehash(user.password_hash) else None
    )
    with own_transaction(db) as writer:
        access.mark_login_ok(writer, attempt)
        if new_hash is not None:
            user = users.set_password_hash(writer, user.id, new_hash, changed_at=user.password_changed_at)
    return SignInOutcome(user)


# ----- signed-in browsers (server-side sessions) ---------------------------------------------------


@dataclass(frozen=True)
class WebSignIn:
    """What a browser's session token names: the account and its session row; ``expired`` when the
    token named a sign-in that ran out (so a form sent then can be kept for after signing in again)."""

    user: UserInfo | None
    session: WebSessionInfo | None = None
    expired: bool = False


def start_web_session(
    db: Session,
    user_id: int,
    *,
    days: int,
    user_agent: str = "",
    ip: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    """Record a new signed-in browser; returns the token for its cookie (only the hash is stored).

    Rows that expired over a day ago are pruned here, so the table holds at most a sign-in period's.
    """
    moment = now or utc_now()
    web_sessions.prune(db, before=moment - dt.timedelta(days=1))
    token, token_hash = new_session_token()
    web_sessions.create(
        db,
        user_id,
        token_hash=token_hash,
        expires_at=moment + dt.timedelta(days=days),
        user_agent=user_agent,
        ip=ip,
        now=moment,
    )
    return token


def user_for_web_session(
    db: Session, user_id: int, token: str, *, now: dt.datetime | None = None
) -> WebSignIn:
    """The account a browser's cookie names, if its session row is live (unrevoked, unexpired) and
    belongs to that account. Only reads: :func:`note_web_session_seen` records the visit."""
    if not token:
        return WebSignIn(None)
    moment = now or utc_now()
    found = web_sessions.find(db, hash_session_token(token))
    if found is None:
        return WebSignIn(None)
    info, user = found
    if info.user_id != user_id or user.is_local or info.revoked_at is not None:
        return WebSignIn(None)
    if info.expires_at <= moment:
        return WebSignIn(None, expired=True)
    return WebSignIn(user, info)


def web_session_seen_is_stale(info: WebSessionInfo, now: dt.datetime) -> bool:
    """Whether the browser's "last seen" is old enough to be written again (at most once a minute)."""
    return web_sessions.seen_is_stale(info, now)


def note_web_session_seen(db: Session, session_id: int, now: dt.datetime) -> bool:
    """Record that a browser was seen at ``now`` (skipped when recorded under a minute before), beside
    a GET's read session when ``db`` is one (:func:`~kneefix.storage.db.writes_beside`)."""
    with writes_beside(db) as writer:
        return web_sessions.note_seen(writer, session_id, at=now)


def end_web_session(db: Session, token: str) -> bool:
    """Sign a browser out for good: its session row is revoked, so a copy of the cookie is refused."""
    return bool(token) and web_sessions.revoke(db, hash_session_token(token))


def list_web_sessions(db: Session, user_id: int) -> list[WebSessionInfo]:
    """The account's signed-in browsers, most recently seen first."""
    return web_sessions.list_live(db, user_id)


def sign_out_browser(db: Session, user_id: int, session_id: int) -> None:
    """Sign out one of the account's browsers (NotFoundError if it is not this account's)."""
    web_sessions.revoke_one(db, user_id, session_id)


def sign_out_everywhere(db: Session, user_id: int) -> int:
    """Sign out every browser of the account, this one included; returns how many were signed in."""
    return web_sessions.revoke_all(db, user_id)


def person_profile(db: Session, user_id: int) -> ProfileInfo:
    """The one coaching profile of a person's account (made if it is missing).

    Read on every request; the rare re-creation happens beside a GET's read session
    (:func:`~kneefix.storage.db.writes_beside`), so a page view only writes when there is no profile.
    """
    try:
        return profiles.find_profile(db, PERSON_PROFILE, user_id=user_id)
    except NotFoundError:
        with writes_beside(db) as writer:
            return profiles.get_or_create_profile(writer, PERSON_PROFILE, user_id=user_id)


# ----- passwords ---------------------------------------------------------------------------------


def change_password(db: Session, user_id: int, *, current: str, new: str) -> UserInfo:
    """Replace the password after checking the current one; every signed-in browser is signed out
    (the web route signs the browser that asked in again with a fresh session)."""
    user = users.get_user(db, user_id)
    if not verify_password(user.password_hash, current):
        raise InputError("Your current password is not right, so the password was not changed.")
    check_new_password(new, email=user.email or "")
    if current == new:
        raise InputError("The new password is the same as the current one; choose a different one.")
    return recovery.replace_password(db, user_id, new, recovering=False)


# ----- API tokens --------------------------------------------------------------------------------


def create_api_token(db: Session, user_id: int, name: str) -> tuple[str, ApiTokenInfo]:
    """A new token for an API client: returns the token (shown once, never stored) and its record."""
    label = name.strip() or "API client"
    token, token_hash = new_api_token()
    return token, access.add_api_token(db, user_id, name=label[:100], token_hash=token_hash)


def list_api_tokens(db: Session, user_id: int) -> list[ApiTokenInfo]:
    return access.list_api_tokens(db, user_id)


def revoke_api_token(db: Session, user_id: int, token_id: int) -> None:
    """Delete one of the user's tokens; another user's token id is simply "not found"."""
    access.delete_api_token(db, user_id, token_id)


def api_token_owner(
    db: Session, token: str, *, now: dt.datetime | None = None
) -> tuple[UserInfo, ApiTokenInfo] | None:
    """The owner of a Bearer token and the token's record, or None when unknown, expired or revoked.

    Only reads, so it works in a GET's read session; :func:`note_api_token_use` records the use.
    """
    found = access.live_token(db, hash_api_token(token), now=now)
    if found is None or found[1].is_local:
        return None
    info, user = found
    return user, info


def api_token_use_is_stale(token: ApiTokenInfo, now: dt.datetime) -> bool:
    """Whether the token's "last used" is old enough to be written again (at most once a minute)."""
    return access.token_use_is_stale(token, now)


def note_api_token_use(db: Session, token_id: int, now: dt.datetime) -> bool:
    """Record that a token was used at ``now`` (skipped when it was recorded under a minute before).

    In ``db``'s own transaction when it is a write session; beside it, in a short write session, when
    it is a GET's read session (:func:`~kneefix.storage.db.writes_beside`).
    """
    with writes_beside(db) as writer:
        return access.note_token_use(writer, token_id, at=now)


def token_sign_in(
    db: Session,
    *,
    email: str,
    password: str,
    ip: str | None,
    name: str,
    limits: SignInLimits | None = None,
) -> tuple[SignInOutcome, str | None]:
    """Sign in with email and password and hand back a new API token (rate-limited like sign-in)."""
    outcome = sign_in(db, email=email, password=password, ip=ip, limits=limits)
    if outcome.user is None:
        return outcome, None
    token, _ = create_api_token(db, outcome.user.id, name)
    return outcome, token


# ----- forms sent twice --------------------------------------------------------------------------


def first_submit(db: Session, form_token: str, user_id: int | None) -> tuple[bool, str | None]:
    """``(True, None)`` the first time a form token is seen; ``(False, where_it_led)`` for a repeat.

    Call it in the transaction that does the form's work, so a failed first try can be sent again.
    """
    if not form_token.strip():
        return True, None
    scoped = f"form:{user_id or 0}:{form_token.strip()[:150]}"
    return access.claim_idempotency_key(db, scoped, user_id=user_id)


def remember_result(db: Session, form_token: str, user_id: int | None, result: str) -> None:
    """Store where a first submit led, so a repeat of the same form goes to the same place."""
    if form_token.strip():
        access.set_idempotency_result(db, f"form:{user_id or 0}:{form_token.strip()[:150]}", result)


# ----- deleting an account -----------------------------------------------------------------------


def delete_account(db: Session, user_id: int, *, password: str) -> list[int]:
    """Delete the account and everything it owns after checking the password.

    Returns the ids of the removed profiles; call :func:`delete_user_files` with them after the commit
    (files are removed last, so a failed delete in the database leaves the files too).
    """
    user = users.get_user(db, user_id)
    if not verify_password(user.password_hash, password):
        raise InputError("That password is not right, so nothing was deleted.")
    removed = users.delete_user(db, user_id)
    audit.record_account_deletion(db, user, removed)  # kept after the account: the log has no FKs
    return removed


def delete_user_files(files: FileStore, profile_ids: Iterable[int]) -> list[str]:
    """Remove everything stored for each profile: ``uploads/<profile_id>/`` and ``analyses/<profile_id>/``.

    Returns the key prefixes that held something. Keys are built from integer ids only, so nothing
    outside those folders can be touched.
    """
    removed: list[str] = []
    for profile_id in profile_ids:
        if isinstance(profile_id, bool) or not isinstance(profile_id, int) or profile_id <= 0:
            continue
        for prefix in uploads.profile_prefixes(profile_id):
            if files.delete_prefix(prefix):
                removed.append(prefix)
    return removed


# ----- export ------------------------------------------------------------------------------------


def export_account(db: Session, user_id: int) -> dict[str, Any]:
    """Everything kept about an account, JSON-ready: the account itself and its profile's full export.

    The profile part is storage's versioned export document, so it can be imported with
    ``kneefix import``; password hashes and token hashes are never included.
    """
    user = users.get_user(db, user_id)
    document: dict[str, Any] = {
        "kind": "kneefix-account-export",
        "exported_at": utc_now().isoformat(),
        "account": {
            "email": user.email,
            "display_name": user.display_name,
            "role": user.role,
            "created_at": user.created_at.isoformat(),
            "api_tokens": [
                {"name": token.name, "created_at": token.created_at.isoformat()}
                for token in access.list_api_tokens(db, user_id)
            ],
        },
        "profiles": [
            export_store.export_profile(db, profile.id)
            for profile in profiles.list_profiles(db, user_id=user_id)
        ],
    }
    return document
