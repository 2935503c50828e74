"""The person's calendar subscription and reminders: the feed itself (no sign-in: calendar apps cannot
sign in; the secret in its URL is the key), the plan page's buttons to make a new link or turn it off,
the Reminders card (time, time zone, reminder emails), and the emails' one-click unsubscribe. See
:mod:`kneefix.services.calendar` and :mod:`kneefix.services.reminders`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from kneefix.errors import InputError
from kneefix.services import calendar as calendar_service
from kneefix.services import reminders as reminder_service
from kneefix.web.deps import (
    AppSettings,
    ContentDep,
    CurrentPerson,
    DbSession,
    PersonWithPlan,
    Today,
    today_in,
)
from kneefix.web.routes.auth import redirect
from kneefix.web.routes.person import plan_response
from kneefix.web.templating import flash, href, render

router = APIRouter(include_in_schema=False)


@router.get("/calendar/{token}.ics", name="calendar_feed")
def calendar_feed(request: Request, token: str, db: DbSession, content: ContentDep) -> Response:
    owner = calendar_service.feed_owner(db, token)  # NotFoundError: the app's 404
    body = calendar_service.calendar_ics(db, content, owner.id, today_in(request, owner.time_zone))
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=900", "X-Robots-Tag": "noindex"},
    )


@router.post("/plan/calendar", name="calendar_new")
def calendar_new(
    request: Request, me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today
) -> Response:
    token = calendar_service.new_feed(db, me.profile_id)
    url = str(request.base_url).rstrip("/") + href(request, f"/calendar/{token}.ics")
    return plan_response(request, me, db, content, today, feed_url=url)  # the link is shown this once


@router.post("/plan/calendar/off", name="calendar_off")
def calendar_off(request: Request, me: CurrentPerson, db: DbSession) -> Response:
    calendar_service.stop_feed(db, me.profile_id)
    flash(request, "The calendar link is turned off; calendars subscribed to it get nothing more.", "ok")
    return redirect(request, "/plan")


@router.post("/plan/reminder", name="calendar_reminder")
def calendar_reminder(
    request: Request,
    me: CurrentPerson,
    db: DbSession,
    content: ContentDep,
    settings: AppSettings,
    today: Today,
    reminder: Annotated[str, Form()] = "",
    time_zone: Annotated[str | None, Form()] = None,
    email_shown: Annotated[str, Form()] = "",
    email_reminders: Annotated[str, Form()] = "",
) -> Response:
    """The Reminders card: the time (calendar alarms and emails), the time zone, and reminder emails
    (the tick is only read when the form showed it, i.e. when this server sends email)."""
    try:
        saved = reminder_service.update_reminders(
            db,
            me.profile_id,
            settings.mail,
            reminder=reminder,
            time_zone=time_zone,
            email_reminders=bool(email_reminders) if email_shown else None,
        )
    except InputError as error:
        field = "time_zone" if "time zone" in str(error) else "reminder"
        return plan_response(request, me, db, content, today, error=str(error), error_field=field)
    if saved.reminder is None:
        message = "No reminders."
    else:
        where = f" ({saved.time_zone})" if saved.time_zone else ""
        by_email = " by email and" if saved.email_reminders else ""
        message = f"Reminders at {saved.reminder:%H:%M}{where} on training days,{by_email} in your calendar."
    flash(request, message + " A subscribed calendar picks it up at its next refresh.", "ok")
    return redirect(request, "/plan")


# ----- one-click unsubscribe from reminder emails (RFC 8058) --------------------------------------


@router.get("/email/unsubscribe/{token}", name="unsubscribe_form")
def unsubscribe_form(request: Request, token: str) -> Response:
    """A page with one button: a GET never unsubscribes, because mail scanners open links."""
    return render(request, "unsubscribe.html", {"token": token, "done": False}, title="Reminder emails")


@router.post("/email/unsubscribe/{token}", name="unsubscribe")
def unsubscribe(request: Request, token: str, db: DbSession, settings: AppSettings) -> Response:
    """Turn reminder emails off. Mail apps post here with no cookie (``List-Unsubscribe-Post``), so
    the token is the only proof, and the answer is the same whether or not it was genuine."""
    reminder_service.unsubscribe(db, settings.signing_key, token)
    return render(request, "unsubscribe.html", {"token": token, "done": True}, title="Reminder emails")
