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
    hurt: tuple[str, ...] = ()  # exercise ids the person marked "this hurt"
    kind: str = "session"  # "session" (training) or "run" (return-to-running run)
    run_minutes: float | None = None  # runs only: time on the feet, walking breaks included
    run_distance_km: float | None = None  # runs only, optional

    @property
    def is_run(self) -> bool:
        return self.kind == LOG_KIND_RUN


LOG_KIND_SESSION = "session"
LOG_KIND_RUN = "run"
LOG_KINDS = (LOG_KIND_SESSION, LOG_KIND_RUN)


@dataclass(frozen=True)
class RunCheck:
    """The return-to-running readiness check: pain (0-10) on a brisk walk and on single-leg hops."""

    date: dt.date
    walk_pain: int
    hop_pain: int
    id: int | None = None


@dataclass(frozen=True)
class ReviewEvent:
    """Something outside the logs that can pause or resume the plan.

    * ``screening``: a (re-)screening; ``red_flag`` is True when it said "see a clinician first";
      ``pain`` is the pain it recorded (it becomes the new baseline when the screening is clear).
    * ``clinician_resume``: a linked clinician reviewed the person and resumed the plan.
    * ``red_flag_cleared``: a linked clinician saw the person and cleared one screening's red flags
      (``screened`` is that screening's date); it ends the pause that screening began, and only that
      one (a pause the rules began earlier for pain stays), and a later red-flag screening pauses again.
    """

    date: dt.date
    kind: str  # "screening" | "clinician_resume" | "red_flag_cleared"
    red_flag: bool = False
    pain: int | None = None
    reason: str = ""
    screened: dt.date | None = None


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
    kind: str  # progress | advance | ease | regress | hold | pause | resume | running | shift
    explanation: str
    details: dict[str, object] = field(default_factory=dict)
