"""Read sessions refuse to write, and ``writes_beside`` is the one way a read notes something.

A ``session(write=False)`` takes no write lock on SQLite, so a write inside it would not be waiting
its turn like every other writer: it could fail "busy" at random under load. The guard turns every
such write into an immediate, clear error instead; these tests pin down what counts as a write.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, func, insert, select, text, update

from kneefix.errors import StorageError
from kneefix.storage import Database, calendars, plans
from kneefix.storage import repository as repo
from kneefix.storage.db import is_read_only, writes_beside
from kneefix.storage.models import Profile
from tests.storage.samples import START, change, log

REFUSED = "A read-only request tried to change data"


@pytest.fixture
def ana(db: Database) -> int:
    """One profile with one log, so there is something to change."""
    with db.session() as session:
        profile = repo.create_profile(session, "ana")
        repo.add_log(session, profile.id, log(0))
        return profile.id


def _names(db: Database) -> list[str]:
    with db.session(write=False) as session:
        return [profile.name for profile in repo.list_profiles(session)]


def test_a_new_row_in_a_read_session_is_refused_and_nothing_is_saved(db: Database, ana: int) -> None:
    with pytest.raises(StorageError, match=REFUSED) as caught, db.session(write=False) as session:
        repo.create_profile(session, "ben")
    assert "Profile" in str(caught.value)
    assert _names(db) == ["ana"]


def test_a_changed_or_deleted_row_in_a_read_session_is_refused(db: Database, ana: int) -> None:
    with pytest.raises(StorageError, match=REFUSED), db.session(write=False) as session:
        row = session.get(Profile, ana)
        assert row is not None
        row.name = "renamed"
    with pytest.raises(StorageError, match=REFUSED), db.session(write=False) as session:
        row = session.get(Profile, ana)
        session.delete(row)
        session.flush()
    assert _names(db) == ["ana"]


def test_setting_a_value_it_already_has_is_no_write_and_passes(db: Database, ana: int) -> None:
    with db.session(write=False) as session:
        row = session.get(Profile, ana)
        assert row is not None
        row.name = "ana"
        session.flush()


@pytest.mark.parametrize(
    "statement",
    [
        insert(Profile).values(name="ben"),
        update(Profile).values(name="renamed"),
        delete(Profile),
        text("UPDATE profiles SET name = 'renamed'"),
        text("  delete from session_logs"),
    ],
    ids=["insert", "update", "delete", "sql-update", "sql-delete"],
)
def test_insert_update_and_delete_statements_are_refused(db: Database, ana: int, statement: object) -> None:
    with pytest.raises(StorageError, match=REFUSED), db.session(write=False) as session:
        session.execute(statement)  # type: ignore[call-overload]
    assert _names(db) == ["ana"]
    with db.session(write=False) as session:
        assert len(repo.list_logs(session, ana)) == 1


def test_reads_pass_and_write_sessions_are_not_guarded(db: Database, ana: int) -> None:
    with db.session(write=False) as session:
        assert is_read_only(session)
        assert session.scalar(select(func.count(Profile.id))) == 1
        assert session.execute(text("SELECT name FROM profiles")).scalars().all() == ["ana"]
    with db.session() as session:
        assert not is_read_only(session)
        repo.create_profile(session, "ben")
        session.execute(update(Profile).where(Profile.name == "ben").values(name="cai"))
    assert _names(db) == ["ana", "cai"]


def test_writes_beside_a_write_session_use_that_session(db: Database) -> None:
    with db.session() as session, writes_beside(session) as writer:
        assert writer is session
        repo.create_profile(writer, "ben")
    assert _names(db) == ["ben"]


def test_writes_beside_a_read_session_commit_and_the_read_session_then_sees_them(
    db: Database, ana: int
) -> None:
    with db.session(write=False) as session:
        assert [p.name for p in repo.list_profiles(session)] == ["ana"]  # the read snapshot starts here
        with writes_beside(session) as writer:
            assert writer is not session and not is_read_only(writer)
            repo.create_profile(writer, "ben")
        # Committed already, and this read session reads a fresh snapshot that includes it.
        assert _names(db) == ["ana", "ben"]
        assert [p.name for p in repo.list_profiles(session)] == ["ana", "ben"]


def test_a_failed_write_beside_a_read_session_is_rolled_back(db: Database, ana: int) -> None:
    with db.session(write=False) as session:
        with pytest.raises(RuntimeError), writes_beside(session) as writer:
            repo.create_profile(writer, "ben")
            raise RuntimeError("stop")
        assert [p.name for p in repo.list_profiles(session)] == ["ana"]
    assert _names(db) == ["ana"]


# ----- what a read checks before it asks to write --------------------------------------------------


def test_the_stored_rule_changes_match_a_replay_only_when_a_sync_would_write_nothing(
    db: Database, ana: int
) -> None:
    replay = [change(7), change(14, "progress_sets")]
    with db.session(write=False) as session:
        assert not plans.rule_changes_match(session, ana, replay)
        assert plans.rule_changes_match(session, ana, [])
    with db.session() as session:
        repo.sync_rule_changes(session, ana, replay)
    with db.session(write=False) as session:
        assert plans.rule_changes_match(session, ana, list(reversed(replay)))
        assert not plans.rule_changes_match(session, ana, replay[:1])
        assert not plans.rule_changes_match(session, ana, [*replay, change(21)])


def test_a_calendar_handed_out_again_unchanged_needs_no_write(db: Database, ana: int) -> None:
    events = {"session-1": START}
    moment = dt.datetime(2025, 1, 6, 8, tzinfo=dt.UTC)
    with db.session(write=False) as session:
        assert calendars.current_handout(session, ana, "digest-1", events, START) is None  # never handed out
    with db.session() as session:
        first = calendars.record_handout(session, ana, "digest-1", events, moment, START)
    with db.session(write=False) as session:
        assert calendars.current_handout(session, ana, "digest-1", events, START) == first
        assert calendars.current_handout(session, ana, "digest-2", events, START) is None  # the plan moved
    with db.session() as session:
        later = moment + dt.timedelta(days=1)
        moved = calendars.record_handout(session, ana, "digest-2", {"session-2": START}, later, START)
    assert (moved.sequence, moved.stamp, moved.cancelled) == (first.sequence + 1, later, {"session-1": START})
