"""Opening databases: URLs and folders, migrations on both backends, SQLite connection settings."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from kneefix.errors import InputError, StorageError
from kneefix.settings import load_settings, sqlite_url
from kneefix.storage import Database
from kneefix.storage.db import alembic_config, head_revision
from kneefix.storage.models import Base, is_model_object

EXPECTED_TABLES = {
    "users",
    "web_sessions",
    "password_resets",
    "rate_events",
    "audit_events",
    "profiles",
    "screenings",
    "scores",
    "session_logs",
    "plan_changes",
    "plan_adjustments",
    "technique_checks",
    "clinician_links",
    "invites",
    "api_tokens",
    "login_attempts",
    "idempotency_keys",
    "run_checks",
    "reminder_emails",
    "alembic_version",
}


def test_opening_migrates_to_head_with_every_table(fresh_database_url: str) -> None:
    with Database(fresh_database_url) as db:
        assert db.current_revision() == head_revision()
    with db.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
    queue_tables = {name for name in tables if name.startswith("procrastinate_")}
    assert tables - queue_tables == EXPECTED_TABLES
    # PostgreSQL also holds the distributed queue's tables; SQLite's queue is technique_checks.
    expected_queue = {"procrastinate_jobs", "procrastinate_workers"} if db.backend == "postgresql" else set()
    assert expected_queue <= queue_tables
    assert bool(queue_tables) == (db.backend == "postgresql")


def test_the_head_is_the_newest_migration_file() -> None:
    assert head_revision() == "0006_accounts_and_audit"


def test_migrations_match_the_models_exactly(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": is_model_object}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_nothing_then_upgrade_again(fresh_database_url: str) -> None:
    db = Database(fresh_database_url)
    config = alembic_config()
    with db.engine.connect() as connection, connection.begin():
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    with db.engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    db.upgrade()
    assert db.current_revision() == head_revision()
    db.close()


def test_reopening_keeps_data_and_does_not_migrate_twice(database_url: str) -> None:
    from kneefix.storage import repository as repo

    with Database(database_url) as first, first.session() as session:
        repo.create_profile(session, "ana")
    with Database(database_url) as second, second.session() as session:
        assert [p.name for p in repo.list_profiles(session)] == ["ana"]
        assert second.current_revision() == head_revision()


def test_default_locations_follow_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KNEEFIX_DATABASE_URL", raising=False)
    monkeypatch.setenv("KNEEFIX_DATA_DIR", str(tmp_path / "data"))
    assert load_settings().data_dir == tmp_path / "data"
    assert load_settings().database_url == f"sqlite:///{(tmp_path / 'data' / 'kneefix.db').resolve()}"
    monkeypatch.setenv("KNEEFIX_DATABASE_URL", "sqlite:///elsewhere.db")
    assert load_settings().database_url == "sqlite:///elsewhere.db"


def test_default_data_dir_without_override_is_the_platform_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KNEEFIX_DATA_DIR", raising=False)
    assert load_settings().data_dir.name == "kneefix"


def test_database_without_url_uses_the_data_dir_and_creates_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KNEEFIX_DATABASE_URL", raising=False)
    monkeypatch.setenv("KNEEFIX_DATA_DIR", str(tmp_path / "new" / "folder"))
    with Database() as database:
        assert database.backend == "sqlite"
    assert (tmp_path / "new" / "folder" / "kneefix.db").is_file()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    with (
        Database(sqlite_url(tmp_path / "k.db"), busy_timeout_s=1.5) as database,
        database.engine.connect() as connection,
    ):
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 1500


def test_in_memory_sqlite_works_across_sessions() -> None:
    from kneefix.storage import repository as repo

    with Database("sqlite://") as database:
        with database.session() as session:
            repo.create_profile(session, "ana")
        with database.session() as session:
            assert [p.name for p in repo.list_profiles(session)] == ["ana"]


@pytest.mark.parametrize("url", ["not a url", "nosuchdriver://x/y"])
def test_a_malformed_url_is_an_input_error_with_an_example(url: str) -> None:
    with pytest.raises(InputError, match="sqlite:///"):
        Database(url)


def test_a_folder_instead_of_a_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"):
        Database(sqlite_url(tmp_path))


def test_a_database_from_a_newer_kneefix_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    Database(sqlite_url(path)).close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '0099_future'")
    with pytest.raises(StorageError, match="newer version of kneefix"):
        Database(sqlite_url(path))
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version_num FROM alembic_version").fetchone() == ("0099_future",)


def test_another_programs_database_is_not_written_into(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(StorageError, match="another program's tables"):
        Database(sqlite_url(path))
    with sqlite3.connect(path) as raw:
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"invoices"}


def test_repr_hides_the_password() -> None:
    database = Database("postgresql+psycopg://kneefix:s3cret@127.0.0.1:1/x", migrate=False)
    try:
        assert "s3cret" not in repr(database)
        assert "s3cret" not in database.location
    finally:
        database.close()


def test_several_programs_opening_a_new_database_at_once_migrate_it_once(fresh_database_url: str) -> None:
    import threading

    errors: list[BaseException] = []
    opened: list[Database] = []

    def open_it() -> None:
        try:
            opened.append(Database(fresh_database_url))
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == []
        assert len(opened) == 8
        assert {database.current_revision() for database in opened} == {head_revision()}
    finally:
        for database in opened:
            database.close()


def test_the_next_migration_is_numbered_after_the_existing_ones(tmp_path: Path) -> None:
    from kneefix.storage.migrate import next_revision_id

    (tmp_path / "0001_initial.py").write_text("")
    (tmp_path / "0007_later.py").write_text("")
    assert next_revision_id("Add a Column: X!", tmp_path) == "0008_add_a_column_x"
    assert next_revision_id("???", tmp_path / "empty") == "0001_change"


def test_a_new_database_and_its_folder_are_the_owners_alone(tmp_path: Path) -> None:
    import stat

    from kneefix.storage import repository as repo

    folder = tmp_path / "data"
    database = Database(sqlite_url(folder / "kneefix.db"))
    try:
        with database.session() as session:
            repo.create_profile(session, "ana")
        modes = {
            path.name: stat.S_IMODE(path.stat().st_mode)
            for path in folder.iterdir()
            if path.name.startswith("kneefix")
        }
        assert modes["kneefix.db"] == 0o600
        assert all(mode == 0o600 for mode in modes.values()), modes  # -wal and -shm follow the file
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    finally:
        database.close()


def test_an_existing_database_keeps_the_mode_its_owner_chose(tmp_path: Path) -> None:
    import stat

    path = tmp_path / "shared.db"
    Database(sqlite_url(path)).close()
    path.chmod(0o640)  # e.g. readable by a backup group
    Database(sqlite_url(path)).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
