"""The person's record as an HL7 FHIR R4 Bundle (``application/fhir+json``), for a clinic's record
system: the person downloads their own, a linked clinician a person's who shares with them
(:mod:`kneefix.services.fhir_export` maps it; docs/fhir.md). The pages' download buttons link here: a
GET with the session cookie needs no CSRF token.

A finished technique check's angles chart is embedded (DocumentReference); its files are linked only
when ``public_url`` is set: a link in a record must be absolute and must not be built from the
request's Host header. The link is the page the one downloading can open: the person's own check
page, or the clinician's view of it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kneefix.services import fhir_definitions as fhir_definitions_service
from kneefix.services import fhir_export
from kneefix.storage.files import FileStore
from kneefix.storage.records import UserInfo
from kneefix.web.api_document import Responses, errors
from kneefix.web.deps import (
    AppFiles,
    AppSettings,
    ContentDep,
    CurrentPerson,
    CurrentUser,
    DbSession,
    RecordId,
    Today,
    client_ip,
    get_now,
)

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["printouts"])

BUNDLE_OUTLINE = {
    "type": "object",
    "description": "FHIR R4 Bundle (https://hl7.org/fhir/R4B/bundle.html); the mapping is docs/fhir.md",
    "required": ["resourceType", "type", "entry"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "id": {"type": "string"},
        "type": {"type": "string", "enum": ["collection"]},
        "entry": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["fullUrl", "resource"],
                "properties": {"fullUrl": {"type": "string"}, "resource": {"type": "object"}},
            },
        },
    },
}
FHIR: Responses = {
    200: {
        "description": "A FHIR R4 (R4B) Bundle of type collection",
        "content": {fhir_export.MEDIA_TYPE: {"schema": BUNDLE_OUTLINE}},
    },
    **errors(e404="No such person, or not one whose record is yours or shared with you"),
}


@api_router.get(
    "/people/{profile_id}/fhir",
    summary="A person's record as a FHIR R4 Bundle (the person, or a linked clinician)",
    response_class=Response,
    responses=FHIR,
)
def api_person_fhir(
    request: Request,
    profile_id: RecordId,
    user: CurrentUser,
    db: DbSession,
    content: ContentDep,
    today: Today,
    settings: AppSettings,
    files: AppFiles,
) -> Response:
    links = _links(request, settings.public_url, files, user, profile_id)
    bundle = fhir_export.export_for(
        db, content, user, profile_id, today, ip=client_ip(request), now=get_now(request), links=links
    )
    return _download(bundle, profile_id)


@router.get("/fhir/definitions.json", name="fhir_definitions")
def fhir_definitions(content: ContentDep) -> Response:
    """kneefix's FHIR code systems, complete, and its extensions' StructureDefinitions (content only,
    no one's data: no sign-in), for a clinic's terminology server and validator."""
    return Response(
        fhir_export.bundle_text(fhir_definitions_service.definitions_bundle(content)),
        media_type=fhir_export.MEDIA_TYPE,
        headers={"content-disposition": 'attachment; filename="kneefix-fhir-definitions.json"'},
    )


@router.get("/account/record.fhir.json", name="account_fhir")
def account_fhir(
    request: Request,
    me: CurrentPerson,
    db: DbSession,
    content: ContentDep,
    today: Today,
    settings: AppSettings,
    files: AppFiles,
) -> Response:
    """The account page's button: the person's own record, without their profile id in the address."""
    links = _links(request, settings.public_url, files, me.user, me.profile_id)
    bundle = fhir_export.export_for(
        db, content, me.user, me.profile_id, today, ip=client_ip(request), now=get_now(request), links=links
    )
    return _download(bundle, me.profile_id)


def _links(
    request: Request, public_url: str | None, files: FileStore, user: UserInfo, profile_id: int
) -> fhir_export.FileLinks:
    """Where the checks' files are, and how to link them for this downloader (no links without a
    configured public address; the chart is embedded either way)."""

    def path_for(check_id: int, name: str) -> str:
        if user.role == "clinician":
            return str(
                request.app.url_path_for(
                    "clinician_check_file", profile_id=str(profile_id), check_id=str(check_id), name=name
                )
            )
        return str(request.app.url_path_for("technique_file", check_id=str(check_id), name=name))

    return fhir_export.FileLinks(public_url, files, path_for)


def _download(bundle: dict[str, object], profile_id: int) -> Response:
    return Response(
        fhir_export.bundle_text(bundle),
        media_type=fhir_export.MEDIA_TYPE,
        headers={
            "content-disposition": f'attachment; filename="kneefix-fhir-{profile_id}.json"',
            "Cache-Control": "private, no-store",
        },
    )
