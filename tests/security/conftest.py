"""Fixtures for the security tests, reused from the suites they come from (nothing redefined here)."""

from __future__ import annotations

from tests.cli.conftest import kneefix  # noqa: F401  (the CLI against a throwaway database)
from tests.web.conftest import app, client, other_client, web_settings  # noqa: F401  (a fresh web app)
