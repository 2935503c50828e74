"""``GET /healthz`` says whether the process can serve, and tells a stranger nothing more."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kneefix.settings import load_settings
from kneefix.web.app import create_app


@pytest.fixture
def app_and_file(tmp_path: Path) -> Iterator[tuple[FastAPI, Path]]:
    data = tmp_path / "data"
    app = create_app(load_settings(data_dir=data, environ={}, secret_key="h" * 40, run_worker=False))
    try:
        yield app, data / "kneefix.db"
    finally:
        app.state.database.close()


def test_a_working_database_at_the_current_schema_is_healthy(app_and_file: tuple[FastAPI, Path]) -> None:
    answer = TestClient(app_and_file[0]).get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "ok"}


def test_a_database_at_another_schema_is_unavailable(app_and_file: tuple[FastAPI, Path]) -> None:
    app, path = app_and_file
    with sqlite3.connect(path) as connection:  # as if another kneefix version had migrated it
        connection.execute("UPDATE alembic_version SET version_num = '0001_initial'")
    answer = TestClient(app).get("/healthz")
    assert answer.status_code == 503
    assert answer.json() == {
        "status": "unavailable",
        "database": "the database is at another schema version than this kneefix",
    }


def test_an_unreadable_database_is_unavailable_and_its_location_is_not_shown(
    app_and_file: tuple[FastAPI, Path],
) -> None:
    app, path = app_and_file
    path.write_bytes(b"this is not a database at all" * 200)
    for side_file in path.parent.glob("kneefix.db-*"):  # the WAL and its index would still answer
        side_file.unlink()
    answer = TestClient(app).get("/healthz")
    assert answer.status_code == 503
    assert answer.json() == {"status": "unavailable", "database": "the database cannot be read"}
    assert str(path.parent) not in answer.text
