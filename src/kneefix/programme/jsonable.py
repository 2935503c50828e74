"""Turn the programme's frozen dataclasses into plain JSON-ready values.

The CLI's ``--json`` flag, the web API and the exports all dump the same records; one converter keeps
dates, enums-as-strings, pydantic models and nested tuples consistent everywhere.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel


def to_jsonable(value: Any) -> Any:
    """Return ``value`` as nested dicts, lists, strings and numbers (dates as ISO strings)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(to_jsonable(item) for item in value)
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if isinstance(value, float):
        return round(value, 4)
    return value
