"""A locked, damaged, read-only or unreachable database gives a clear StorageError and loses nothing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from kneefix.errors import InputError, StorageError
from kneefix.settings import sqlite_url
from kneefix.storage import Database
from kneefix.storage import repository as repo
from tests.pg import _free_port
from tests.storage.samples import log


@pytest.fixture
def saved(tmp_path: Path) -> Iterator[tuple[Path, Database]]:
    """A SQLite database holding one profile with one log, and a short busy timeout."""
    path = tmp_path / "kneefix.db"
    database = Database(sqlite_url(path), busy_timeout_s=0.2)
    with database.session() as session:
        profile = repo.create_profile(session, "ana")
        repo.add_log(session, profile.id, log(0))
    try:
        yield path, database
    finally:
        database.close()


def _profile_names(database: Database) -> list[str]:
    with database.session(write=False) as session:
        return [p.name for p in repo.list_profiles(session)]


def test_a_write_while_another_connection_holds_the_lock_is_refused_clearly(
    saved: tuple[Path, Database],
) -> None:
    path, database = saved
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(StorageError, match="is busy") as caught, database.session() as session:
            repo.create_profile(session, "ben")
        assert "Nothing saved earlier was lost" in str(caught.value)
        # Readers are not blocked by a writer in WAL mode.
        assert _profile_names(database) == ["ana"]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with database.session() as session:
        repo.create_profile(session, "ben")
    assert _profile_names(database) == ["ana", "ben"]


def test_a_write_while_another_process_holds_an_exclusive_lock_is_refused(
    saved: tuple[Path, Database],
) -> None:
    path, database = saved
    holder = textwrap.dedent(
        f"""
        import sqlite3, sys
        connection = sqlite3.connect({str(path)!r}, isolation_level=None)
        connection.execute("BEGIN EXCLUSIVE")
        connection.execute("DELETE FROM session_logs")
        print("locked", flush=True)
        sys.stdin.readline()
        connection.execute("ROLLBACK")
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "locked"
        with pytest.raises(StorageError, match="is busy"), database.session() as session:
            profile = repo.find_profile(session, "ana")
            repo.add_log(session, profile.id, log(1))
    finally:
        process.communicate("go\n", timeout=30)
    with database.session(write=False) as session:
        profile = repo.find_profile(session, "ana")
        assert [entry.date for entry in repo.list_logs(session, profile.id)] == [log(0).date]


def test_while_another_program_holds_the_lock_opening_and_reading_work_and_a_write_is_refused_clearly(
    saved: tuple[Path, Database],
) -> None:
    path, _ = saved
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        database = Database(sqlite_url(path), busy_timeout_s=0.2)
        try:
            with database.session(write=False) as session:
                assert [p.name for p in repo.list_profiles(session)] == ["ana"]
            with pytest.raises(StorageError, match="is busy"), database.session() as session:
                repo.create_profile(session, "ben")
        finally:
            database.close()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def test_a_file_of_garbage_is_reported_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "kneefix.db"
    garbage = bytes(range(256)) * 64
    path.write_bytes(garbage)
    with pytest.raises(StorageError, match="not a readable kneefix database") as caught:
        Database(sqlite_url(path))
    assert "Move it aside or restore a backup" in str(caught.value)
    assert path.read_bytes() == garbage


def test_a_database_damaged_after_its_header_is_reported(saved: tuple[Path, Database]) -> None:
    path, database = saved
    database.close()
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    content = bytearray(path.read_bytes())
    content[100:4096] = b"\xff" * (4096 - 100)  # the schema page after the 100-byte header
    path.write_bytes(bytes(content))
    with pytest.raises(StorageError, match="not a readable kneefix database"):
        Database(sqlite_url(path))


def test_a_read_only_database_refuses_writes_and_keeps_its_data(saved: tuple[Path, Database]) -> None:
    path, database = saved
    database.close()
    read_only = Database(f"sqlite:///file:{path}?mode=ro&uri=true", busy_timeout_s=0.2)
    try:
        assert _profile_names(read_only) == ["ana"]
        with pytest.raises(StorageError, match="read-only"), read_only.session() as session:
            repo.create_profile(session, "ben")
        assert _profile_names(read_only) == ["ana"]
    finally:
        read_only.close()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores file permissions")
def test_a_write_protected_file_refuses_writes(saved: tuple[Path, Database]) -> None:
    path, database = saved
    database.close()
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            candidate.chmod(0o444)
    path.parent.chmod(0o555)
    try:
        with pytest.raises(StorageError):
            reopened = Database(sqlite_url(path), busy_timeout_s=0.2)
            with reopened.session() as session:
                repo.create_profile(session, "ben")
    finally:
        path.parent.chmod(0o755)


