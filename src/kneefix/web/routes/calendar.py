"""The person's calendar subscription: the feed itself (no sign-in: calendar apps cannot sign in; the
secret in its URL is the key), and the plan page's buttons to make a new link, turn it off, and set the
reminder time. See :mod:`kneefix.services.calendar`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from kneefix.errors import InputError
from kneefix.services import calendar as calendar_service
from kneefix.web.deps import ContentDep, CurrentPerson, DbSession, Today
from kneefix.web.routes.auth import redirect
from kneefix.web.routes.person import plan_response, require_plan
from kneefix.web.templating import flash, href

router = APIRouter(include_in_schema=False)


@router.get("/calendar/{token}.ics", name="calendar_feed")
def calendar_feed(token: str, db: DbSession, content: ContentDep, today: Today) -> Response:
    body = calendar_service.feed_ics(db, content, token, today)  # NotFoundError: the app's 404
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=900", "X-Robots-Tag": "noindex"},
    )


@router.post("/plan/calendar", name="calendar_new")
def calendar_new(
    request: Request, me: CurrentPerson, db: DbSession, content: ContentDep, today: Today
) -> Response:
    needs = require_plan(request, me, db)
    if needs is not None:
        return needs
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
    today: Today,
    reminder: Annotated[str, Form()] = "",
) -> Response:
    try:
        when = calendar_service.set_reminder(db, me.profile_id, reminder)
    except InputError as error:
        return plan_response(request, me, db, content, today, error=str(error))
    message = f"Reminders at {when:%H:%M} on training days." if when else "No calendar reminders."
    flash(request, message + " Calendars pick it up at their next refresh.", "ok")
    return redirect(request, "/plan")
