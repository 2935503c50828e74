"""Credentials: password hashes (argon2id) and API tokens (only their SHA-256 is stored).

They belong to the accounts use-cases, not to the web layer: the CLI's ``kneefix users`` commands and
the API's token sign-in check the same rules with the same hashes.

- Passwords are hashed with argon2id (argon2-cffi's defaults), never stored or logged in clear; an old
  hash is upgraded at the next sign-in, and an unknown email costs the same time as a wrong password.
- A session carries a "password stamp" (a few characters derived from the hash), so changing the
  password signs out every other browser.
- API tokens are shown once; a leaked database does not leak working tokens.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kneefix.errors import InputError

API_TOKEN_PREFIX = "kfx_"
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher()


def check_password_rules(password: str) -> None:
    """Refuse passwords too short to resist guessing, or absurdly long ones (hashing cost)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InputError(f"A password can be at most {MAX_PASSWORD_LENGTH} characters long.")


def hash_password(password: str) -> str:
    """An argon2id hash string (``$argon2id$...``) that embeds its own salt and cost parameters."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; False for a mismatch, an empty or a malformed hash."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's defaults."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def password_stamp(password_hash: str | None) -> str:
    """A short fingerprint of the current password hash; a session from before a change no longer fits."""
    return hashlib.sha256((password_hash or "").encode("utf-8")).hexdigest()[:16]


def dummy_verify() -> None:
    """Spend the same time as a real check, so an unknown email cannot be told apart by timing."""
    verify_password(_DUMMY_HASH, "not the password")


_DUMMY_HASH = _hasher.hash("kneefix-timing-equaliser")


# ----- API tokens ----------------------------------------------------------------------------------


def new_api_token() -> tuple[str, str]:
    """A fresh token for a client and the hash to store; the clear token is shown once, never kept."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_api_token(token)


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
