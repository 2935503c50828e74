"""Plain records that flow between storage, the programme logic and the interfaces.

They are frozen dataclasses with no I/O so the logic stays pure: storage turns database rows into
these, the logic reads them and returns new ones, and the interfaces render them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PersonSettings:
    """What the plan adapts to. Equipment ids match ``content/data/equipment.yaml``."""

    equipment: frozenset[str]
    days_per_week: int
    runs: bool
    start_date: dt.date
    protocol_id: str = "runners_knee"
    guideline_additions: bool = True
    training_weekdays: tuple[int, ...] | None = None  # 0=Monday; None = spread evenly


@dataclass(frozen=True)
class SessionLog:
    """One session as the person did it (or a record that it was missed)."""

    date: dt.date
    completed: float  # 0..1, fraction of the planned work done
    pain_during: int | None = None  # 0-10 NPRS
    pain_after: int | None = None  # 0-10 NPRS
    next_morning_pain: int | None = None  # 0-10 NPRS, the morning after
    exercises_done: tuple[str, ...] = ()
    note: str = ""
    id: int | None = None


@dataclass(frozen=True)
class ScoreRecord:
    """A questionnaire result: ``instrument`` is ``kujala`` or ``nprs``."""

    instrument: str
    date: dt.date
    score: float
    answers: tuple[str, ...] = ()
    id: int | None = None


@dataclass(frozen=True)
class PlanChange:
    """A change the rules made to the plan, kept so the person can see why."""

    date: dt.date
    rule_id: str
    kind: str  # progress | hold | ease | phase | running | shift
    explanation: str
    details: dict[str, object] = field(default_factory=dict)
