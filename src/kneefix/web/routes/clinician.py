"""The clinician's pages and API (their people, one person's full picture, invites, plan adjustments),
and the person's side of sharing (accept an invite, see and stop sharing with clinicians).

Every route goes through :mod:`kneefix.services.clinic`, which answers 404 for any profile that is not
linked to the asking clinician, so the authorisation rule lives in one place. Forms that create
something carry a one-time token (``form_token``) so a double click creates it once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, Field

from kneefix.errors import KneefixError, NotFoundError
from kneefix.services import accounts, clinic, uploads
from kneefix.storage.records import InviteInfo, UserInfo
from kneefix.web.api_document import errors
from kneefix.web.api_models import (
    AdjustmentOut,
    CheckOut,
    ClinicianOut,
    InviteOut,
    PersonOverviewOut,
    PersonRowOut,
)
from kneefix.web.deps import (
    AppFiles,
    ContentDep,
    CurrentClinician,
    CurrentPerson,
    DbSession,
    MaybeUser,
    RecordId,
    Today,
    client_ip,
    get_now,
)
from kneefix.web.routes.auth import redirect
from kneefix.web.routes.technique import file_response
from kneefix.web.templating import flash, render

router = APIRouter(include_in_schema=False)
api_router = APIRouter(
    prefix="/api/v1",
    tags=["clinician"],
    responses=errors(e403="Only clinician accounts", e404="No such person (or record) linked to you"),
)
sharing_api = APIRouter(
    prefix="/api/v1/me",
    tags=["sharing"],
    responses=errors(e403="Only person accounts share their record", e404="No such invite or clinician"),
)

SORT_LABELS = {
    "name": "Person",
    "adherence": "Adherence",
    "pain": "Pain (latest week)",
    "kujala": "Kujala",
    "flags": "Red flags",
    "technique": "Latest technique check",
    "activity": "Last session",
}


def invite_view(request: Request, invite: InviteInfo) -> dict[str, Any]:
    """An invite as pages and the API show it, with the full link to hand to the person."""
    link = str(request.base_url).rstrip("/") + clinic.invite_path(invite)  # base_url holds the proxy prefix
    now = dt.datetime.now(dt.UTC)
    return {
        "id": invite.id,
        "code": invite.code,
        "link": link,
        "note": invite.note,
        "created_at": invite.created_at.isoformat(),
        "expires_at": invite.expires_at.isoformat(),
        "used_at": invite.used_at.isoformat() if invite.used_at else None,
        "open": invite.is_open(now),
    }


def _first_time(db: DbSession, token: str, user: UserInfo) -> tuple[bool, str | None]:
    return accounts.first_submit(db, token, user.id)


# ----- clinician pages -----------------------------------------------------------------------


@router.get("/clinician", name="clinician_home")
def clinician_home(
    request: Request,
    db: DbSession,
    content: ContentDep,
    me: CurrentClinician,
    today: Today,
    sort: str = "name",
    order: str = "asc",
) -> Response:
    key = sort if sort in clinic.SORT_KEYS else "name"
    descending = order == "desc"
    rows = clinic.dashboard(db, content, me.id, today, sort=key, descending=descending)
    invites = [invite_view(request, invite) for invite in clinic.list_invites(db, me.id)]
    return render(
        request,
        "clinician/home.html",
        {
            "rows": rows,
            "sort": key,
            "descending": descending,
            "columns": SORT_LABELS,
            "invites": [item for item in invites if item["open"]],
            "form_token": uuid.uuid4().hex,
        },
        nav="clinician",
        title="My people",
    )


@router.post("/clinician/invites", name="clinician_invite")
def clinician_invite(
    request: Request,
    db: DbSession,
    me: CurrentClinician,
    note: Annotated[str, Form(max_length=300)] = "",
    form_token: Annotated[str, Form()] = "",
) -> Response:
    first, _ = _first_time(db, form_token, me)
    if first:
        try:
            invite = clinic.create_invite(db, me.id, note=note)
        except clinic.InviteLimitError as error:
            db.rollback()  # the form token too, so the same form works once the limit allows
            flash(request, str(error), "error")
            return redirect(request, "/clinician#invites")
        flash(request, f"New invite code {invite.code}: give it (or its link) to the person.", "ok")
    return redirect(request, "/clinician#invites")


@router.post("/clinician/invites/{invite_id}/delete", name="clinician_invite_delete")
def clinician_invite_delete(
    request: Request, invite_id: RecordId, db: DbSession, me: CurrentClinician
) -> Response:
    try:
        clinic.withdraw_invite(db, me.id, invite_id)
        flash(request, "The invite was withdrawn; its code no longer works.", "ok")
    except NotFoundError:
        pass  # already withdrawn
    return redirect(request, "/clinician#invites")


@router.get("/clinician/people/{profile_id}", name="clinician_person")
def clinician_person(
    request: Request,
    profile_id: RecordId,
    db: DbSession,
    content: ContentDep,
    me: CurrentClinician,
    today: Today,
) -> Response:
    overview = clinic.person_overview(db, content, me.id, profile_id, today, ip=client_ip(request))
    choices = clinic.adjustment_choices(db, content, me.id, profile_id)
    return render(
        request,
        "clinician/person.html",
        {"o": overview, "choices": choices, "form_token": uuid.uuid4().hex, "pid": profile_id},
        nav="clinician",
        title=overview["row"]["name"],
    )


@router.get("/clinician/people/{profile_id}/progress.png", name="clinician_progress_chart")
def clinician_progress_chart(
    request: Request,
    profile_id: RecordId,
    db: DbSession,
    content: ContentDep,
    me: CurrentClinician,
    today: Today,
) -> Response:
    from kneefix.services.progress import progress_chart, progress_summary

    clinic.view_profile(db, me.id, profile_id, ip=client_ip(request), part="chart")
    png = progress_chart(progress_summary(db, content, profile_id, today))
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, no-store"})


@router.post("/clinician/people/{profile_id}/adjust", name="clinician_adjust")
def clinician_adjust(
    request: Request,
    profile_id: RecordId,
    db: DbSession,
    content: ContentDep,
    me: CurrentClinician,
    today: Today,
    kind: Annotated[str, Form()] = "",
    from_exercise: Annotated[str, Form()] = "",
    to_exercise: Annotated[str, Form()] = "",
    exercise: Annotated[str, Form()] = "",
    sets: Annotated[str, Form()] = "",
    reps: Annotated[str, Form()] = "",
    hold_s: Annotated[str, Form()] = "",
    duration_s: Annotated[str, Form()] = "",
    phase: Annotated[str, Form()] = "",
    note: Annotated[str, Form(max_length=1000)] = "",
    form_token: Annotated[str, Form()] = "",
) -> Response:
    payload = {
        "from": from_exercise,
        "to": to_exercise,
        "exercise": exercise,
        "sets": sets,
        "reps": reps,
        "hold_s": hold_s,
        "duration_s": duration_s,
        "phase": phase,
    }
    back = f"/clinician/people/{profile_id}#adjust"
    clinic.linked_profile(db, me.id, profile_id)
    first, _ = _first_time(db, form_token, me)
    if not first:
        return redirect(request, back)
    try:
        clinic.adjust_plan(
            db, content, me.id, profile_id, kind, payload, note=note, today=today, ip=client_ip(request)
        )
    except NotFoundError:
        raise
    except KneefixError as error:
        db.rollback()  # the form token too, so the corrected form can be sent again
        flash(request, f"The plan was not changed: {error}", "error")
        return redirect(request, back)
    if kind == "resume":
        flash(request, "The plan is resumed; the person sees that you reviewed it, with your note.", "ok")
    else:
        flash(request, "The plan was changed; the person sees your change and its reason.", "ok")
    return redirect(request, back)


@router.post(
    "/clinician/people/{profile_id}/adjustments/{adjustment_id}/withdraw", name="clinician_adjust_withdraw"
)
def clinician_adjust_withdraw(
    request: Request,
    profile_id: RecordId,
    adjustment_id: RecordId,
    db: DbSession,
    content: ContentDep,
    me: CurrentClinician,
    today: Today,
) -> Response:
    clinic.withdraw_adjustment(
        db, content, me.id, profile_id, adjustment_id, today=today, ip=client_ip(request)
    )
    flash(request, "The change was withdrawn; the plan follows its rules again.", "ok")
    return redirect(request, f"/clinician/people/{profile_id}#adjust")


@router.post("/clinician/people/{profile_id}/screenings/{screening_id}/clear", name="clinician_clear_flags")
def clinician_clear_flags(
    request: Request,
    profile_id: RecordId,
    screening_id: RecordId,
    db: DbSession,
    me: CurrentClinician,
    today: Today,
    note: Annotated[str, Form(max_length=2000)] = "",
    seen: Annotated[str, Form()] = "",
) -> Response:
    """ "I have seen this person; clear the red flags": the latest screening's flags, with a note."""
    back = f"/clinician/people/{profile_id}#screening"
    try:
        if seen != "yes":
            clinic.linked_profile(db, me.id, profile_id)  # a stranger's id is a 404 before any message
            raise KneefixError("Tick the box to confirm that you have seen this person.")
        clinic.clear_red_flags(
            db,
            me.id,
            profile_id,
            screening_id,
            note=note,
            today=today,
            now=get_now(request),
            ip=client_ip(request),
        )
    except NotFoundError:
        raise
    except KneefixError as error:
        db.rollback()
        flash(request, f"The red flags were not cleared: {error}", "error")
        return redirect(request, back)
    flash(
        request,
        "The red flags are cleared and the person sees your note. A pause this screening began is over; "
        "a pause for another reason stays until you resume the plan.",
        "ok",
    )
    return redirect(request, back)


