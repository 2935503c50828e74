"""Plain records for what storage keeps beyond the programme's own records.

The programme logic reads :mod:`kneefix.programme.records`; these cover accounts, profiles,
screenings, technique checks and the clinic side. Like those, they are frozen dataclasses, so no ORM
object (with its lazy loading and session ties) ever leaves the storage package.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kneefix.programme.records import PersonSettings, PlanChange


@dataclass(frozen=True)
class UserInfo:
    """An account. ``is_local`` marks the implicit command-line user, who never signs in."""

    id: int
    email: str | None
    display_name: str
    role: str  # person | clinician
    created_at: dt.datetime
    is_local: bool = False
    password_hash: str | None = field(default=None, repr=False)
    password_changed_at: dt.datetime | None = None
    is_admin: bool = False
    requested_role: str | None = None  # "clinician" while waiting for an administrator's approval


@dataclass(frozen=True)
class AuditEntry:
    """One audit event: who (``actor_*``) did ``action`` to whose record (``profile_id``), and when."""

    id: int
    at: dt.datetime
    actor_user_id: int | None
    actor_role: str
    actor_name: str
    subject_user_id: int | None
    profile_id: int | None
    action: str
    detail: dict[str, Any]
    ip: str | None


@dataclass(frozen=True)
class ProfileInfo:
    """A coached person. ``settings`` is None until the first screening sets them."""

    id: int
    user_id: int
    name: str
    birth_year: int | None
    settings: PersonSettings | None
    created_at: dt.datetime
    updated_at: dt.datetime
    time_zone: str | None = None  # IANA name; None: the server's local clock


@dataclass(frozen=True)
class ScreeningEntry:
    """A saved screening: the answers given and what the screen concluded."""

    id: int
    profile_id: int
    taken_at: dt.datetime
    answers: dict[str, Any]
    verdict: str
    red_flags: tuple[str, ...]
    messages: tuple[str, ...]
    # Set when a linked clinician saw the person and cleared this screening's red flags.
    cleared_at: dt.datetime | None = None
    cleared_by_user_id: int | None = None
    cleared_by_name: str | None = None
    clearance_note: str | None = None

    @property
    def flags_cleared(self) -> bool:
        """True when a clinician cleared this screening's red flags (they no longer pause the plan)."""
        return self.cleared_at is not None

    @property
    def stops_the_plan(self) -> bool:
        """A screening whose red flags still stand: it said "see a clinician first" and none cleared it."""
        return self.verdict == "refer_now" and self.cleared_at is None


@dataclass(frozen=True)
class PlanChangeEntry:
    """A stored plan change with where it came from (the rules or a clinician)."""

    id: int
    profile_id: int
    change: PlanChange
    source: str  # rules | clinician
    clinician_user_id: int | None
    created_at: dt.datetime


@dataclass(frozen=True)
class PlanAdjustmentEntry:
    """A clinician's standing adjustment to a plan; ``payload`` is shaped by ``kind``."""

    id: int
    profile_id: int
    clinician_user_id: int | None
    created_at: dt.datetime
    kind: str
    payload: dict[str, Any]
    note: str
    active: bool


@dataclass(frozen=True)
class TechniqueCheckInfo:
    """A technique check and the state of its analysis job. Paths are relative to the data folder."""

    id: int
    profile_id: int
    created_at: dt.datetime
    movement: str
    side: str | None
    status: str  # queued | running | done | failed
    progress: float
    error: str | None
    input_path: str | None
    original_filename: str | None
    output_dir: str | None
    report: dict[str, Any] | None
    summary: dict[str, Any] | None
    attempts: int
    worker_id: str | None
    lease_expires_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


@dataclass(frozen=True)
class InviteInfo:
    """A clinician's invite code and whether it has been used."""

    id: int
    code: str
    clinician_user_id: int
    note: str
    created_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None
    used_by_profile_id: int | None

    def is_open(self, now: dt.datetime) -> bool:
        """Still redeemable at ``now``: unused and not expired."""
        return self.used_at is None and now < self.expires_at


@dataclass(frozen=True)
class ApiTokenInfo:
    """An API token's metadata (the token itself is never stored)."""

    id: int
    user_id: int
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
