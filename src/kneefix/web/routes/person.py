"""Pages for a person: first page, home, today's guided session, logging, plan calendar, progress.

Thin on purpose: each handler reads the form, calls the service layer (the same functions the CLI and
the JSON API call), and renders a template or redirects. Anything that changes data is a POST with the
CSRF token, answered with a redirect (so a reload never re-sends) and carrying a one-time form token (so
a double click stores once).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markdown_it import MarkdownIt
from sqlalchemy.orm import Session

from kneefix.content.loader import Content
from kneefix.errors import InputError, NotFoundError
from kneefix.programme.clock import time_zone_choices
from kneefix.programme.replay import planned_dates_to
from kneefix.services import accounts, audit, library, logbook
from kneefix.services import calendar as calendar_service
from kneefix.services import plan as plan_service
from kneefix.services import progress as progress_service
from kneefix.services import reminders as reminder_service
from kneefix.services import scores as score_service
from kneefix.services import screening as screening_service
from kneefix.services.logbook import first_missing_morning, morning_subject
from kneefix.web.deps import (
    ContentDep,
    CurrentPerson,
    DbSession,
    MaybeUser,
    Person,
    PersonWithPlan,
    PostedForm,
    RecordId,
    Today,
    client_ip,
    get_settings,
)
from kneefix.web.forms import changes_message, field_list, field_text, optional_pain
from kneefix.web.routes.auth import home_for, redirect
from kneefix.web.templating import flash, render
from kneefix.web.views import (
    has_runs,
    month_view,
    parse_month,
    progress_charts,
    session_cards,
)

router = APIRouter(include_in_schema=False)

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})


def referred(db: Session, profile_id: int) -> bool:
    latest = screening_service.latest_screening(db, profile_id)
    return latest is not None and latest.stops_the_plan


# ----- first page and home ------------------------------------------------------------------


@router.get("/", name="landing")
def landing(request: Request, user: MaybeUser) -> Response:
    if user is not None:
        return redirect(request, home_for(user.role))
    return render(request, "index.html", title="Runner's knee coach")


@router.get("/about", name="about")
def about(request: Request, user: MaybeUser, content: ContentDep) -> Response:
    pages = [
        {"page": page, "html": _markdown.render(page.body)} for page in library.education_pages(content, True)
    ]
    return render(request, "about.html", {"pages": pages}, nav="about", title="About kneefix")


@router.get("/home", name="home")
def home(request: Request, me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today) -> Response:
    view = plan_service.today_view(db, content, me.profile_id, today)
    summary = progress_service.progress_summary(db, content, me.profile_id, today)
    logs = logbook.list_logs(db, me.profile_id)
    morning = first_missing_morning(logs, today)
    return render(
        request,
        "home.html",
        {
            "view": view,
            "summary": summary,
            "morning": morning,
            "morning_subject": morning_subject(logs, morning.date) if morning else "",
            "referred": referred(db, me.profile_id),
            "name": me.user.display_name,
        },
        nav="home",
        title="Home",
    )


# ----- today's session ------------------------------------------------------------------------


def today_response(
    request: Request,
    me: Person,
    db: Session,
    content: Content,
    today: dt.date,
    *,
    error: str | None = None,
    values: dict[str, Any] | None = None,
    form_token: str | None = None,
) -> Response:
    """The today page: the session (or a rest day, or the paused plan), today's run and the forms.

    With ``error`` it comes back as 422 with what was typed kept in ``values``.
    """
    view = plan_service.today_view(db, content, me.profile_id, today)
    todays_logs = [log for log in logbook.list_logs(db, me.profile_id) if log.date == today]
    return render(
        request,
        "today.html",
        {
            "view": view,
            "groups": session_cards(view.session, content),
            "logged": [log for log in todays_logs if not log.is_run],
            "runs_logged": [log for log in todays_logs if log.is_run],
            "referred": referred(db, me.profile_id),
            "error": error,
            "values": {"done": [], "hurt": []} | (values or {}),
            "form_token": form_token or uuid.uuid4().hex,
            "timer_scale": get_settings(request).timer_scale,
            # where the browser keeps this session's progress (sets, side, reps) across a reload
            "session_key": f"{me.profile_id}:{today}:{view.session.number if view.session else 0}",
        },
        status_code=422 if error else 200,
        nav="today",
        title="Today",
    )


@router.get("/today", name="today")
def today_page(
    request: Request, me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today
) -> Response:
    return today_response(request, me, db, content, today)


@router.post("/today/log", name="today_log")
def today_log(
    request: Request, me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today, form: PostedForm
) -> Response:
    done = field_list(form, "done")
    hurt = field_list(form, "hurt")
    pain_during, pain_after, note = (
        field_text(form, "pain_during"),
        field_text(form, "pain_after"),
        field_text(form, "note"),
    )
    values: dict[str, Any] = {
        "done": done,
        "hurt": hurt,
        "pain_during": pain_during,
        "pain_after": pain_after,
        "note": note,
    }
    token = field_text(form, "form_token")
    try:
        if pain_during == "":
            raise InputError("Please say how much your knee hurt during the session (0 to 10).")
        if not done:
            raise InputError("Tick the exercises you did (all of them if you did the whole session).")
        result = logbook.log_session(
            db,
            content,
            me.profile_id,
            day=today,
            today=today,
            done=done,
            pain_during=optional_pain(pain_during, "Pain during"),
            pain_after=optional_pain(pain_after, "Pain after"),
            note=note[:2000],
            request_id=token or None,
            hurt=hurt,
        )
    except InputError as error:
        return today_response(
            request, me, db, content, today, error=str(error), values=values, form_token=token
        )
    flash(
        request,
        "Session saved. Tomorrow morning, note how your knee feels." + changes_message(result.plan_changes),
        "ok",
    )
    return redirect(request, "/today")


# ----- next-morning pain ---------------------------------------------------------------------


def _morning_page(
    request: Request, me: Person, db: Session, today: dt.date, *, error: str | None = None
) -> Response:
    """The morning-check form for the latest session before today (422 with ``error``)."""
    try:
        last = logbook.latest_session_before(db, me.profile_id, today)
    except NotFoundError:
        last = None
    subject = morning_subject(logbook.list_logs(db, me.profile_id), last.date) if last else ""
    return render(
        request,
        "morning.html",
        {"last": last, "subject": subject, "error": error},
        status_code=200 if error is None else 422,
        nav="today",
        title="Morning check",
    )


@router.get("/morning", name="morning_form")
def morning_form(request: Request, me: PersonWithPlan, db: DbSession, today: Today) -> Response:
    return _morning_page(request, me, db, today)


@router.post("/morning", name="morning_save")
def morning_save(
    request: Request, me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today, form: PostedForm
) -> Response:
    pain_text = field_text(form, "pain")
    day_text = field_text(form, "session_day")
    try:
        if pain_text == "":
            raise InputError("Choose a number from 0 to 10 for how your knee feels this morning.")
        session_day = dt.date.fromisoformat(day_text) if day_text else None
        result = logbook.record_morning_pain(
            db,
            content,
            me.profile_id,
            pain=int(pain_text) if pain_text.isdigit() else -1,
            today=today,
            session_day=session_day,
        )
    except (InputError, NotFoundError, ValueError) as error:
        message = str(error) if isinstance(error, InputError | NotFoundError) else "That date is not valid."
        return _morning_page(request, me, db, today, error=message)
    flash(request, "Thanks, your morning check is saved." + changes_message(result.plan_changes), "ok")
    return redirect(request, "/home")


# ----- log book -------------------------------------------------------------------------------


@router.get("/logs", name="logs")
def logs_page(request: Request, me: CurrentPerson, db: DbSession, content: ContentDep) -> Response:
    entries = list(reversed(logbook.list_logs(db, me.profile_id)))
    names = {exercise_id: exercise.name for exercise_id, exercise in content.exercises.items()}
    return render(request, "logs.html", {"logs": entries, "names": names}, nav="progress", title="Your log")


@router.get("/logs/{log_id}/edit", name="log_edit_form")
def log_edit_form(request: Request, log_id: RecordId, me: CurrentPerson, db: DbSession) -> Response:
    entry = _own_log(db, me, log_id)
    return render(request, "log_edit.html", {"log": entry, "error": None}, nav="progress", title="Edit entry")


def _own_log(db: Session, me: Person, log_id: int) -> Any:
    return logbook.get_log(db, me.profile_id, log_id)  # NotFoundError (404) for anyone else's entry


@router.post("/logs/{log_id}", name="log_edit")
def log_edit(
    request: Request,
    log_id: RecordId,
    me: CurrentPerson,
    db: DbSession,
    content: ContentDep,
    today: Today,
    form: PostedForm,
) -> Response:
    entry = _own_log(db, me, log_id)
    try:
        completed_text = field_text(form, "completed")
        completed = float(completed_text) / 100 if completed_text else None
        day_text = field_text(form, "date")
        result = logbook.edit_log(
            db,
            content,
            me.profile_id,
            log_id,
            today=today,
            day=dt.date.fromisoformat(day_text) if day_text else None,
            completed=completed,
            pain_during=optional_pain(field_text(form, "pain_during"), "Pain during"),
            pain_after=optional_pain(field_text(form, "pain_after"), "Pain after"),
            next_morning_pain=optional_pain(field_text(form, "next_morning_pain"), "Next-morning pain"),
            note=field_text(form, "note")[:2000],
        )
    except (InputError, ValueError) as error:
        message = str(error) if isinstance(error, InputError) else "Check the date and the percentage."
        return render(
            request,
            "log_edit.html",
            {"log": entry, "error": message},
            status_code=422,
            nav="progress",
            title="Edit entry",
        )
    flash(request, "Entry updated." + changes_message(result.plan_changes), "ok")
    return redirect(request, "/logs")


@router.post("/logs/{log_id}/delete", name="log_delete")
def log_delete(
    request: Request, log_id: RecordId, me: CurrentPerson, db: DbSession, content: ContentDep, today: Today
) -> Response:
    actor = audit.Actor.of(me.user, client_ip(request), role="person")
    logbook.delete_log(db, content, me.profile_id, log_id, today=today, actor=actor)
    flash(request, "Entry deleted.", "ok")
    return redirect(request, "/logs")


# ----- why the plan changed --------------------------------------------------------------------


@router.get("/changes", name="changes")
def changes_page(
    request: Request, me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today
) -> Response:
    plan_service.refresh_plan(db, content, me.profile_id, today)
    entries = list(reversed(plan_service.change_history(db, me.profile_id)))
    return render(request, "changes.html", {"entries": entries}, nav="plan", title="Why your plan changed")


# ----- the plan as a calendar -----------------------------------------------------------------


@router.get("/plan", name="plan")
def plan_page(
    request: Request,
    me: PersonWithPlan,
    db: DbSession,
    content: ContentDep,
    today: Today,
    month: str | None = None,
) -> Response:
    return plan_response(request, me, db, content, today, month)


def plan_response(
    request: Request,
    me: Person,
    db: Session,
    content: Content,
    today: dt.date,
    month: str | None = None,
    *,
    feed_url: str | None = None,
    error: str | None = None,
    error_field: str = "reminder",
) -> Response:
    """The plan page; ``feed_url`` is a calendar link just made (shown this once), ``error`` a problem
    with the reminder time."""
    state = plan_service.plan_state(db, content, me.profile_id, today)
    year, number = parse_month(month, today)
    logs = logbook.list_logs(db, me.profile_id)
    past = planned_dates_to(state.settings, today)
    view = month_view(year, number, today, state.plan.sessions, logs, past, runs=state.plan.runs)
    upcoming = [session for session in state.plan.sessions if session.date >= today][:6]
    runs = [run for run in state.plan.runs if run.date >= today][:6]
    return render(
        request,
        "plan.html",
        {
            "month": view,
            "state": state,
            "upcoming": upcoming,
            "runs": runs,
            "today": today,
            "calendar": calendar_service.calendar_settings(db, me.profile_id),
            "reminders": reminder_service.reminder_settings(db, me.profile_id, get_settings(request).mail),
            "time_zones": time_zone_choices(),
            "feed_url": feed_url,
            "error": error,
            "error_field": error_field,
        },
        status_code=422 if error else 200,
        nav="plan",
        title="Your plan",
    )


@router.get("/plan.ics", name="plan_ics")
def plan_ics(
    request: Request, me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today
) -> Response:
    body = calendar_service.calendar_ics(db, content, me.profile_id, today)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="kneefix-plan.ics"'},
    )


# ----- progress -------------------------------------------------------------------------------


@router.get("/progress", name="progress")
def progress_page(
    request: Request, me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today
) -> Response:
    summary = progress_service.progress_summary(db, content, me.profile_id, today)
    return render(
        request,
        "progress.html",
        {"summary": summary, "charts": progress_charts(summary), "has_runs": has_runs(summary)},
        nav="progress",
        title="Progress",
    )


@router.get("/progress/chart.png", name="progress_chart")
def progress_chart(
    request: Request, me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today
) -> Response:
    summary = progress_service.progress_summary(db, content, me.profile_id, today)
    return Response(progress_service.progress_chart(summary), media_type="image/png")


@router.get("/score/kujala", name="kujala_form")
def kujala_form(request: Request, me: CurrentPerson, content: ContentDep) -> Response:
    return render(
        request,
        "kujala.html",
        {
            "kujala": content.questionnaires["kujala"],
            "values": {},
            "error": None,
            "form_token": uuid.uuid4().hex,
        },
        nav="progress",
        title="Kujala knee score",
    )


@router.post("/score/kujala", name="kujala_save")
def kujala_save(
    request: Request, me: CurrentPerson, db: DbSession, content: ContentDep, today: Today, form: PostedForm
) -> Response:
    questionnaire = content.questionnaires["kujala"]
    values = {str(item.number): field_text(form, f"kujala_{item.number}") for item in questionnaire.items}
    token = field_text(form, "form_token")
    try:
        missing = [number for number, letter in values.items() if not letter]
        if missing:
            raise InputError(
                "Please answer question" + ("s " if len(missing) > 1 else " ") + ", ".join(missing) + "."
            )
        with db.begin_nested():
            first, earlier = accounts.first_submit(db, token, me.user.id)
            if not first:
                return redirect(request, earlier or "/progress")
            result = score_service.save_score(
                db, me.profile_id, score_service.score_kujala(content, list(values.values())), today
            )
            accounts.remember_result(db, token, me.user.id, "/progress")
    except InputError as error:
        return render(
            request,
            "kujala.html",
            {"kujala": questionnaire, "values": values, "error": str(error), "form_token": token},
            status_code=422,
            nav="progress",
            title="Kujala knee score",
        )
    change = ""
    if result.change is not None:
        change = f" That is {result.change.delta:+g} points since last time" + (
            ", a change that matters." if result.change.meaningful else "."
        )
    flash(request, f"Kujala score saved: {result.score}/100.{change}", "ok")
    return redirect(request, "/progress")


# ----- the API's own page ---------------------------------------------------------------------


@router.get("/api", name="api_docs")
def api_docs(request: Request, user: MaybeUser) -> Response:
    """A plain list of the JSON API's endpoints (Swagger UI would load scripts from a CDN)."""
    schema = request.app.openapi()
    groups: dict[str, list[dict[str, str]]] = {}
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            tag = (operation.get("tags") or ["other"])[0]
            groups.setdefault(tag, []).append(
                {"method": method.upper(), "path": path, "summary": operation.get("summary", "")}
            )
    return render(
        request,
        "api.html",
        {"groups": groups, "description": schema.get("info", {}).get("description", "")},
        title="JSON API",
    )
