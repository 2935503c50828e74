"""Small builders for realistic records, so tests state only what matters to them."""

from __future__ import annotations

import datetime as dt

from kneefix.programme.records import PersonSettings, PlanChange, RunCheck, ScoreRecord, SessionLog

START = dt.date(2025, 3, 3)


def settings(**changes: object) -> PersonSettings:
    values: dict[str, object] = {
        "equipment": frozenset({"foam_roller", "lacrosse_ball"}),
        "days_per_week": 3,
        "runs": True,
        "start_date": START,
        "training_weekdays": (0, 2, 4),
    }
    values.update(changes)
    return PersonSettings(**values)  # type: ignore[arg-type]


def log(day: int = 0, **changes: object) -> SessionLog:
    values: dict[str, object] = {
        "date": START + dt.timedelta(days=day),
        "completed": 1.0,
        "pain_during": 2,
        "pain_after": 3,
        "exercises_done": ("foam_roll_quads", "hamstring_stretch"),
        "note": "felt fine",
    }
    values.update(changes)
    return SessionLog(**values)  # type: ignore[arg-type]


def run(day: int = 0, **changes: object) -> SessionLog:
    """A return-to-running run: 20 minutes, 3.2 km, a little pain."""
    values: dict[str, object] = {
        "date": START + dt.timedelta(days=day),
        "kind": "run",
        "completed": 1.0,
        "pain_during": 1,
        "pain_after": 2,
        "run_minutes": 20.5,
        "run_distance_km": 3.2,
        "note": "walk 1, run 4",
    }
    values.update(changes)
    return SessionLog(**values)  # type: ignore[arg-type]


def run_check(day: int = 0, walk: int = 0, hop: int = 1) -> RunCheck:
    return RunCheck(START + dt.timedelta(days=day), walk, hop)


def kujala(day: int = 0, score: float = 72.0) -> ScoreRecord:
    return ScoreRecord("kujala", START + dt.timedelta(days=day), score, tuple("abcabcabcabca"))


def change(day: int = 7, rule: str = "progress_reps", **changes: object) -> PlanChange:
    values: dict[str, object] = {
        "date": START + dt.timedelta(days=day),
        "rule_id": rule,
        "kind": "progress",
        "explanation": "Three good sessions in a row: two more reps per set.",
        "details": {"target": "reps", "by": 2},
    }
    values.update(changes)
    return PlanChange(**values)  # type: ignore[arg-type]
