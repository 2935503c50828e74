"""Questionnaire scoring: the Kujala AKPS from answer letters, NPRS validation, and change vs the MCID.

The point values live in the Kujala questionnaire file (pinned to one published table, because circulating
versions differ); this module only adds them up and explains bad input. Pure logic, no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from kneefix.content.schemas_screening import Questionnaire
from kneefix.errors import InputError
from kneefix.limits import check_pain

KUJALA_MCID = 10.0
"""Crossley 2004: the smallest Kujala change people notice as meaningful (points, 0-100 scale)."""
NPRS_MCID = 1.16
"""Piva 2009: the smallest NPRS change meaningful to people with patellofemoral pain (points, 0-10)."""
NPRS_GENERAL_POINTS = 2.0
NPRS_GENERAL_PERCENT = 30.0
"""Farrar 2001: the general chronic-pain benchmark, about 2 points or about 30% less pain."""

Direction = Literal["improved", "worsened", "no_meaningful_change"]


@dataclass(frozen=True)
class ScoreChange:
    """How a score moved between two dates and whether the move is big enough to matter.

    ``delta`` is ``after - before`` in the scale's own units; ``improvement`` is signed so that positive
    always means better (for pain, a fall). ``meaningful`` is true when the move, either way, reaches the
    MCID: a meaningful worsening is worth flagging as much as a meaningful gain.
    """

    instrument: str
    before: float
    after: float
    delta: float
    improvement: float
    mcid: float
    meaningful: bool
    direction: Direction
    percent_improvement: float | None = None
    meets_general_benchmark: bool | None = None

    def describe(self) -> str:
        """One plain sentence for the person."""
        amount = f"{abs(self.improvement):g}"
        if self.direction == "improved":
            return f"{self.instrument} improved by {amount} points, at least the {self.mcid:g} that matter."
        if self.direction == "worsened":
            return f"{self.instrument} got worse by {amount} points, at least the {self.mcid:g} that matter."
        return (
            f"{self.instrument} changed by {amount} points, less than the {self.mcid:g} points that people "
            f"notice as a real change."
        )


# --- Kujala ------------------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s,;]+")


def parse_kujala_answers(text: str) -> list[str]:
    """Letters from ``"a,b,c,..."`` (commas, spaces or semicolons), or from ``"abcab..."`` run together.

    Only splits and lower-cases; ``score_kujala`` checks the count and each letter against the items.
    """
    cleaned = text.strip().lower()
    if not cleaned:
        raise InputError("No Kujala answers given: type one letter per question, e.g. a,b,a,c,...")
    parts = [part for part in _SEPARATORS.split(cleaned) if part]
    if len(parts) == 1 and len(parts[0]) > 1 and parts[0].isalpha():
        parts = list(parts[0])
    return parts


def _check_choice(questionnaire: Questionnaire) -> None:
    if questionnaire.kind != "choice":
        raise InputError(f"{questionnaire.name} is not scored from lettered answers.")


def kujala_item_points(answers: Sequence[str], questionnaire: Questionnaire) -> tuple[int, ...]:
    """Points for each answer, in item order; raises InputError listing every bad answer."""
    _check_choice(questionnaire)
    items = questionnaire.items
    if len(answers) != len(items):
        raise InputError(
            f"{questionnaire.short_name} needs {len(items)} answers, one letter per question; "
            f"got {len(answers)}."
        )
    points: list[int] = []
    bad: list[str] = []
    for item, raw in zip(items, answers, strict=True):
        letter = raw.strip().lower() if isinstance(raw, str) else ""
        option = item.option(letter) if len(letter) == 1 else None
        if option is None:
            choices = f"{item.letters[0]}-{item.letters[-1]}"
            bad.append(f"question {item.number} ({item.topic}): {raw!r} is not an answer; choose {choices}")
            continue
        points.append(option.points)
    if bad:
        raise InputError(f"{questionnaire.short_name} answers not accepted - " + "; ".join(bad) + ".")
    return tuple(points)


def score_kujala(answers: Sequence[str], q: Questionnaire) -> int:
    """The Kujala total, 0-100 (higher is better), from one letter per item (``a`` = best)."""
    return sum(kujala_item_points(answers, q))


def _check_range(name: str, value: float, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{name} must be a number from {low:g} to {high:g}; got {value!r}.")
    if not low <= value <= high:
        raise InputError(f"{name} must be from {low:g} to {high:g}; got {value:g}.")
    return float(value)


def _change(
    instrument: str,
    before: float,
    after: float,
    *,
    mcid: float,
    higher_is_better: bool,
) -> ScoreChange:
    delta = after - before
    improvement = delta if higher_is_better else -delta
    # Round away float noise (e.g. 6.0 - 4.84) before comparing with the MCID.
    meaningful = round(abs(improvement), 6) >= mcid
    direction: Direction = "no_meaningful_change"
    if meaningful:
        direction = "improved" if improvement > 0 else "worsened"
    return ScoreChange(
        instrument=instrument,
        before=before,
        after=after,
        delta=round(delta, 6),
        improvement=round(improvement, 6),
        mcid=mcid,
        meaningful=meaningful,
        direction=direction,
    )


def kujala_change(before: float, after: float, mcid: float = KUJALA_MCID) -> ScoreChange:
    """Kujala change between two scores (0-100) against its MCID of 10 points."""
    first = _check_range("The earlier Kujala score", before, 0, 100)
    second = _check_range("The later Kujala score", after, 0, 100)
    return _change("Kujala", first, second, mcid=mcid, higher_is_better=True)


# --- NPRS --------------------------------------------------------------------------------------------


def validate_nprs(value: object, what: str = "Pain") -> int:
    """A 0-10 whole-number pain rating (:func:`kneefix.limits.check_pain`, the one definition)."""
    return check_pain(value, what)


def nprs_change(before: float, after: float, mcid: float = NPRS_MCID) -> ScoreChange:
    """Pain change (0-10, lower is better) against the PFP MCID of 1.16, plus the general 2-point/30% mark.

    Averages of several ratings are allowed, so the inputs may be fractional.
    """
    first = _check_range("The earlier pain rating", before, 0, 10)
    second = _check_range("The later pain rating", after, 0, 10)
    base = _change("Pain (NPRS)", first, second, mcid=mcid, higher_is_better=False)
    percent = round(100 * (first - second) / first, 1) if first > 0 else None
    general = base.improvement >= NPRS_GENERAL_POINTS or (
        percent is not None and percent >= NPRS_GENERAL_PERCENT
    )
    return ScoreChange(
        instrument=base.instrument,
        before=base.before,
        after=base.after,
        delta=base.delta,
        improvement=base.improvement,
        mcid=base.mcid,
        meaningful=base.meaningful,
        direction=base.direction,
        percent_improvement=percent,
        meets_general_benchmark=general and base.improvement > 0,
    )