@router.get("/clinician/people/{profile_id}/checks/{check_id}", name="clinician_check")
def clinician_check(
    request: Request, profile_id: RecordId, check_id: RecordId, db: DbSession, me: CurrentClinician
) -> Response:
    profile = clinic.view_profile(db, me.id, profile_id, ip=client_ip(request), part="check")
    check = uploads.get_check(db, profile_id, check_id)
    return render(
        request,
        "clinician/check.html",
        {
            "check": uploads.check_view(check),
            "base": f"/clinician/people/{profile_id}/checks/{check_id}",
            "person": clinic.person_label(db, profile),
            "pid": profile_id,
            "owner": False,
        },
        nav="clinician",
        title="Technique check",
    )


@router.get("/clinician/people/{profile_id}/checks/{check_id}/files/{name}", name="clinician_check_file")
def clinician_check_file(
    request: Request,
    profile_id: RecordId,
    check_id: RecordId,
    name: str,
    db: DbSession,
    me: CurrentClinician,
    files: AppFiles,
) -> Response:
    clinic.view_profile(db, me.id, profile_id, ip=client_ip(request), part="check")
    return file_response(files, uploads.get_check(db, profile_id, check_id), name)


# ----- the person's side: invites and sharing ------------------------------------------------


@router.get("/invite/{code}", name="invite_page")
def invite_page(request: Request, code: str, db: DbSession, user: MaybeUser) -> Response:
    try:
        preview: clinic.InvitePreview | None = clinic.preview_invite(db, code)
        problem = preview.problem if preview else None
    except KneefixError as error:
        preview, problem = None, str(error)
    return render(
        request,
        "clinician/invite.html",
        {"preview": preview, "problem": problem, "code": code},
        title="Invitation from a clinician",
        status_code=200 if preview is not None else 404,
    )


