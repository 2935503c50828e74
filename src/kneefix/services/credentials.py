"""Credentials: password hashes (argon2id) and API tokens (only their SHA-256 is stored).

They belong to the accounts use-cases, not to the web layer: the CLI's ``kneefix users`` commands and
the API's token sign-in check the same rules with the same hashes.

- Passwords are hashed with argon2id (argon2-cffi's defaults), never stored or logged in clear; an old
  hash is upgraded at the next sign-in, and an unknown email costs the same time as a wrong password.
- A new password must resist guessing (:func:`check_new_password`, ASVS 2.1.7): not on the list of
  30,000 passwords most common in breaches that zxcvbn ships, not the email's name or the app's, not one
  character repeated, and rated at least "somewhat guessable" (score 2: about a million guesses) by
  zxcvbn's estimator, which also catches keyboard walks, dates and l33t spellings of listed words.
- Web sign-ins are server-side session records (:mod:`kneefix.storage.web_sessions`): the cookie
  carries a random token whose SHA-256 (:func:`hash_session_token`) names the row.
- API tokens are shown once; a leaked database does not leak working tokens.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kneefix.errors import InputError

API_TOKEN_PREFIX = "kfx_"
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
APP_NAME = "kneefix"
MIN_GUESSABILITY_SCORE = 2
"""zxcvbn's score a new password needs: 2 is "somewhat guessable" (10^6 to 10^8 guesses), enough
against online guessing, which sign-in throttling slows further; 0 and 1 fall to a short list."""
ESTIMATE_CHARACTERS = 72
"""zxcvbn refuses longer input (and its matching grows with length): longer passwords are rated by
their first 72 characters, which is still far more than any listed or patterned password."""
MIN_NAME_IN_PASSWORD = 3
"""The email's name counts as "inside" a password from 3 characters on (shorter ones, ``al@...``,
would refuse half of all passwords)."""

_hasher = PasswordHasher()


def check_new_password(password: str, *, email: str | None) -> None:
    """Refuse a password being set (sign-up, change, reset) that is easy to guess; InputError says why.

    Call it wherever a password is chosen, with the account's email. The checks, in order: length (8 to
    1024 characters: shorter ones fall to guessing, longer ones only cost hashing time), one character
    repeated, a password on the common/breached list, the email's name or the app's name inside it, and
    zxcvbn's estimate (told the email and app name, so ``alex2024`` for alex@... rates low).
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InputError(f"A password can be at most {MAX_PASSWORD_LENGTH} characters long.")
    folded = password.casefold()
    if len(set(folded)) == 1:
        raise InputError("A password made of one character repeated is guessed at once; choose another.")
    if folded in _common_passwords() or folded.strip() in _common_passwords():
        raise InputError(
            "That password is on lists of the most common passwords, which attackers try first; "
            "choose another (a few unrelated words make a strong one)."
        )
    address = (email or "").strip().casefold()
    name = address.partition("@")[0]
    if name and (folded == name or (len(name) >= MIN_NAME_IN_PASSWORD and name in folded)):
        raise InputError("The password must not contain your email address or its name; choose another.")
    if APP_NAME in folded:
        raise InputError(f"The password must not contain the app's name ({APP_NAME}); choose another.")
    from zxcvbn import zxcvbn  # imported here: its word lists take a moment to load

    parts = [part for part in re.split(r"[._+-]", name) if len(part) >= MIN_NAME_IN_PASSWORD]
    estimate = zxcvbn(password[:ESTIMATE_CHARACTERS], user_inputs=[name, *parts, address, APP_NAME])
    if int(estimate["score"]) < MIN_GUESSABILITY_SCORE:
        warning = str(estimate.get("feedback", {}).get("warning") or "").strip()
        hint = f" ({warning.rstrip('.')})" if warning else ""
        raise InputError(
            f"That password is too easy to guess{hint}. Choose a longer one: a few unrelated words "
            "make a strong password that is easy to remember."
        )


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of zxcvbn's list (from breach corpora), lower-cased."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.casefold() for word in FREQUENCY_LISTS["passwords"])


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


# ----- web sessions --------------------------------------------------------------------------------


def new_session_token() -> tuple[str, str]:
    """A fresh sign-in token for a browser's cookie and the SHA-256 to store; only the hash is kept,
    so a leaked database holds no working sign-ins."""
    token = secrets.token_urlsafe(32)
    return token, hash_session_token(token)


def hash_session_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
