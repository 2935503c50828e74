"""The web app factory: ``create_app(settings)`` wires settings, database, middleware, errors and routes.

Nothing here holds logic: pages and the JSON API are thin routes over the service layer. Routers from
other modules are added with one ``include_router`` line each, in :func:`_include_routers`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from kneefix import __version__
from kneefix.services.reminders import start_embedded_loop, stop_embedded_loop
from kneefix.services.worker import start_embedded_worker, stop_embedded_worker
from kneefix.settings import Settings, load_settings
from kneefix.storage.db import Database
from kneefix.storage.files import open_store
from kneefix.web.api_document import install_api_document
from kneefix.web.deps import enforce_csrf
from kneefix.web.errors import install_error_handlers
from kneefix.web.headers import SecurityHeadersMiddleware
from kneefix.web.middleware import (
    BodySizeLimitMiddleware,
    LoadSheddingMiddleware,
    RootPathMiddleware,
    SessionMiddleware,
    TrustedProxyMiddleware,
)
from kneefix.web.templating import STATIC_DIR

API_DESCRIPTION = """\
The JSON API behind every page a person uses: screening, plan, today's session, logs, progress, export
and account. Authenticate with `Authorization: Bearer <token>`; create a token with
`POST /api/v1/auth/token` (email and password) or on the Account page. Requests that use the browser's
session cookie instead must send the page's CSRF token in `X-CSRF-Token` on every unsafe method.
kneefix is a coaching tool, not a diagnosis.
"""

#: Hooks run on start-up and shutdown with the app (e.g. the background analysis worker); other modules
#: append ``(start, stop)`` pairs through :func:`on_lifecycle`.
LifecycleHook = tuple[Callable[[FastAPI], None], Callable[[FastAPI], None]]


def on_lifecycle(app: FastAPI, start: Callable[[FastAPI], None], stop: Callable[[FastAPI], None]) -> None:
    """Run ``start(app)`` when the server starts and ``stop(app)`` when it stops."""
    hooks: list[LifecycleHook] = app.state.lifecycle_hooks
    hooks.append((start, stop))


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    hooks: list[LifecycleHook] = list(app.state.lifecycle_hooks)
    started: list[LifecycleHook] = []
    try:
        for hook in hooks:
            hook[0](app)
            started.append(hook)
        yield
    finally:
        for hook in reversed(started):
            hook[1](app)
        database: Database = app.state.database
        database.close()


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    """A ready-to-serve app: ``uvicorn.run(create_app(load_settings()))``.

    ``database`` lets a caller (a test, the demo seeder) share an already-open database.
    """
    settings = settings or load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = FastAPI(
        title="kneefix",
        version=__version__,
        description=API_DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # FastAPI's page loads a CDN and an inline script: web.routes.docs serves /docs
        redoc_url=None,
        lifespan=_lifespan,
        dependencies=[Depends(enforce_csrf)],
    )
    app.state.settings = settings
    app.state.database = database or Database(settings.database_url)
    app.state.files = open_store(settings)
    app.state.lifecycle_hooks = []

    install_error_handlers(app)
    app.add_middleware(SessionMiddleware, settings=settings)
    # The limit is for the file; a multipart envelope adds a little around it.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_upload_bytes + 1024 * 1024)
    app.add_middleware(LoadSheddingMiddleware, max_in_flight=settings.max_requests_in_flight)
    # Outside everything that may answer early (413, the busy 503), inside the proxy's scheme and prefix.
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
    app.add_middleware(RootPathMiddleware, root_path=settings.root_path)
    app.add_middleware(TrustedProxyMiddleware, settings=settings)  # outermost: who is asking, first
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _include_routers(app)
    install_api_document(app)
    return app


def _include_routers(app: FastAPI) -> None:
    from kneefix.web.routes import (
        account,
        admin,
        api,
        auth,
        calendar,
        docs,
        exercises,
        fhir,
        health,
        person,
        printouts,
        recovery,
        running,
        screening,
    )

    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(recovery.router)
    app.include_router(admin.router)
    app.include_router(account.router)
    app.include_router(person.router)
    app.include_router(running.router)
    app.include_router(screening.router)
    app.include_router(api.router)
    app.include_router(running.api_router)
    app.include_router(exercises.router)
    app.include_router(docs.router)
    app.include_router(calendar.router)
    app.include_router(printouts.router)
    app.include_router(printouts.api_router)
    app.include_router(fhir.router)
    app.include_router(fhir.api_router)
    # Technique checks, clinician pages and their API (H8) are included below.
    from kneefix.web.routes import clinician, technique

    for router in (technique.router, technique.api_router, clinician.router, clinician.api_router):
        app.include_router(router)
    app.include_router(clinician.sharing_api)
    from kneefix.web.routes import record_access  # the audit log: the person's page and API, admin download

    app.include_router(record_access.router)
    app.include_router(record_access.api_router)
    # Background work that starts and stops with the app (each only when the settings ask for it):
    # the embedded analysis worker, and the reminder-email loop.
    on_lifecycle(app, start_embedded_worker, stop_embedded_worker)
    on_lifecycle(app, start_embedded_loop, stop_embedded_loop)


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory kneefix.web.app:app_from_env``: settings from ``KNEEFIX_*`` variables."""
    return create_app(load_settings())


def settings_of(app: Any) -> Settings:
    settings: Settings = app.state.settings
    return settings
