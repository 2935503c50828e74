"""What the replay keeps while it walks through a person's records, and the records it hands out.

``Replay`` is the mutable bookkeeping of one replay (``replay.current_state``); the pause rules
(``review.py``) and the running ladder (``running.py``) read and update it. Nothing outside the
programme layer sees it: the replay returns frozen records (``LoggedSession``, ``RunningState``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from kneefix.content.schemas import RunStage
from kneefix.programme.planner import PlannedExercise
from kneefix.programme.progression import Assessment, DoseState
from kneefix.programme.records import (
    PlanChange,
    RunCheck,
    ScoreRecord,
    SessionLog,
)

DONE_FRACTION = 0.5
"""A session counts as done (for breaks, phase length and adherence) when at least half was done."""


def is_done(log: SessionLog) -> bool:
    return log.completed >= DONE_FRACTION


@dataclass(frozen=True)
class LoggedSession:
    """A logged session or run with the dose prescribed for it, the rule it earned and how it went."""

    log: SessionLog
    state: DoseState
    rule_id: str | None = None
    settled: bool | None = None
    flare: bool = False
    reference: int | None = None


@dataclass(frozen=True)
class RunningState:
    """Where return to running stands. ``available`` is False for non-runners or protocols without it.

    ``status``: ``unavailable``, ``closed`` (the plan's criteria are not met yet), ``check_needed`` (the
    criteria are met but the readiness check has not passed), ``open``, ``held`` (a recent flare: no run
    until a session settles), ``paused`` (the whole plan is paused) or ``finished``.
    """

    available: bool
    open: bool = False
    opened_on: dt.date | None = None
    stage: RunStage | None = None
    good_runs_at_stage: int = 0
    finished: bool = False
    next_run_from: dt.date | None = None
    status: str = "unavailable"
    missing: tuple[str, ...] = ()
    criteria_met_on: dt.date | None = None

    @property
    def summary(self) -> str:
        if not self.available:
            return "Return to running is not part of this plan."
        if self.status == "paused":
            return "Running is paused with the rest of your plan until your knee has been reviewed."
        if self.finished:
            return "You have completed the return-to-running stages."
        if self.status == "held":
            return "No running until your knee has settled after a session again."
        if not self.open or self.stage is None:
            return "Return to running is not open yet. " + " ".join(self.missing)
        return f"Running stage {self.stage.stage}: {describe_stage(self.stage)}."

    @property
    def stage_number(self) -> int | None:
        return self.stage.stage if self.stage is not None else None


def describe_stage(stage: RunStage) -> str:
    effort = f"effort {stage.rpe}/10"
    if stage.run_min is None:
        return f"run continuously for {stage.distance_km:g} km at {effort}"
    return (
        f"alternate {stage.walk_min:g} min walking with {stage.run_min:g} min running for "
        f"{stage.distance_km:g} km at {effort}"
    )


@dataclass
class Replay:
    """Mutable bookkeeping while the records are replayed; never leaves this module."""

    state: DoseState = field(default_factory=DoseState)
    phase_started: dt.date = dt.date.min
    done_in_phase: int = 0
    last_change: dt.date | None = None  # the day after the dose or phase last changed
    break_start: dt.date | None = None  # the first session after the latest long break
    era_start: dt.date = dt.date.min  # the start, or the latest resume: trends are judged from here
    rule_fired: dict[str, dt.date] = field(default_factory=dict)
    doses: dict[DoseState, tuple[PlannedExercise, ...]] = field(default_factory=dict)
    last_done: dt.date | None = None
    last_done_state: DoseState | None = None
    assessed: list[Assessment] = field(default_factory=list)  # training sessions of this era
    mornings: list[int] = field(default_factory=list)  # rated next mornings of this era, sessions and runs
    rated: list[tuple[dt.date, int]] = field(default_factory=list)
    all_logs: list[SessionLog] = field(default_factory=list)  # this era, sessions and runs
    history: list[LoggedSession] = field(default_factory=list)
    changes: list[PlanChange] = field(default_factory=list)
    running: RunningState = field(default_factory=lambda: RunningState(available=False))
    baseline: int | None = None
    paused_reason: str | None = None
    paused_since: dt.date | None = None
    finished_on: dt.date | None = None
    last_hold: str | None = None
    scores: list[ScoreRecord] = field(default_factory=list)
    checks: list[RunCheck] = field(default_factory=list)
    no_change_checked: bool = False
