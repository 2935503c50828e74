"""A fresh, migrated SQLite database per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kneefix.content.loader import Content, load_content
from kneefix.storage.db import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'kneefix.db'}")
    yield database
    database.close()


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content()
