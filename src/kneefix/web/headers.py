"""Security headers on every answer: a strict Content-Security-Policy and its companions.

Why each header is the way it is (``docs/security.md``, "Headers", says the same for operators):

- **Content-Security-Policy**: scripts, styles, images, media and requests only from this origin, and no
  inline script or style at all (no ``'unsafe-inline'``, no nonces): every script is a file under
  ``/static`` wired up with event listeners, every style a class in the stylesheet. An injected
  ``<script>`` or ``onerror=`` attribute then does nothing even if some page forgot to escape it.
  ``img-src`` also allows ``data:`` because Swagger UI's stylesheet draws its icons with ``data:``
  images. ``frame-ancestors 'none'`` stops other sites framing a page (clickjacking); ``base-uri`` and
  ``object-src 'none'`` close the two classic bypasses; ``form-action 'self'`` keeps forms (and the
  redirects after them) on this site.
- **X-Frame-Options: DENY** says the same as ``frame-ancestors`` to browsers that predate CSP 2.
- **X-Content-Type-Options: nosniff**: an uploaded video or a JSON answer is never run as a script.
- **Referrer-Policy: same-origin**: a password-reset link (its token is in the address) or a person's
  record address is never sent to another site, not even as a bare origin (which would tell an outside
  site that this person uses a knee clinic's app); this site's own requests keep their ``Referer``,
  which the origin check reads.
- **Permissions-Policy**: no camera, microphone, location, payment or USB for any page. Recording a
  video goes through ``<input type="file" capture>``, which hands over to the phone's camera app and
  needs no camera permission in the page.
- **Cross-Origin-Opener-Policy / -Resource-Policy: same-origin**: a page opened from another site
  cannot script this one's window, and no other site can embed this one's images, videos or JSON.
- **Strict-Transport-Security** only on answers to https requests (as the trusted proxy reported it:
  :func:`~kneefix.web.security.request_scheme`); on plain http it would be ignored and it must never
  pin a development server on ``localhost`` to https.
- **Cache-Control: no-store** on every answer that did not choose its own caching, except static files:
  pages and API answers carry health data that must not stay in a shared computer's cache after
  signing out. Public content (static files, the exercise drawings) keeps its own caching.

The middleware is plain ASGI (streamed videos pass through untouched) and sits just inside the trusted
proxy middleware, so the scheme it reads is the browser's and the answers given before the app runs
(413, the load-shedding 503) carry the headers too. A crash answered by Starlette's outermost error
middleware never passes through here, so the error handler adds them itself (:func:`headers_for`).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kneefix.settings import Settings
from kneefix.web.security import request_scheme

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
HSTS = "max-age=31536000"

#: Sent on every answer, whatever its kind.
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("permissions-policy", PERMISSIONS_POLICY),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
)

#: Paths (below the proxy's prefix) whose answers are the same for everyone and may be cached.
PUBLIC_PREFIXES = ("/static/", "/docs/assets/")


def headers_for(scope: Scope, settings: Settings) -> dict[str, str]:
    """The headers every answer to this request gets (``cache-control`` only where none was chosen).

    Taken when the request arrives: routing rewrites the scope on the way in (a mount changes its
    ``root_path``), so by the time the answer starts the path no longer says what was asked for.
    """
    wanted = dict(SECURITY_HEADERS)
    if request_scheme(HTTPConnection(scope), settings) == "https":
        wanted["strict-transport-security"] = HSTS
    if not _public(scope):
        wanted["cache-control"] = "no-store"
    return wanted


def add_security_headers(headers: MutableHeaders, wanted: dict[str, str]) -> None:
    """Put ``wanted`` (from :func:`headers_for`) on one answer.

    Caching and the referrer policy a route chose are kept: a route may only be stricter there (the
    password-reset page sends ``no-referrer`` so its token cannot leak).
    """
    for name, value in wanted.items():
        if name in _ROUTE_MAY_CHOOSE:
            headers.setdefault(name, value)
        else:
            headers[name] = value


_ROUTE_MAY_CHOOSE = frozenset({"cache-control", "referrer-policy"})


def _public(scope: Scope) -> bool:
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", "")).rstrip("/")
    if root and path.startswith(root + "/"):
        path = path[len(root) :]
    return path.startswith(PUBLIC_PREFIXES)


class SecurityHeadersMiddleware:
    """Adds :data:`SECURITY_HEADERS` (and HSTS over https, ``no-store`` on private answers) to every
    HTTP answer: pages, the API, errors, static files, redirects, the health check."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = headers_for(scope, self.settings)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_security_headers(MutableHeaders(scope=message), wanted)
            await send(message)

        await self.app(scope, receive, send_with_headers)
