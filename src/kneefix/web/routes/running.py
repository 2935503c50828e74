"""Return to running on the web: log a run and answer the readiness check, as pages and as JSON API.

The same service calls as ``kneefix log run`` and ``kneefix log run-check``; the ladder's rules stay in
``programme/replay.py``. The forms sit on the today page and come back to it: with a 422 and the typed
values kept when something is wrong, with a redirect (and a one-time form token) when saved.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request, status
from fastapi.responses import Response
from pydantic import Field

from kneefix.errors import InputError
from kneefix.limits import Pain
from kneefix.services import accounts, logbook
from kneefix.web.api_document import errors
from kneefix.web.api_models import Body, JsonObject, LogResultOut, RunCheckOut
from kneefix.web.deps import ContentDep, DbSession, PersonWithPlan, PostedForm, Today
from kneefix.web.forms import changes_message, field_text, optional_number, optional_pain, required_pain
from kneefix.web.routes.auth import redirect
from kneefix.web.routes.person import today_response
from kneefix.web.templating import flash

router = APIRouter(include_in_schema=False)

RUN_SUFFIX = "-run"
CHECK_SUFFIX = "-check"


def _base_token(token: str, suffix: str) -> str:
    """The page's form token: each form on the today page sends it with its own suffix."""
    return token.removesuffix(suffix)


@router.post("/today/run", name="today_run")
def today_run(
    request: Request, me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today, form: PostedForm
) -> Response:
    values = {
        name: field_text(form, name)
        for name in ("minutes", "distance_km", "run_pain_during", "run_pain_after", "run_note")
    }
    token = field_text(form, "form_token")
    try:
        minutes = optional_number(values["minutes"], "Minutes")
        if minutes is None:
            raise InputError("Please enter how many minutes the run took, walking breaks included.")
        result = logbook.log_run(
            db,
            content,
            me.profile_id,
            day=today,
            today=today,
            minutes=minutes,
            distance_km=optional_number(values["distance_km"], "Distance"),
            pain_during=required_pain(values["run_pain_during"], "Pain during the run"),
            pain_after=optional_pain(values["run_pain_after"], "Pain after the run"),
            note=values["run_note"][:2000],
            request_id=token or None,
        )
    except InputError as error:
        base = _base_token(token, RUN_SUFFIX)
        return today_response(
            request, me, db, content, today, error=str(error), values=values, form_token=base or None
        )
    flash(
        request,
        "Run saved. Tomorrow morning, rate how your knee feels: it decides the next stage."
        + changes_message(result.plan_changes),
        "ok",
    )
    return redirect(request, "/today")


@router.post("/today/run-check", name="today_run_check")
def today_run_check(
    request: Request, me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today, form: PostedForm
) -> Response:
    values = {name: field_text(form, name) for name in ("walk_pain", "hop_pain")}
    token = field_text(form, "form_token")
    try:
        walk = required_pain(values["walk_pain"], "Pain on the brisk walk")
        hop = required_pain(values["hop_pain"], "Pain on the hops")
        with db.begin_nested():
            first, _ = accounts.first_submit(db, token, me.user.id)
            if not first:
                return redirect(request, "/today")
            result = logbook.log_run_check(
                db, content, me.profile_id, day=today, today=today, walk_pain=walk, hop_pain=hop
            )
            accounts.remember_result(db, token, me.user.id, "/today")
    except InputError as error:
        base = _base_token(token, CHECK_SUFFIX)
        return today_response(
            request, me, db, content, today, error=str(error), values=values, form_token=base or None
        )
    flash(request, result.message + changes_message(result.plan_changes), "ok" if result.passed else "warn")
    return redirect(request, "/today")


# ----- JSON API ------------------------------------------------------------------------------

ERRORS = errors(
    e403="Only person accounts have a plan",
    e409="No plan yet: take the screening first",
    e422="Bad input, or running is not open; `detail` says why",
)

api_router = APIRouter(prefix="/api/v1", tags=["running"], responses=ERRORS)


class RunIn(Body):
    date: dt.date | None = Field(default=None, description="the day of the run; default today")
    minutes: float = Field(gt=0, le=600, description="minutes on your feet, walking breaks included")
    distance_km: float | None = Field(default=None, gt=0, le=100)
    pain_during: Pain | None = Field(default=None, description="worst pain during, 0-10")
    pain_after: Pain | None = Field(default=None)
    note: str = Field(default="", max_length=2000)
    request_id: str | None = Field(
        default=None, max_length=100, description="send the same id to retry safely"
    )


class RunCheckIn(Body):
    date: dt.date | None = Field(default=None, description="the day of the check; default today")
    walk_pain: Pain = Field(description="knee pain on a 30-minute brisk walk, 0-10")
    hop_pain: Pain = Field(description="knee pain on ten single-leg hops on the sore leg")


@api_router.post(
    "/runs",
    status_code=status.HTTP_201_CREATED,
    summary="Log a return-to-running run (the ladder moves on by the same pain rules)",
    response_model=LogResultOut,
)
def api_log_run(
    body: RunIn, me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today
) -> JsonObject:
    result = logbook.log_run(
        db,
        content,
        me.profile_id,
        day=body.date or today,
        today=today,
        minutes=body.minutes,
        distance_km=body.distance_km,
        pain_during=body.pain_during,
        pain_after=body.pain_after,
        note=body.note,
        request_id=body.request_id,
    )
    return result.to_dict()


@api_router.post(
    "/run-check",
    status_code=status.HTTP_201_CREATED,
    summary="Answer the return-to-running readiness check (brisk walk and single-leg hops)",
    response_model=RunCheckOut,
)
def api_run_check(
    body: RunCheckIn, me: PersonWithPlan, db: DbSession, content: ContentDep, today: Today
) -> JsonObject:
    result = logbook.log_run_check(
        db,
        content,
        me.profile_id,
        day=body.date or today,
        today=today,
        walk_pain=body.walk_pain,
        hop_pain=body.hop_pain,
    )
    return result.to_dict()