@router.post("/invite/{code}", name="invite_accept")
def invite_accept(request: Request, code: str, db: DbSession, me: CurrentPerson) -> Response:
    return _accept(request, db, me.profile_id, code)


def _accept(request: Request, db: DbSession, profile_id: int, code: str) -> Response:
    try:
        clinician = clinic.accept_invite(db, code, profile_id, ip=client_ip(request))
    except KneefixError as error:
        if clinic.my_clinicians(db, profile_id) and "already been used" in str(error):
            flash(request, "You had already accepted this invite.", "info")
        else:
            flash(request, str(error), "error")
        return redirect(request, "/sharing")
    flash(
        request,
        f"{clinic.clinician_label(clinician)} can now see your plan, logs and technique checks.",
        "ok",
    )
    return redirect(request, "/sharing")


@router.get("/sharing", name="sharing")
def sharing_page(request: Request, db: DbSession, me: CurrentPerson) -> Response:
    clinicians = clinic.my_clinicians(db, me.profile_id)
    return render(
        request, "clinician/sharing.html", {"clinicians": clinicians}, title="Share with a clinician"
    )


@router.post("/sharing", name="sharing_accept")
def sharing_accept(
    request: Request, db: DbSession, me: CurrentPerson, code: Annotated[str, Form()] = ""
) -> Response:
    return _accept(request, db, me.profile_id, code)


