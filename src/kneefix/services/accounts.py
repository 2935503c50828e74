"""Accounts for the web app: sign up, sign in (rate-limited), passwords, API tokens, deletion.

Pages and the JSON API both call these functions, so the rules live once: what a valid password is,
how many failed sign-ins are allowed, that a person's account always has exactly one coaching profile,
and that deleting an account removes its files (uploaded videos, analyses) as well as its rows.

All functions take a SQLAlchemy ``Session`` inside the caller's transaction; none of them prints or
prompts. Security primitives (argon2, token hashing) come from :mod:`kneefix.web.security`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from kneefix.errors import InputError, NotFoundError
from kneefix.services import uploads
from kneefix.services.credentials import (
    check_new_password,
    dummy_verify,
    hash_api_token,
    hash_password,
    new_api_token,
    password_needs_rehash,
    password_stamp,
    verify_password,
)
from kneefix.storage import access, profiles, users
from kneefix.storage import export as export_store
from kneefix.storage.columns import utc_now
from kneefix.storage.db import own_transaction, writes_beside
from kneefix.storage.files import FileStore
from kneefix.storage.records import ApiTokenInfo, ProfileInfo, UserInfo

PERSON_PROFILE = "default"
ROLES = ("person", "clinician")
WRONG_CREDENTIALS = "That email and password do not match an account. Check both and try again."


@dataclass(frozen=True)
class SignInOutcome:
    """The result of a sign-in try; it never raises, so the caller's transaction keeps the attempt."""

    user: UserInfo | None
    error: str | None = None
    rate_limited: bool = False


# ----- sign up and sign in ----------------------------------------------------------------------


def sign_up(
    db: Session, *, email: str, password: str, display_name: str = "", role: str = "person"
) -> UserInfo:
    """Create an account (and, for a person, their coaching profile); InputError says what to fix."""
    if role not in ROLES:
        raise InputError("Choose whether you are a person with a sore knee or a clinician.")
    if not email.strip():
        raise InputError("Enter your email address.")
    check_new_password(password, email=email)
    user = users.create_user(
        db, email=email, password_hash=hash_password(password), display_name=display_name.strip(), role=role
    )
    if role == "person":
        profiles.get_or_create_profile(db, PERSON_PROFILE, user_id=user.id)
    return user


def find_account(db: Session, email: str) -> UserInfo | None:
    return users.find_user_by_email(db, email)


def sign_in(
    db: Session,
    *,
    email: str,
    password: str,
    ip: str | None,
    max_failures: int = 5,
    window_s: int = 900,
    now: dt.datetime | None = None,
) -> SignInOutcome:
    """Check email and password, counting failures in the database.

    After ``max_failures`` failed tries within ``window_s`` seconds for the same email (or from the same
    address, at five times that count so a shared network is not locked out by one person), further tries
    are refused without checking the password, until the window has passed. The same message is given
    for an unknown email and a wrong password, and both take the same time.

    Each try is claimed first, counted as a failure until its password proves right, in one short
    atomic transaction: twenty tries at once check at most ``max_failures`` passwords. The password is
    checked outside any write transaction, so sign-ins do not queue behind each other's hashing.
    """
    moment = now or utc_now()
    since = moment - dt.timedelta(seconds=window_s)
    address = email.strip().lower()
    with own_transaction(db) as claim:
        access.serialise_sign_in_claims(claim)
        by_email = access.count_failed_logins(claim, since=since, email=address) if address else 0
        by_ip = access.count_failed_logins(claim, since=since, ip=ip) if ip else 0
        if by_email >= max_failures or by_ip >= max_failures * 5:
            minutes = max(1, round(window_s / 60))
            return SignInOutcome(
                None,
                f"Too many failed sign-ins. For your safety, wait {minutes} minutes and try again.",
                rate_limited=True,
            )
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


def user_for_session(db: Session, user_id: int, stamp: str) -> UserInfo | None:
    """The account a session cookie names, if it still exists and the password has not changed since."""
    try:
        user = users.get_user(db, user_id)
    except NotFoundError:
        return None
    if user.is_local or password_stamp(user.password_hash) != stamp:
        return None
    return user


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
    """Replace the password after checking the current one; other signed-in browsers are signed out."""
    user = users.get_user(db, user_id)
    if not verify_password(user.password_hash, current):
        raise InputError("Your current password is not right, so the password was not changed.")
    check_new_password(new, email=user.email or "")
    if current == new:
        raise InputError("The new password is the same as the current one; choose a different one.")
    return users.set_password_hash(db, user_id, hash_password(new))


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
    max_failures: int = 5,
    window_s: int = 900,
) -> tuple[SignInOutcome, str | None]:
    """Sign in with email and password and hand back a new API token (rate-limited like sign-in)."""
    outcome = sign_in(db, email=email, password=password, ip=ip, max_failures=max_failures, window_s=window_s)
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
    return users.delete_user(db, user_id)


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
