"""The JSON API under ``/api/v1``: everything the person pages do, for scripts and other apps.

Authenticate with ``Authorization: Bearer <token>`` (``POST /api/v1/auth/token``); the browser's session
cookie also works, with the CSRF token in ``X-CSRF-Token``. Every route calls the same service functions
as the pages. Errors come back as ``{"detail": "..."}`` with 401 (not signed in), 403 (wrong kind of
account), 404 (not yours or not there), 409 (nothing to show yet), 422 (bad input), 429 (slow down),
503 (busy: retry after ``Retry-After`` seconds); what each route answers is in the OpenAPI document
(:mod:`kneefix.web.api_document` adds the answers every route shares).
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, status
from fastapi.responses import JSONResponse, Response

from kneefix.jsonvalues import record_fields
from kneefix.services import accounts, audit, logbook, recovery, sign_up_links
from kneefix.services import calendar as calendar_service
from kneefix.services import plan as plan_service
from kneefix.services import progress as progress_service
from kneefix.services import reminders as reminder_service
from kneefix.services import scores as score_service
from kneefix.services import screening as screening_service
from kneefix.web.api_document import PUBLIC, errors
from kneefix.web.api_models import (
    AccountDeletion,
    ApiTokenOut,
    ExportOut,
    JsonObject,
    KujalaIn,
    KujalaScoreOut,
    LogIn,
    LogOut,
    LogPatch,
    LogResultOut,
    MorningIn,
    NewToken,
    NewTokenOut,
    PasswordChange,
    PlanChangeEntryOut,
    PlanOut,
    ProgressOut,
    QuestionsOut,
    RemindersIn,
    RemindersOut,
    ScoreOut,
    ScreeningIn,
    ScreeningOutcomeOut,
    ScreeningRecordOut,
    SignUpEmailedOut,
    SignUpIn,
    SignUpOut,
    TodayOut,
    TokenRequest,
    UserOut,
)
from kneefix.web.deps import (
    AppFiles,
    AppSettings,
    ContentDep,
    CurrentPerson,
    CurrentUser,
    DbSession,
    PersonWithPlan,
    RecordId,
    Today,
    client_ip,
    get_now,
)

router = APIRouter(prefix="/api/v1")


def user_out(db: DbSession, user: Any) -> UserOut:
    profile_id = accounts.person_profile(db, user.id).id if user.role == "person" else None
    return UserOut(
        id=user.id,
        email=user.email or "",
        display_name=user.display_name,
        role=user.role,
        profile_id=profile_id,
        created_at=user.created_at,
    )


# ----- accounts ------------------------------------------------------------------------------


@router.post(
    "/auth/signup",
    tags=["account"],
    status_code=status.HTTP_201_CREATED,
    summary="Create an account and get an API token for it (with email on: email a link to finish)",
    response_model=SignUpOut,
    responses={
        202: {
            "model": SignUpEmailedOut,
            "description": "This server sends email: no account is made yet. Every address gets this "
            "same answer; the address's owner gets a link to choose a password and finish on the web "
            "page (or, when it has an account, an email saying so)",
        },
        **errors(e429="Too many sign-ups from this address; retry later"),
    },
    openapi_extra=PUBLIC,
)
def api_signup(
    body: SignUpIn, request: Request, db: DbSession, settings: AppSettings, background: BackgroundTasks
) -> SignUpOut | Response:
    """Rate-limited per source. Without email: the account at once and a token; a taken email gets the
    same neutral 422 as the pages (no token). With email: 202 for every address (docs/security.md)."""
    if settings.mail.enabled:
        emailed = sign_up_links.request_sign_up(
            db,
            email=body.email,
            display_name=body.display_name,
            role=body.role,
            ip=client_ip(request),
            per_hour=settings.signup_per_hour,
            mail=settings.mail,
            secret_key=settings.signing_key,
            now=get_now(request),
        )
        if emailed.rate_limited:
            return JSONResponse(
                {"detail": accounts.SIGN_UP_RATE_LIMITED}, status_code=status.HTTP_429_TOO_MANY_REQUESTS
            )
        if emailed.message is not None:
            background.add_task(recovery.send_quietly, settings.mail, emailed.message)
        answer = SignUpEmailedOut(message=sign_up_links.SENT_MESSAGE)
        return JSONResponse(answer.model_dump(), status_code=status.HTTP_202_ACCEPTED)
    outcome = accounts.register(
        db,
        email=body.email,
        password=body.password,
        display_name=body.display_name,
        role=body.role,
        ip=client_ip(request),
        per_hour=settings.signup_per_hour,
        sign_in_if_taken=False,
    )
    user = outcome.user
    if user is None:
        code = status.HTTP_429_TOO_MANY_REQUESTS if outcome.rate_limited else 422
        return JSONResponse({"detail": outcome.message}, status_code=code)
    token, _ = accounts.create_api_token(db, user.id, body.token_name)
    return SignUpOut(user=user_out(db, user), token=token)


@router.post(
    "/auth/token",
    tags=["account"],
    status_code=status.HTTP_201_CREATED,
    summary="Exchange email and password for an API token",
    response_model=NewTokenOut,
    responses=errors(e401="Wrong email or password", e429="Too many failed sign-ins; wait and retry"),
    openapi_extra=PUBLIC,
)
def api_token(
    body: TokenRequest, request: Request, db: DbSession, settings: AppSettings
) -> NewTokenOut | Response:
    outcome, token = accounts.token_sign_in(
        db,
        email=body.email,
        password=body.password,
        ip=client_ip(request),
        name=body.name,
        limits=accounts.SignInLimits.from_settings(settings),
    )
    if outcome.user is None or token is None:
        # Returned, not raised, so the failed attempt is committed and counts towards the limit.
        if outcome.rate_limited:
            wait = {"retry-after": str(math.ceil(outcome.retry_after_s))}
            return JSONResponse(
                {"detail": outcome.error}, status_code=status.HTTP_429_TOO_MANY_REQUESTS, headers=wait
            )
        return JSONResponse(
            {"detail": outcome.error},
            status_code=status.HTTP_401_UNAUTHORIZED,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return NewTokenOut(token=token, name=body.name.strip() or "API client")


@router.get("/me", tags=["account"], summary="Who the token or session belongs to", response_model=UserOut)
def api_me(user: CurrentUser, db: DbSession) -> UserOut:
    return user_out(db, user)


@router.post(
    "/me/password",
    tags=["account"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change the password (signs out other browsers; API tokens stay valid)",
    response_class=Response,
)
def api_change_password(
    body: PasswordChange, request: Request, user: CurrentUser, db: DbSession, settings: AppSettings
) -> Response:
    """Every browser session is revoked; a browser that called this with its cookie gets a fresh one."""
    accounts.change_password(db, user.id, current=body.current_password, new=body.new_password)
    if getattr(request.state, "auth_method", None) == "session":
        from kneefix.web.routes.auth import sign_in_session

        sign_in_session(request, db, settings, user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/me/tokens",
    tags=["account"],
    summary="The account's API tokens (never the tokens themselves)",
    response_model=list[ApiTokenOut],
)
def api_list_tokens(user: CurrentUser, db: DbSession) -> list[ApiTokenOut]:
    return [ApiTokenOut.from_info(info) for info in accounts.list_api_tokens(db, user.id)]


@router.post(
    "/me/tokens",
    tags=["account"],
    status_code=status.HTTP_201_CREATED,
    summary="Create an API token",
    response_model=NewTokenOut,
)
def api_create_token(body: NewToken, user: CurrentUser, db: DbSession) -> NewTokenOut:
    token, info = accounts.create_api_token(db, user.id, body.name)
    return NewTokenOut(token=token, name=info.name, id=info.id)


@router.delete(
    "/me/tokens/{token_id}",
    tags=["account"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API token",
    response_class=Response,
    responses=errors(e404="No such token on this account"),
)
def api_revoke_token(token_id: RecordId, user: CurrentUser, db: DbSession) -> Response:
    accounts.revoke_api_token(db, user.id, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/me/delete",
    tags=["account"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete the account and all its data, videos included (asks for the password)",
    response_class=Response,
)
def api_delete_account(body: AccountDeletion, user: CurrentUser, db: DbSession, files: AppFiles) -> Response:
    delete_everything(db, files, user.id, body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def delete_everything(db: DbSession, files: AppFiles, user_id: int, password: str) -> None:
    """Rows first (committed), then the files: a failed delete in the database leaves the files too."""
    profile_ids = accounts.delete_account(db, user_id, password=password)
    db.commit()
    accounts.delete_user_files(files, profile_ids)


# ----- the person's programme ------------------------------------------------------------------

PERSON_ONLY = errors(e403="Only person accounts have a plan (or a cookie request without its CSRF token)")
NO_PLAN = {**PERSON_ONLY, **errors(e409="No plan yet: take the screening first")}
NOT_YOURS = errors(e404="No such entry in this person's log")


@router.get(
    "/screening/questions",
    tags=["screening"],
    summary="The screening questions and answer ids",
    response_model=QuestionsOut,
)
def api_screening_questions(content: ContentDep) -> JsonObject:
    kujala = content.questionnaires["kujala"]
    return {
        "symptoms": [symptom.model_dump(mode="json") for symptom in content.symptoms],
        "red_flags": [
            {
                "id": flag.id,
                "title": flag.title,
                "question": flag.question,
                "criteria": flag.criteria,
                "severity": flag.severity,
                "min_age": flag.applies_to.min_years,
                "max_age": flag.applies_to.max_years,
            }
            for flag in content.red_flags
        ],
        "kujala": kujala.model_dump(mode="json"),
        "nprs": content.questionnaires["nprs"].model_dump(mode="json"),
        "equipment": [item.model_dump(mode="json") for item in content.equipment.values()],
    }


@router.post(
    "/screening",
    tags=["screening"],
    summary="Screen, save the answers and (when allowed) set up the plan",
    responses=PERSON_ONLY,
    response_model=ScreeningOutcomeOut,
    response_model_exclude_unset=True,
)
def api_screening(
    body: ScreeningIn, me: CurrentPerson, db: DbSession, content: ContentDep, today: Today
) -> JsonObject:
    raw: dict[str, Any] = {
        "age": body.age,
        "symptoms": body.symptoms,
        "red_flags": body.red_flags,
        "kujala": body.kujala if body.kujala is not None else "skip",
        "pain": body.pain,
        "equipment": body.equipment,
        "days": body.days,
        "weekdays": body.weekdays,
        "runs": body.runs,
        "start_date": body.start_date.isoformat() if body.start_date else None,
        "guideline_additions": body.guideline_additions,
        "continue_if_atypical": body.continue_if_atypical,
    }
    start = screening_service.build_request(content, raw)
    first, _ = (
        accounts.first_submit(db, "api-screening:" + (body.request_id or ""), me.user.id)
        if body.request_id
        else (True, None)
    )
    if not first:
        latest = screening_service.latest_screening(db, me.profile_id)
        return {"repeat": True, "screening": record_fields(latest)}
    outcome = screening_service.run_start(
        db, content, me.profile.name, start, today=today, user_id=me.user.id
    )
    return outcome.to_dict()


@router.get(
    "/screening",
    tags=["screening"],
    summary="The latest screening and its verdict",
    responses={**PERSON_ONLY, **errors(e404="No screening yet")},
    response_model=ScreeningRecordOut,
)
def api_latest_screening(me: CurrentPerson, db: DbSession) -> JsonObject:
    latest = screening_service.latest_screening(db, me.profile_id)
    if latest is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="No screening yet.")
    result: JsonObject = record_fields(latest)
    return result


@router.get(
    "/today",
    tags=["plan"],
    summary="Today: a session, a rest day (with the next session) or a paused plan; and running",
    responses=NO_PLAN,
    response_model=TodayOut,
)
def api_today(me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today) -> JsonObject:
    """The same record as ``kneefix today --json``."""
    return plan_service.today_view(db, content, me.profile_id, today).to_dict()


@router.get(
    "/plan",
    tags=["plan"],
    summary="Where the plan stands: status, phase, dose, dated sessions and runs, and why it changed",
    responses=NO_PLAN,
    response_model=PlanOut,
)
def api_plan(me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today) -> JsonObject:
    """The plan state; ``changes``, ``running`` and ``runs`` in the shape of ``kneefix plan --json``."""
    state = plan_service.plan_state(db, content, me.profile_id, today)
    result: JsonObject = {**state.to_dict(), **plan_service.plan_dict(state)}
    result["runs"] = result["plan"]["runs"]
    return result


@router.get(
    "/plan.ics",
    tags=["plan"],
    summary="The upcoming plan as an iCalendar file",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {"schema": {"type": "string"}}}}, **NO_PLAN},
)
def api_plan_ics(me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today) -> Response:
    body = calendar_service.calendar_ics(db, content, me.profile_id, today)
    return Response(body, media_type="text/calendar; charset=utf-8")


@router.get(
    "/plan/changes",
    tags=["plan"],
    summary="Why the plan changed, oldest first",
    responses=NO_PLAN,
    response_model=list[PlanChangeEntryOut],
)
def api_plan_changes(
    me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today
) -> list[JsonObject]:
    plan_service.refresh_plan(db, content, me.profile_id, today)
    entries = plan_service.change_history(db, me.profile_id)
    return [{**record_fields(entry.change), "id": entry.id, "source": entry.source} for entry in entries]


@router.get(
    "/logs",
    tags=["logs"],
    summary="Every logged session, oldest first",
    responses=PERSON_ONLY,
    response_model=list[LogOut],
)
def api_logs(me: CurrentPerson, db: DbSession) -> list[JsonObject]:
    return [record_fields(log) for log in logbook.list_logs(db, me.profile_id)]


@router.post(
    "/logs",
    tags=["logs"],
    status_code=status.HTTP_201_CREATED,
    summary="Log a session (the plan adapts; the response lists any change)",
    responses=NO_PLAN,
    response_model=LogResultOut,
)
def api_add_log(
    body: LogIn, me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today
) -> JsonObject:
    result = logbook.log_session(
        db,
        content,
        me.profile_id,
        day=body.date or today,
        today=today,
        completed=body.completed,
        done=body.done,
        pain_during=body.pain_during,
        pain_after=body.pain_after,
        note=body.note,
        request_id=body.request_id,
        hurt=body.hurt,
    )
    return result.to_dict()


@router.patch(
    "/logs/{log_id}",
    tags=["logs"],
    summary="Correct a logged session",
    responses={**NOT_YOURS, **NO_PLAN},
    response_model=LogResultOut,
)
def api_edit_log(
    log_id: RecordId, body: LogPatch, me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today
) -> JsonObject:
    sent = body.model_fields_set
    changes: dict[str, Any] = {
        name: getattr(body, name)
        for name in ("pain_during", "pain_after", "next_morning_pain")
        if name in sent
    }
    result = logbook.edit_log(
        db,
        content,
        me.profile_id,
        log_id,
        today=today,
        day=body.date,
        completed=body.completed,
        note=body.note,
        **changes,
    )
    return result.to_dict()


@router.delete(
    "/logs/{log_id}",
    tags=["logs"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a logged session",
    responses={**NOT_YOURS, **NO_PLAN},
    response_class=Response,
)
def api_delete_log(
    request: Request, log_id: RecordId, me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today
) -> Response:
    actor = audit.Actor.of(me.user, client_ip(request), role="person")
    logbook.delete_log(db, content, me.profile_id, log_id, today=today, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/logs/morning",
    tags=["logs"],
    summary="Record next-morning pain",
    responses={**errors(e404="No session before today to rate"), **NO_PLAN},
    response_model=LogResultOut,
)
def api_morning(
    body: MorningIn, me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today
) -> JsonObject:
    result = logbook.record_morning_pain(
        db, content, me.profile_id, pain=body.pain, today=today, session_day=body.session_date
    )
    return result.to_dict()


@router.get(
    "/progress",
    tags=["progress"],
    summary="Pain and Kujala trends, adherence, streak",
    responses=NO_PLAN,
    response_model=ProgressOut,
)
def api_progress(me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today) -> JsonObject:
    return progress_service.progress_summary(db, content, me.profile_id, today).to_dict()


@router.get(
    "/progress/chart.png",
    tags=["progress"],
    summary="The progress chart as a PNG image",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}},
        **NO_PLAN,
    },
)
def api_progress_chart(me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today) -> Response:
    summary = progress_service.progress_summary(db, content, me.profile_id, today)
    return Response(progress_service.progress_chart(summary), media_type="image/png")


@router.get(
    "/scores",
    tags=["progress"],
    summary="Kujala and NPRS scores, oldest first",
    responses=PERSON_ONLY,
    response_model=list[ScoreOut],
)
def api_scores(me: CurrentPerson, db: DbSession) -> list[JsonObject]:
    return [record_fields(score) for score in score_service.list_scores(db, me.profile_id)]


@router.post(
    "/scores/kujala",
    tags=["progress"],
    status_code=status.HTTP_201_CREATED,
    summary="Score and save a new Kujala questionnaire",
    responses=PERSON_ONLY,
    response_model=KujalaScoreOut,
    response_model_exclude_unset=True,
)
def api_kujala(
    body: KujalaIn, me: CurrentPerson, db: DbSession, content: ContentDep, today: Today
) -> JsonObject:
    if body.request_id:
        first, _ = accounts.first_submit(db, "api-kujala:" + body.request_id, me.user.id)
        if not first:
            latest = score_service.list_scores(db, me.profile_id, "kujala")[-1]
            return {"repeat": True, "saved": record_fields(latest), "score": latest.score}
    result = score_service.save_score(
        db, me.profile_id, score_service.score_kujala(content, body.answers), today
    )
    return result.to_dict()


@router.get(
    "/export",
    tags=["account"],
    summary="Everything kept about this account, as JSON",
    response_model=ExportOut,
)
def api_export(request: Request, user: CurrentUser, db: DbSession) -> JsonObject:
    audit.record_account_export(db, user, client_ip(request))  # in the log before the data leaves
    return accounts.export_account(db, user.id)


# ----- reminders -----------------------------------------------------------------------------


@router.get(
    "/me/reminders",
    tags=["account"],
    summary="Reminder time, time zone and reminder emails",
    responses=PERSON_ONLY,
    response_model=RemindersOut,
)
def api_reminders(me: CurrentPerson, db: DbSession, settings: AppSettings) -> JsonObject:
    return reminder_service.reminder_settings(db, me.profile_id, settings.mail).to_dict()


@router.put(
    "/me/reminders",
    tags=["account"],
    summary="Change the reminder time, time zone or emails",
    responses=PERSON_ONLY,
    response_model=RemindersOut,
)
def api_reminders_update(
    body: RemindersIn, me: CurrentPerson, db: DbSession, settings: AppSettings
) -> JsonObject:
    saved = reminder_service.update_reminders(
        db,
        me.profile_id,
        settings.mail,
        reminder=body.reminder_time,
        time_zone=body.time_zone,
        email_reminders=body.email_reminders,
    )
    return saved.to_dict()
