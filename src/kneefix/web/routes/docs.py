"""``/docs``: Swagger UI for the JSON API, served from this app's own files.

FastAPI's built-in page loads Swagger UI from a CDN and starts it with an inline script, and the
Content-Security-Policy (:mod:`kneefix.web.headers`) allows neither. Here the page is a template, the
start-up is ``static/swagger-init.js``, and Swagger UI's script and stylesheet come from the
``fastapi-offline`` package (Swagger UI 5, which reads the OpenAPI 3.1 document FastAPI writes; the
``swagger-ui-bundle`` package's Swagger UI 4 cannot): only those two files, under ``/docs/assets/``.
Nothing else of that package is used. ReDoc is not offered (a second viewer of the same document
would need the same work).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from kneefix.errors import NotFoundError
from kneefix.web.templating import render

router = APIRouter(include_in_schema=False)

SWAGGER_DIR = Path(str(files("fastapi_offline") / "static"))
#: The only files of the package served.
ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}
ASSET_CACHE = "public, max-age=86400"


@router.get("/docs", name="swagger_ui")
def swagger_ui(request: Request) -> Response:
    """The interactive API reference; it reads the OpenAPI document this app publishes."""
    openapi_url = request.app.openapi_url or "/api/v1/openapi.json"
    return render(request, "swagger.html", {"openapi_url": openapi_url}, title="API reference")


@router.get("/docs/assets/{name}", name="swagger_asset")
def swagger_asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFoundError(f"No file {name!r} here.")
    return FileResponse(SWAGGER_DIR / name, media_type=media_type, headers={"Cache-Control": ASSET_CACHE})
