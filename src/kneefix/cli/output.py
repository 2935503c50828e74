"""Turning service results into JSON for ``--json``, so clinicians can script every command.

Services return frozen dataclasses and pydantic models; this walks them into plain JSON types (dates as
ISO strings, sets as sorted lists) instead of asking every record to know about JSON.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel


def to_jsonable(value: Any) -> Any:
    """A JSON-ready copy of ``value``: dataclasses and models become dicts, dates ISO strings."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, BaseModel):
        return to_jsonable(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        to_dict = getattr(value, "to_dict", None)
        if callable(to_dict):
            return to_jsonable(to_dict())
        return {field.name: to_jsonable(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((to_jsonable(item) for item in value), key=str)
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def dumps(value: Any) -> str:
    """Pretty, stable JSON text for a result."""
    return json.dumps(to_jsonable(value), indent=2, ensure_ascii=False, sort_keys=False)


def echo_json(value: Any) -> None:
    """Print ``value`` as JSON on stdout, with no Rich markup or wrapping in the way of a parser."""
    typer.echo(dumps(value))
