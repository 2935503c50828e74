"""One definition per rule: every layer that checks an age, a days-per-week or a pain rating accepts
exactly the same values and refuses the same ones (they all take the limits from kneefix.limits)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from kneefix.errors import InputError
from kneefix.limits import (
    AGE_MAX,
    AGE_MIN,
    DAYS_MAX,
    DAYS_MIN,
    PAIN_MAX,
    PAIN_MIN,
    AgeYears,
    DaysPerWeek,
    Pain,
)
from kneefix.programme.planner import validate_settings
from kneefix.programme.records import PersonSettings
from kneefix.programme.scoring import validate_nprs
from kneefix.services.screening import parse_age, parse_days, parse_pain
from kneefix.storage.guards import check_pain
from kneefix.storage.profiles import birth_year_from_age, check_settings

SETTINGS = PersonSettings(equipment=frozenset(), days_per_week=3, runs=False, start_date=dt.date(2025, 3, 3))


def _model(annotation: Any) -> Callable[[int], object]:
    adapter: TypeAdapter[int] = TypeAdapter(annotation)

    def check(value: int) -> object:
        try:
            return adapter.validate_python(value)
        except ValidationError as error:
            raise InputError(str(error)) from None

    return check


AGE_CHECKS: dict[str, Callable[[int], object]] = {
    "screening answers (services)": parse_age,
    "stored birth year (storage)": lambda age: birth_year_from_age(age, dt.date(2025, 3, 3)),
    "API model": _model(AgeYears),
}
DAYS_CHECKS: dict[str, Callable[[int], object]] = {
    "screening answers (services)": parse_days,
    "stored settings (storage)": lambda days: check_settings(replace(SETTINGS, days_per_week=days)),
    "planner (programme)": lambda days: validate_settings(replace(SETTINGS, days_per_week=days)),
    "API and content models": _model(DaysPerWeek),
}
PAIN_CHECKS: dict[str, Callable[[int], object]] = {
    "screening answers (services)": parse_pain,
    "scores (programme)": validate_nprs,
    "stored logs (storage)": lambda pain: check_pain("Pain", pain),
    "API models": _model(Pain),
}


@pytest.mark.parametrize(
    ("checks", "low", "high"),
    [(AGE_CHECKS, AGE_MIN, AGE_MAX), (DAYS_CHECKS, DAYS_MIN, DAYS_MAX), (PAIN_CHECKS, PAIN_MIN, PAIN_MAX)],
    ids=["age", "days per week", "pain"],
)
def test_every_layer_draws_the_same_line(
    checks: dict[str, Callable[[int], object]], low: int, high: int
) -> None:
    for where, check in checks.items():
        for value in (low, high):
            check(value)  # accepted everywhere
        for value in (low - 1, high + 1):
            try:
                check(value)
            except InputError:
                continue
            pytest.fail(f"the {where} accepted {value}, outside {low}..{high}")
