"""Passwords, session cookies, CSRF tokens, origin checks and API tokens.

Why each piece is the way it is:

- Passwords and API tokens are hashed in :mod:`kneefix.services.credentials` (argon2id; SHA-256).
- The session is a small signed cookie (itsdangerous, timestamped) holding the CSRF token, a flash
  message and a form kept across a sign-in; an old or tampered cookie is simply a signed-out visitor. The
  cookie is HttpOnly, SameSite=Lax, and Secure whenever the page was served over https (or when
  configured so).
- A sign-in is more than the signature: the cookie carries a random session token, and it counts only
  while the ``web_sessions`` row with that token's SHA-256 is unrevoked and unexpired
  (:func:`kneefix.services.accounts.user_for_web_session`). Signing out revokes the row, so a copied
  cookie is refused at once (ASVS 3.3.1); so do "sign out everywhere", a password change and deletion.
- Every session, even a visitor's, carries a random CSRF token; every form renders it and every unsafe
  request authenticated by the cookie must send it back (form field ``csrf_token`` or header
  ``X-CSRF-Token``). On top, an ``Origin``/``Referer`` from a site that is neither this app nor a trusted
  origin is refused: a defence in depth that is also the usual failure behind a reverse proxy, hence the
  configurable ``trusted_origins`` and ``proxy_headers``.
- API clients send ``Authorization: Bearer <token>``; only a SHA-256 of the token is stored, so a leaked
  database does not leak working tokens. Bearer requests carry no ambient authority and need no CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.requests import HTTPConnection

from kneefix.settings import Settings

SESSION_COOKIE = "kneefix_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


# ----- session cookie ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionData:
    """What the signed cookie holds. ``user_id`` ``None`` is a signed-out visitor; a signed-in one also
    carries ``token``, which must name a live server-side session to count."""

    csrf: str
    user_id: int | None = None
    token: str = ""
    issued_at: int = 0
    flash: str = ""
    flash_kind: str = "info"
    pending: dict[str, object] | None = None

    def signed_in(self, user_id: int, token: str) -> SessionData:
        """A fresh session for a person who just signed in: new CSRF token, no leftovers from before."""
        return SessionData(csrf=new_token(), user_id=user_id, token=token, issued_at=int(time.time()))

    def signed_out(self) -> SessionData:
        return SessionData(csrf=new_token(), issued_at=int(time.time()))

    def with_flash(self, message: str, kind: str = "info") -> SessionData:
        return replace(self, flash=message, flash_kind=kind)

    def without_flash(self) -> SessionData:
        return replace(self, flash="", flash_kind="info")


def new_token(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)


def anonymous_session() -> SessionData:
    return SessionData(csrf=new_token(), issued_at=int(time.time()))


class SessionCodec:
    """Signs and checks the session cookie; tells an expired cookie apart from a missing or forged one."""

    def __init__(self, secret_key: str, max_age_s: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="kneefix.session.v1")
        self.max_age_s = max_age_s

    def dumps(self, data: SessionData) -> str:
        payload: dict[str, object] = {"c": data.csrf, "t": data.issued_at}
        if data.user_id is not None:
            payload["u"] = data.user_id
            payload["k"] = data.token
        if data.flash:
            payload["f"] = [data.flash, data.flash_kind]
        if data.pending:
            payload["p"] = data.pending
        return self._serializer.dumps(payload)

    def loads(self, cookie: str | None) -> tuple[SessionData | None, bool]:
        """Return ``(session, expired)``; ``(None, False)`` for no cookie or a forged one."""
        if not cookie:
            return None, False
        try:
            raw = self._serializer.loads(cookie, max_age=self.max_age_s)
        except SignatureExpired:
            return None, True  # too old to read: treat as an expired sign-in
        except BadSignature:
            return None, False
        if not isinstance(raw, dict) or not isinstance(raw.get("c"), str):
            return None, False
        user_id = raw.get("u")
        flash = raw.get("f")
        pending = raw.get("p")
        issued_at = raw.get("t", 0)
        issued_at = issued_at if isinstance(issued_at, int) else 0
        if time.time() - issued_at > self.max_age_s:
            # Re-signing (a flash message, say) must not stretch a sign-in forever: the age counts from
            # when the session began. A stale visitor session is simply replaced.
            return None, isinstance(user_id, int)
        return (
            SessionData(
                csrf=raw["c"],
                user_id=user_id if isinstance(user_id, int) else None,
                token=str(raw.get("k", "")),
                issued_at=issued_at,
                flash=str(flash[0]) if isinstance(flash, list) and len(flash) == 2 else "",
                flash_kind=str(flash[1]) if isinstance(flash, list) and len(flash) == 2 else "info",
                pending=pending if isinstance(pending, dict) else None,
            ),
            False,
        )


# ----- CSRF and origin -----------------------------------------------------------------------------


def csrf_matches(expected: str, submitted: str | None) -> bool:
    """Constant-time comparison of the session's token with the one the form or header sent."""
    if not submitted or not expected:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), submitted.encode("utf-8"))