@router.post("/sharing/{clinician_id}/stop", name="sharing_stop")
def sharing_stop(request: Request, clinician_id: RecordId, db: DbSession, me: CurrentPerson) -> Response:
    try:
        clinic.stop_sharing(db, me.profile_id, clinician_id, ip=client_ip(request))
        flash(request, "That clinician can no longer see your record.", "ok")
    except NotFoundError:
        pass  # already stopped
    return redirect(request, "/sharing")


# ----- API -----------------------------------------------------------------------------------


class InviteRequest(BaseModel):
    note: str = Field(default="", max_length=300, description="a reminder for yourself, e.g. the name")


class AdjustmentRequest(BaseModel):
    kind: str = Field(description="swap, dose, phase or resume")
    payload: dict[str, Any] = Field(
        description=(
            "swap: {from, to} exercise ids; dose: {exercise, sets?, reps?, hold_s?, duration_s?}; "
            "phase: {phase} (a phase id of the person's programme, from today); resume: {}"
        )
    )
    note: str = Field(default="", max_length=1000)


class ResumeRequest(BaseModel):
    note: str = Field(default="", max_length=1000, description="what the review found, for the person")


class ClearFlagsRequest(BaseModel):
    note: str = Field(max_length=2000, description="what you found when you saw the person (required)")


class ClearedOut(BaseModel):
    screening_id: int
    cleared_at: dt.datetime | None = Field(description="when the flags were cleared")
    cleared_by: str | None = Field(description="the clinician's name as the person reads it")
    note: str | None = Field(description="what the clinician found, shown to the person")


class CodeRequest(BaseModel):
    code: str = Field(description="the invite code, e.g. K7MQP-3XRTA")


def _user_dict(user: UserInfo) -> dict[str, Any]:
    return {"id": user.id, "name": clinic.clinician_label(user), "email": user.email}


@api_router.get(
    "/clinician/people",
    summary="The clinician's people, one row each (sortable)",
    response_model=list[PersonRowOut],
)
def api_people(
    db: DbSession,
    content: ContentDep,
    me: CurrentClinician,
    today: Today,
    sort: str = "name",
    order: str = "asc",
) -> list[dict[str, Any]]:
    rows = clinic.dashboard(db, content, me.id, today, sort=sort, descending=order == "desc")
    return [row.to_dict() for row in rows]


@api_router.get(
    "/clinician/people/{profile_id}",
    summary="One linked person's full picture",
    response_model=PersonOverviewOut,
)
def api_person(
    request: Request,
    profile_id: RecordId,
    db: DbSession,
    content: ContentDep,
    me: CurrentClinician,
    today: Today,
) -> dict[str, Any]:
    return clinic.person_overview(db, content, me.id, profile_id, today, ip=client_ip(request))


@api_router.get(
    "/clinician/people/{profile_id}/adjustments",
    summary="Plan adjustments made for a person",
    response_model=list[AdjustmentOut],
)
def api_adjustments(
    profile_id: RecordId, db: DbSession, content: ContentDep, me: CurrentClinician
) -> list[dict[str, Any]]:
    entries = clinic.list_adjustments(db, me.id, profile_id)
    return [clinic.adjustment_view(content, entry) for entry in entries]


@api_router.post(
    "/clinician/people/{profile_id}/adjustments",
    status_code=status.HTTP_201_CREATED,
    summary="Adjust a person's plan: swap an exercise, set a dose, or move to a phase",
    response_model=AdjustmentOut,
)
def api_adjust(
    request: Request,
    profile_id: RecordId,
    body: AdjustmentRequest,
    db: DbSession,
    content: ContentDep,
    me: CurrentClinician,
    today: Today,
) -> dict[str, Any]:
    entry = clinic.adjust_plan(
        db,
        content,
        me.id,
        profile_id,
        body.kind,
        body.payload,
        note=body.note,
        today=today,
        ip=client_ip(request),
    )
    return {"id": entry.id, "kind": entry.kind, "payload": entry.payload, "note": entry.note, "active": True}


@api_router.post(
    "/clinician/people/{profile_id}/resume",
    status_code=status.HTTP_201_CREATED,
    summary="Resume a paused plan after reviewing the person (422 when it is not paused)",
    response_model=AdjustmentOut,
)
def api_resume(
    request: Request,
    profile_id: RecordId,
    body: ResumeRequest,
    db: DbSession,
    content: ContentDep,
    me: CurrentClinician,
    today: Today,
) -> dict[str, Any]:
    entry = clinic.adjust_plan(
        db, content, me.id, profile_id, "resume", {}, note=body.note, today=today, ip=client_ip(request)
    )
    return clinic.adjustment_view(content, entry)


