"""Two small ASGI middlewares: the signed session cookie, and the request size limit.

Both are plain ASGI (not ``BaseHTTPMiddleware``) so streamed responses such as video downloads pass
through untouched.
"""

from __future__ import annotations

import html
import json

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from kneefix.settings import Settings
from kneefix.web.security import (
    SESSION_COOKIE,
    VIA_TRUSTED_PROXY,
    SessionCodec,
    SessionData,
    anonymous_session,
    bearer_token,
    cookies_secure,
)


class TrustedProxyMiddleware:
    """Believe ``X-Forwarded-For``/``-Proto``/``-Host`` only from the proxies in ``forwarded_allow_ips``.

    The headers are applied here, in the app, whatever server runs it (``kneefix serve`` turns
    uvicorn's own handling off), by uvicorn's ``ProxyHeadersMiddleware``; before it rewrites the
    client address, the address the request really came from is checked and the answer kept in the
    scope (:data:`~kneefix.web.security.VIA_TRUSTED_PROXY`) for ``X-Forwarded-Host``, which uvicorn does
    not handle. Anyone else's forwarded headers are ignored.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.enabled = settings.proxy_headers
        self.proxy = ProxyHeadersMiddleware(app, trusted_hosts=settings.forwarded_allow_ips)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.enabled or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        peer = scope.get("client")
        scope[VIA_TRUSTED_PROXY] = peer is not None and peer[0] in self.proxy.trusted_hosts
        await self.proxy(scope, receive, send)  # type: ignore[arg-type]


class SessionMiddleware:
    """Reads the session cookie into ``request.state.session`` and writes it back only when it changed.

    A missing, forged or expired cookie becomes a fresh visitor session; ``request.state.session_expired``
    tells the auth layer to say "your session expired" instead of a bare "please sign in". Requests that
    authenticate with a Bearer token never get a cookie.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.codec = SessionCodec(settings.signing_key, settings.session_max_age_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        loaded, expired = self.codec.loads(conn.cookies.get(SESSION_COOKIE))
        session = loaded if loaded is not None else anonymous_session()
        state = scope.setdefault("state", {})
        state["session"] = session
        state["session_expired"] = expired
        skip_cookie = bearer_token(conn) is not None or "/static/" in str(scope["path"])

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and not skip_cookie:
                current = state.get("session")
                if isinstance(current, SessionData) and current != loaded:
                    headers = MutableHeaders(scope=message)
                    headers.append("set-cookie", self._cookie(conn, current))
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _cookie(self, conn: HTTPConnection, session: SessionData) -> str:
        root = str(conn.scope.get("root_path", "")).rstrip("/") or "/"
        parts = [
            f"{SESSION_COOKIE}={self.codec.dumps(session)}",
            f"Path={root}",
            f"Max-Age={self.settings.session_max_age_s}",
            "HttpOnly",
            "SameSite=Lax",
        ]
        if cookies_secure(conn, self.settings):
            parts.append("Secure")
        return "; ".join(parts)


def is_api_path(scope: Scope, api_prefix: str = "/api/") -> bool:
    """True for JSON API requests, with or without a reverse proxy's path prefix."""
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", "")).rstrip("/")
    return path.startswith(api_prefix) or (bool(root) and path.startswith(root + api_prefix))


class RequestTooLargeError(Exception):
    """Raised while a body without a Content-Length streams past the limit."""


class BodySizeLimitMiddleware:
    """Refuses request bodies over the limit before the app buffers them.

    A declared ``Content-Length`` over the limit is answered at once with 413 and a clear message (HTML
    for pages, JSON for the API); a streamed body is counted and cut off when it passes the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, *, api_prefix: str = "/api/") -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.api_prefix = api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        declared = conn.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._drain(receive, int(declared))
            await self._refuse(scope, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    scope.setdefault("state", {})["body_too_large"] = True
                    raise RequestTooLargeError
            return message

        await self.app(scope, counting_receive, send)

    async def _drain(self, receive: Receive, declared: int) -> None:
        """Read (and drop) a moderately oversized body so the browser sees the answer, not a reset."""
        if declared > 4 * self.max_bytes:
            return
        more = True
        while more:
            message = await receive()
            more = message["type"] == "http.request" and bool(message.get("more_body", False))

    def message(self) -> str:
        megabytes = self.max_bytes / (1024 * 1024)
        return (
            f"That file is too large: the limit is {megabytes:.0f} MB. "
            "Trim the video to the movement itself (a few seconds is enough) and try again."
        )

    async def _refuse(self, scope: Scope, send: Send) -> None:
        await send_plain_answer(
            scope, send, 413, "File too large", self.message(), api_prefix=self.api_prefix
        )


async def send_plain_answer(
    scope: Scope,
    send: Send,
    status: int,
    title: str,
    text: str,
    *,
    api_prefix: str = "/api/",
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    """An answer given before the app runs: JSON ``{"detail": text}`` for the API, a small page otherwise."""
    if is_api_path(scope, api_prefix):
        body = json.dumps({"detail": text}).encode("utf-8")
        content_type = b"application/json"
    else:
        # No inline style or script (the Content-Security-Policy allows neither): the app's own
        # stylesheet, and the browser's Back button rather than a javascript: link.
        root = html.escape(str(scope.get("root_path", "")).rstrip("/"), quote=True)
        body = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<link rel='stylesheet' href='{root}/static/kneefix.css'>"
            f"<title>{title} · kneefix</title></head><body><main class='narrow'><h1>{title}</h1>"
            f"<p>{text}</p><p>Use your browser's Back button to return, or go to "
            f"<a href='{root}/'>the home page</a>.</p></main></body></html>"
        ).encode()
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode("ascii")),
                (b"connection", b"close"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


BUSY_MESSAGE = (
    "kneefix is answering as many requests as it can right now. Nothing was changed; wait a few "
    "seconds and try again."
)
RETRY_AFTER_S = 2


class LoadSheddingMiddleware:
    """Answer 503 at once when this process already works on ``max_in_flight`` requests.

    Past its capacity a server that queues every request makes each wait longer than the client will
    (phones and proxies give up after seconds) while it still works through the abandoned ones, so
    almost nothing is answered in time: one process sent 200 requests a second answered 6 a second,
    where at 30 a second it answered all 30 (``bench/api_load.py``). Refusing the excess at once keeps
    the answered rate at capacity and tells the client to come back (``Retry-After``). Static files are
    not counted (they cost next to nothing), nor the health check, nor uploads (a phone sending a
    video for a minute is limited by its own bandwidth, not by this process's CPU).
    """

    def __init__(self, app: ASGIApp, max_in_flight: int, *, api_prefix: str = "/api/") -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.api_prefix = api_prefix
        self.in_flight = 0  # one event loop per process: no lock needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _not_counted(scope):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            retry = (b"retry-after", str(RETRY_AFTER_S).encode("ascii"))
            await send_plain_answer(
                scope, send, 503, "Busy", BUSY_MESSAGE, api_prefix=self.api_prefix, headers=(retry,)
            )
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


UPLOAD_BYTES = 1024 * 1024  # a request body this large is a video on its way, not a quick request
HEALTH_PATH = "/healthz"  # a busy process is still a live one: its health check is always answered


def _not_counted(scope: Scope) -> bool:
    path = str(scope.get("path", ""))
    if path.startswith("/static/") or path == HEALTH_PATH:
        return True
    declared = HTTPConnection(scope).headers.get("content-length", "")
    return declared.isdigit() and int(declared) >= UPLOAD_BYTES


class RootPathMiddleware:
    """Serve under a path prefix (``KNEEFIX_ROOT_PATH``, e.g. ``/knee`` behind a reverse proxy).

    Sets the ASGI ``root_path`` the app builds its links and cookie path from, unless the server already
    set one (``uvicorn --root-path``).
    """

    def __init__(self, app: ASGIApp, root_path: str) -> None:
        self.app = app
        self.root_path = root_path.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.root_path and scope["type"] in ("http", "websocket") and not scope.get("root_path"):
            scope = {**scope, "root_path": self.root_path}
        await self.app(scope, receive, send)
