"""Screening answers, and the day the service tests' person is screened, for the service tests."""

from __future__ import annotations

import datetime as dt

from kneefix.content.loader import Content
from kneefix.programme.screening import ScreeningAnswers, questions_for

TYPICAL_KUJALA = tuple("abababababaaa")


def typical_answers(content: Content, yes: tuple[str, ...] = (), **changes: object) -> ScreeningAnswers:
    """A 30-year-old runner with typical symptoms; ``yes`` lists red flags answered yes."""
    age = changes.get("age", 30)
    assert isinstance(age, int)
    values: dict[str, object] = {
        "age": age,
        "symptoms": frozenset({"pain_around_kneecap", "pain_running"}),
        "red_flags": {flag.id: flag.id in yes for flag in questions_for(age, content)},
        "pain_now": 3,
        "equipment": frozenset({"foam_roller"}),
        "days_per_week": 3,
        "runs": True,
        "kujala": TYPICAL_KUJALA,
    }
    values.update(changes)
    return ScreeningAnswers(**values)  # type: ignore[arg-type]


START = dt.date(2025, 3, 3)  # a Monday: the plan's first session falls on it
