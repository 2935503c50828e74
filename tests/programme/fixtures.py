"""Small hand-built content for the plan tests, independent of the packaged data files.

Substitution chains mirror the real content's shape: foam roller -> lacrosse ball -> tennis ball ->
hands; stability ball + dumbbells -> bottles / wall squat -> body-weight squat; band -> no band.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kneefix.content.schemas import (
    Change,
    Condition,
    Equipment,
    Exercise,
    Phase,
    ProgressionRule,
    Protocol,
    ReturnToRunning,
    RunStage,
    SessionSlot,
)
from kneefix.programme.records import PersonSettings, SessionLog

MONDAY = dt.date(2025, 1, 6)

EQUIPMENT: dict[str, Equipment] = {
    item.id: item
    for item in [
        Equipment(id="foam_roller", name="Foam roller"),
        Equipment(id="lacrosse_ball", name="Lacrosse ball"),
        Equipment(id="tennis_ball", name="Tennis ball"),
        Equipment(id="stability_ball", name="Stability ball"),
        Equipment(id="dumbbells", name="Dumbbells"),
        Equipment(id="band", name="Resistance band"),
        Equipment(id="step", name="Step"),
        Equipment(id="wall", name="Wall", always_available=True),
        Equipment(id="chair", name="Chair", always_available=True),
    ]
}
ALL_EQUIPMENT = frozenset(EQUIPMENT)
OPTIONAL_EQUIPMENT = frozenset(item for item, value in EQUIPMENT.items() if not value.always_available)


def exercise(
    exercise_id: str,
    step: str,
    *,
    equipment: Sequence[str] = (),
    dose: Mapping[str, Any] | None = None,
    substitutes: Sequence[tuple[str, str]] = (),
    origin: str = "article",
) -> Exercise:
    return Exercise.model_validate(
        {
            "id": exercise_id,
            "name": exercise_id.replace("_", " ").capitalize(),
            "step": step,
            "origin": origin,
            "purpose": "test",
            "why": f"why {exercise_id}",
            "equipment": list(equipment),
            "how_to": ["do it"],
            "cues": [f"cue {exercise_id}"],
            "dose": dose or {"sets": 3, "reps": 10},
            "substitutes": [{"when_missing": missing, "use": use} for missing, use in substitutes],
        }
    )


EXERCISES: dict[str, Exercise] = {
    item.id: item
    for item in [
        exercise(
            "roll_foam",
            "inhibit",
            equipment=["foam_roller"],
            dose={"duration_s": 60},
            substitutes=[("foam_roller", "roll_lacrosse")],
        ),
        exercise(
            "roll_lacrosse",
            "inhibit",
            equipment=["lacrosse_ball"],
            dose={"duration_s": 60},
            substitutes=[("lacrosse_ball", "roll_tennis")],
        ),
        exercise(
            "roll_tennis",
            "inhibit",
            equipment=["tennis_ball"],
            dose={"duration_s": 60},
            substitutes=[("tennis_ball", "self_massage")],
        ),
        exercise("self_massage", "inhibit", dose={"duration_s": 45}),
        exercise("stretch", "lengthen", dose={"sets": 3, "hold_s": 30}),
        exercise("leg_extension", "activate", equipment=["chair"], dose={"sets": 3, "reps": 10, "hold_s": 2}),
        exercise("wall_sit_raise", "activate", equipment=["wall"], dose={"sets": 3, "reps": 8, "hold_s": 5}),
        exercise(
            "ball_squat_press",
            "integrate",
            equipment=["stability_ball", "dumbbells"],
            substitutes=[("stability_ball", "wall_squat_press"), ("dumbbells", "ball_squat_no_weight")],
        ),
        exercise(
            "ball_squat_no_weight",
            "integrate",
            equipment=["stability_ball"],
            substitutes=[("stability_ball", "bodyweight_squat")],
        ),
        exercise(
            "wall_squat_press",
            "integrate",
            equipment=["wall", "dumbbells"],
            substitutes=[("dumbbells", "bodyweight_squat")],
        ),
        exercise("bodyweight_squat", "integrate"),
        exercise(
            "clamshell_band",
            "hip",
            equipment=["band"],
            substitutes=[("band", "side_lying_abduction")],
            origin="guideline",
        ),
        exercise("side_lying_abduction", "hip", origin="guideline"),
        exercise("step_down", "integrate", equipment=["step"], dose={"sets": 3, "reps": 8}),
    ]
}


def slot(step: str, *ids: str, optional: bool = False) -> SessionSlot:
    return SessionSlot.model_validate(
        {"step": step, "exercises": list(ids), "optional_module": "guideline_additions" if optional else None}
    )


def phase(
    phase_id: str, slots: Sequence[SessionSlot], *, min_weeks: int = 2, dose_scale: float = 1.0
) -> Phase:
    return Phase(
        id=phase_id,
        name=phase_id.replace("_", " ").title(),
        goal="test",
        min_weeks=min_weeks,
        dose_scale=dose_scale,
        slots=list(slots),
        advance_when="rules",
    )


def rule(
    rule_id: str,
    kind: str,
    *,
    window: int = 1,
    require: str = "every",
    fraction: float = 1.0,
    change: Mapping[str, Any] | None = None,
    priority: int = 0,
    explain: str | None = None,
    **criteria: Any,
) -> ProgressionRule:
    return ProgressionRule(
        id=rule_id,
        kind=kind,
        when=Condition.model_validate(
            {"window_sessions": window, "require": require, "fraction": fraction, **criteria}
        ),
        change=Change.model_validate(change) if change is not None else None,
        priority=priority,
        explain=explain or f"{rule_id} fired ({{window}} sessions)",
    )


GOOD: dict[str, Any] = {
    "pain_during_max": 3,
    "pain_after_max": 3,
    "next_morning_settled": True,
    "completed_min": 0.8,
}

RULES: list[ProgressionRule] = [
    rule("ease_pain", "ease", pain_during_min=6, priority=100,
         change={"target": "dose_scale", "op": "percent", "value": -20, "floor": 0.5},
         explain="Pain reached {pain_during_max}/10, so the dose drops to {dose_pct}%."),
    rule("ease_morning", "ease", next_morning_settled=False, priority=90,
         change={"target": "dose_scale", "op": "percent", "value": -10, "floor": 0.5}),
    rule("hold_borderline", "hold", pain_during_min=4, pain_during_max=5, priority=50),
    rule("advance", "progress", window=6, priority=30, change={"target": "phase", "op": "add", "value": 1},
         explain="{window} good sessions: on to {phase}.", **GOOD),
    rule("more_reps", "progress", window=3, priority=20,
         change={"target": "reps", "op": "add", "value": 2, "ceiling": 14},
         explain="{window} easy sessions, so two more reps.", **GOOD),
    rule("more_dose", "progress", window=3, priority=10,
         change={"target": "dose_scale", "op": "percent", "value": 10, "ceiling": 1.5}, **GOOD),
]  # fmt: skip

RUNNING = ReturnToRunning(
    opens_when="good sessions",
    min_good_sessions=3,
    pain_max=3,
    rest_days_between_runs=1,
    stages=[
        RunStage(stage=1, rpe=3, walk_min=2, run_min=3, distance_km=1.6, repeats_at_least=2),
        RunStage(stage=2, rpe=4, walk_min=2, run_min=4, distance_km=2.4, repeats_at_least=2),
        RunStage(stage=3, rpe=5, walk_min=0, run_min=None, distance_km=3.2, repeats_at_least=1),
    ],
)

PHASES: list[Phase] = [
    phase(
        "settle",
        [
            slot("inhibit", "roll_foam"),
            slot("lengthen", "stretch"),
            slot("activate", "leg_extension", "wall_sit_raise"),
            slot("integrate", "ball_squat_press"),
            slot("hip", "clamshell_band", optional=True),
        ],
    ),
    phase(
        "build",
        [  # deliberately out of step order: the planner must sort it
            slot("hip", "clamshell_band", "side_lying_abduction", optional=True),
            slot("integrate", "ball_squat_press", "step_down"),
            slot("activate", "wall_sit_raise", "leg_extension"),
            slot("inhibit", "roll_foam"),
            slot("lengthen", "stretch"),
        ],
        dose_scale=1.2,
    ),
    phase(
        "load",
        [
            slot("inhibit", "roll_lacrosse"),
            slot("lengthen", "stretch"),
            slot("activate", "wall_sit_raise"),
            slot("integrate", "ball_squat_press", "step_down"),
        ],
        dose_scale=1.4,
    ),
]

PROTOCOL = Protocol(
    id="test_knee",
    name="Test knee programme",
    condition="test",
    summary="test",
    default_days_per_week=3,
    kujala_every_weeks=3,
    phases=PHASES,
    rules=RULES,
    return_to_running=RUNNING,
    notes=["Rules validated elsewhere."],
)


@dataclass(frozen=True)
class FakeContent:
    """Stands in for ``kneefix.content.loader.Content`` with just what the plan needs."""

    exercises: dict[str, Exercise]
    equipment: dict[str, Equipment]


CONTENT = FakeContent(EXERCISES, EQUIPMENT)


def settings(
    equipment: frozenset[str] = ALL_EQUIPMENT,
    *,
    days_per_week: int = 3,
    runs: bool = True,
    start: dt.date = MONDAY,
    guideline_additions: bool = True,
    weekdays: tuple[int, ...] | None = None,
) -> PersonSettings:
    return PersonSettings(
        equipment=equipment,
        days_per_week=days_per_week,
        runs=runs,
        start_date=start,
        protocol_id=PROTOCOL.id,
        guideline_additions=guideline_additions,
        training_weekdays=weekdays,
    )


def good_log(day: dt.date, *, pain: int = 2, morning: int = 1) -> SessionLog:
    return SessionLog(date=day, completed=1.0, pain_during=pain, pain_after=pain, next_morning_pain=morning)


def logs_on(days: Sequence[dt.date], **kwargs: Any) -> list[SessionLog]:
    return [good_log(day, **kwargs) for day in days]


def days(*offsets: int, start: dt.date = MONDAY) -> list[dt.date]:
    return [start + dt.timedelta(days=offset) for offset in offsets]
