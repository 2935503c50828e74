"""The OpenAPI document of ``/api/v1``: what every operation answers besides its own success.

Some answers come from outside the route: the sign-in check (401), the role and CSRF checks (403), the
request validation (422), the reading of the body (400) and its size limit (413,
:class:`~kneefix.web.middleware.BodySizeLimitMiddleware`), load shedding and an unavailable database
(503 with ``Retry-After``, :class:`~kneefix.web.middleware.LoadSheddingMiddleware`). They are added
here to every API operation, from one list, so a new route is documented the same way without repeating
them; what only some routes answer (404, 409, 429) each route declares itself with :func:`errors`.
Every error has one body, :class:`~kneefix.web.api_models.ErrorOut` (``{"detail": "..."}``, plus
``errors`` on a validation 422).

Authentication is declared as two security schemes, either of which will do: a bearer token (what API
clients use) and the browser's session cookie (which also needs ``X-CSRF-Token`` on unsafe methods).
Routes that need no sign-in say so with :data:`PUBLIC` (``security: []``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from kneefix.web.api_models import ErrorOut
from kneefix.web.security import SESSION_COOKIE

Responses = dict[int | str, dict[str, Any]]

PUBLIC: dict[str, Any] = {"security": []}
"""``openapi_extra`` of a route anyone may call (sign-up, sign-in): no security requirement."""

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
}
WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": "how to authenticate: Bearer",
        "required": True,
        "schema": {"type": "string"},
    }
}
SECURITY_SCHEMES = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token from POST /api/v1/auth/token or the Account page: "
        "`Authorization: Bearer kfx_...`.",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The browser's signed-in session; unsafe methods also need the page's CSRF "
        "token in `X-CSRF-Token`.",
    },
}
SECURED: list[dict[str, list[str]]] = [{"bearerToken": []}, {"sessionCookie": []}]

COMMON: dict[str, dict[str, Any]] = {
    "403": {
        "description": "This account may not do this (a person's route for a clinician, or the "
        "reverse), or a cookie request came without its CSRF token or from another site"
    },
    "422": {
        "description": "Bad input: `detail` says what to fix (and `errors` lists each field when the "
        "request did not fit this document)"
    },
    "503": {
        "description": "Busy (this process answers as many requests as it can) or the database is "
        "not available; nothing was changed, try again after `Retry-After` seconds",
        "headers": RETRY_AFTER,
    },
}
SIGNED_IN = {
    "401": {
        "description": "Not signed in, or the token is unknown, expired or revoked",
        "headers": WWW_AUTHENTICATE,
    }
}
WITH_BODY = {
    "400": {"description": "The body could not be read: not UTF-8 JSON, or a broken multipart form"},
    "413": {"description": "The request body is larger than this server accepts"},
}


def errors(**descriptions: str) -> Responses:
    """Route-specific error answers: ``errors(e404="No such token")`` -> ``{404: {...ErrorOut...}}``."""
    return {
        int(code.lstrip("e")): {"model": ErrorOut, "description": text} for code, text in descriptions.items()
    }


def install_api_document(app: FastAPI, api_prefix: str = "/api/") -> None:
    """Serve the document with the common answers and the security schemes added (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            app.openapi_schema = complete(document, api_prefix)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(document: dict[str, Any], api_prefix: str = "/api/") -> dict[str, Any]:
    """Add the answers every API operation can give, and its security, to ``document`` (in place)."""
    components = document.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    for path, methods in document.get("paths", {}).items():
        if not path.startswith(api_prefix):
            continue
        for operation in methods.values():
            public = operation.get("security") == []
            if not public:
                operation["security"] = SECURED
            extra = {
                **COMMON,
                **({} if public else SIGNED_IN),
                **(WITH_BODY if "requestBody" in operation else {}),
            }
            responses: dict[str, Any] = operation["responses"]
            for code, answer in extra.items():
                own = responses.get(code, {})
                description = own.get("description")
                if not description or description == "Validation Error":
                    description = answer["description"]
                responses[code] = {**answer, **own, "description": description}
            for code, answer in responses.items():
                if code[0] in "45":
                    answer["content"] = {"application/json": {"schema": ERROR_REF}}
    schemas = components.setdefault("schemas", {})
    if "ErrorOut" not in schemas:  # no route named it itself
        own = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(own.pop("$defs", {}))
        schemas["ErrorOut"] = own
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 body, which is not sent
        schemas.pop(unused, None)
    return document
