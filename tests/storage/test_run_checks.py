"""Return-to-running readiness checks: add, list in date order, delete, validation, ownership."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import text

from kneefix.errors import InputError, NotFoundError
from kneefix.programme.records import RunCheck
from kneefix.storage import Database
from kneefix.storage import repository as repo
from tests.storage.samples import START, run_check


@pytest.fixture
def profile_id(db: Database) -> int:
    with db.session() as session:
        return repo.create_profile(session, "ana").id


def test_checks_come_back_in_date_order_with_ids(db: Database, profile_id: int) -> None:
    with db.session() as session:
        later = repo.add_run_check(session, profile_id, run_check(5, walk=0, hop=0))
        earlier = repo.add_run_check(session, profile_id, run_check(1, walk=2, hop=4))
        same_day = repo.add_run_check(session, profile_id, run_check(1, walk=1, hop=3))
    with db.session(write=False) as session:
        stored = repo.list_run_checks(session, profile_id)
    assert stored == [earlier, same_day, later]
    assert stored[0] == dataclasses.replace(run_check(1, walk=2, hop=4), id=earlier.id)
    assert all(check.id is not None for check in stored)


def test_the_ends_of_the_scale_are_kept(db: Database, profile_id: int) -> None:
    with db.session() as session:
        low = repo.add_run_check(session, profile_id, run_check(0, walk=0, hop=0))
        high = repo.add_run_check(session, profile_id, run_check(1, walk=10, hop=10))
        assert repo.list_run_checks(session, profile_id) == [low, high]


def test_deleting_removes_only_that_check(db: Database, profile_id: int) -> None:
    with db.session() as session:
        keep = repo.add_run_check(session, profile_id, run_check(0))
        wrong = repo.add_run_check(session, profile_id, run_check(1))
        repo.delete_run_check(session, profile_id, wrong.id or 0)
    with db.session(write=False) as session:
        assert repo.list_run_checks(session, profile_id) == [keep]


def test_another_profiles_checks_are_out_of_reach(db: Database, profile_id: int) -> None:
    with db.session() as session:
        other = repo.create_profile(session, "ben").id
        theirs = repo.add_run_check(session, other, run_check(0))
        mine = repo.add_run_check(session, profile_id, run_check(0, walk=3, hop=5))
        assert repo.list_run_checks(session, profile_id) == [mine]
        for check_id in (theirs.id or 0, 424242):
            with pytest.raises(NotFoundError, match="no run check"):
                repo.delete_run_check(session, profile_id, check_id)
        assert repo.list_run_checks(session, other) == [theirs]


def test_a_missing_profile_is_not_found(db: Database) -> None:
    with db.session() as session:
        for action in (
            lambda: repo.add_run_check(session, 31337, run_check(0)),
            lambda: repo.list_run_checks(session, 31337),
        ):
            with pytest.raises(NotFoundError, match="no profile"):
                action()


def test_deleting_the_profile_removes_its_checks(db: Database, profile_id: int) -> None:
    with db.session() as session:
        repo.add_run_check(session, profile_id, run_check(0))
        repo.delete_profile(session, profile_id)
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM run_checks")).scalar() == 0


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (RunCheck(START, -1, 0), "Walk pain"),
        (RunCheck(START, 11, 0), "Walk pain"),
        (RunCheck(START, 2.5, 0), "Walk pain"),  # type: ignore[arg-type]
        (RunCheck(START, True, 0), "Walk pain"),
        (RunCheck(START, None, 0), "Walk pain is needed"),  # type: ignore[arg-type]
        (RunCheck(START, 0, 12), "Hop pain"),
        (RunCheck(START, 0, "3"), "Hop pain"),  # type: ignore[arg-type]
        (RunCheck(START, 0, None), "Hop pain is needed"),  # type: ignore[arg-type]
        (RunCheck("2025-03-03", 0, 0), "date"),  # type: ignore[arg-type]
        (RunCheck(dt.datetime(2025, 3, 3, 8, 0), 0, 0), "date"),
    ],
)
def test_out_of_range_values_are_refused(
    db: Database, profile_id: int, check: RunCheck, message: str
) -> None:
    with pytest.raises(InputError, match=message), db.session() as session:
        repo.add_run_check(session, profile_id, check)
    with db.session(write=False) as session:
        assert repo.list_run_checks(session, profile_id) == []
