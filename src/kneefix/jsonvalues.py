"""The one converter from kneefix's records to plain JSON values.

Services return frozen dataclasses and pydantic models; the API, the exports, ``--json`` on the CLI
and the JSON columns of the database all need the same thing made of dicts, lists, strings, numbers,
booleans and None. Dates become ISO strings, sets sorted lists, enums their values, models their
``model_dump(mode="json")``. What differs between those users is only how forgiving it is:

* ``strict=True`` (what is stored in the database): anything JSON cannot hold faithfully — a
  non-finite number, a key that is not text, an object of unknown type — is an
  :class:`~kneefix.errors.InputError` naming where it is, rather than a failure deep in the driver or a
  silently different value read back later;
* otherwise (what is shown or exported) a non-finite number becomes ``null`` and an unknown object its
  text, so a report is never lost to one odd value;
* ``digits`` rounds floats (the programme's figures are shown to 4 decimals, so a replayed plan gives
  the same text on every machine).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel

from kneefix.errors import InputError

__all__ = ["FIGURE_DIGITS", "canonical", "record_fields", "to_json_value"]


def to_json_value(
    value: Any,
    *,
    strict: bool = False,
    digits: int | None = None,
    use_to_dict: bool = True,
    where: str = "value",
) -> Any:
    """A copy of ``value`` made of dicts, lists, str, int, float, bool and None only.

    ``use_to_dict=False`` converts a record by its fields even when it has a ``to_dict`` method: what
    such a method itself calls to build its answer.
    """
    return _Converter(strict=strict, digits=digits, use_to_dict=use_to_dict).convert(value, where)


def canonical(value: Any) -> str:
    """A stable text form of a JSON value, for telling whether two payloads are the same."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclasses.dataclass(frozen=True)
class _Converter:
    strict: bool
    digits: int | None
    use_to_dict: bool

    def convert(self, value: Any, where: str) -> Any:
        if value is None or isinstance(value, bool | int | str):
            return value.value if isinstance(value, enum.Enum) else value
        if isinstance(value, float):
            return self._number(value, where)
        if isinstance(value, enum.Enum):
            return self.convert(value.value, where)
        if isinstance(value, dt.date | dt.time):  # a datetime is a date too
            return value.isoformat()
        if isinstance(value, BaseModel):  # content models keep their own precision
            unrounded = dataclasses.replace(self, digits=None)
            return unrounded.convert(value.model_dump(mode="json"), where)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            to_dict = getattr(value, "to_dict", None) if self.use_to_dict else None
            if callable(to_dict):  # a record that knows its own JSON shape
                return self.convert(to_dict(), where)
            fields = dataclasses.fields(value)
            return {f.name: self.convert(getattr(value, f.name), f"{where}.{f.name}") for f in fields}
        if isinstance(value, Mapping):
            return {
                self._key(key, where): self.convert(item, f"{where}.{key}") for key, item in value.items()
            }
        if isinstance(value, set | frozenset):
            items = [self.convert(item, f"{where}[]") for item in value]
            try:
                return sorted(items)
            except TypeError:  # mixed kinds: still the same order every time
                return sorted(items, key=canonical)
        if isinstance(value, list | tuple):
            return [self.convert(item, f"{where}[{index}]") for index, item in enumerate(value)]
        if self.strict:
            raise InputError(f"{where} holds {type(value).__name__}, which cannot be saved as JSON.")
        if isinstance(value, PurePath):
            return str(value)
        if isinstance(value, bytes):
            return value.decode("utf-8", errors="replace")
        return str(value)

    def _number(self, value: float, where: str) -> float | None:
        if not math.isfinite(value):
            if self.strict:
                raise InputError(f"{where} must be a finite number, got {value!r}.")
            return None
        return value if self.digits is None else round(value, self.digits)

    def _key(self, key: object, where: str) -> str:
        if isinstance(key, str):
            return key.value if isinstance(key, enum.Enum) else key
        if self.strict:
            raise InputError(f"{where} has a non-text key {key!r}.")
        return str(key.value if isinstance(key, enum.Enum) else key)


FIGURE_DIGITS = 4
"""Decimals the programme's figures keep in JSON, so a replayed plan reads the same on every machine."""


def record_fields(value: Any) -> Any:
    """``value`` by its fields (never its ``to_dict``), figures to :data:`FIGURE_DIGITS` decimals: what
    the programme's and services' ``to_dict`` methods build their answer from."""
    return to_json_value(value, digits=FIGURE_DIGITS, use_to_dict=False)
