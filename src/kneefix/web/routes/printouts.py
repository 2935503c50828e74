"""PDFs to print: the person's programme handout and progress report, for the person and for a linked
clinician, on the web and in the API (:mod:`kneefix.services.printing` makes them)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kneefix.services import audit, clinic, printing
from kneefix.web.api_document import Responses, errors
from kneefix.web.deps import (
    AppFiles,
    ContentDep,
    CurrentClinician,
    CurrentPerson,
    DbSession,
    Person,
    PersonWithPlan,
    RecordId,
    Today,
    client_ip,
)

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["printouts"])
PDF: Responses = {200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}
PERSON_PDF = {**PDF, **errors(e403="Only person accounts have a plan")}
PLAN_PDF = {**PERSON_PDF, **errors(e409="No plan yet: take the screening first")}


def _own_download(request: Request, db: DbSession, me: Person, fmt: str) -> None:
    """The person's own download, in their audit log (written before the PDF is made)."""
    actor = audit.Actor.of(me.user, client_ip(request), role="person")
    audit.record(db, actor, audit.Action.EXPORT_DOWNLOADED, profile_id=me.profile_id, detail={"format": fmt})


def _pdf(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "content-disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/plan/handout.pdf", name="handout_pdf")
def person_handout(
    request: Request, me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today
) -> Response:
    _own_download(request, db, me, "pdf")
    return _pdf(printing.handout_pdf(db, content, me.profile_id, today), "kneefix-programme.pdf")


@router.get("/progress/report.pdf", name="report_pdf")
def person_report(
    request: Request,
    me: PersonWithPlan,
    db: DbSession,
    content: ContentDep,
    today: Today,
    files: AppFiles,
) -> Response:
    _own_download(request, db, me, "report-pdf")
    body = printing.report_pdf(db, content, me.profile_id, today, files)
    return _pdf(body, "kneefix-progress-report.pdf")


@router.get("/clinician/people/{profile_id}/handout.pdf", name="clinician_handout_pdf")
def clinician_handout(
    request: Request,
    profile_id: RecordId,
    db: DbSession,
    content: ContentDep,
    me: CurrentClinician,
    today: Today,
) -> Response:
    clinic.record_export(db, me.id, profile_id, "pdf", ip=client_ip(request))  # 404 unless they share with me
    return _pdf(printing.handout_pdf(db, content, profile_id, today), "kneefix-programme.pdf")


@router.get("/clinician/people/{profile_id}/report.pdf", name="clinician_report_pdf")
def clinician_report(
    request: Request,
    profile_id: RecordId,
    db: DbSession,
    content: ContentDep,
    me: CurrentClinician,
    today: Today,
    files: AppFiles,
) -> Response:
    clinic.record_export(db, me.id, profile_id, "report-pdf", ip=client_ip(request))
    body = printing.report_pdf(db, content, profile_id, today, files)
    return _pdf(body, "kneefix-progress-report.pdf")


@api_router.get(
    "/handout.pdf",
    summary="The signed-in person's programme handout (PDF)",
    response_class=Response,
    responses=PLAN_PDF,
)
def api_handout(
    request: Request, me: CurrentPerson, db: DbSession, content: ContentDep, today: Today
) -> Response:
    _own_download(request, db, me, "pdf")
    return _pdf(printing.handout_pdf(db, content, me.profile_id, today), "kneefix-programme.pdf")


@api_router.get(
    "/report.pdf",
    summary="The signed-in person's progress report (PDF)",
    response_class=Response,
    responses=PERSON_PDF,
)
def api_report(
    request: Request, me: CurrentPerson, db: DbSession, content: ContentDep, today: Today, files: AppFiles
) -> Response:
    _own_download(request, db, me, "report-pdf")
    body = printing.report_pdf(db, content, me.profile_id, today, files)
    return _pdf(body, "kneefix-progress-report.pdf")


# The clinician's report in the API is the page's own handler (the same checks, the same PDF).
api_router.add_api_route(
    "/clinician/people/{profile_id}/report.pdf",
    clinician_report,
    methods=["GET"],
    summary="A linked person's progress report (PDF)",
    response_class=Response,
    responses={**PDF, **errors(e403="Only clinician accounts", e404="No such person linked to you")},
)
