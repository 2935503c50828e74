"""Fixtures for the web tests: a fresh app on a temporary data folder and SQLite file per test.

The analysis worker is off (``run_worker=False``) so no thread runs; tests that need it start one.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kneefix.settings import Settings, load_settings
from kneefix.web.app import create_app
from tests.web.helpers import pin

FIXED_TODAY = dt.date(2025, 3, 3)  # a Monday: the plan's first session falls on it


@pytest.fixture
def web_settings(tmp_path: Path) -> Settings:
    settings = load_settings(data_dir=tmp_path / "data", environ={}, secret_key="s" * 40)
    return settings.with_changes(run_worker=False)


@pytest.fixture
def app(web_settings: Settings) -> Iterator[FastAPI]:
    application = create_app(web_settings)
    pin(application, today=FIXED_TODAY)
    yield application
    application.state.database.close()


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app, follow_redirects=True)


@pytest.fixture
def other_client(app: FastAPI) -> TestClient:
    """A second browser on the same app (its own cookies)."""
    return TestClient(app, follow_redirects=True)


# One Playwright instance per test process: the sync API refuses a second one while the first is open,
# so the end-to-end tests and the layout tests share these.
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no chromium binary on PATH (install Debian's: apt-get install -y chromium)")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=BROWSER_ARGS)
        yield launched
        launched.close()
