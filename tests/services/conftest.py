"""A fresh, migrated SQLite database per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kneefix.content.loader import Content, load_content
from kneefix.services import screening
from kneefix.storage.db import Database
from tests.services.helpers import START, typical_answers


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'kneefix.db'}")
    yield database
    database.close()


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content()


@pytest.fixture
def profile_id(db: Database, content: Content) -> int:
    """A person screened as typical (no red flags) on :data:`START`, so with a plan."""
    with db.session() as session:
        outcome = screening.run_start(
            session, content, "ana", screening.StartRequest(typical_answers(content)), today=START
        )
    return outcome.profile.id
