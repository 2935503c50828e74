"""Reading posted form fields the same way on every page: trimmed text, optional 0-10 ratings, numbers.

Also the one-line summary of plan changes that a saved form's flash message ends with.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from kneefix.errors import InputError
from kneefix.programme.records import PlanChange


def field_text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def field_list(form: Any, name: str) -> list[str]:
    """Every value of a repeated field (ticked checkboxes)."""
    return [value for value in form.getlist(name) if isinstance(value, str)]


def optional_pain(text: str, what: str) -> int | None:
    if text == "":
        return None
    if not text.isdigit():
        raise InputError(f"{what} must be a whole number from 0 to 10.")
    return int(text)


def required_pain(text: str, what: str) -> int:
    value = optional_pain(text, what)
    if value is None:
        raise InputError(f"Please choose a number from 0 to 10 for {what[0].lower() + what[1:]}.")
    return value


def optional_number(text: str, what: str) -> float | None:
    """A decimal number as people type it (a comma is read as the decimal point)."""
    if text == "":
        return None
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputError(f"{what} must be a number, like 25 or 2.5.")
    return value


def changes_message(changes: Sequence[PlanChange]) -> str:
    if not changes:
        return ""
    return " Your plan changed: " + " ".join(change.explanation for change in changes)
