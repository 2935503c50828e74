"""The screening wizard and its result page, over :mod:`kneefix.services.screening` (the CLI's rules).

The form is one page of six fieldsets; ``static/wizard.js`` shows them one at a time. The safety
questions come straight after the age, most urgent first. A "yes" to one - or a Kujala answer that
raises a warning sign - ends the wizard at that step: the script sends the form at once and the server
needs nothing after that point, so the person lands on the referral. Without scripts the same form is
one long page and the server applies the same rule. Whatever was answered comes back into the form when
something is missing, so nothing typed is lost; the one-time form token makes a double-submitted
screening count once.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from kneefix.content.loader import Content
from kneefix.content.schemas_screening import SEVERITY_ORDER, RedFlag
from kneefix.errors import InputError
from kneefix.programme.screening import kujala_answers_raising, questions_for
from kneefix.services import accounts
from kneefix.services import screening as screening_service
from kneefix.services.plan import clearance_text, plan_state, protocol_for
from kneefix.web.deps import ContentDep, CurrentPerson, DbSession, PostedForm, Today
from kneefix.web.routes.auth import redirect
from kneefix.web.templating import flash, render

router = APIRouter(include_in_schema=False)

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def blank_values() -> dict[str, Any]:
    return {
        "symptoms": [],
        "red_flags": {},
        "kujala": {},
        "equipment": [],
        "weekdays": [],
    }


def values_from_answers(answers: dict[str, Any]) -> dict[str, Any]:
    """Pre-fill the wizard from the last screening, so a retake starts from what was said before.

    Answers that were not asked (a red flag stopped that screening first) are left blank, not pre-filled
    with the placeholders stored for them.
    """
    values = blank_values()
    not_asked = set(answers.get("not_asked") or ())
    values["age"] = answers.get("age")
    runs = None if "runs" in not_asked else answers.get("runs")
    values["runs"] = None if runs is None else ("yes" if runs else "no")
    values["symptoms"] = list(answers.get("symptoms") or [])
    values["equipment"] = list(answers.get("equipment") or [])
    values["days"] = None if "days_per_week" in not_asked else answers.get("days_per_week")
    values["red_flags"] = {
        str(key): "yes" if value else "no" for key, value in (answers.get("red_flags") or {}).items()
    }
    letters = answers.get("kujala") or []
    values["kujala"] = {str(number): letter for number, letter in enumerate(letters, start=1)}
    return values


def values_from_form(form: FormData) -> dict[str, Any]:
    """What the person ticked and typed, shaped for the template (so it can be shown again)."""
    values = blank_values()
    for key in ("age", "runs", "pain", "days", "start_date", "guideline_additions"):
        item = form.get(key)
        values[key] = item.strip() if isinstance(item, str) else None
    values["continue_if_atypical"] = "yes" if form.get("continue_if_atypical") == "yes" else "no"
    values["symptoms"] = [v for v in form.getlist("symptoms") if isinstance(v, str)]
    values["equipment"] = [v for v in form.getlist("equipment") if isinstance(v, str)]
    values["weekdays"] = [v for v in form.getlist("weekdays") if isinstance(v, str)]
    for key, item in form.multi_items():
        if not isinstance(item, str):
            continue
        if key.startswith("rf_"):
            values["red_flags"][key[3:]] = item
        elif key.startswith("kujala_"):
            values["kujala"][key[7:]] = item
    return values


def raw_answers(values: dict[str, Any], content: Content) -> dict[str, Any]:
    """The answers in the shape the screening service parses; says plainly what is still missing.

    A raised red flag ends the screening (see :func:`screening_service.needed_answers`), so what comes
    after it may be blank, and only what the person actually gave is passed on. Without scripts every
    safety question is on the page: a "no" to one for other ages is dropped, but a "yes" is passed on so
    that it is refused plainly rather than ignored.
    """
    raw: dict[str, Any] = {}
    open_flags: list[str] = []
    if values.get("age"):
        raw["age"] = values["age"]
        age = screening_service.parse_age(values["age"])
        asked = questions_for(age, content)
        applicable = {flag.id for flag in asked}
        answered = {
            key: answer == "yes" for key, answer in values["red_flags"].items() if answer in ("yes", "no")
        }
        kept = {key: yes for key, yes in answered.items() if key in applicable or yes}
        open_flags = [flag.title for flag in asked if flag.id not in kept]
        if not open_flags or any(kept.values()):
            raw["red_flags"] = kept
    kujala = content.questionnaires["kujala"]
    open_items = [str(item.number) for item in kujala.items if not values["kujala"].get(str(item.number))]
    if not open_items:
        raw["kujala"] = [values["kujala"][str(item.number)] for item in kujala.items]
    if values.get("pain") not in (None, ""):
        raw["pain"] = values["pain"]
    if values.get("runs") in ("yes", "no"):
        raw["runs"] = values["runs"]
    stop = screening_service.stop_point(content, raw)
    if stop != "red_flags" or values["symptoms"]:
        raw["symptoms"] = values["symptoms"]
    if stop is None or values["equipment"]:
        raw["equipment"] = values["equipment"]
    if stop is None:
        raw["days"] = values.get("days") or "3"
        raw["weekdays"] = values["weekdays"] or None
    missing = set(screening_service.needed_answers(content, raw))
    words: list[str] = []
    if "age" in missing:
        words.append("your age")
    if "runs" in missing:
        words.append("whether you run")
    if "red_flags" in missing and "age" not in missing:
        words.append("the warning-sign questions (" + "; ".join(open_flags) + ")")
    if "kujala" in missing:
        words.append("knee-score question" + ("s " if len(open_items) > 1 else " ") + ", ".join(open_items))
    if "pain" in missing:
        words.append("your pain right now")
    if words:
        raise InputError("Please answer " + "; ".join(words) + ".")
    raw["start_date"] = values.get("start_date") or None
    raw["guideline_additions"] = values.get("guideline_additions") != "no"
    raw["continue_if_atypical"] = values.get("continue_if_atypical") == "yes"
    return raw


def safety_questions(content: Content) -> list[RedFlag]:
    """Every safety question, most urgent first (the page hides those for other ages)."""
    return sorted(content.red_flags, key=lambda flag: SEVERITY_ORDER.index(flag.severity))


def kujala_raises(content: Content) -> dict[str, str]:
    """``"item:letter"`` -> the age ranges (``"9-16 0-120"``) for which that Kujala answer raises a flag.

    The wizard uses it to end the screening at the Kujala step, as the server would.
    """
    kujala = content.questionnaires["kujala"]
    found: dict[str, list[str]] = {}
    for flag in content.red_flags:
        low, high = flag.applies_to.min_years, flag.applies_to.max_years
        ages = f"{0 if low is None else low}-{120 if high is None else high}"
        for trigger in flag.kujala_triggers:
            for option in kujala.item(trigger.item).options:
                if option.points < trigger.below:
                    found.setdefault(f"{trigger.item}:{option.letter}", []).append(ages)
    return {key: " ".join(dict.fromkeys(ranges)) for key, ranges in found.items()}


def form_page(
    request: Request,
    content: Content,
    values: dict[str, Any],
    today: Any,
    *,
    error: str | None = None,
    form_token: str | None = None,
) -> Response:
    equipment = [item for item in content.equipment.values() if not getattr(item, "always_available", False)]
    always = [item.name for item in content.equipment.values() if getattr(item, "always_available", False)]
    return render(
        request,
        "screening.html",
        {
            "content": content,
            "safety_questions": safety_questions(content),
            "kujala_raises": kujala_raises(content),
            "kujala": content.questionnaires["kujala"],
            "nprs": content.questionnaires["nprs"],
            "equipment": equipment,
            "always": always,
            "weekdays": WEEKDAY_NAMES,
            "values": values,
            "error": error,
            "form_token": form_token or uuid.uuid4().hex,
            "today": today,
        },
        status_code=422 if error else 200,
        title="Screening",
    )


@router.get("/screening", name="screening_form")
def screening_form(
    request: Request, me: CurrentPerson, db: DbSession, content: ContentDep, today: Today
) -> Response:
    latest = screening_service.latest_screening(db, me.profile_id)
    values = values_from_answers(latest.answers) if latest else blank_values()
    if me.profile.settings is not None:
        values["start_date"] = me.profile.settings.start_date.isoformat()
        values["guideline_additions"] = "yes" if me.profile.settings.guideline_additions else "no"
    return form_page(request, content, values, today)


@router.post("/screening", name="screening_submit")
def screening_submit(
    request: Request, me: CurrentPerson, db: DbSession, content: ContentDep, today: Today, form: PostedForm
) -> Response:
    values = values_from_form(form)
    token = str(form.get("form_token") or "")
    try:
        start = screening_service.build_request(content, raw_answers(values, content))
        with db.begin_nested():  # a refused answer rolls back the token claim too, so a fix can be sent
            first, earlier = accounts.first_submit(db, token, me.user.id)
            if not first:
                return redirect(request, earlier or "/screening/result")
            screening_service.run_start(db, content, me.profile.name, start, today=today, user_id=me.user.id)
            accounts.remember_result(db, token, me.user.id, "/screening/result")
    except InputError as error:
        return form_page(request, content, values, today, error=str(error), form_token=token)
    return redirect(request, "/screening/result")


@router.get("/screening/result", name="screening_result")
def screening_result(
    request: Request, me: CurrentPerson, db: DbSession, content: ContentDep, today: Today
) -> Response:
    latest = screening_service.latest_screening(db, me.profile_id)
    if latest is None:
        flash(request, "Answer the screening questions first.")
        return redirect(request, "/screening")
    flags = {flag.id: flag for flag in content.red_flags}
    triggered = [flags[flag_id] for flag_id in latest.red_flags if flag_id in flags]
    answers = latest.answers
    said_yes = answers.get("red_flags") or {}
    letters = answers.get("kujala")
    kujala = content.questionnaires["kujala"]
    raised_by_kujala: dict[str, tuple[str, ...]] = {}
    if isinstance(letters, list) and len(letters) == len(kujala.items):
        for flag in triggered:
            if said_yes.get(flag.id) is not True:
                raised_by_kujala[flag.id] = kujala_answers_raising(flag, [str(x) for x in letters], kujala)
    stopped = bool(answers.get("not_asked"))
    age = answers.get("age")
    if isinstance(age, int) and not isinstance(age, bool) and any(said_yes.values()):
        stopped = stopped or any(flag.id not in said_yes for flag in questions_for(age, content))
    summary = None
    settings = me.profile.settings
    if not latest.stops_the_plan and settings is not None:  # no red flags, or a clinician cleared them
        state = plan_state(db, content, me.profile_id, today)
        summary = screening_service.summarise_plan(
            state.plan, settings, protocol_for(content, settings).notes
        )
    return render(
        request,
        "screening_result.html",
        {
            "screening": latest,
            "triggered": triggered,
            "raised_by_kujala": raised_by_kujala,
            "stopped": stopped and latest.verdict == "refer_now",
            "summary": summary,
            "started": summary is not None,
            "cleared_text": clearance_text(latest),
        },
        title="Your screening result",
    )
