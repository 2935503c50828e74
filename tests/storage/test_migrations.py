"""Migration 0002 on a database that already holds data: legacy runs become runs, and back."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.dialects import postgresql

from kneefix.errors import StorageError
from kneefix.storage import Database
from kneefix.storage import repository as repo
from kneefix.storage.columns import UTCDateTime
from kneefix.storage.db import alembic_config, head_revision
from tests.storage.samples import START, run, run_check

T0 = dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.UTC)
JSON: sa.types.TypeEngine[Any] = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

USERS = sa.table(
    "users",
    sa.column("id", sa.Integer()),
    sa.column("display_name", sa.String()),
    sa.column("role", sa.String()),
    sa.column("local_name", sa.String()),
    sa.column("created_at", UTCDateTime()),
)
PROFILES = sa.table(
    "profiles",
    sa.column("id", sa.Integer()),
    sa.column("user_id", sa.Integer()),
    sa.column("name", sa.String()),
    sa.column("protocol_id", sa.String()),
    sa.column("guideline_additions", sa.Boolean()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
LOGS = sa.table(
    "session_logs",
    sa.column("id", sa.Integer()),
    sa.column("profile_id", sa.Integer()),
    sa.column("date", sa.Date()),
    sa.column("completed", sa.Float()),
    sa.column("pain_during", sa.Integer()),
    sa.column("next_morning_pain", sa.Integer()),
    sa.column("exercises_done", JSON),
    sa.column("note", sa.Text()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)


def _migrate(database: Database, revision: str, *, down: bool = False) -> None:
    config = alembic_config()
    with database.engine.connect() as connection, connection.begin():
        config.attributes["connection"] = connection
        if down:
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)


def _legacy_log(log_id: int, day: int, done: list[str], **extra: object) -> dict[str, object]:
    return {
        "id": log_id,
        "profile_id": 1,
        "date": START + dt.timedelta(days=day),
        "completed": 1.0,
        "pain_during": 2,
        "next_morning_pain": None,
        "exercises_done": done,
        "note": f"log {log_id}",
        "created_at": T0,
        "updated_at": T0,
    } | extra


@pytest.fixture
def legacy_database(fresh_database_url: str) -> Database:
    """A database at 0001 with one profile: two old-style runs among ordinary sessions."""
    database = Database(fresh_database_url, migrate=False)
    _migrate(database, "0001_initial")
    with database.engine.connect() as connection, connection.begin():
        connection.execute(
            sa.insert(USERS).values(id=1, display_name="", role="person", local_name="local", created_at=T0)
        )
        connection.execute(
            sa.insert(PROFILES).values(
                id=1,
                user_id=1,
                name="ana",
                protocol_id="runners_knee",
                guideline_additions=True,
                created_at=T0,
                updated_at=T0,
            )
        )
        connection.execute(
            sa.insert(LOGS),
            [
                _legacy_log(1, 0, ["foam_roll_quads", "hamstring_stretch"]),
                _legacy_log(2, 1, ["run"], next_morning_pain=3),
                _legacy_log(3, 2, ["strides", "run"]),
                _legacy_log(4, 3, ["run_drill", "running_man"]),  # sounds like a run, is a session
                _legacy_log(5, 4, []),
            ],
        )
    # Keep sequences (PostgreSQL) in step with the explicit ids above.
    if database.backend == "postgresql":
        with database.engine.connect() as connection, connection.begin():
            for table in ("users", "profiles", "session_logs"):
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                connection.execute(sa.text(f"SELECT setval({sequence}, (SELECT MAX(id) FROM {table}))"))
    return database


def _raw_logs(database: Database) -> dict[int, list[str]]:
    with database.engine.connect() as connection:
        rows = connection.execute(sa.select(LOGS.c.id, LOGS.c.exercises_done).order_by(LOGS.c.id))
        return {log_id: list(done) for log_id, done in rows}


def test_upgrading_makes_old_style_runs_runs(legacy_database: Database) -> None:
    database = legacy_database
    try:
        assert database.current_revision() == "0001_initial"
        database.upgrade()
        assert database.current_revision() == head_revision()
        with database.session(write=False) as session:
            logs = repo.list_logs(session, 1)
        by_id = {log.id: log for log in logs}
        assert [by_id[i].kind for i in (1, 2, 3, 4, 5)] == ["session", "run", "run", "session", "session"]
        assert by_id[2].exercises_done == () and by_id[2].next_morning_pain == 3
        assert by_id[3].exercises_done == ("strides",)
        assert by_id[4].exercises_done == ("run_drill", "running_man")
        assert by_id[1].exercises_done == ("foam_roll_quads", "hamstring_stretch")
        assert all(log.hurt == () for log in logs)
        assert all(log.run_minutes is None and log.run_distance_km is None for log in logs)
        assert [log.note for log in logs] == [f"log {i}" for i in (1, 2, 3, 4, 5)]
        # The migrated database takes the new fields and run checks like a new one.
        with database.session() as session:
            added = repo.add_log(session, 1, run(9, hurt=("strides",)))
            repo.add_run_check(session, 1, run_check(8, walk=1, hop=2))
            assert repo.get_log(session, 1, added.id or 0) == added
            assert len(repo.list_run_checks(session, 1)) == 1
    finally:
        database.close()


def test_downgrading_puts_the_run_entry_back(legacy_database: Database) -> None:
    database = legacy_database
    try:
        database.upgrade()
        with database.session() as session:
            repo.add_log(session, 1, run(9, run_minutes=12.0))
            repo.add_run_check(session, 1, run_check(8, walk=1, hop=2))
        _migrate(database, "0001_initial", down=True)
        assert database.current_revision() == "0001_initial"
        with database.engine.connect() as connection:
            inspector = sa.inspect(connection)
            assert "run_checks" not in inspector.get_table_names()
            columns = {column["name"] for column in inspector.get_columns("session_logs")}
        assert {"kind", "hurt", "run_minutes", "run_distance_km"}.isdisjoint(columns)
        raw = _raw_logs(database)
        assert raw[2] == ["run"] and raw[3] == ["run", "strides"]
        assert raw[4] == ["run_drill", "running_man"] and raw[1] == ["foam_roll_quads", "hamstring_stretch"]
        assert raw[6] == ["run"]
        # ... and up again gives the same runs as before.
        database.upgrade()
        with database.session(write=False) as session:
            kinds = [(log.id, log.kind, log.exercises_done) for log in repo.list_logs(session, 1)]
        assert kinds == [
            (1, "session", ("foam_roll_quads", "hamstring_stretch")),
            (2, "run", ()),
            (3, "run", ("strides",)),
            (4, "session", ("run_drill", "running_man")),
            (5, "session", ()),
            (6, "run", ()),
        ]
    finally:
        database.close()


def test_the_database_constraints_refuse_what_the_checks_refuse(legacy_database: Database) -> None:
    """Even a raw write cannot store run fields on a session or an unknown kind."""
    database = legacy_database
    try:
        database.upgrade()
        for values in ({"kind": "walk"}, {"run_minutes": 12.0}, {"kind": "run", "run_distance_km": 0.0}):
            with pytest.raises(StorageError), database.session() as session:
                session.execute(
                    sa.text(
                        "UPDATE session_logs SET "
                        + ", ".join(f"{key} = :{key}" for key in values)
                        + " WHERE id = 1"
                    ),
                    values,
                )
    finally:
        database.close()
