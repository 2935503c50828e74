"""Logging, the plan refresh that follows it, progress and the calendar export."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from icalendar import Calendar

from kneefix.content.loader import Content
from kneefix.errors import InputError, NotFoundError
from kneefix.services import calendar, logbook, plan, progress
from kneefix.services.profiles import update_settings
from kneefix.storage import plans as plan_store
from kneefix.storage.db import Database
from tests.services.helpers import START


def test_painful_session_stores_an_ease_change_once(db: Database, content: Content, profile_id: int) -> None:
    with db.session() as session:
        result = logbook.log_session(
            session, content, profile_id, day=START, today=START, pain_during=8, pain_after=7
        )
    assert [change.kind for change in result.plan_changes] == ["ease"]

    with db.session() as session:
        again = plan.refresh_plan(session, content, profile_id, START + dt.timedelta(days=1))
        stored = plan_store.list_plan_changes(session, profile_id)
    assert again.new_changes == ()
    assert [change.kind for change in stored] == ["ease"]


def test_deleting_the_log_removes_the_change_it_caused(
    db: Database, content: Content, profile_id: int
) -> None:
    with db.session() as session:
        entry = logbook.log_session(session, content, profile_id, day=START, today=START, pain_during=9)
        assert entry.log.id is not None
        logbook.delete_log(session, content, profile_id, entry.log.id, today=START)
        assert plan_store.list_plan_changes(session, profile_id) == []
        with pytest.raises(NotFoundError):
            logbook.delete_log(session, content, profile_id, entry.log.id, today=START)


def test_done_ids_and_completed_can_be_given_together(
    db: Database, content: Content, profile_id: int
) -> None:
    with db.session() as session:
        today = plan.today_view(session, content, profile_id, START).session
        assert today is not None
        planned = today.exercises
        first = planned[0].exercise_id
        result = logbook.log_session(
            session, content, profile_id, day=START, today=START, completed=0.25, done=[first]
        )
    assert result.log.completed == 0.25
    assert result.log.exercises_done == (first,)


def test_completed_from_done_counts_only_planned_exercises() -> None:
    known = ["a", "b", "c", "extra"]
    assert logbook.completed_from_done(["a", "b", "c"], ["a", "extra"], known) == pytest.approx(0.333)
    assert logbook.completed_from_done(["a", "b"], [], known) == 0
    with pytest.raises(InputError, match="Unknown exercise"):
        logbook.completed_from_done(["a"], ["zzz"], known)


def test_morning_pain_goes_to_the_latest_session_before_today(
    db: Database, content: Content, profile_id: int
) -> None:
    wednesday = START + dt.timedelta(days=2)
    with db.session() as session:
        logbook.log_session(session, content, profile_id, day=START, today=START, pain_during=2)
        logbook.log_session(session, content, profile_id, day=wednesday, today=wednesday, pain_during=2)
        result = logbook.record_morning_pain(
            session, content, profile_id, pain=1, today=wednesday + dt.timedelta(days=1)
        )
    assert result.log.date == wednesday
    assert result.log.next_morning_pain == 1


def test_edit_needs_something_to_change(db: Database, content: Content, profile_id: int) -> None:
    with db.session() as session:
        entry = logbook.log_session(session, content, profile_id, day=START, today=START, pain_during=2)
        assert entry.log.id is not None
        with pytest.raises(InputError, match="Nothing to change"):
            logbook.edit_log(session, content, profile_id, entry.log.id, today=START)
        edited = logbook.edit_log(session, content, profile_id, entry.log.id, today=START, pain_during=None)
    assert edited.log.pain_during is None


def test_today_on_a_rest_day_points_to_the_next_session(
    db: Database, content: Content, profile_id: int
) -> None:
    with db.session() as session:
        training = plan.today_view(session, content, profile_id, START)
        rest = plan.today_view(session, content, profile_id, START + dt.timedelta(days=1))
    assert not training.rest_day
    assert rest.rest_day and rest.session is not None and rest.session.date > rest.today


def test_settings_reject_unknown_equipment(db: Database, content: Content, profile_id: int) -> None:
    with db.session() as session, pytest.raises(InputError, match="Unknown equipment: jetpack"):
        update_settings(session, content, profile_id, equipment=["jetpack"])


def test_progress_summary_chart_and_calendar(
    db: Database, content: Content, profile_id: int, tmp_path: Path
) -> None:
    with db.session() as session:
        for offset in (0, 2, 5):
            day = START + dt.timedelta(days=offset)
            logbook.log_session(session, content, profile_id, day=day, today=day, pain_during=3, pain_after=2)
        today = START + dt.timedelta(days=6)
        summary = progress.progress_summary(session, content, profile_id, today)
        ics = calendar.calendar_ics(session, content, profile_id, today)
        upcoming = plan.plan_state(session, content, profile_id, today).plan.sessions

    assert summary.done_to_date == 3 and summary.adherence_pct == 100.0
    png = progress.progress_chart(summary, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes() == png
    events = [c for c in Calendar.from_ical(ics).walk() if c.name == "VEVENT"]
    assert len(events) == len(upcoming)
    assert events[0].decoded("dtstart") == upcoming[0].date


def test_the_same_progress_is_drawn_once_and_a_new_log_draws_it_again(
    db: Database, content: Content, profile_id: int
) -> None:
    """The clinician's person page and the person's page ask for the chart on every visit: drawing it
    takes seconds, so an unchanged summary is served from the drawn copy."""
    with db.session() as session:
        logbook.log_session(session, content, profile_id, day=START, today=START, pain_during=3, pain_after=2)
        day = START + dt.timedelta(days=1)
        before = progress.chart_counts()
        first = progress.progress_chart(progress.progress_summary(session, content, profile_id, day))
        again = progress.progress_chart(progress.progress_summary(session, content, profile_id, day))
        middle = progress.chart_counts()
        logbook.log_session(session, content, profile_id, day=day, today=day, pain_during=6, pain_after=5)
        changed = progress.progress_chart(progress.progress_summary(session, content, profile_id, day))
        after = progress.chart_counts()
    assert (
        again == first and middle["drawn"] == before["drawn"] + 1 and middle["served"] == before["served"] + 1
    )
    assert changed != first and after["drawn"] == middle["drawn"] + 1
