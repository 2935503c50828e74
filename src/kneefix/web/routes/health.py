"""``GET /healthz``: whether this web process can serve, for a reverse proxy, docker or a monitor.

A process that answers its port but cannot reach its database (PostgreSQL down, a damaged SQLite
file) or finds it at another schema (an upgrade half-done) would otherwise fail every request while a
load balancer kept sending it people. The answer names what is wrong only in words a stranger may
read: the database's address and the driver's message go to the log, not to the public.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from kneefix.errors import StorageError
from kneefix.storage.db import head_revision
from kneefix.web.deps import get_database

router = APIRouter(tags=["health"])
log = logging.getLogger("kneefix.web")


@router.get(
    "/healthz",
    summary="Whether this process can serve: 200 when its database answers at the current schema, else 503",
    responses={503: {"description": "The database cannot be reached or is at another schema"}},
)
def healthz(request: Request) -> JSONResponse:
    try:
        revision = get_database(request).current_revision()
    except StorageError as error:
        log.warning("health check: %s", error)
        return _unavailable("the database cannot be read")
    if revision != head_revision():
        log.warning(
            "health check: the database is at migration %s, this kneefix needs %s", revision, head_revision()
        )
        return _unavailable("the database is at another schema version than this kneefix")
    return JSONResponse({"status": "ok", "database": "ok"})


def _unavailable(reason: str) -> JSONResponse:
    return JSONResponse({"status": "unavailable", "database": reason}, status_code=503)
