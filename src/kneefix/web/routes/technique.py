"""Technique checks in the browser and the API: upload or record a clip, follow the analysis, see the result.

The request only stores the video and queues a job (:mod:`kneefix.services.uploads`); the worker
(:mod:`kneefix.services.worker`) analyses it in the background. The progress page polls
``GET /api/v1/checks/{id}`` and fills a progress bar; without JavaScript it reloads itself instead.

Files are served only through a check the asker may see, by a fixed list of names, with HTTP range
support so a phone can seek in the annotated video. Another person's check answers 404, exactly like
one that does not exist.
"""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile

from kneefix.errors import InputError, KneefixError, NotFoundError
from kneefix.services import audit, uploads
from kneefix.services.worker import Worker
from kneefix.storage.files import FileStore
from kneefix.storage.records import TechniqueCheckInfo
from kneefix.web.api_document import errors
from kneefix.web.api_models import CheckOut, UploadedCheckOut
from kneefix.web.deps import AppFiles, AppSettings, CurrentPerson, DbSession, Person, RecordId, client_ip
from kneefix.web.routes.auth import redirect
from kneefix.web.templating import flash, render

router = APIRouter(include_in_schema=False)
BINARY = {"type": "string", "format": "binary"}
CHECK_ERRORS = errors(e403="Only person accounts have technique checks", e404="No such check of yours")
api_router = APIRouter(prefix="/api/v1", tags=["technique"], responses=CHECK_ERRORS)

FILE_FIELDS = ("video", "recorded")  # "recorded": the phone-camera button; "video": a file from storage


def wake_worker(request: Request) -> None:
    """Tell the in-process worker a job is waiting, so it starts without waiting for its next poll."""
    worker = getattr(request.app.state, "worker", None)
    if isinstance(worker, Worker):
        worker.wake()


async def _uploaded_file(request: Request) -> UploadFile | None:
    """The one non-empty file among the form's file fields (record button or file picker)."""
    form = await request.form()
    for name in FILE_FIELDS:
        for item in form.getlist(name):
            if isinstance(item, UploadFile) and (item.filename or item.size):
                return item
    return None


def _form_context(values: dict[str, str] | None = None, error: str | None = None) -> dict[str, Any]:
    return {
        "movements": uploads.MOVEMENTS,
        "sides": uploads.SIDES,
        "tips": uploads.FILMING_TIPS,
        "values": values or {"movement": "squat", "side": "auto"},
        "error": error,
        "request_id": uuid.uuid4().hex,
    }


def _limits(max_bytes: int) -> dict[str, Any]:
    return {"limit": uploads.describe_limit(max_bytes), "max_bytes": max_bytes}


def _check_views(db: DbSession, me: Person) -> list[dict[str, Any]]:
    return [uploads.check_view(check) for check in uploads.list_checks(db, me.profile_id)]


def _home_page(
    request: Request,
    db: DbSession,
    me: Person,
    settings: AppSettings,
    values: dict[str, str] | None = None,
    error: str | None = None,
) -> Response:
    """The upload form and the person's checks (422 with ``error``, keeping what was chosen)."""
    context = {
        **_form_context(values, error),
        "checks": _check_views(db, me),
        **_limits(settings.max_upload_bytes),
    }
    return render(
        request,
        "technique/home.html",
        context,
        status_code=200 if error is None else 422,
        nav="technique",
        title="Technique check",
    )


def _submit(
    db: DbSession,
    settings: AppSettings,
    files: AppFiles,
    me: Person,
    upload: UploadFile,
    movement: str,
    side: str,
    request_id: str,
) -> uploads.Submission:
    """Store the uploaded video and queue its analysis (the same ``request_id`` twice: the first check)."""
    return uploads.submit_check(
        db,
        files,
        me.profile_id,
        upload.file,
        movement=movement,
        side=side,
        filename=upload.filename,
        max_bytes=settings.max_upload_bytes,
        request_id=request_id,
    )


# ----- pages ---------------------------------------------------------------------------------


@router.get("/technique", name="technique_home")
def technique_home(request: Request, db: DbSession, me: CurrentPerson, settings: AppSettings) -> Response:
    return _home_page(request, db, me, settings)


@router.post("/technique/checks", name="technique_upload")
async def technique_upload(
    request: Request,
    db: DbSession,
    me: CurrentPerson,
    settings: AppSettings,
    files: AppFiles,
    movement: Annotated[str, Form()] = "",
    side: Annotated[str, Form()] = "auto",
    request_id: Annotated[str, Form()] = "",
) -> Response:
    upload = await _uploaded_file(request)
    values = {"movement": movement, "side": side}
    try:
        if upload is None:
            raise InputError("Choose a video file, or record one, before sending.")
        submission = _submit(db, settings, files, me, upload, movement, side, request_id)
    except KneefixError as error:
        return _home_page(request, db, me, settings, values, str(error))
    db.commit()  # the worker must see the job before it is woken
    wake_worker(request)
    if submission.duplicate:
        flash(request, "That video had already been sent, so it was not added twice.", "info")
    return redirect(request, f"/technique/checks/{submission.check.id}")


@router.get("/technique/checks/{check_id}", name="technique_check")
def technique_check(request: Request, check_id: RecordId, db: DbSession, me: CurrentPerson) -> Response:
    check = uploads.get_check(db, me.profile_id, check_id)
    return render(
        request,
        "technique/check.html",
        {"check": uploads.check_view(check), "base": f"/technique/checks/{check.id}", "owner": True},
        nav="technique",
        title=f"{uploads.MOVEMENTS.get(check.movement, check.movement)} check",
    )


