"""Profiles: the people being coached, each owned by a user, with the settings their plan uses.

``user_id=None`` everywhere means the command line's implicit local user, so the CLI can call these
with just a profile name.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kneefix.errors import InputError, NotFoundError
from kneefix.limits import check_age, check_days_per_week
from kneefix.programme.records import PersonSettings
from kneefix.storage.convert import apply_settings, profile_info, settings_of
from kneefix.storage.guards import check_ids, check_text, require_profile, require_user
from kneefix.storage.models import Profile
from kneefix.storage.records import ProfileInfo
from kneefix.storage.users import find_local_user_id, local_user_id

DEFAULT_PROFILE = "default"
MAX_NAME_LENGTH = 100
EARLIEST_BIRTH_YEAR = 1900


def clean_profile_name(name: str) -> str:
    """Profile names are short, trimmed, one line."""
    cleaned = check_text("Profile name", name, max_length=MAX_NAME_LENGTH, allow_empty=False)
    if "\n" in cleaned or "\t" in cleaned:
        raise InputError("Profile name must be on one line.")
    return cleaned


def birth_year_from_age(age: int, today: dt.date) -> int:
    """The likelier birth year for someone ``age`` years old on ``today`` (may be a year off)."""
    return today.year - check_age(age)


def _check_birth_year(birth_year: int | None) -> None:
    if birth_year is None:
        return
    this_year = dt.date.today().year
    if isinstance(birth_year, bool) or not isinstance(birth_year, int):
        raise InputError(f"Birth year must be a whole number, got {birth_year!r}.")
    if not EARLIEST_BIRTH_YEAR <= birth_year <= this_year:
        raise InputError(
            f"Birth year must be between {EARLIEST_BIRTH_YEAR} and {this_year}, got {birth_year}."
        )


def check_settings(settings: PersonSettings) -> None:
    """Settings the plan can use: 1-7 days, weekdays 0-6 without repeats, known-looking ids."""
    if isinstance(settings.days_per_week, float):  # 3.0 is not a day count a record may hold
        raise InputError(f"Days per week must be a whole number from 1 to 7, got {settings.days_per_week!r}.")
    check_days_per_week(settings.days_per_week, "Days per week")
    check_ids("Equipment", settings.equipment)
    check_text("Protocol id", settings.protocol_id, max_length=100, allow_empty=False)
    if settings.training_weekdays is not None:
        weekdays = settings.training_weekdays
        if any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in weekdays):
            raise InputError(f"Training weekdays must be numbers 0 (Monday) to 6 (Sunday), got {weekdays!r}.")
        if len(set(weekdays)) != len(weekdays):
            raise InputError(f"Training weekdays repeat a day: {weekdays!r}.")


def _owner(session: Session, user_id: int | None) -> int:
    if user_id is None:
        return local_user_id(session)
    require_user(session, user_id)
    return user_id


def _reader_owner(session: Session, user_id: int | None) -> int | None:
    """The owner for a look-up: like :func:`_owner`, but a command-line user that does not exist yet
    is None (it owns nothing) instead of being created, so listing and finding only read."""
    if user_id is None:
        return find_local_user_id(session)
    require_user(session, user_id)
    return user_id


def _row_by_name(session: Session, owner: int, name: str) -> Profile | None:
    return session.scalar(select(Profile).where(Profile.user_id == owner, Profile.name == name))


def create_profile(
    session: Session,
    name: str = DEFAULT_PROFILE,
    *,
    user_id: int | None = None,
    birth_year: int | None = None,
    settings: PersonSettings | None = None,
) -> ProfileInfo:
    """A new profile; InputError if the owner already has one with this name."""
    owner = _owner(session, user_id)
    cleaned = clean_profile_name(name)
    _check_birth_year(birth_year)
    if settings is not None:
        check_settings(settings)
    if _row_by_name(session, owner, cleaned) is not None:
        raise InputError(f"A profile named {cleaned!r} already exists; choose another name.")
    row = Profile(user_id=owner, name=cleaned, birth_year=birth_year)
    if settings is not None:
        apply_settings(row, settings)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as error:
        raise InputError(f"A profile named {cleaned!r} already exists; choose another name.") from error
    return profile_info(row)


def get_or_create_profile(
    session: Session, name: str = DEFAULT_PROFILE, *, user_id: int | None = None
) -> ProfileInfo:
    """The owner's profile with this name, made empty if it does not exist yet."""
    owner = _owner(session, user_id)
    row = _row_by_name(session, owner, clean_profile_name(name))
    if row is not None:
        return profile_info(row)
    try:
        return create_profile(session, name, user_id=owner)
    except InputError:
        # Someone else created it between our look-up and insert: use theirs.
        row = _row_by_name(session, owner, clean_profile_name(name))
        if row is None:
            raise
        return profile_info(row)


def find_profile(session: Session, name: str, *, user_id: int | None = None) -> ProfileInfo:
    """The owner's profile with this name; NotFoundError listing the names that do exist."""
    owner = _reader_owner(session, user_id)
    cleaned = clean_profile_name(name)
    row = None if owner is None else _row_by_name(session, owner, cleaned)
    if row is not None:
        return profile_info(row)
    names = [p.name for p in list_profiles(session, user_id=owner)]
    known = f"Existing profiles: {', '.join(names)}." if names else "There are no profiles yet."
    raise NotFoundError(f"No profile named {cleaned!r}. {known}")


def get_profile(session: Session, profile_id: int) -> ProfileInfo:
    """The profile with this id, or NotFoundError."""
    return profile_info(require_profile(session, profile_id))


def list_profiles(session: Session, *, user_id: int | None = None) -> list[ProfileInfo]:
    """The owner's profiles by name."""
    owner = _reader_owner(session, user_id)
    if owner is None:
        return []
    rows = session.scalars(select(Profile).where(Profile.user_id == owner).order_by(Profile.name))
    return [profile_info(row) for row in rows]


def profile_settings(session: Session, profile_id: int) -> PersonSettings | None:
    """The profile's plan settings, or None before the first screening."""
    return settings_of(require_profile(session, profile_id))


def update_settings(session: Session, profile_id: int, settings: PersonSettings) -> ProfileInfo:
    """Replace the profile's plan settings."""
    check_settings(settings)
    row = require_profile(session, profile_id)
    apply_settings(row, settings)
    session.flush()
    return profile_info(row)


def set_birth_year(session: Session, profile_id: int, birth_year: int | None) -> ProfileInfo:
    """Record (or clear) the birth year, used by the age-specific screening questions."""
    _check_birth_year(birth_year)
    row = require_profile(session, profile_id)
    row.birth_year = birth_year
    session.flush()
    return profile_info(row)


def rename_profile(session: Session, profile_id: int, new_name: str) -> ProfileInfo:
    """Give a profile a new name that its owner does not already use."""
    row = require_profile(session, profile_id)
    cleaned = clean_profile_name(new_name)
    clash = _row_by_name(session, row.user_id, cleaned)
    if clash is not None and clash.id != row.id:
        raise InputError(f"A profile named {cleaned!r} already exists; choose another name.")
    row.name = cleaned
    session.flush()
    return profile_info(row)


def delete_profile(session: Session, profile_id: int) -> None:
    """Remove a profile and all its records (logs, scores, checks, links) with it."""
    require_profile(session, profile_id)
    session.execute(delete(Profile).where(Profile.id == profile_id))
    session.expunge_all()
