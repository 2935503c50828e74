"""The ranges a person's numbers must fall in, defined once for every layer.

Pain is the 0-10 numeric rating scale (NPRS); training days are 1 to 7 a week; an age is 5 to 120
years (the screening's red flags cover children from 5; younger is outside what the programme is for).
The content schemas, the screening, the records, the API models and the database's CHECK constraints
all take their limits from here, so a value one part accepts is never refused by another.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from kneefix.errors import InputError

PAIN_MIN, PAIN_MAX = 0, 10
DAYS_MIN, DAYS_MAX = 1, 7
AGE_MIN, AGE_MAX = 5, 120

Pain = Annotated[int, Field(ge=PAIN_MIN, le=PAIN_MAX)]
"""A 0-10 pain rating, as a pydantic field type."""
DaysPerWeek = Annotated[int, Field(ge=DAYS_MIN, le=DAYS_MAX)]
AgeYears = Annotated[int, Field(ge=AGE_MIN, le=AGE_MAX)]


def whole_number(value: object) -> int | None:
    """``value`` as an int when it is one (``4``, ``4.0``, ``"4"``), else None; never a bool."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _refusal(what: str, value: object, low: str, high: str) -> InputError:
    number = whole_number(value)
    if number is None:
        return InputError(f"{what} must be a whole number from {low} to {high}; got {value!r}.")
    return InputError(f"{what} must be from {low} to {high}; got {number}.")


def check_pain(value: object, what: str = "Pain") -> int:
    """A 0-10 whole-number pain rating from an int or a string like ``"4"``; InputError otherwise."""
    number = whole_number(value)
    if number is None or not PAIN_MIN <= number <= PAIN_MAX:
        raise _refusal(what, value, f"{PAIN_MIN} (no pain)", f"{PAIN_MAX} (worst imaginable)")
    return number


def check_days_per_week(value: object, what: str = "Training days per week") -> int:
    number = whole_number(value)
    if number is None or not DAYS_MIN <= number <= DAYS_MAX:
        raise _refusal(what, value, str(DAYS_MIN), str(DAYS_MAX))
    return number


def check_age(value: object, what: str = "Age") -> int:
    """Whole years, 5 to 120."""
    number = whole_number(value)
    if number is None or not AGE_MIN <= number <= AGE_MAX:
        raise _refusal(what, value, str(AGE_MIN), str(AGE_MAX))
    return number