def test_a_folder_that_cannot_be_created_is_explained(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError, match="Cannot create the folder"):
        Database(sqlite_url(blocker / "sub" / "kneefix.db"))


def test_an_unreachable_server_is_explained() -> None:
    url = f"postgresql+psycopg://kneefix@127.0.0.1:{_free_port()}/kneefix"
    with pytest.raises(StorageError, match=r"Cannot reach the database server at postgresql 127\.0\.0\.1"):
        Database(url, connect_timeout_s=2)


@pytest.mark.postgres
def test_a_missing_postgres_database_is_explained(postgres_url: str) -> None:
    url = postgres_url.rsplit("/", 1)[0] + "/no_such_database"
    with pytest.raises(StorageError, match=r"database in .* does not exist") as caught:
        Database(url)
    assert "Create it first" in str(caught.value)


def test_an_error_inside_a_session_rolls_back_only_that_session(db: Database) -> None:
    with db.session() as session:
        profile = repo.create_profile(session, "ana")
        repo.add_log(session, profile.id, log(0))
    with pytest.raises(InputError), db.session() as session:
        repo.add_log(session, profile.id, log(1))
        repo.add_log(session, profile.id, log(2, pain_during=11))
    with db.session(write=False) as session:
        assert [entry.date for entry in repo.list_logs(session, profile.id)] == [log(0).date]


def test_a_database_error_mid_transaction_rolls_back_and_is_translated(db: Database) -> None:
    with db.session() as session:
        profile = repo.create_profile(session, "ana")
    with pytest.raises(StorageError, match="Nothing saved earlier was lost"), db.session() as session:
        repo.add_log(session, profile.id, log(1))
        # Bypass the repository's checks: the database's own constraint must stop this.
        session.execute(
            text(
                "INSERT INTO session_logs (profile_id, date, completed, exercises_done, note, created_at, "
                "updated_at) VALUES (:p, '2025-01-01', 5, '[]', '', '2025-01-01 00:00:00', "
                "'2025-01-01 00:00:00')"
            ),
            {"p": profile.id},
        )
    with db.session(write=False) as session:
        assert repo.list_logs(session, profile.id) == []
        assert [p.name for p in repo.list_profiles(session)] == ["ana"]


def test_a_pool_with_every_connection_in_use_is_reported_busy_not_unreachable(tmp_path: Path) -> None:
    """SQLAlchemy's own pool timing out (PostgreSQL's pool is bounded) means "too many at once"."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import TimeoutError as PoolTimeoutError

    from kneefix.storage.failures import translate_error

    engine = create_engine(sqlite_url(tmp_path / "pool.db"), pool_size=1, max_overflow=0, pool_timeout=0.05)
    try:
        with engine.connect(), pytest.raises(PoolTimeoutError) as raised:
            engine.connect()
    finally:
        engine.dispose()
    message = str(translate_error(raised.value, "the test database"))
    assert "busy" in message and "too many requests" in message
    assert "Cannot reach" not in message


def test_a_text_value_that_is_not_utf8_is_reported_as_damage_not_a_traceback(
    saved: tuple[Path, Database],
) -> None:
    path, database = saved
    with sqlite3.connect(path) as raw:  # what a scribbled page can leave in a text column
        raw.execute("UPDATE profiles SET name = CAST(x'9841' AS TEXT)")
    with pytest.raises(StorageError, match="not a readable kneefix database"):
        _profile_names(database)


@pytest.mark.parametrize("seed", range(12))
def test_pages_scribbled_over_give_the_damage_message_or_still_read(tmp_path: Path, seed: int) -> None:
    """Random bytes over the pages after the header (where a failing disk or a careless copy writes)."""
    import random

    path = tmp_path / "kneefix.db"
    database = Database(sqlite_url(path))
    with database.session() as session:
        for number in range(40):
            repo.create_profile(session, f"person {number} " + "x" * 40)
    database.close()
    data = bytearray(path.read_bytes())
    pick = random.Random(seed)
    for _ in range(300):
        data[pick.randrange(4096, len(data))] = pick.randrange(256)
    path.write_bytes(bytes(data))
    for side_file in tmp_path.glob("kneefix.db-*"):
        side_file.unlink()
    try:
        reopened = Database(sqlite_url(path))
        try:
            _profile_names(reopened)
        finally:
            reopened.close()
    except StorageError as error:
        assert "not a readable kneefix database" in str(error)
    assert path.read_bytes() == bytes(data)  # kneefix changed nothing in it
