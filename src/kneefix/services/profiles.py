"""Profiles and their settings: who is being coached and what their plan adapts to.

Every other service starts from a profile; these helpers give one place for the rule that a profile
needs a screening (``kneefix start``) before it has a plan, and for partial settings updates from the
CLI flags or a web form.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from sqlalchemy.orm import Session

from kneefix.content.loader import Content
from kneefix.errors import InputError, NotFoundError
from kneefix.programme.clock import parse_time_zone
from kneefix.programme.records import PersonSettings
from kneefix.services import audit
from kneefix.storage import profiles as profile_store
from kneefix.storage import reminders as reminder_store
from kneefix.storage.records import ProfileInfo


def open_profile(
    session: Session, name: str, *, user_id: int | None = None, create: bool = False
) -> ProfileInfo:
    """The profile called ``name`` (created empty when ``create``), else :class:`NotFoundError`."""
    if create:
        return profile_store.get_or_create_profile(session, name, user_id=user_id)
    try:
        return profile_store.find_profile(session, name, user_id=user_id)
    except NotFoundError as error:
        raise NotFoundError(f"{error} Run `kneefix --profile {name} start` to set this one up.") from error


def list_profiles(session: Session, *, user_id: int | None = None) -> list[ProfileInfo]:
    return profile_store.list_profiles(session, user_id=user_id)


def delete_profile(
    session: Session, name: str, *, user_id: int | None = None, actor: audit.Actor | None = None
) -> None:
    """Remove the profile and everything recorded for it (``actor``: who, for the audit log, which keeps
    the event after the profile is gone)."""
    profile = open_profile(session, name, user_id=user_id)
    if actor is not None:
        audit.record_deletion(session, actor, "profile", profile_id=profile.id, record_id=profile.id)
    profile_store.delete_profile(session, profile.id)


def require_settings(profile: ProfileInfo) -> PersonSettings:
    """The plan settings, or a message telling the person to run the screening first."""
    if profile.settings is None:
        raise NotFoundError(
            f"Profile '{profile.name}' has no programme yet. Run `kneefix --profile {profile.name} start` "
            "to answer the screening questions and get a plan."
        )
    return profile.settings


def age_of(profile: ProfileInfo, today: dt.date) -> int | None:
    """Approximate age from the stored birth year (used only by age-specific questions)."""
    return None if profile.birth_year is None else today.year - profile.birth_year


def check_equipment(content: Content, equipment: Iterable[str]) -> frozenset[str]:
    """Equipment ids the content knows; an unknown id is an error listing the valid ones."""
    chosen = frozenset(item.strip() for item in equipment if item.strip())
    unknown = sorted(chosen - set(content.equipment))
    if unknown:
        known = ", ".join(sorted(content.equipment))
        raise InputError(f"Unknown equipment: {', '.join(unknown)}. Choose from: {known} (or none).")
    return chosen


def check_protocol(content: Content, protocol_id: str) -> str:
    if protocol_id not in content.protocols:
        known = ", ".join(sorted(content.protocols))
        raise InputError(f"Unknown programme '{protocol_id}'. Choose from: {known}.")
    return protocol_id


def update_settings(
    session: Session,
    content: Content,
    profile_id: int,
    *,
    equipment: Iterable[str] | None = None,
    days_per_week: int | None = None,
    runs: bool | None = None,
    guideline_additions: bool | None = None,
    training_weekdays: tuple[int, ...] | None = None,
    clear_weekdays: bool = False,
    protocol_id: str | None = None,
    start_date: dt.date | None = None,
    actor: audit.Actor | None = None,
) -> ProfileInfo:
    """Change only the given settings; the plan is recomputed from them next time it is shown.
    ``actor`` (who changed them) goes in the audit log."""
    profile = profile_store.get_profile(session, profile_id)
    current = require_settings(profile)
    changes: dict[str, object] = {}
    if equipment is not None:
        changes["equipment"] = check_equipment(content, equipment)
    if days_per_week is not None:
        if not 1 <= days_per_week <= 7:
            raise InputError(f"Days per week must be from 1 to 7, not {days_per_week}.")
        changes["days_per_week"] = days_per_week
    if runs is not None:
        changes["runs"] = runs
    if guideline_additions is not None:
        changes["guideline_additions"] = guideline_additions
    if clear_weekdays:
        changes["training_weekdays"] = None
    if training_weekdays is not None:
        changes["training_weekdays"] = training_weekdays
        changes["days_per_week"] = len(training_weekdays)
    if protocol_id is not None:
        changes["protocol_id"] = check_protocol(content, protocol_id)
    if start_date is not None:
        changes["start_date"] = start_date
    updated = dataclasses.replace(current, **changes)  # type: ignore[arg-type]
    if actor is not None and updated != current:
        audit.record(
            session, actor, audit.Action.PLAN_CHANGED, profile_id=profile_id, detail={"kind": "settings"}
        )
    return profile_store.update_settings(session, profile_id, updated)


def time_zone_of(session: Session, profile_id: int) -> str | None:
    """The profile's IANA time zone, or None (the server's clock; also for a profile that is gone)."""
    try:
        return profile_store.get_profile(session, profile_id).time_zone
    except NotFoundError:
        return None


def set_time_zone(session: Session, profile_id: int, name: str) -> str | None:
    """Set the person's time zone from a name (checked against the zone database); empty clears it."""
    zone = parse_time_zone(name)
    reminder_store.set_time_zone(session, profile_id, zone)
    return zone
