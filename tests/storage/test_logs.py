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
from kneefix.settings import sqlite_url
from kneefix.storage import Database
from kneefix.storage import repository as repo
from tests.storage.samples import START, log, run


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


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (log(0, kind="walk"), "'session' or a 'run'"),
        (log(0, kind=None), "'session' or a 'run'"),
        (log(0, hurt=("",)), "Hurt"),
        (log(0, hurt=("x" * 101,)), "Hurt"),
        (log(0, run_minutes=30.0), "belong to runs only"),
        (log(0, run_distance_km=5.0), "belong to runs only"),
        (run(0, run_minutes=0), "Run minutes"),
        (run(0, run_minutes=-5.0), "Run minutes"),
        (run(0, run_minutes=600.5), "Run minutes"),
        (run(0, run_minutes=float("inf")), "Run minutes"),
        (run(0, run_minutes=True), "Run minutes"),
        (run(0, run_minutes="20"), "Run minutes"),
        (run(0, run_distance_km=0.0), "Run distance"),
        (run(0, run_distance_km=100.01), "Run distance"),
        (run(0, run_distance_km=float("nan")), "Run distance"),
    ],
)
def test_bad_kinds_hurt_marks_and_run_fields_are_refused(
    db: Database, profile_id: int, entry: SessionLog, message: str
) -> None:
    with pytest.raises(InputError, match=message), db.session() as session:
        repo.add_log(session, profile_id, entry)
    with db.session() as session:
        stored = repo.add_log(session, profile_id, log(0))
        with pytest.raises(InputError, match=message):
            repo.update_log(session, profile_id, dataclasses.replace(entry, id=stored.id))
    with db.session(write=False) as session:
        assert repo.list_logs(session, profile_id) == [stored]


def test_runs_and_hurt_marks_come_back_exactly(db: Database, profile_id: int) -> None:
    with db.session() as session:
        training = repo.add_log(session, profile_id, log(0, hurt=("foam_roll_quads",)))
        a_run = repo.add_log(session, profile_id, run(0))
        bare_run = repo.add_log(
            session, profile_id, run(1, completed=0.0, run_minutes=None, run_distance_km=None)
        )
        at_the_limits = repo.add_log(session, profile_id, run(2, run_minutes=600, run_distance_km=100.0))
    with db.session(write=False) as session:
        stored = repo.list_logs(session, profile_id)
    assert stored == [training, a_run, bare_run, at_the_limits]
    assert stored[0] == dataclasses.replace(log(0, hurt=("foam_roll_quads",)), id=training.id)
    assert stored[1] == dataclasses.replace(run(0), id=a_run.id)
    assert stored[1].is_run and not stored[0].is_run
    assert stored[1].run_minutes == 20.5 and stored[1].run_distance_km == 3.2
    assert stored[2].run_minutes is None and stored[2].run_distance_km is None
    assert stored[3].run_minutes == 600.0 and isinstance(stored[3].run_minutes, float)
    assert stored[0].kind == "session" and stored[0].hurt == ("foam_roll_quads",)


def test_a_session_can_become_a_run_and_back(db: Database, profile_id: int) -> None:
    with db.session() as session:
        entry = repo.add_log(session, profile_id, log(0, hurt=("hamstring_stretch",)))
        as_run = repo.update_log(
            session, profile_id, dataclasses.replace(entry, kind="run", run_minutes=15.0, hurt=())
        )
        assert repo.get_log(session, profile_id, entry.id or 0) == as_run
        assert as_run.is_run and as_run.run_minutes == 15.0 and as_run.hurt == ()
        with pytest.raises(InputError, match="belong to runs only"):
            repo.update_log(session, profile_id, dataclasses.replace(as_run, kind="session"))
        back = repo.update_log(
            session, profile_id, dataclasses.replace(as_run, kind="session", run_minutes=None)
        )
        assert repo.get_log(session, profile_id, entry.id or 0) == back
        assert back.kind == "session"


def test_listing_one_kind(db: Database, profile_id: int) -> None:
    with db.session() as session:
        first = repo.add_log(session, profile_id, log(0))
        a_run = repo.add_log(session, profile_id, run(0))
        second = repo.add_log(session, profile_id, log(2))
        assert repo.list_logs(session, profile_id, kind="session") == [first, second]
        assert repo.list_logs(session, profile_id, kind="run") == [a_run]
        assert repo.list_logs(session, profile_id) == [first, a_run, second]
        assert repo.list_logs(session, profile_id, since=START + dt.timedelta(days=1), kind="session") == [
            second
        ]
        with pytest.raises(InputError, match="'session' or a 'run'"):
            repo.list_logs(session, profile_id, kind="swim")


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


def test_next_morning_pain_goes_on_the_session_and_the_run_of_that_day(db: Database, profile_id: int) -> None:
    with db.session() as session:
        training = repo.add_log(session, profile_id, log(0))
        a_run = repo.add_log(session, profile_id, run(0))
        other_day = repo.add_log(session, profile_id, log(1))
        latest = repo.set_next_morning_pain(session, profile_id, START, 3)
        assert latest.id == a_run.id and latest.next_morning_pain == 3
        assert [entry.next_morning_pain for entry in repo.list_logs(session, profile_id)] == [3, 3, None]

        only_run = repo.set_next_morning_pain(session, profile_id, START, 5, kind="run")
        assert only_run.id == a_run.id
        only_session = repo.set_next_morning_pain(session, profile_id, START, 1, kind="session")
        assert only_session.id == training.id
        by_id = {entry.id: entry.next_morning_pain for entry in repo.list_logs(session, profile_id)}
        assert by_id == {training.id: 1, a_run.id: 5, other_day.id: None}

        with pytest.raises(NotFoundError, match="No run is logged"):
            repo.set_next_morning_pain(session, profile_id, START + dt.timedelta(days=1), 2, kind="run")
        with pytest.raises(InputError, match="'session' or a 'run'"):
            repo.set_next_morning_pain(session, profile_id, START, 2, kind="walk")
        assert repo.get_log(session, profile_id, other_day.id or 0).next_morning_pain is None


def test_next_morning_pain_of_another_profile_is_not_found(db: Database, profile_id: int) -> None:
    with db.session() as session:
        other = repo.create_profile(session, "ben").id
        repo.add_log(session, other, run(0))
        with pytest.raises(NotFoundError, match="log that session first"):
            repo.set_next_morning_pain(session, profile_id, START, 2)
        assert [entry.next_morning_pain for entry in repo.list_logs(session, other)] == [None]


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
    hurt=st.lists(st.from_regex(r"[a-z_]{1,20}", fullmatch=True), max_size=3).map(tuple),
)
runs = st.builds(
    SessionLog,
    date=st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1)),
    completed=st.floats(0, 1),
    pain_during=pains,
    pain_after=pains,
    next_morning_pain=pains,
    kind=st.just("run"),
    run_minutes=st.none() | st.floats(0, 600, exclude_min=True),
    run_distance_km=st.none() | st.floats(0, 100, exclude_min=True),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entry=logs | runs)
def test_any_valid_log_comes_back_exactly(tmp_path: Path, entry: SessionLog) -> None:
    with Database(sqlite_url(tmp_path / "prop.db")) as database, database.session() as session:
        profile = repo.get_or_create_profile(session, "prop")
        stored = repo.add_log(session, profile.id, entry)
        assert repo.get_log(session, profile.id, stored.id or 0) == dataclasses.replace(entry, id=stored.id)
