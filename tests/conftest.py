"""Fixtures shared by every test folder."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.mail_server"]  # the real SMTP server fixture, ``smtp_server``

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only test clips in ../shared/data; tests using them skip where it is absent."""
    if not (SHARED_DATA / "manifest.json").is_file():
        pytest.skip(f"real test material not found at {SHARED_DATA} (../shared/data is absent)")
    return SHARED_DATA
