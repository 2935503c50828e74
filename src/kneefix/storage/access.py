"""Sign-in bookkeeping for the web app: API tokens, recent sign-in attempts, idempotency keys.

Only hashes of API tokens are stored; hashing and token generation belong to the web security code,
which passes the hash in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kneefix.errors import InputError, NotFoundError
from kneefix.storage.columns import utc_now
from kneefix.storage.convert import api_token_info, user_info
from kneefix.storage.guards import check_aware, check_text, require_user
from kneefix.storage.models import ApiToken, IdempotencyKey, LoginAttempt, User
from kneefix.storage.records import ApiTokenInfo, UserInfo


def add_api_token(
    session: Session,
    user_id: int,
    *,
    name: str,
    token_hash: str,
    expires_at: dt.datetime | None = None,
) -> ApiTokenInfo:
    """Store a token's hash under a name the user recognises."""
    require_user(session, user_id)
    if expires_at is not None:
        check_aware("Token expiry", expires_at)
    row = ApiToken(
        user_id=user_id,
        name=check_text("Token name", name, max_length=100, allow_empty=False),
        token_hash=check_text("Token hash", token_hash, max_length=200, allow_empty=False),
        expires_at=expires_at,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as error:
        raise InputError("That token already exists; generate another.") from error
    return api_token_info(row)


_SIGN_IN_CLAIMS_LOCK = 0x6B6E7369  # any constant: "knsi"

TOKEN_USE_RESOLUTION = dt.timedelta(minutes=1)
"""How fresh a token's ``last_used_at`` is kept: a token's use is written at most once per this, so a
client polling the API does not turn every read into a write."""


def live_token(
    session: Session, token_hash: str, *, now: dt.datetime | None = None
) -> tuple[ApiTokenInfo, UserInfo] | None:
    """A live token and its owner, or None if unknown or expired. Only reads (see :func:`note_token_use`)."""
    moment = now or utc_now()
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))
    if row is None or (row.expires_at is not None and row.expires_at <= moment):
        return None
    user = session.get(User, row.user_id)
    return None if user is None else (api_token_info(row), user_info(user))


def user_for_token(session: Session, token_hash: str, *, now: dt.datetime | None = None) -> UserInfo | None:
    """The owner of a live token, or None if unknown or expired. Only reads."""
    found = live_token(session, token_hash, now=now)
    return None if found is None else found[1]


def token_use_is_stale(
    token: ApiTokenInfo, now: dt.datetime, *, resolution: dt.timedelta = TOKEN_USE_RESOLUTION
) -> bool:
    """Whether ``token``'s recorded last use is older than ``resolution`` (or was never recorded)."""
    return token.last_used_at is None or token.last_used_at <= now - resolution


def note_token_use(
    session: Session,
    token_id: int,
    *,
    at: dt.datetime | None = None,
    resolution: dt.timedelta = TOKEN_USE_RESOLUTION,
) -> bool:
    """Set the token's ``last_used_at`` to ``at`` unless it was set less than ``resolution`` before.

    The check is in the UPDATE itself, so requests racing with the same token write it once. Returns
    whether it was written.
    """
    moment = at or utc_now()
    check_aware("Token use", moment)
    result = session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= moment - resolution),
        )
        .values(last_used_at=moment)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def list_api_tokens(session: Session, user_id: int) -> list[ApiTokenInfo]:
    """A user's tokens, newest first."""
    rows = session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user_id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return [api_token_info(row) for row in rows]


def delete_api_token(session: Session, user_id: int, token_id: int) -> None:
    """Revoke a token; NotFoundError if it is not this user's."""
    result = session.execute(delete(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFoundError(f"There is no API token with id {token_id}.")


def delete_all_api_tokens(session: Session, user_id: int) -> int:
    """Revoke every token of the user (an account recovered by a reset may have had one made by
    whoever knew the old password); returns how many there were."""
    result = session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))
    return int(result.rowcount)  # type: ignore[attr-defined]


def record_login_attempt(
    session: Session, *, email: str | None, ip: str | None, ok: bool, at: dt.datetime | None = None
) -> int:
    """Note one sign-in try (email lower-cased so the count is per address); returns its id."""
    row = LoginAttempt(
        email=None if email is None else email.strip().lower()[:320],
        ip=None if ip is None else ip[:64],
        ok=ok,
        at=at or utc_now(),
    )
    session.add(row)
    session.flush()
    return row.id


