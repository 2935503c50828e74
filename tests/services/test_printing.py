"""The PDF handout and progress report: real PDFs (WeasyPrint), read back page by page with pypdf."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from kneefix.content.loader import Content
from kneefix.errors import InputError
from kneefix.services import logbook, plan, printing
from kneefix.storage.db import Database
from tests.services.helpers import START


def _pages(pdf: bytes) -> list[str]:
    assert pdf.startswith(b"%PDF-")
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def test_the_handout_holds_todays_exercises_the_pain_rules_and_the_coming_weeks(
    db: Database, content: Content, profile_id: int
) -> None:
    with db.session() as session:
        pdf = printing.handout_pdf(session, content, profile_id, START)
        view = plan.today_view(session, content, profile_id, START)
    pages = _pages(pdf)
    text = " ".join(pages)
    assert view.session is not None
    for exercise in view.session.exercises:
        assert exercise.name in text and exercise.dose_text in text
        if exercise.easier_name:
            assert exercise.easier_name in text
    assert "The pain rules the plan follows" in text and "next morning" in text
    assert "The next 4 weeks" in text and "Session 2" in text
    assert all("page" in page and f"of {len(pages)}" in page for page in pages)  # numbered pages
    # Each exercise's key poses are drawn: the strip's numbered cues are in the page.
    for exercise in view.session.exercises:
        demo = content.exercises[exercise.exercise_id].demo
        assert demo is not None
        assert f"1. {demo.poses[0].cue.split()[0]}" in text, exercise.exercise_id


def test_the_report_has_pain_scores_adherence_and_plan_changes(
    db: Database, content: Content, profile_id: int
) -> None:
    with db.session() as session:
        logbook.log_session(session, content, profile_id, day=START, today=START, pain_during=8, pain_after=7)
        later = START + dt.timedelta(days=3)
        pdf = printing.report_pdf(session, content, profile_id, later)
    text = " ".join(_pages(pdf))
    assert "Progress report" in text and "ana" in text
    assert "1 of" in text and "planned sessions done" in text
    assert "Pain by week" in text and "8.0" in text  # the logged pain during
    assert "Kujala AKPS" in text
    assert "Plan changes and why" in text and "ease" in text
    assert "No technique checks yet." in text


def test_nothing_to_print_before_the_screening(db: Database, content: Content) -> None:
    from kneefix.storage import profiles as profile_store

    with db.session() as session:
        profile = profile_store.create_profile(session, "new")
        with pytest.raises(InputError, match="screening"):
            printing.handout_pdf(session, content, profile.id, START)
        with pytest.raises(InputError, match="screening"):
            printing.report_pdf(session, content, profile.id, START)
