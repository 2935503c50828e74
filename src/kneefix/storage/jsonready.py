"""Make free-form payloads (plan-change details, adjustment payloads) safe to store as JSON.

Dates become ISO strings, tuples and sets become lists; anything else that JSON cannot hold is an
InputError naming the key, rather than a failure deep inside the database driver.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from typing import Any

from kneefix.errors import InputError


def json_ready(value: Any, where: str = "value") -> Any:
    """A copy of ``value`` made of dicts, lists, str, int, float, bool and None only."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{where} must be a finite number, got {value!r}.")
        return value
    if isinstance(value, dt.date):  # datetime is a date too
        return value.isoformat()
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InputError(f"{where} has a non-text key {key!r}.")
            result[key] = json_ready(item, f"{where}.{key}")
        return result
    if isinstance(value, list | tuple):
        return [json_ready(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, set | frozenset):
        return sorted(json_ready(item, f"{where}[]") for item in value)
    raise InputError(f"{where} holds {type(value).__name__}, which cannot be saved as JSON.")


def canonical(value: Any) -> str:
    """A stable text form, for telling whether two payloads are the same."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
