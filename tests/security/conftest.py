"""The security tests reuse the web tests' fixtures: a fresh app, SQLite file and browsers per test."""

from __future__ import annotations

from tests.web.conftest import app, client, other_client, web_settings

__all__ = ["app", "client", "other_client", "web_settings"]
