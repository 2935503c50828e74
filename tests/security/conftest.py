"""The security tests drive the same app as the web tests: reuse their fixtures (fresh app per test)."""

from __future__ import annotations

from tests.web.conftest import app, client, other_client, web_settings

__all__ = ["app", "client", "other_client", "web_settings"]
