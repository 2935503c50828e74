"""The security tests reuse the web tests' fixtures (a fresh app, SQLite file and browsers per test) and
the CLI tests' ``kneefix`` runner on a throwaway database."""

from __future__ import annotations

from tests.cli.conftest import kneefix
from tests.web.conftest import app, client, other_client, web_settings

__all__ = ["app", "client", "kneefix", "other_client", "web_settings"]