@api_router.post(
    "/clinician/people/{profile_id}/screenings/{screening_id}/clear",
    summary="Clear the red flags of a linked person's latest screening after seeing them",
    response_model=ClearedOut,
    responses=errors(e422="Not the latest screening, no red flags, already cleared, or no note"),
)
def api_clear_flags(
    request: Request,
    profile_id: RecordId,
    screening_id: RecordId,
    body: ClearFlagsRequest,
    db: DbSession,
    me: CurrentClinician,
    today: Today,
) -> dict[str, Any]:
    cleared = clinic.clear_red_flags(
        db,
        me.id,
        profile_id,
        screening_id,
        note=body.note,
        today=today,
        now=get_now(request),
        ip=client_ip(request),
    )
    return {
        "screening_id": cleared.id,
        "cleared_at": cleared.cleared_at,
        "cleared_by": cleared.cleared_by_name,
        "note": cleared.clearance_note,
    }


@api_router.delete(
    "/clinician/people/{profile_id}/adjustments/{adjustment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Withdraw an adjustment (the plan follows its rules again)",
    response_class=Response,
)
def api_withdraw(
    request: Request,
    profile_id: RecordId,
    adjustment_id: RecordId,
    db: DbSession,
    content: ContentDep,
    me: CurrentClinician,
    today: Today,
) -> Response:
    clinic.withdraw_adjustment(
        db, content, me.id, profile_id, adjustment_id, today=today, ip=client_ip(request)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@api_router.get(
    "/clinician/people/{profile_id}/checks/{check_id}",
    summary="A linked person's technique check",
    response_model=CheckOut,
)
def api_person_check(
    request: Request, profile_id: RecordId, check_id: RecordId, db: DbSession, me: CurrentClinician
) -> dict[str, Any]:
    clinic.view_profile(db, me.id, profile_id, ip=client_ip(request), part="check")
    return uploads.check_view(uploads.get_check(db, profile_id, check_id))


@api_router.get(
    "/clinician/invites", summary="The clinician's invites, newest first", response_model=list[InviteOut]
)
def api_invites(request: Request, db: DbSession, me: CurrentClinician) -> list[dict[str, Any]]:
    return [invite_view(request, invite) for invite in clinic.list_invites(db, me.id)]


@api_router.post(
    "/clinician/invites",
    status_code=status.HTTP_201_CREATED,
    summary="Create an invite code (429 past 20 an hour or 100 a day)",
    response_model=InviteOut,
    responses=errors(e429="Too many invites lately; `detail` says which limit and when to try again"),
)
def api_create_invite(
    request: Request, body: InviteRequest, db: DbSession, me: CurrentClinician
) -> dict[str, Any]:
    try:
        return invite_view(request, clinic.create_invite(db, me.id, note=body.note))
    except clinic.InviteLimitError as error:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(error), {"Retry-After": "3600"}) from None


@api_router.delete(
    "/clinician/invites/{invite_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Withdraw an invite",
    response_class=Response,
)
def api_delete_invite(invite_id: RecordId, db: DbSession, me: CurrentClinician) -> Response:
    clinic.withdraw_invite(db, me.id, invite_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@sharing_api.get(
    "/clinicians",
    summary="The clinicians this person shares their record with",
    response_model=list[ClinicianOut],
)
def api_my_clinicians(db: DbSession, me: CurrentPerson) -> list[dict[str, Any]]:
    return [_user_dict(user) for user in clinic.my_clinicians(db, me.profile_id)]


@sharing_api.post(
    "/clinicians",
    status_code=status.HTTP_201_CREATED,
    summary="Accept an invite code (share with its clinician)",
    response_model=ClinicianOut,
)
def api_accept_invite(
    request: Request, body: CodeRequest, db: DbSession, me: CurrentPerson
) -> dict[str, Any]:
    return _user_dict(clinic.accept_invite(db, body.code, me.profile_id, ip=client_ip(request)))


@sharing_api.delete(
    "/clinicians/{clinician_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Stop sharing with a clinician",
    response_class=Response,
)
def api_stop_sharing(request: Request, clinician_id: RecordId, db: DbSession, me: CurrentPerson) -> Response:
    clinic.stop_sharing(db, me.profile_id, clinician_id, ip=client_ip(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
