"""Questionnaire scores over time: Kujala AKPS (0-100) and NPRS pain (0-10)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from kneefix.errors import InputError, NotFoundError
from kneefix.programme.records import ScoreRecord
from kneefix.storage.batches import rows_by_profile
from kneefix.storage.convert import score_record
from kneefix.storage.guards import check_text, require_profile
from kneefix.storage.models import INSTRUMENTS, Score

SCORE_RANGES: dict[str, tuple[float, float]] = {"kujala": (0.0, 100.0), "nprs": (0.0, 10.0)}


def check_score(record: ScoreRecord) -> None:
    """InputError for an unknown instrument or a score off its scale."""
    if record.instrument not in INSTRUMENTS:
        raise InputError(f"Instrument must be one of {', '.join(INSTRUMENTS)}, got {record.instrument!r}.")
    low, high = SCORE_RANGES[record.instrument]
    value = record.score
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"A {record.instrument} score must be a number, got {value!r}.")
    if not low <= value <= high:
        raise InputError(f"A {record.instrument} score must be from {low:g} to {high:g}, got {value:g}.")
    if not isinstance(record.date, dt.date):
        raise InputError(f"The score date must be a date, got {record.date!r}.")
    for answer in record.answers:
        check_text("Answer", answer, max_length=50)


def add_score(session: Session, profile_id: int, record: ScoreRecord) -> ScoreRecord:
    """Store a score and return it with its id."""
    require_profile(session, profile_id)
    check_score(record)
    row = Score(
        profile_id=profile_id,
        instrument=record.instrument,
        date=record.date,
        score=float(record.score),
        answers=list(record.answers),
    )
    session.add(row)
    session.flush()
    return score_record(row)


def list_scores(session: Session, profile_id: int, instrument: str | None = None) -> list[ScoreRecord]:
    """Scores in date order, all instruments or one."""
    require_profile(session, profile_id)
    query = select(Score).where(Score.profile_id == profile_id)
    if instrument is not None:
        query = query.where(Score.instrument == instrument)
    query = query.order_by(Score.date, Score.id)
    return [score_record(row) for row in session.scalars(query)]


def scores_by_profile(session: Session, profile_ids: Sequence[int]) -> dict[int, list[ScoreRecord]]:
    """Every score of each profile in date order, all instruments, read in one query for all."""
    return rows_by_profile(
        session,
        profile_ids,
        lambda ids: select(Score).where(Score.profile_id.in_(ids)).order_by(Score.date, Score.id),
        score_record,
    )


def latest_score(session: Session, profile_id: int, instrument: str) -> ScoreRecord | None:
    """The most recent score on this instrument, or None."""
    scores = list_scores(session, profile_id, instrument)
    return scores[-1] if scores else None


def delete_score(session: Session, profile_id: int, score_id: int) -> None:
    """Remove a score entered by mistake; NotFoundError if it is not this profile's."""
    row = session.get(Score, score_id)
    if row is None or row.profile_id != profile_id:
        raise NotFoundError(f"There is no score with id {score_id} for this profile.")
    session.delete(row)
    session.flush()
