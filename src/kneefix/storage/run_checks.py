"""Return-to-running readiness checks: pain (0-10) on a brisk walk and on single-leg hops, by day.

Like the logs, every function takes the profile id as well as the check id, so a check can only be
reached through the profile that owns it: a wrong or foreign id is simply "not found".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from kneefix.errors import InputError, NotFoundError
from kneefix.programme.records import RunCheck
from kneefix.storage.batches import rows_by_profile
from kneefix.storage.convert import run_check
from kneefix.storage.guards import check_pain, require_profile
from kneefix.storage.models import RunCheckRow


def _check_pain(name: str, value: int | None) -> None:
    if value is None:
        raise InputError(f"{name} is needed: a whole number from 0 to 10.")
    check_pain(name, value)


def check_run_check(check: RunCheck) -> None:
    """InputError for a date that is not a date or a pain off the 0-10 scale (both are required)."""
    if not isinstance(check.date, dt.date) or isinstance(check.date, dt.datetime):
        raise InputError(f"The run check date must be a date, got {check.date!r}.")
    _check_pain("Walk pain", check.walk_pain)
    _check_pain("Hop pain", check.hop_pain)


def add_run_check(session: Session, profile_id: int, check: RunCheck) -> RunCheck:
    """Store a readiness check and return it with its id (``check.id`` is ignored)."""
    require_profile(session, profile_id)
    check_run_check(check)
    row = RunCheckRow(
        profile_id=profile_id, date=check.date, walk_pain=check.walk_pain, hop_pain=check.hop_pain
    )
    session.add(row)
    session.flush()
    return run_check(row)


def list_run_checks(session: Session, profile_id: int) -> list[RunCheck]:
    """The profile's readiness checks in date order (then entry order)."""
    require_profile(session, profile_id)
    query = (
        select(RunCheckRow)
        .where(RunCheckRow.profile_id == profile_id)
        .order_by(RunCheckRow.date, RunCheckRow.id)
    )
    return [run_check(row) for row in session.scalars(query)]


def run_checks_by_profile(session: Session, profile_ids: Sequence[int]) -> dict[int, list[RunCheck]]:
    """Every readiness check of each profile in date order, read in one query for all."""
    return rows_by_profile(
        session,
        profile_ids,
        lambda ids: (
            select(RunCheckRow)
            .where(RunCheckRow.profile_id.in_(ids))
            .order_by(RunCheckRow.date, RunCheckRow.id)
        ),
        run_check,
    )


def delete_run_check(session: Session, profile_id: int, check_id: int) -> None:
    """Remove a check entered by mistake; NotFoundError if it is not this profile's."""
    row = session.get(RunCheckRow, check_id)
    if row is None or row.profile_id != profile_id:
        raise NotFoundError(f"There is no run check with id {check_id} for this profile.")
    session.delete(row)
    session.flush()
