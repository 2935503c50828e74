"""Screenings: each run of the symptom and red-flag questions and the verdict, kept as history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kneefix.errors import NotFoundError
from kneefix.storage.batches import rows_by_profile
from kneefix.storage.columns import utc_now
from kneefix.storage.convert import screening_entry
from kneefix.storage.guards import check_aware, check_ids, check_text, require_profile
from kneefix.storage.models import Screening
from kneefix.storage.records import ScreeningEntry


def save_screening(
    session: Session,
    profile_id: int,
    *,
    answers: Mapping[str, Any],
    verdict: str,
    red_flags: Sequence[str] = (),
    messages: Sequence[str] = (),
    taken_at: dt.datetime | None = None,
) -> ScreeningEntry:
    """Keep a screening. ``answers`` must be JSON-ready (str keys; str, number, bool, list values)."""
    require_profile(session, profile_id)
    if taken_at is not None:
        check_aware("Screening time", taken_at)
    row = Screening(
        profile_id=profile_id,
        taken_at=taken_at or utc_now(),
        answers=dict(answers),
        verdict=check_text("Verdict", verdict, max_length=40, allow_empty=False),
        red_flags=check_ids("Red flags", red_flags),
        messages=[check_text("Message", m, max_length=2000) for m in messages],
    )
    session.add(row)
    session.flush()
    return screening_entry(row)


def list_screenings(session: Session, profile_id: int) -> list[ScreeningEntry]:
    """All screenings, oldest first."""
    require_profile(session, profile_id)
    rows = session.scalars(
        select(Screening).where(Screening.profile_id == profile_id).order_by(Screening.taken_at, Screening.id)
    )
    return [screening_entry(row) for row in rows]


def screenings_by_profile(session: Session, profile_ids: Sequence[int]) -> dict[int, list[ScreeningEntry]]:
    """Every screening of each profile, oldest first, read in one query for all."""
    return rows_by_profile(
        session,
        profile_ids,
        lambda ids: (
            select(Screening).where(Screening.profile_id.in_(ids)).order_by(Screening.taken_at, Screening.id)
        ),
        screening_entry,
    )


def latest_screening(session: Session, profile_id: int) -> ScreeningEntry | None:
    """The most recent screening, or None if the person has not been screened."""
    screenings = list_screenings(session, profile_id)
    return screenings[-1] if screenings else None


def clear_red_flags(
    session: Session,
    profile_id: int,
    screening_id: int,
    *,
    cleared_at: dt.datetime,
    cleared_by_user_id: int,
    cleared_by_name: str,
    note: str,
) -> ScreeningEntry:
    """Mark one screening's red flags as cleared by a clinician (the flags and answers stay as they were).

    NotFoundError when the screening is not this profile's; the caller decides who may clear.
    """
    check_aware("Clearance time", cleared_at)
    row = session.get(Screening, screening_id)
    if row is None or row.profile_id != profile_id:
        raise NotFoundError(f"There is no screening {screening_id} for this person.")
    row.cleared_at = cleared_at
    row.cleared_by_user_id = cleared_by_user_id
    row.cleared_by_name = check_text("Clinician name", cleared_by_name, max_length=200)
    row.clearance_note = check_text("Note", note, max_length=2000, allow_empty=False)
    session.flush()
    return screening_entry(row)
