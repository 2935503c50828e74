"""Rendering pages: one Jinja2 environment and a ``render`` helper every page route calls.

``render`` puts what the layout needs into every page (the signed-in user, the CSRF token, the one-shot
flash message, link helpers that respect a reverse proxy's path prefix), so a route only passes its own
data. Links are root-relative paths rather than absolute URLs: an absolute ``http://`` URL built behind an
https proxy is the classic mixed-content failure.

Forms: put ``{{ csrf_input }}`` inside every ``<form method="post">``; scripts read the token from
``<meta name="csrf-token">`` and send it as ``X-CSRF-Token``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse
from starlette.routing import NoMatchFound

from kneefix.web.security import CSRF_FIELD, SessionData, anonymous_session
from kneefix.web.user_agents import browser_label

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True
templates.env.filters["browser_label"] = browser_label


def session_of(request: Request) -> SessionData:
    """The visitor's session (the middleware always puts one there; a bare test app gets a fresh one)."""
    session = getattr(request.state, "session", None)
    if not isinstance(session, SessionData):
        session = anonymous_session()
        request.state.session = session
    return session


def set_session(request: Request, session: SessionData) -> None:
    """Replace the session; the middleware writes the new cookie on the way out."""
    request.state.session = session


def flash(request: Request, message: str, kind: str = "info") -> None:
    """A message shown once on the next page rendered (kinds: info, ok, warn, error)."""
    set_session(request, session_of(request).with_flash(message, kind))


def href(request: Request, path: str) -> str:
    """A link to ``path`` inside the app, prefixed with the proxy's path (``KNEEFIX_ROOT_PATH``)."""
    root = str(request.scope.get("root_path", "")).rstrip("/")
    if path.startswith(root + "/") and root:
        return path
    return root + path


def path_for(request: Request, name: str, **params: Any) -> str:
    """The path of a named route (without the proxy prefix; pass it through ``href``)."""
    return str(request.app.url_path_for(name, **params))


def has_route(request: Request, name: str) -> bool:
    """True when a route of that name exists: the layout links to pages another module may add."""
    try:
        request.app.url_path_for(name)
    except NoMatchFound:
        return False
    return True


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    nav: str | None = None,
    title: str | None = None,
) -> HTMLResponse:
    """Render ``template`` with the layout's context; the flash message is shown once, then cleared."""
    session = session_of(request)
    message, kind = session.flash, session.flash_kind
    if message:
        set_session(request, session.without_flash())
    page: dict[str, Any] = {
        "user": getattr(request.state, "user", None),
        "csrf_token": session.csrf,
        "csrf_input": Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(session.csrf)}">'),
        "flash": message,
        "flash_kind": kind,
        "nav": nav,
        "title": title,
        "href": lambda path: href(request, path),
        "path_for": lambda name, **params: path_for(request, name, **params),
        "has_route": lambda name: has_route(request, name),
    }
    page.update(context or {})
    response = templates.TemplateResponse(request, template, page, status_code=status_code)
    response.headers.setdefault("cache-control", "no-store")
    return response
