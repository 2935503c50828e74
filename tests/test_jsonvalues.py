"""The one JSON converter: the same plain values for the API, exports, ``--json`` and the database."""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from kneefix.errors import InputError
from kneefix.jsonvalues import canonical, record_fields, to_json_value


class Phase(enum.Enum):
    EASE = "ease"


class Dose(BaseModel):
    seconds: float


@dataclass(frozen=True)
class Inner:
    ratio: float

    def to_dict(self) -> dict[str, Any]:
        return {"ratio_pct": round(self.ratio * 100)}


@dataclass(frozen=True)
class Outer:
    day: dt.date
    inner: Inner
    tags: frozenset[str]
    phase: Phase
    dose: Dose


SAMPLE = Outer(
    dt.date(2025, 3, 3), Inner(0.123456), frozenset({"b", "a"}), Phase.EASE, Dose(seconds=1.234567)
)


def test_records_become_plain_values_and_their_own_shape_is_used() -> None:
    assert to_json_value(SAMPLE) == {
        "day": "2025-03-03",
        "inner": {"ratio_pct": 12},
        "tags": ["a", "b"],
        "phase": "ease",
        "dose": {"seconds": 1.234567},
    }
    json.dumps(to_json_value(SAMPLE))  # nothing JSON cannot hold is left


def test_record_fields_ignores_to_dict_and_rounds_figures_but_not_content_models() -> None:
    converted = record_fields(SAMPLE)
    assert converted["inner"] == {"ratio": 0.1235}
    assert converted["dose"] == {"seconds": 1.234567}  # a content model keeps its own precision


def test_a_record_whose_to_dict_uses_its_fields_does_not_recurse() -> None:
    @dataclass(frozen=True)
    class Selfish:
        value: float

        def to_dict(self) -> dict[str, Any]:
            result: dict[str, Any] = record_fields(self)
            result["extra"] = True
            return result

    assert to_json_value([Selfish(2.0)]) == [{"value": 2.0, "extra": True}]


def test_for_showing_odd_values_are_kept_readable() -> None:
    assert to_json_value({"a": math.nan, "b": math.inf, 3: Path("x/y"), "c": b"\xffok"}) == {
        "a": None,
        "b": None,
        "3": "x/y",
        "c": "\ufffdok",
    }
    assert to_json_value({1, 3, 2}) == [1, 2, 3]  # numbers by value, not as text
    assert to_json_value({1, "a"}) == to_json_value({"a", 1})  # mixed kinds: one stable order


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"pain": math.nan}, r"Plan\.pain must be a finite number"),
        ({1: "x"}, "non-text key 1"),
        ({"when": object()}, r"Plan\.when holds object"),
        ([Path("a")], r"Plan\[0\] holds PosixPath"),
    ],
)
def test_what_is_stored_refuses_what_json_cannot_hold_faithfully(value: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        to_json_value(value, strict=True, where="Plan")


def test_canonical_text_ignores_key_order() -> None:
    assert canonical({"b": 1, "a": [1, 2]}) == canonical({"a": [1, 2], "b": 1}) == '{"a":[1,2],"b":1}'
