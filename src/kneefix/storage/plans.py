"""Plan history: changes made by the progression rules or a clinician, and clinicians' adjustments.

The rules are replayed over the logs whenever the plan is shown, so the same change comes out again
and again; :func:`add_plan_changes` skips what is already stored and :func:`sync_rule_changes` makes the
stored rule changes match a fresh replay (after a log was edited or deleted) without churning the
rows that did not change. :func:`sync_rule_changes_for` does the same for many profiles with one read
of what is stored (the clinician's table replays everyone's plan at once).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kneefix.errors import InputError, NotFoundError
from kneefix.jsonvalues import canonical, to_json_value
from kneefix.programme.records import PlanChange
from kneefix.storage.batches import rows_by_profile
from kneefix.storage.convert import plan_adjustment_entry, plan_change, plan_change_entry
from kneefix.storage.guards import check_text, require_profile
from kneefix.storage.models import CHANGE_SOURCES, PlanAdjustment, PlanChangeRow
from kneefix.storage.records import PlanAdjustmentEntry, PlanChangeEntry
from kneefix.storage.users import require_role

ChangeKey = tuple[str, str, str, str, str]


def _key(change: PlanChange) -> ChangeKey:
    details = canonical(to_json_value(change.details, strict=True, where="Plan change details"))
    return (change.date.isoformat(), change.rule_id, change.kind, change.explanation, details)


def _row_key(row: PlanChangeRow) -> ChangeKey:
    return _key(plan_change(row))


def _new_row(
    profile_id: int, change: PlanChange, source: str, clinician_user_id: int | None
) -> PlanChangeRow:
    return PlanChangeRow(
        profile_id=profile_id,
        date=change.date,
        rule_id=check_text("Rule id", change.rule_id, max_length=100, allow_empty=False),
        kind=check_text("Change kind", change.kind, max_length=40, allow_empty=False),
        explanation=check_text("Explanation", change.explanation, max_length=5000),
        details=to_json_value(change.details, strict=True, where="Plan change details"),
        source=source,
        clinician_user_id=clinician_user_id,
    )


def _rows(session: Session, profile_id: int, source: str | None) -> list[PlanChangeRow]:
    return list(session.scalars(_query_by_profile([profile_id], source)))


def _query_by_profile(ids: list[int], source: str | None) -> Select[PlanChangeRow]:
    """The changes of these profiles (of one ``source`` when given), in date order."""
    query = select(PlanChangeRow).where(PlanChangeRow.profile_id.in_(ids))
    if source is not None:
        query = query.where(PlanChangeRow.source == source)
    return query.order_by(PlanChangeRow.date, PlanChangeRow.id)


def add_plan_changes(
    session: Session,
    profile_id: int,
    changes: Iterable[PlanChange],
    *,
    source: str = "rules",
    clinician_user_id: int | None = None,
) -> list[PlanChangeEntry]:
    """Store the changes not stored yet (same date, rule, kind, text and details); returns the new ones."""
    require_profile(session, profile_id)
    if source not in CHANGE_SOURCES:
        raise InputError(f"A plan change comes from {' or '.join(CHANGE_SOURCES)}, not {source!r}.")
    if clinician_user_id is not None:
        require_role(session, clinician_user_id, "clinician")
    seen = {_row_key(row) for row in _rows(session, profile_id, source)}
    added: list[PlanChangeRow] = []
    for change in changes:
        key = _key(change)
        if key in seen:
            continue
        seen.add(key)
        row = _new_row(profile_id, change, source, clinician_user_id)
        session.add(row)
        added.append(row)
    session.flush()
    return [plan_change_entry(row) for row in added]


def rule_changes_match(session: Session, profile_id: int, changes: Iterable[PlanChange]) -> bool:
    """Whether the stored rule-made changes already equal ``changes``, so :func:`sync_rule_changes`
    would write nothing. Only reads: a view of the plan checks this before it asks to write."""
    require_profile(session, profile_id)
    return not rule_changes_differ(session, {profile_id: list(changes)})


def sync_rule_changes(
    session: Session, profile_id: int, changes: Iterable[PlanChange]
) -> list[PlanChangeEntry]:
    """Make the stored rule-made changes equal ``changes`` (a full replay); clinician ones stay.

    Returns the entries that were not stored before.
    """
    require_profile(session, profile_id)
    return sync_rule_changes_for(session, {profile_id: list(changes)})[profile_id]


def rule_changes_differ(session: Session, wanted: Mapping[int, Sequence[PlanChange]]) -> set[int]:
    """The profiles whose stored rule-made changes differ from ``wanted`` (what
    :func:`sync_rule_changes_for` would change); one query for all of them, and only reads."""
    stored = rows_by_profile(
        session, list(wanted), lambda ids: _query_by_profile(ids, "rules"), lambda row: _row_key(row)
    )
    return {
        profile_id
        for profile_id, changes in wanted.items()
        if len(stored[profile_id]) != len(set(stored[profile_id]))
        or set(stored[profile_id]) != {_key(change) for change in changes}
    }


def sync_rule_changes_for(
    session: Session, wanted: Mapping[int, Sequence[PlanChange]]
) -> dict[int, list[PlanChangeEntry]]:
    """:func:`sync_rule_changes` for several profiles (ids the caller checked) at once.

    The stored rule changes are read in one query for all of them. Returns each profile's entries
    that were not stored before.
    """
    stored = rows_by_profile(
        session, list(wanted), lambda ids: _query_by_profile(ids, "rules"), lambda row: row
    )
    kept = {
        profile_id: _drop_stale(session, stored[profile_id], changes)
        for profile_id, changes in wanted.items()
    }
    session.flush()
    added = {
        profile_id: _add_missing(session, profile_id, changes, kept[profile_id])
        for profile_id, changes in wanted.items()
    }
    session.flush()
    return {profile_id: [plan_change_entry(row) for row in rows] for profile_id, rows in added.items()}


def _drop_stale(
    session: Session, rows: Iterable[PlanChangeRow], wanted: Iterable[PlanChange]
) -> set[ChangeKey]:
    """Delete the stored changes a fresh replay no longer gives (and repeats); the keys of those kept.

    A change the replay gives again keeps its row (and its id and time), so nothing churns.
    """
    wanted_keys = {_key(change) for change in wanted}
    kept: set[ChangeKey] = set()
    for row in rows:
        key = _row_key(row)
        if key in wanted_keys and key not in kept:
            kept.add(key)
        else:
            session.delete(row)
    return kept


def _add_missing(
    session: Session, profile_id: int, changes: Iterable[PlanChange], stored: set[ChangeKey]
) -> list[PlanChangeRow]:
    """Add the replay's changes that are not stored yet, in its order, each once."""
    seen = set(stored)
    added: list[PlanChangeRow] = []
    for change in changes:
        key = _key(change)
        if key in seen:
            continue
        seen.add(key)
        row = _new_row(profile_id, change, "rules", None)
        session.add(row)
        added.append(row)
    return added


