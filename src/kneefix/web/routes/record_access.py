"""The audit log on the web: the person's "who saw or changed my record" (page and API), and the
administrator's download of the whole log.

Everything is read through :mod:`kneefix.services.audit`. A person sees only their own profile's
events; the administrator's download (:data:`~kneefix.web.deps.AdminUser`) answers 404 to anyone else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from kneefix.services import audit
from kneefix.storage.records import UserInfo
from kneefix.web.api_document import errors
from kneefix.web.deps import AdminUser, CurrentPerson, DbSession, client_ip, get_database
from kneefix.web.templating import render

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["account"])

PAGE_LIMIT = 500


@router.get("/account/record-access", name="record_access")
def record_access_page(request: Request, db: DbSession, me: CurrentPerson) -> Response:
    lines = audit.record_access(db, me.user, me.profile, limit=PAGE_LIMIT)
    return render(
        request,
        "record_access.html",
        {
            "lines": lines,
            "limit": PAGE_LIMIT,
            "zone": me.profile.time_zone or "UTC",
            "every": int(audit.VIEW_EVERY.total_seconds() // 60),
        },
        nav="account",
        title="Who saw or changed my record",
    )


class AuditLineOut(BaseModel):
    """One event about the person's record, newest first."""

    at: dt.datetime = Field(description="when, in the person's time zone (UTC when none is set)")
    who: str = Field(description='"you", the clinician\'s name, "an administrator" or the command line')
    what: str = Field(description="what was done, in words")
    action: str = Field(description="the event kind, e.g. record.viewed, plan.adjusted, export.downloaded")
    role: str = Field(description="the capacity the actor acted in: person, clinician, admin or cli")


@api_router.get(
    "/me/audit",
    summary="Who saw or changed my record, newest first",
    response_model=list[AuditLineOut],
    responses=errors(e403="Only person accounts have a record"),
)
def api_my_audit(db: DbSession, me: CurrentPerson) -> list[AuditLineOut]:
    return [
        AuditLineOut(at=line.at, who=line.who, what=line.what, action=line.action, role=line.role)
        for line in audit.record_access(db, me.user, me.profile, limit=PAGE_LIMIT)
    ]


# ----- the administrator's download --------------------------------------------------------------


def _download(
    request: Request, db: DbSession, admin: UserInfo, fmt: str, since: str | None, until: str | None
) -> Response:
    start = audit.parse_day(since, "since")
    end = audit.parse_day(until, "until")
    detail: dict[str, Any] = {"format": fmt}
    audit.record(
        db, audit.Actor.of(admin, client_ip(request), role="admin"), "admin.audit_exported", detail=detail
    )
    database = get_database(request)

    def lines() -> Iterator[str]:
        # Its own read session: the request's closes when the handler returns, before the body streams.
        with database.session(write=False) as session:
            yield from audit.export_lines(session, fmt, since=start, until=end)

    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
    return StreamingResponse(
        lines(),
        media_type=media,
        headers={
            "content-disposition": f'attachment; filename="kneefix-audit.{fmt}"',
            "Cache-Control": "private, no-store",
        },
    )


Day = Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD (UTC)")]


@router.get("/admin/audit.csv", name="admin_audit_csv")
def admin_audit_csv(
    request: Request, db: DbSession, admin: AdminUser, since: Day = None, until: Day = None
) -> Response:
    return _download(request, db, admin, "csv", since, until)


@router.get("/admin/audit.jsonl", name="admin_audit_jsonl")
def admin_audit_jsonl(
    request: Request, db: DbSession, admin: AdminUser, since: Day = None, until: Day = None
) -> Response:
    return _download(request, db, admin, "jsonl", since, until)
