"""Checks shared by the repository modules, so bad values get a clear InputError before the database
rejects them with a constraint error nobody can read.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kneefix import limits
from kneefix.errors import InputError, NotFoundError
from kneefix.storage.models import Profile, User

RowT = TypeVar("RowT")


def require_profile(session: Session, profile_id: int) -> Profile:
    """The profile row, or NotFoundError naming the id."""
    row = session.get(Profile, profile_id)
    if row is None:
        raise NotFoundError(f"There is no profile with id {profile_id}.")
    return row


def require_user(session: Session, user_id: int) -> User:
    """The user row, or NotFoundError naming the id."""
    row = session.get(User, user_id)
    if row is None:
        raise NotFoundError(f"There is no user with id {user_id}.")
    return row


def check_pain(name: str, value: int | None) -> None:
    """Pain is a whole number on the 0-10 scale (NPRS), or absent."""
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):  # a record holds ints, not "4" or 4.0
        raise InputError(f"{name} must be a whole number from 0 to 10, got {value!r}.")
    limits.check_pain(value, name)


def check_fraction(name: str, value: float) -> None:
    """A share of something, from 0 to 1."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{name} must be a number from 0 to 1, got {value!r}.")
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise InputError(f"{name} must be a number from 0 to 1, got {value!r}.")


def check_positive(name: str, value: float | None, *, maximum: float, unit: str) -> None:
    """A measured amount above 0 and at most ``maximum`` (minutes, kilometres), or absent."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{name} must be a number of {unit}, got {value!r}.")
    if not 0 < value <= maximum:
        raise InputError(f"{name} must be more than 0 and at most {maximum:g} {unit}, got {value:g}.")


def check_text(name: str, value: str, *, max_length: int, allow_empty: bool = True) -> str:
    """Trimmed text without control characters (newlines and tabs allowed), within a length."""
    if not isinstance(value, str):
        raise InputError(f"{name} must be text, got {value!r}.")
    cleaned = value.strip()
    if not cleaned and not allow_empty:
        raise InputError(f"{name} must not be empty.")
    if len(cleaned) > max_length:
        raise InputError(f"{name} is too long ({len(cleaned)} characters; at most {max_length}).")
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in cleaned):
        raise InputError(f"{name} contains control characters; please use plain text.")
    return cleaned


def check_ids(name: str, values: Iterable[str], *, max_length: int = 100) -> list[str]:
    """A list of short identifiers (exercise ids, equipment ids, red-flag ids)."""
    result: list[str] = []
    for value in values:
        if not isinstance(value, str) or not value.strip() or len(value) > max_length:
            raise InputError(f"{name} must hold short non-empty ids, got {value!r}.")
        result.append(value.strip())
    return result


def check_aware(name: str, value: dt.datetime) -> None:
    """Timestamps carry a time zone, so they mean the same moment on every machine."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(f"{name} must include a time zone, got {value.isoformat()}.")


def add_or_earlier(session: Session, row: RowT, earlier: Callable[[], RowT | None]) -> RowT:
    """Add ``row`` in a savepoint and return it; if a unique constraint refuses it (the same request
    stored at the same moment by another submit), the row ``earlier`` finds instead, else re-raise.
    """
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = earlier()
        if found is None:
            raise
        return found
    return row
