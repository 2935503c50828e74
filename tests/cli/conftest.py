"""Each CLI test gets its own empty database (and data folder, so nothing touches the real one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import Kneefix


@pytest.fixture
def kneefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Kneefix:
    monkeypatch.setenv("KNEEFIX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("KNEEFIX_DATABASE_URL", raising=False)
    monkeypatch.setenv("KNEEFIX_TIMER_SCALE", "0")
    return Kneefix(tmp_path / "kneefix.db")
