"""Questionnaire scores: Kujala AKPS from answer letters and NPRS pain ratings, scored and saved.

Scoring itself is pure (``programme/scoring.py``); this adds the packaged questionnaire, the
comparison with the person's previous score and saving it to their profile.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from kneefix.content.loader import Content
from kneefix.content.schemas_screening import Questionnaire
from kneefix.errors import ContentError
from kneefix.jsonvalues import record_fields
from kneefix.programme.records import ScoreRecord
from kneefix.programme.scoring import (
    ScoreChange,
    kujala_change,
    kujala_item_points,
    nprs_change,
    parse_kujala_answers,
    validate_nprs,
)
from kneefix.storage import scores as score_store


def questionnaire(content: Content, instrument: str) -> Questionnaire:
    try:
        return content.questionnaires[instrument]
    except KeyError:
        raise ContentError(f"The content has no '{instrument}' questionnaire.") from None


@dataclass(frozen=True)
class ScoreResult:
    """A scored questionnaire, with the change from the previous saved score when there is one."""

    instrument: str
    score: int
    answers: tuple[str, ...] = ()
    item_points: tuple[int, ...] = ()
    saved: ScoreRecord | None = None
    change: ScoreChange | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"score": N}``, plus what was saved and the change when the score was recorded."""
        result: dict[str, Any] = {"score": self.score}
        if self.saved is not None:
            result["saved"] = record_fields(self.saved)
        if self.change is not None:
            result["change"] = record_fields(self.change)
        return result


def kujala_letters(answers: str | Sequence[str]) -> list[str]:
    """Letters from ``"a,b,c"`` text or an already split list."""
    if isinstance(answers, str):
        return parse_kujala_answers(answers)
    return [str(answer).strip().lower() for answer in answers]


def score_kujala(content: Content, answers: str | Sequence[str]) -> ScoreResult:
    """The Kujala total (0-100) and each item's points; InputError names any bad answer."""
    letters = kujala_letters(answers)
    points = kujala_item_points(letters, questionnaire(content, "kujala"))
    return ScoreResult("kujala", sum(points), tuple(letters), points)


def score_nprs(value: object) -> ScoreResult:
    return ScoreResult("nprs", validate_nprs(value, "Pain"))


def save_score(session: Session, profile_id: int, result: ScoreResult, day: dt.date) -> ScoreResult:
    """Store the score for the profile and compare it with the previous one of the same kind."""
    previous = score_store.latest_score(session, profile_id, result.instrument)
    record = ScoreRecord(instrument=result.instrument, date=day, score=result.score, answers=result.answers)
    saved = score_store.add_score(session, profile_id, record)
    change = None
    if previous is not None:
        compare = kujala_change if result.instrument == "kujala" else nprs_change
        change = compare(previous.score, result.score)
    return ScoreResult(result.instrument, result.score, result.answers, result.item_points, saved, change)


def list_scores(session: Session, profile_id: int, instrument: str | None = None) -> list[ScoreRecord]:
    return score_store.list_scores(session, profile_id, instrument)
