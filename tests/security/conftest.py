"""The security tests reuse the web tests' fixtures (a fresh app, SQLite file and browsers per test) and
the CLI tests' ``kneefix`` runner on a throwaway database, and the throw-away PostgreSQL server."""

from __future__ import annotations

from tests.cli.conftest import kneefix
from tests.pg import fresh_postgres_url, postgres_url
from tests.web.conftest import app, client, other_client, web_settings

__all__ = ["app", "client", "fresh_postgres_url", "kneefix", "other_client", "postgres_url", "web_settings"]
