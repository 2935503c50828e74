"""How failures reach a person in the browser or an API client: a clear message, never a traceback.

Pages get a small HTML page (or a redirect to sign-in); the API gets ``{"detail": message}`` with a
status that says what kind of problem it was. Anything unexpected is logged with its traceback and the
person sees a plain apology: nothing they entered was saved half-way, because the database session rolls
back on any error.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from kneefix.errors import ContentError, InputError, KneefixError, NotFoundError, StorageError, VideoError
from kneefix.web.headers import add_security_headers, headers_for
from kneefix.web.middleware import RequestTooLargeError, is_api_path
from kneefix.web.security import SAFE_METHODS
from kneefix.web.templating import flash, href, render, session_of, set_session

log = logging.getLogger("kneefix.web")

PENDING_FORM_LIMIT = 2500  # characters of form data kept in the cookie for "save it now?" after sign-in


class SignInRequiredError(Exception):
    """The page or endpoint needs a signed-in user and there is none (or the session expired)."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("sign-in required")
        self.expired = expired


class ForbiddenError(Exception):
    """Signed in, but this account may not do this (e.g. a clinician opening a person-only page)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CsrfRejectedError(Exception):
    """An unsafe request from a cookie session came without the right CSRF token or from a foreign site."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NoPlanYetError(Exception):
    """A page or endpoint that shows the plan, for a person who has none yet; ``screened`` is true when
    a screening was saved without a plan (a warning sign stopped it, or the person did not go on)."""

    def __init__(self, screened: bool) -> None:
        super().__init__("no plan yet")
        self.screened = screened


def status_for(error: KneefixError) -> int:
    """The HTTP status that matches each kind of kneefix error."""
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, StorageError):
        return 503
    if isinstance(error, ContentError):
        return 500
    if isinstance(error, InputError | VideoError):
        return 422
    return 400


def _json(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


def error_page(request: Request, status: int, heading: str, message: str) -> Response:
    """A plain page with the message and a way back; the API gets the same message as JSON."""
    if is_api_path(request.scope):
        return _json(status, message)
    return render(
        request, "error.html", {"heading": heading, "message": message}, status_code=status, title=heading
    )


def _local_path(request: Request, url: str) -> str:
    """The in-app path of ``url`` (an absolute Referer or a path), without the proxy prefix."""
    split = urlsplit(url)
    path = split.path + (("?" + split.query) if split.query else "")
    root = str(request.scope.get("root_path", "")).rstrip("/")
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    return path if path.startswith("/") and not path.startswith("//") else "/"


def _sign_in_redirect(request: Request, expired: bool) -> Response:
    """Send the browser to sign-in and back here afterwards; a posted form is kept to offer again."""
    session = session_of(request)
    if request.method in SAFE_METHODS:
        target = _local_path(request, str(request.url))
    else:  # come back to the page that held the form, not to the POST address
        target = _local_path(request, request.headers.get("referer") or "/")
    message = (
        "Your session expired, so you were signed out. Sign in again to carry on."
        if expired
        else "Please sign in to see that page."
    )
    pending = getattr(request.state, "pending_form", None)
    if request.method not in SAFE_METHODS and isinstance(pending, dict):
        message = "You were signed out before that form was saved. Sign in and you can save it in one click."
        session = replace(session, pending=pending)
    set_session(request, session.with_flash(message, "warn"))
    return RedirectResponse(href(request, "/signin") + "?next=" + quote(target, safe="/"), status_code=303)


def install_error_handlers(app: FastAPI) -> None:
    """Register one handler per failure kind on ``app``."""

    @app.exception_handler(SignInRequiredError)
    async def _sign_in(request: Request, error: SignInRequiredError) -> Response:
        if is_api_path(request.scope):
            text = (
                "Your session expired; sign in again." if error.expired else "Sign in or send an API token."
            )
            return _json(401, text, {"WWW-Authenticate": "Bearer"})
        return _sign_in_redirect(request, error.expired)

    @app.exception_handler(NoPlanYetError)
    async def _no_plan(request: Request, error: NoPlanYetError) -> Response:
        if is_api_path(request.scope):
            return _json(
                409, "There is no plan yet: send the screening answers to POST /api/v1/screening first."
            )
        if error.screened:  # the result page says why there is no plan
            return RedirectResponse(href(request, "/screening/result"), status_code=303)
        message = "Answer the screening questions first; your plan is built from them."
        flash(request, message)
        return RedirectResponse(href(request, "/screening"), status_code=303)

    @app.exception_handler(ForbiddenError)
    async def _forbidden(request: Request, error: ForbiddenError) -> Response:
        return error_page(request, 403, "Not available to this account", error.message)

    @app.exception_handler(CsrfRejectedError)
    async def _csrf(request: Request, error: CsrfRejectedError) -> Response:
        return error_page(request, 403, "That form could not be accepted", error.message)

    @app.exception_handler(KneefixError)
    async def _kneefix(request: Request, error: KneefixError) -> Response:
        status = status_for(error)
        heading = "Not found" if status == 404 else "Something needs your attention"
        if isinstance(error, StorageError):
            heading = "The database is not available"
        return error_page(request, status, heading, str(error))

    @app.exception_handler(RequestTooLargeError)
    async def _too_large(request: Request, error: RequestTooLargeError) -> Response:
        return error_page(request, 413, "File too large", "That upload is larger than this server accepts.")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        if getattr(request.state, "body_too_large", False):
            return error_page(
                request, 413, "File too large", "That upload is larger than this server accepts."
            )
        if error.status_code == 404:
            return error_page(request, 404, "Not found", "There is nothing at this address.")
        if error.status_code == 405:
            return error_page(request, 405, "Not allowed", "That page cannot be used this way.")
        detail = error.detail if isinstance(error.detail, str) else "The request could not be handled."
        if is_api_path(request.scope):
            return JSONResponse(
                {"detail": error.detail}, status_code=error.status_code, headers=error.headers
            )
        return error_page(request, error.status_code, "Something went wrong", detail)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> Response:
        if is_api_path(request.scope):
            return JSONResponse({"detail": _plain_errors(error)}, status_code=422)
        problems = "; ".join(_describe(item) for item in error.errors())
        return error_page(
            request, 422, "Some answers are missing", f"Please go back and check the form: {problems}."
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        response = error_page(
            request,
            500,
            "Something went wrong on our side",
            "Nothing you entered was half-saved. Please try again; if it keeps happening, the server's log "
            "has the details.",
        )
        # Starlette answers a crash from outside every middleware: the headers are added here instead.
        add_security_headers(response.headers, headers_for(request.scope, request.app.state.settings))
        return response


def _describe(item: Any) -> str:
    location = [str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path", "form")]
    field = ".".join(location) or "input"
    return f"{field.replace('_', ' ')}: {str(item.get('msg', 'invalid')).lower()}"


def _plain_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    """Validation errors without the raw input echoed back (it may hold a password)."""
    return [
        {"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type", "")}
        for item in error.errors()
    ]
