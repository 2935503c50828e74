"""Stateless, expiring links signed with the secret key: the clinician invite and the sign-up link.

Nothing is stored until a link is used, so a link is only as good as its signature and its expiry:
both are checked here, once, for every kind of link. Each kind signs with its own salt, so a token made
for one purpose (an invite) is refused for another (finishing a sign-up). itsdangerous does the signing
(HMAC-SHA1 over a compact JSON payload, URL-safe); the expiry travels inside the signed payload.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from itsdangerous import BadData, URLSafeSerializer

from kneefix.storage.columns import utc_now

EXPIRES_KEY = "x"


def sign(
    secret_key: str,
    salt: str,
    payload: Mapping[str, Any],
    *,
    valid_for: dt.timedelta,
    now: dt.datetime | None = None,
) -> str:
    """A token carrying ``payload`` (short keys, JSON values) until ``valid_for`` after ``now``."""
    expires = int(((now or utc_now()) + valid_for).timestamp())
    token: str = URLSafeSerializer(secret_key, salt=salt).dumps({**payload, EXPIRES_KEY: expires})
    return token


def read(
    secret_key: str, salt: str, token: str, *, max_length: int, now: dt.datetime | None = None
) -> dict[str, Any] | None:
    """The payload of a good token, or None when it is empty, too long, forged, damaged or expired."""
    if not token or len(token) > max_length:
        return None
    try:
        raw: Any = URLSafeSerializer(secret_key, salt=salt).loads(token.strip())
        expires = int(raw[EXPIRES_KEY])
    except (BadData, KeyError, TypeError, ValueError):
        return None
    if not isinstance(raw, dict) or (now or utc_now()).timestamp() >= expires:
        return None
    return {key: value for key, value in raw.items() if key != EXPIRES_KEY}
