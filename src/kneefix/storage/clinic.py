"""The clinic side: which clinician may see which profile, and the invite codes that link them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kneefix.errors import InputError, NotFoundError
from kneefix.storage.columns import utc_now
from kneefix.storage.convert import invite_info, profile_info, user_info
from kneefix.storage.guards import check_aware, check_text, require_profile
from kneefix.storage.models import ClinicianLink, Invite, Profile, User
from kneefix.storage.records import InviteInfo, ProfileInfo, UserInfo
from kneefix.storage.users import require_role


def link_clinician(session: Session, clinician_user_id: int, profile_id: int) -> None:
    """Let a clinician see and adjust this profile (doing it twice is harmless)."""
    require_role(session, clinician_user_id, "clinician")
    require_profile(session, profile_id)
    if is_linked(session, clinician_user_id, profile_id):
        return
    try:
        with session.begin_nested():
            session.add(ClinicianLink(clinician_user_id=clinician_user_id, profile_id=profile_id))
    except IntegrityError:
        if not is_linked(session, clinician_user_id, profile_id):
            raise


def unlink_clinician(session: Session, clinician_user_id: int, profile_id: int) -> bool:
    """Stop sharing this profile with the clinician; False if they were not linked."""
    result = session.execute(
        delete(ClinicianLink).where(
            ClinicianLink.clinician_user_id == clinician_user_id, ClinicianLink.profile_id == profile_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def is_linked(session: Session, clinician_user_id: int, profile_id: int) -> bool:
    """May this clinician see this profile? (The access check for every clinician view.)"""
    found = session.scalar(
        select(ClinicianLink.id).where(
            ClinicianLink.clinician_user_id == clinician_user_id, ClinicianLink.profile_id == profile_id
        )
    )
    return found is not None


def linked_profiles(session: Session, clinician_user_id: int) -> list[ProfileInfo]:
    """The profiles shared with this clinician, by name."""
    rows = session.scalars(
        select(Profile)
        .join(ClinicianLink, ClinicianLink.profile_id == Profile.id)
        .where(ClinicianLink.clinician_user_id == clinician_user_id)
        .order_by(Profile.name, Profile.id)
    )
    return [profile_info(row) for row in rows]


def profile_clinicians(session: Session, profile_id: int) -> list[UserInfo]:
    """The clinicians this profile is shared with."""
    rows = session.scalars(
        select(User)
        .join(ClinicianLink, ClinicianLink.clinician_user_id == User.id)
        .where(ClinicianLink.profile_id == profile_id)
        .order_by(User.id)
    )
    return [user_info(row) for row in rows]


def create_invite(
    session: Session, clinician_user_id: int, *, code: str, expires_at: dt.datetime, note: str = ""
) -> InviteInfo:
    """Store an invite code (the caller makes it unguessable, e.g. ``secrets.token_urlsafe``)."""
    require_role(session, clinician_user_id, "clinician")
    check_aware("Invite expiry", expires_at)
    cleaned = check_text("Invite code", code, max_length=100, allow_empty=False)
    if session.scalar(select(Invite.id).where(Invite.code == cleaned)) is not None:
        raise InputError("That invite code is already in use; generate another.")
    row = Invite(
        code=cleaned,
        clinician_user_id=clinician_user_id,
        note=check_text("Note", note, max_length=300),
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return invite_info(row)


def find_invite(session: Session, code: str) -> InviteInfo | None:
    """The invite with this code, used or not, or None."""
    row = session.scalar(select(Invite).where(Invite.code == code.strip()))
    return None if row is None else invite_info(row)


def list_invites(session: Session, clinician_user_id: int) -> list[InviteInfo]:
    """A clinician's invites, newest first."""
    rows = session.scalars(
        select(Invite)
        .where(Invite.clinician_user_id == clinician_user_id)
        .order_by(Invite.created_at.desc(), Invite.id.desc())
    )
    return [invite_info(row) for row in rows]


def redeem_invite(
    session: Session, code: str, profile_id: int, *, now: dt.datetime | None = None
) -> InviteInfo:
    """Use an invite: mark it used by this profile and link the profile to the clinician.

    The update only matches an unused, unexpired invite, so two people racing for one code cannot
    both succeed. NotFoundError for an unknown code; InputError for a used or expired one.
    """
    require_profile(session, profile_id)
    moment = now or utc_now()
    cleaned = code.strip()
    taken = session.execute(
        update(Invite)
        .where(Invite.code == cleaned, Invite.used_at.is_(None), Invite.expires_at > moment)
        .values(used_at=moment, used_by_profile_id=profile_id)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    invite = find_invite(session, cleaned)
    if invite is None:
        raise NotFoundError("That invite code does not exist; check it with your clinician.")
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        if invite.used_at is not None:
            raise InputError("That invite code has already been used; ask your clinician for a new one.")
        raise InputError("That invite code has expired; ask your clinician for a new one.")
    link_clinician(session, invite.clinician_user_id, profile_id)
    return invite


def delete_invite(session: Session, clinician_user_id: int, invite_id: int) -> None:
    """Withdraw an invite; NotFoundError if it is not this clinician's."""
    result = session.execute(
        delete(Invite).where(Invite.id == invite_id, Invite.clinician_user_id == clinician_user_id)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFoundError(f"There is no invite with id {invite_id}.")