@router.get("/technique/checks/{check_id}/files/{name}", name="technique_file")
def technique_file(
    check_id: RecordId, name: str, db: DbSession, me: CurrentPerson, files: AppFiles
) -> Response:
    check = uploads.get_check(db, me.profile_id, check_id)
    return file_response(files, check, name)


@router.post("/technique/checks/{check_id}/retry", name="technique_retry")
def technique_retry(request: Request, check_id: RecordId, db: DbSession, me: CurrentPerson) -> Response:
    uploads.retry_check(db, me.profile_id, check_id)
    db.commit()
    wake_worker(request)
    return redirect(request, f"/technique/checks/{check_id}")


@router.post("/technique/checks/{check_id}/delete", name="technique_delete")
def technique_delete(
    request: Request, check_id: RecordId, db: DbSession, me: CurrentPerson, files: AppFiles
) -> Response:
    try:
        actor = audit.Actor.of(me.user, client_ip(request), role="person")
        removed = uploads.delete_check(db, me.profile_id, check_id, actor=actor)
    except NotFoundError:  # already gone (a second click): the list is what the person wanted to see
        return redirect(request, "/technique")
    db.commit()
    uploads.remove_check_files(files, removed)
    flash(request, "The check, its video and its results were deleted.", "ok")
    return redirect(request, "/technique")


def file_response(files: FileStore, check: TechniqueCheckInfo, name: str) -> Response:
    """One result file, with range support (FileResponse honours ``Range``), never cached.

    A check's video and chart show the person's body and knee: ``no-store`` keeps them out of the
    browser's disk cache (ASVS 8.2.1), as every other answer that carries health data.

    The store's local path stays valid until the response has been sent (a background task closes
    it), so a store that hands out a downloaded copy removes that copy only afterwards.
    """
    held = ExitStack()
    path, media_type = held.enter_context(uploads.result_file(files, check, name))
    disposition = "attachment" if name.endswith((".csv", ".mot", ".json")) else "inline"
    return FileResponse(
        path,
        media_type=media_type,
        filename=f"check-{check.id}-{name}",
        content_disposition_type=disposition,
        headers={"Cache-Control": "no-store"},
        background=BackgroundTask(held.close),
    )


# ----- API -----------------------------------------------------------------------------------


@api_router.get(
    "/checks", summary="The person's technique checks, newest first", response_model=list[CheckOut]
)
def api_list_checks(db: DbSession, me: CurrentPerson) -> list[dict[str, Any]]:
    return _check_views(db, me)


@api_router.post(
    "/checks",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload a video (multipart field `video`) and queue its analysis",
    description=(
        "Form fields: `video` (the file), `movement` (squat, single-leg-squat, deadlift or landing), "
        "`side` (auto, left or right) and optionally `request_id` (8-64 letters, digits, - or _): "
        "sending the same request_id again returns the first check instead of a second one. The type "
        "is read from the file's content; the size limit is the server's KNEEFIX_MAX_UPLOAD_MB."
    ),
    response_model=UploadedCheckOut,
    responses={
        200: {"model": UploadedCheckOut, "description": "The same request_id was sent before: its check"},
    },
)
async def api_upload_check(
    request: Request,
    db: DbSession,
    me: CurrentPerson,
    settings: AppSettings,
    files: AppFiles,
    movement: Annotated[str, Form()] = "",
    side: Annotated[str, Form()] = "auto",
    request_id: Annotated[str, Form()] = "",
) -> JSONResponse:
    upload = await _uploaded_file(request)
    if upload is None:
        raise InputError("Send the video in the multipart field 'video'.")
    submission = _submit(db, settings, files, me, upload, movement, side, request_id)
    db.commit()
    wake_worker(request)
    body = {**uploads.check_view(submission.check), "duplicate": submission.duplicate}
    code = status.HTTP_200_OK if submission.duplicate else status.HTTP_202_ACCEPTED
    return JSONResponse(body, status_code=code)


@api_router.get(
    "/checks/{check_id}",
    summary="One check: status, progress and, when done, its results",
    response_model=CheckOut,
)
def api_get_check(check_id: RecordId, db: DbSession, me: CurrentPerson) -> dict[str, Any]:
    return uploads.check_view(uploads.get_check(db, me.profile_id, check_id))


@api_router.get(
    "/checks/{check_id}/files/{name}",
    summary="A result file: annotated.mp4, angles.png, report.json, landmarks.csv, angles.csv, angles.mot",
    response_class=FileResponse,
    responses={
        200: {
            "content": {
                media: {"schema": {"type": "object"} if media == "application/json" else BINARY}
                for media in sorted(set(uploads.RESULT_FILES.values()))
            }
        }
    },
)
def api_check_file(
    check_id: RecordId, name: str, db: DbSession, me: CurrentPerson, files: AppFiles
) -> Response:
    return file_response(files, uploads.get_check(db, me.profile_id, check_id), name)


@api_router.post(
    "/checks/{check_id}/retry",
    summary="Queue a failed check again",
    response_model=CheckOut,
)
def api_retry_check(request: Request, check_id: RecordId, db: DbSession, me: CurrentPerson) -> dict[str, Any]:
    check = uploads.retry_check(db, me.profile_id, check_id)
    db.commit()
    wake_worker(request)
    return uploads.check_view(check)


@api_router.delete(
    "/checks/{check_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a check and its files",
    response_class=Response,
)
def api_delete_check(
    request: Request, check_id: RecordId, db: DbSession, me: CurrentPerson, files: AppFiles
) -> Response:
    actor = audit.Actor.of(me.user, client_ip(request), role="person")
    removed = uploads.delete_check(db, me.profile_id, check_id, actor=actor)
    db.commit()
    uploads.remove_check_files(files, removed)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
