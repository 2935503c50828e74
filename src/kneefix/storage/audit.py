"""The audit log's rows: who viewed or changed whose record (written by ``services.audit``).

Rows have no foreign keys, so the log outlives the accounts and profiles it names; ``detail`` holds ids
and kinds only, never health data, so keeping it after a deletion keeps no record of the person's knee.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kneefix.storage.columns import utc_now
from kneefix.storage.convert import audit_entry
from kneefix.storage.models import AuditEvent
from kneefix.storage.records import AuditEntry


def record_event(
    session: Session,
    *,
    action: str,
    actor_user_id: int | None,
    actor_role: str,
    actor_name: str = "",
    subject_user_id: int | None = None,
    profile_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
    ip: str | None = None,
    at: dt.datetime | None = None,
) -> AuditEntry:
    """Add one event to the log (in the caller's transaction, so it commits with the change it records)."""
    row = AuditEvent(
        at=at or utc_now(),
        actor_user_id=actor_user_id,
        actor_role=actor_role[:20],
        actor_name=actor_name[:320],
        subject_user_id=subject_user_id,
        profile_id=profile_id,
        action=action[:60],
        detail=dict(detail or {}),
        ip=None if ip is None else ip[:64],
    )
    session.add(row)
    session.flush()
    return audit_entry(row)


def events_for_profile(session: Session, profile_id: int, *, limit: int = 500) -> list[AuditEntry]:
    """The newest ``limit`` events about one person's record, newest first."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.profile_id == profile_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return [audit_entry(row) for row in session.scalars(query)]


def latest_event_at(
    session: Session, *, action: str, profile_id: int, actor_user_id: int | None, actor_role: str
) -> dt.datetime | None:
    """When this actor last did ``action`` to this profile's record (None: never), for throttling views."""
    query = select(func.max(AuditEvent.at)).where(
        AuditEvent.profile_id == profile_id,
        AuditEvent.action == action,
        AuditEvent.actor_role == actor_role,
        AuditEvent.actor_user_id.is_(None)
        if actor_user_id is None
        else AuditEvent.actor_user_id == actor_user_id,
    )
    value: dt.datetime | None = session.scalar(query)
    return value


def iter_events(
    session: Session, *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> Iterator[AuditEntry]:
    """Every event in time order (optionally within ``[since, until)``), streamed for exports."""
    query = select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    for row in session.scalars(query.execution_options(yield_per=500)):
        yield audit_entry(row)