VIA_TRUSTED_PROXY = "kneefix_via_trusted_proxy"
"""Scope key set by :class:`~kneefix.web.middleware.TrustedProxyMiddleware`: the request came from a
proxy in ``KNEEFIX_FORWARDED_ALLOW_IPS``, so its ``X-Forwarded-*`` headers may be believed."""


def request_scheme(conn: HTTPConnection, settings: Settings) -> str:
    """``https`` or ``http`` as the browser saw it.

    A trusted proxy's ``X-Forwarded-Proto`` has already been applied to the scope by the proxy
    middleware; the header itself is never read here, so a client cannot claim https by sending it.
    """
    return conn.url.scheme


def request_origin(conn: HTTPConnection, settings: Settings) -> str:
    """This app's own origin as the browser saw it, e.g. ``https://knee.example.org``.

    ``X-Forwarded-Host`` counts only from a trusted proxy: from anyone else it would let a forged
    request name its own site as this one and pass the origin check.
    """
    host = conn.headers.get("host", "")
    if settings.proxy_headers and conn.scope.get(VIA_TRUSTED_PROXY) is True:
        forwarded_host = conn.headers.get("x-forwarded-host", "").split(",")[0].strip()
        if forwarded_host:
            host = forwarded_host
    return f"{request_scheme(conn, settings)}://{host.lower()}"


def _origin_of(url: str) -> str | None:
    split = urlsplit(url)
    if split.scheme not in {"http", "https"} or not split.netloc:
        return None
    return f"{split.scheme}://{split.netloc.lower()}"


def _normalise(origin: str) -> str:
    """Drop a default port so ``https://a.org:443`` and ``https://a.org`` compare equal."""
    for scheme, port in (("https", ":443"), ("http", ":80")):
        if origin.startswith(scheme + "://") and origin.endswith(port):
            return origin[: -len(port)]
    return origin


def origin_allowed(conn: HTTPConnection, settings: Settings) -> bool:
    """False only when the browser says the request comes from a foreign site.

    The ``Origin`` header is checked when present, else the ``Referer``; a request with neither (a script,
    an old browser) passes here and still needs its CSRF token.
    """
    claimed = conn.headers.get("origin")
    if claimed is None or claimed == "null":
        referer = conn.headers.get("referer")
        if claimed is None and not referer:
            return True
        claimed = _origin_of(referer) if referer else None
        if claimed is None:
            return False
    allowed = {_normalise(request_origin(conn, settings)), *(_normalise(o) for o in settings.trusted_origins)}
    return _normalise(claimed.rstrip("/").lower()) in allowed


def cookies_secure(conn: HTTPConnection, settings: Settings) -> bool:
    """Secure cookies when configured, else whenever the browser reached us over https."""
    if settings.secure_cookies is not None:
        return settings.secure_cookies
    return request_scheme(conn, settings) == "https"


# ----- API tokens ----------------------------------------------------------------------------------


def bearer_token(conn: HTTPConnection) -> str | None:
    """The token from ``Authorization: Bearer ...``, or ``None`` when the header is absent or not Bearer."""
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