def mark_login_ok(session: Session, attempt_id: int) -> None:
    """The try claimed as a failure (:func:`serialise_sign_in_claims`) had the right password."""
    session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(ok=True))


def serialise_sign_in_claims(session: Session) -> None:
    """Make this transaction's count-then-claim of a sign-in try atomic.

    SQLite writers already run one at a time (``BEGIN IMMEDIATE``). On PostgreSQL two transactions
    could both count four failures and both go on to check a password, so the claims wait for each
    other on one transaction-scoped advisory lock (held for a count and an insert only).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_SIGN_IN_CLAIMS_LOCK)))


@dataclass(frozen=True)
class FailedLogins:
    """Failed sign-in tries in a window: how many, and the first and last of them (None when none)."""

    count: int
    first_at: dt.datetime | None
    last_at: dt.datetime | None


def failed_logins(
    session: Session, *, since: dt.datetime, email: str | None = None, ip: str | None = None
) -> FailedLogins:
    """Failed tries since ``since`` for this email, this IP, or (both given) this pair of them."""
    if email is None and ip is None:
        raise InputError("Count failed sign-ins by email, IP or both.")
    query = select(func.count(LoginAttempt.id), func.min(LoginAttempt.at), func.max(LoginAttempt.at)).where(
        LoginAttempt.ok.is_(False), LoginAttempt.at >= since
    )
    if email is not None:
        query = query.where(LoginAttempt.email == email.strip().lower())
    if ip is not None:
        query = query.where(LoginAttempt.ip == ip)
    count, first_at, last_at = session.execute(query).one()
    return FailedLogins(int(count or 0), _aware(first_at), _aware(last_at))


def last_good_login(session: Session, *, email: str) -> dt.datetime | None:
    """When this email last signed in with the right password (None if not since attempts were pruned)."""
    found = session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.ok.is_(True), LoginAttempt.email == email.strip().lower()
        )
    )
    return _aware(found)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """Aggregates (MIN/MAX) bypass the column type, so SQLite hands back a naive (UTC) datetime or text."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def count_failed_logins(
    session: Session, *, since: dt.datetime, email: str | None = None, ip: str | None = None
) -> int:
    """Failed tries since ``since`` for this email and/or IP (both given: either matches)."""
    if email is None and ip is None:
        raise InputError("Count failed sign-ins by email, IP or both.")
    query = select(func.count(LoginAttempt.id)).where(LoginAttempt.ok.is_(False), LoginAttempt.at >= since)
    matches = []
    if email is not None:
        matches.append(LoginAttempt.email == email.strip().lower())
    if ip is not None:
        matches.append(LoginAttempt.ip == ip)
    query = query.where(or_(*matches))
    return int(session.scalar(query) or 0)


def prune_login_attempts(session: Session, *, before: dt.datetime) -> int:
    """Forget attempts older than ``before``; returns how many."""
    result = session.execute(delete(LoginAttempt).where(LoginAttempt.at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def claim_idempotency_key(
    session: Session, key: str, *, user_id: int | None = None, result: str | None = None
) -> tuple[bool, str | None]:
    """Claim a one-time key. ``(True, None)`` the first time; ``(False, earlier_result)`` after.

    Call it in the same transaction as the work it guards: if the work fails, the claim rolls back
    with it and the form can be sent again.
    """
    cleaned = check_text("Request key", key, max_length=200, allow_empty=False)
    existing = session.get(IdempotencyKey, cleaned)
    if existing is not None:
        return False, existing.result
    try:
        with session.begin_nested():
            session.add(IdempotencyKey(key=cleaned, user_id=user_id, result=result))
    except IntegrityError:
        earlier = session.get(IdempotencyKey, cleaned)
        return False, None if earlier is None else earlier.result
    return True, None


def set_idempotency_result(session: Session, key: str, result: str) -> None:
    """Remember where the first submit led (e.g. the page it redirected to)."""
    row = session.get(IdempotencyKey, key)
    if row is None:
        raise NotFoundError("That request key was never claimed.")
    row.result = check_text("Request result", result, max_length=500)
    session.flush()


def prune_idempotency_keys(session: Session, *, before: dt.datetime) -> int:
    """Forget keys older than ``before``; returns how many."""
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
