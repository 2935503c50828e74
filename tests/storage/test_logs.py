"""Session logs: add, edit, delete, list, next-morning pain, and double-submit protection."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kneefix.errors import InputError, NotFoundError
from kneefix.programme.records import SessionLog
from kneefix.storage import Database
from kneefix.storage import repository as repo
from kneefix.storage.db import sqlite_url
from tests.storage.samples import START, log


@pytest.fixture
def profile_id(db: Database) -> int:
    with db.session() as session:
        return repo.create_profile(session, "ana").id


def test_logs_come_back_in_date_order_with_ids(db: Database, profile_id: int) -> None:
    with db.session() as session:
        later = repo.add_log(session, profile_id, log(3))
        earlier = repo.add_log(session, profile_id, log(1, completed=0.5, pain_during=None))
    with db.session(write=False) as session:
        stored = repo.list_logs(session, profile_id)
    assert stored == [earlier, later]
    assert stored[0] == dataclasses.replace(log(1, completed=0.5, pain_during=None), id=earlier.id)


def test_listing_within_a_date_range(db: Database, profile_id: int) -> None:
    with db.session() as session:
        for day in range(6):
            repo.add_log(session, profile_id, log(day))
        window = repo.list_logs(
            session, profile_id, since=START + dt.timedelta(days=2), until=START + dt.timedelta(days=3)
        )
    assert [entry.date for entry in window] == [START + dt.timedelta(days=2), START + dt.timedelta(days=3)]


def test_editing_replaces_the_stored_values(db: Database, profile_id: int) -> None:
    with db.session() as session:
        entry = repo.add_log(session, profile_id, log(0))
    with db.session() as session:
        edited = repo.update_log(session, profile_id, dataclasses.replace(entry, pain_after=6, note="sore"))
    with db.session(write=False) as session:
        assert repo.get_log(session, profile_id, entry.id or 0) == edited
    assert edited.pain_after == 6 and edited.note == "sore" and edited.id == entry.id


def test_deleting_removes_only_that_entry(db: Database, profile_id: int) -> None:
    with db.session() as session:
        keep = repo.add_log(session, profile_id, log(0))
        wrong = repo.add_log(session, profile_id, log(1))
        repo.delete_log(session, profile_id, wrong.id or 0)
        assert repo.list_logs(session, profile_id) == [keep]


def test_a_wrong_or_foreign_id_is_not_found(db: Database, profile_id: int) -> None:
    with db.session() as session:
        other = repo.create_profile(session, "ben").id
        theirs = repo.add_log(session, other, log(0))
        for action in (
            lambda: repo.get_log(session, profile_id, theirs.id or 0),
            lambda: repo.delete_log(session, profile_id, theirs.id or 0),
            lambda: repo.update_log(session, profile_id, theirs),
            lambda: repo.delete_log(session, profile_id, 424242),
        ):
            with pytest.raises(NotFoundError, match="no session log"):
                action()
        assert repo.list_logs(session, other) == [theirs]
        with pytest.raises(InputError, match="no id"):
            repo.update_log(session, profile_id, log(0))


def test_a_log_for_a_missing_profile_is_not_found(db: Database) -> None:
    with pytest.raises(NotFoundError, match="no profile"), db.session() as session:
        repo.add_log(session, 31337, log(0))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"completed": 1.5}, "Completed"),
        ({"completed": float("nan")}, "Completed"),
        ({"pain_during": -1}, "Pain during"),
        ({"pain_after": 11}, "Pain after"),
        ({"next_morning_pain": 2.5}, "Next-morning pain"),
        ({"exercises_done": ("",)}, "Exercises done"),
        ({"note": "x" * 6000}, "Note"),
    ],
)
def test_out_of_range_values_are_refused(
    db: Database, profile_id: int, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(InputError, match=message), db.session() as session:
        repo.add_log(session, profile_id, log(0, **changes))
    with db.session(write=False) as session:
        assert repo.list_logs(session, profile_id) == []


def test_a_repeated_request_id_stores_the_log_once(db: Database, profile_id: int) -> None:
    with db.session() as session:
        first = repo.add_log(session, profile_id, log(0), request_id="form-123")
    with db.session() as session:
        second = repo.add_log(session, profile_id, log(0), request_id="form-123")
        other = repo.add_log(session, profile_id, log(0), request_id="form-456")
    with db.session(write=False) as session:
        assert len(repo.list_logs(session, profile_id)) == 2
    assert second == first and other.id != first.id


def test_next_morning_pain_goes_on_that_days_latest_session(db: Database, profile_id: int) -> None:
    with db.session() as session:
        repo.add_log(session, profile_id, log(0))
        latest = repo.add_log(session, profile_id, log(0, note="evening top-up"))
        updated = repo.set_next_morning_pain(session, profile_id, START, 4)
        with pytest.raises(NotFoundError, match="log that session first"):
            repo.set_next_morning_pain(session, profile_id, START + dt.timedelta(days=9), 1)
        with pytest.raises(InputError):
            repo.set_next_morning_pain(session, profile_id, START, 12)
    assert updated.id == latest.id and updated.next_morning_pain == 4


pains = st.none() | st.integers(0, 10)
logs = st.builds(
    SessionLog,
    date=st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1)),
    completed=st.floats(0, 1),
    pain_during=pains,
    pain_after=pains,
    next_morning_pain=pains,
    exercises_done=st.lists(st.from_regex(r"[a-z_]{1,20}", fullmatch=True), max_size=6).map(tuple),
    note=st.text(st.characters(min_codepoint=32, codec="utf-8"), max_size=80).map(str.strip),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entry=logs)
def test_any_valid_log_comes_back_exactly(tmp_path: Path, entry: SessionLog) -> None:
    with Database(sqlite_url(tmp_path / "prop.db")) as database, database.session() as session:
        profile = repo.get_or_create_profile(session, "prop")
        stored = repo.add_log(session, profile.id, entry)
        assert repo.get_log(session, profile.id, stored.id or 0) == dataclasses.replace(entry, id=stored.id)
