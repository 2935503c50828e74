"""Storage fixtures: a clean database per test, on SQLite and on a real PostgreSQL server.

Creating and migrating a PostgreSQL database costs most of a second, so PostgreSQL tests share one
migrated database per test process and start from emptied tables (``TRUNCATE``); tests that change the
schema itself ask for ``fresh_database_url`` instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from kneefix.settings import sqlite_url
from kneefix.storage import Database
from kneefix.storage.models import Base
from tests.pg import create_database, fresh_postgres_url, postgres_url

__all__ = ["fresh_postgres_url", "postgres_url"]

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def shared_postgres_url(postgres_url: str) -> str:
    """One migrated kneefix database on the test server, reused (emptied) by each test."""
    url = create_database(postgres_url)
    Database(url).close()
    return url


def _empty_tables(url: str) -> None:
    """Empty kneefix's tables and the analysis queue's (jobs of an earlier test would block new ones)."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            queue = [
                name for name in inspect(connection).get_table_names() if name.startswith("procrastinate_")
            ]
            tables = ", ".join([table.name for table in Base.metadata.sorted_tables] + queue)
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database with no rows: a SQLite file in a temp folder, or the shared PostgreSQL one."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "kneefix.db")
        Database(url).close()
        return url
    url = str(request.getfixturevalue("shared_postgres_url"))
    _empty_tables(url)
    return url


@pytest.fixture(params=BACKENDS)
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A brand-new, empty (unmigrated) database on each backend."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "fresh.db")
    return create_database(request.getfixturevalue("postgres_url"))


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A kneefix database with no rows, on each backend, closed after the test."""
    database = Database(database_url)
    try:
        yield database
    finally:
        database.close()