def list_plan_changes(session: Session, profile_id: int, *, source: str | None = None) -> list[PlanChange]:
    """The changes in date order, as the programme's records."""
    require_profile(session, profile_id)
    return [plan_change(row) for row in _rows(session, profile_id, source)]


def list_plan_change_entries(
    session: Session, profile_id: int, *, source: str | None = None
) -> list[PlanChangeEntry]:
    """The changes in date order with their source, for "why did my plan change" views."""
    require_profile(session, profile_id)
    return [plan_change_entry(row) for row in _rows(session, profile_id, source)]


def changes_by_profile(
    session: Session, profile_ids: Sequence[int], *, source: str | None = None
) -> dict[int, list[PlanChange]]:
    """Each profile's changes in date order (of one ``source`` when given), read in one query for all."""
    return rows_by_profile(session, profile_ids, lambda ids: _query_by_profile(ids, source), plan_change)


def add_plan_adjustment(
    session: Session,
    profile_id: int,
    *,
    clinician_user_id: int | None,
    kind: str,
    payload: Mapping[str, Any],
    note: str = "",
) -> PlanAdjustmentEntry:
    """Record a clinician's adjustment (its meaning is up to the plan services that read it)."""
    require_profile(session, profile_id)
    if clinician_user_id is not None:
        require_role(session, clinician_user_id, "clinician")
    row = PlanAdjustment(
        profile_id=profile_id,
        clinician_user_id=clinician_user_id,
        kind=check_text("Adjustment kind", kind, max_length=40, allow_empty=False),
        payload=to_json_value(payload, strict=True, where="Adjustment"),
        note=check_text("Note", note, max_length=5000),
        active=True,
    )
    session.add(row)
    session.flush()
    return plan_adjustment_entry(row)


def list_plan_adjustments(
    session: Session, profile_id: int, *, active_only: bool = True
) -> list[PlanAdjustmentEntry]:
    """Adjustments oldest first (later ones win when they overlap)."""
    require_profile(session, profile_id)
    query = select(PlanAdjustment).where(PlanAdjustment.profile_id == profile_id)
    if active_only:
        query = query.where(PlanAdjustment.active.is_(True))
    query = query.order_by(PlanAdjustment.created_at, PlanAdjustment.id)
    return [plan_adjustment_entry(row) for row in session.scalars(query)]


def adjustments_by_profile(
    session: Session, profile_ids: Sequence[int], *, active_only: bool = True
) -> dict[int, list[PlanAdjustmentEntry]]:
    """Each profile's adjustments oldest first, as :func:`list_plan_adjustments`, in one query for all."""

    def query_for(ids: list[int]) -> Select[PlanAdjustment]:
        query = select(PlanAdjustment).where(PlanAdjustment.profile_id.in_(ids))
        if active_only:
            query = query.where(PlanAdjustment.active.is_(True))
        return query.order_by(PlanAdjustment.created_at, PlanAdjustment.id)

    return rows_by_profile(session, profile_ids, query_for, plan_adjustment_entry)


def set_plan_adjustment_active(
    session: Session, profile_id: int, adjustment_id: int, active: bool
) -> PlanAdjustmentEntry:
    """Withdraw (or restore) an adjustment; the history keeps it either way."""
    row = session.get(PlanAdjustment, adjustment_id)
    if row is None or row.profile_id != profile_id:
        raise NotFoundError(f"There is no plan adjustment with id {adjustment_id} for this profile.")
    row.active = active
    session.flush()
    return plan_adjustment_entry(row)
