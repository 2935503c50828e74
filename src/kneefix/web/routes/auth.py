"""Pages for accounts: sign up (at once, or with email configured by emailed link:
:mod:`kneefix.services.sign_up_links`), sign in, sign out, and "save the form you sent before your
session ran out".

Each handler parses the form, calls one function in :mod:`kneefix.services.accounts`, and either
redirects (POST-redirect-GET, so a reload never re-sends) or re-renders the form with what was typed and
a clear message. Passwords are never echoed back into a page.
"""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from kneefix.content.loader import Content
from kneefix.errors import InputError
from kneefix.programme.clock import parse_time_zone, time_zone_choices
from kneefix.services import accounts, admin, recovery, sign_up_links
from kneefix.services.credentials import MIN_PASSWORD_LENGTH
from kneefix.settings import Settings
from kneefix.storage.records import UserInfo
from kneefix.web.deps import AppSettings, ContentDep, CurrentUser, DbSession, MaybeUser, client_ip, get_now
from kneefix.web.templating import flash, href, render, session_of, set_session

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after sign-in (never ``//evil.org`` or ``https://...``)."""
    if not target:
        return None
    split = urlsplit(target)
    if split.scheme or split.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def home_for(role: str) -> str:
    return "/clinician" if role == "clinician" else "/home"


def redirect(request: Request, path: str) -> RedirectResponse:
    """A 303 (see other) to an in-app path, so the browser follows with a GET."""
    return RedirectResponse(href(request, path), status_code=303)


def sign_in_session(request: Request, db: Session, settings: Settings, user_id: int) -> None:
    """Start a fresh session for the user: a new server-side session row (its token in the cookie)
    and a new CSRF token, keeping a pending form if any. Call it in the route's write session."""
    token = accounts.start_web_session(
        db,
        user_id,
        days=settings.session_days,
        user_agent=request.headers.get("user-agent", ""),
        ip=client_ip(request),
    )
    before = session_of(request)
    after = before.signed_in(user_id, token)
    if before.pending:
        after = after.__class__(**{**after.__dict__, "pending": before.pending})
    set_session(request, after)


def _password_sign_in(
    request: Request, db: DbSession, settings: AppSettings, email: str, password: str
) -> accounts.SignInOutcome:
    """Check email and password, rate-limited by the settings (failures are counted)."""
    return accounts.sign_in(
        db,
        email=email,
        password=password,
        ip=client_ip(request),
        limits=accounts.SignInLimits.from_settings(settings),
    )


def _drop_pending(request: Request) -> None:
    """Forget the form kept from before the session ran out."""
    session = session_of(request)
    set_session(request, session.__class__(**{**session.__dict__, "pending": None}))


def _signup_page(
    request: Request,
    settings: Settings,
    values: dict[str, str],
    error: str | None = None,
    next: str | None = None,
    *,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "signup.html",
        {
            "values": values,
            "error": error,
            "min_password": MIN_PASSWORD_LENGTH,
            "next": safe_next(next) or "",
            "time_zones": time_zone_choices(),
            # With email, the form asks for no password: the emailed link's page does.
            "by_email": settings.mail.enabled,
        },
        status_code=status_code,
        nav="signup",
        title="Sign up",
    )


def _finish_page(
    request: Request,
    token: str,
    link: sign_up_links.SignUpLink | None,
    *,
    error: str | None = None,
    taken: bool = False,
    status_code: int = 200,
) -> Response:
    """The emailed link's page: choose a password, or why the link makes nothing. Like the reset page,
    it sends no Referer, so the link's token stays out of other sites' logs."""
    response = render(
        request,
        "finish_signup.html",
        {
            "token": token if link is not None else "",
            "link": link,
            "error": error,
            "taken": taken,
            "min_password": MIN_PASSWORD_LENGTH,
        },
        status_code=status_code,
        nav="signup",
        title="Choose your password",
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _welcome(request: Request, user: UserInfo, next: str | None) -> Response:
    """Where a new account goes: a clinician's request says it waits; a person goes to screening."""
    if user.requested_role == "clinician":
        flash(request, admin.WAITING_FOR_APPROVAL, "ok")
        return redirect(request, "/account")
    flash(request, "Welcome to kneefix. Your account is ready.", "ok")
    # An invite link sends people here with ?next=/invite/CODE: take them back to accept it.
    default = "/screening" if user.role == "person" else "/clinician"
    return redirect(request, safe_next(next) or default)


def _signin_page(
    request: Request, values: dict[str, str], error: str | None, next: str | None, *, status_code: int = 200
) -> Response:
    return render(
        request,
        "signin.html",
        {"values": values, "error": error, "next": safe_next(next) or ""},
        status_code=status_code,
        nav="signin",
        title="Sign in",
    )


# ----- sign up --------------------------------------------------------------------------------


@router.get("/signup", name="signup_form")
def signup_form(
    request: Request, user: MaybeUser, settings: AppSettings, next: str | None = None, invite: str = ""
) -> Response:
    if user is not None:
        return redirect(request, safe_next(next) or home_for(user.role))
    # An administrator's invite (services.admin) fills in the clinician's address and role.
    invited = admin.read_invite(settings.signing_key, invite) if invite else None
    values = {"email": invited.email, "role": "clinician", "invite": invite} if invited else {}
    return _signup_page(request, settings, values, None, next)


@router.post("/signup", name="signup")
def signup(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    background: BackgroundTasks,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "person",
    time_zone: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
    invite: Annotated[str, Form()] = "",
) -> Response:
    """With email: email a link (every address gets the same answer). Without: make the account and
    sign in, a taken email getting a neutral answer (see docs/security.md)."""
    values = {"email": email, "display_name": display_name, "role": role, "time_zone": time_zone}
    values["invite"] = invite
    if settings.mail.enabled:
        return _signup_by_email(request, db, settings, background, values, next)
    try:
        if password != confirm:
            raise InputError("The two passwords are not the same; type the same password twice.")
        zone = parse_time_zone(time_zone)
        outcome = accounts.register(
            db,
            email=email,
            password=password,
            display_name=display_name,
            role=role,
            ip=client_ip(request),
            per_hour=settings.signup_per_hour,
            sign_in_limits=accounts.SignInLimits.from_settings(settings),
        )
        user = outcome.user
        if user is not None and not outcome.existing:
            user = sign_up_links.settle_new_account(
                db, settings.signing_key, user, invite=invite, time_zone=zone, ip=client_ip(request)
            )
    except InputError as error:
        return _signup_page(request, settings, values, str(error), next, status_code=422)
    if user is None:
        return _signup_page(
            request, settings, values, outcome.message, next, status_code=429 if outcome.rate_limited else 422
        )
    sign_in_session(request, db, settings, user.id)
    if outcome.existing:
        # Most often the same form sent twice: the first made the account, and the right password
        # simply signs in (rate-limited like any sign-in).
        flash(request, "You already had an account with this email, so you are now signed in.", "ok")
        return redirect(request, safe_next(next) or home_for(user.role))
    return _welcome(request, user, next)


def _signup_by_email(
    request: Request,
    db: DbSession,
    settings: Settings,
    background: BackgroundTasks,
    values: dict[str, str],
    next: str,
) -> Response:
    """Count the form and answer every address the same ("check your email", on its own page, which
    echoes nothing typed); the email (a link, or "you already have an account") goes after the answer."""
    try:
        outcome = sign_up_links.request_sign_up(
            db,
            email=values["email"],
            display_name=values["display_name"],
            role=values["role"],
            time_zone=values["time_zone"],
            invite=values["invite"],
            next=safe_next(next) or "",
            ip=client_ip(request),
            per_hour=settings.signup_per_hour,
            mail=settings.mail,
            secret_key=settings.signing_key,
            now=get_now(request),
        )
    except InputError as error:
        return _signup_page(request, settings, values, str(error), next, status_code=422)
    if outcome.rate_limited:
        return _signup_page(request, settings, values, accounts.SIGN_UP_RATE_LIMITED, next, status_code=429)
    if outcome.message is not None:
        background.add_task(recovery.send_quietly, settings.mail, outcome.message)
    return redirect(request, sign_up_links.SENT_PATH)


@router.get(sign_up_links.SENT_PATH, name="signup_sent")
def signup_sent(request: Request, settings: AppSettings) -> Response:
    if not settings.mail.enabled:
        return redirect(request, "/signup")
    return render(
        request,
        "signup_sent.html",
        {"message": sign_up_links.SENT_MESSAGE},
        nav="signup",
        title="Check your email",
    )


@router.get(sign_up_links.FINISH_PATH, name="finish_signup_form")
def finish_signup_form(request: Request, db: DbSession, settings: AppSettings, token: str = "") -> Response:
    try:
        link = sign_up_links.check_link(db, settings.signing_key, token, now=get_now(request))
    except sign_up_links.UnusableLinkError as error:
        return _finish_page(request, "", None, error=str(error), taken=error.taken, status_code=400)
    return _finish_page(request, token, link)


@router.post(sign_up_links.FINISH_PATH, name="finish_signup")
def finish_signup(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    token: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Make the account the link is for, with this password, and sign in (as a sign-in does)."""
    now = get_now(request)
    try:
        link = sign_up_links.check_link(db, settings.signing_key, token, now=now)
        if password != confirm:
            raise InputError("The two passwords are not the same; type the same password twice.")
        user, _ = sign_up_links.finish_sign_up(
            db, settings.signing_key, token, password=password, ip=client_ip(request), now=now
        )
    except sign_up_links.UnusableLinkError as error:
        return _finish_page(request, "", None, error=str(error), taken=error.taken, status_code=400)
    except InputError as error:
        return _finish_page(request, token, link, error=str(error), status_code=422)
    sign_in_session(request, db, settings, user.id)
    return _welcome(request, user, link.next)


# ----- sign in / out -------------------------------------------------------------------------


@router.get("/signin", name="signin_form")
def signin_form(request: Request, user: MaybeUser, next: str | None = None) -> Response:
    if user is not None and not session_of(request).pending:
        return redirect(request, safe_next(next) or home_for(user.role))
    return _signin_page(request, {}, None, next)


@router.post("/signin", name="signin")
def signin(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    outcome = _password_sign_in(request, db, settings, email, password)
    user = outcome.user
    if user is None:
        status_code = 429 if outcome.rate_limited else 401
        page = _signin_page(request, {"email": email}, outcome.error, next, status_code=status_code)
        if outcome.rate_limited:
            page.headers["retry-after"] = str(math.ceil(outcome.retry_after_s))
        return page
    sign_in_session(request, db, settings, user.id)
    if session_of(request).pending:
        return redirect(request, "/resume")
    return redirect(request, safe_next(next) or home_for(user.role))


@router.post("/signout", name="signout")
def signout(request: Request, db: DbSession) -> Response:
    """Sign out for good: the session row is revoked, so a copy of this cookie no longer signs in."""
    session = session_of(request)
    accounts.end_web_session(db, session.token)
    set_session(request, session.signed_out().with_flash("You are signed out.", "ok"))
    return redirect(request, "/")


# ----- a form sent after the session ran out --------------------------------------------------


# Fields a form carries for the app's own bookkeeping: sent again with "Save it now", never shown.
UNSHOWN_FIELDS = frozenset({"form_token", "request_id", "session_day", "kind", "next"})
FIELD_LABELS = {
    "done": "Exercises you did",
    "hurt": "Exercises that hurt",
    "pain_during": "Pain during (0 to 10)",
    "pain_after": "Pain after (0 to 10)",
    "pain": "Pain (0 to 10)",
    "note": "Note",
    "minutes": "Minutes",
    "distance_km": "Distance in km",
    "run_pain_during": "Pain during the run (0 to 10)",
    "run_pain_after": "Pain after the run (0 to 10)",
    "run_note": "Note on the run",
    "walk_pain": "Pain on the brisk walk (0 to 10)",
    "hop_pain": "Pain on the hops (0 to 10)",
    "symptoms": "Symptoms",
    "equipment": "Equipment",
}


def pending_pairs(raw_fields: object) -> list[tuple[str, str]] | None:
    """The kept form as ``(name, value)`` pairs: a list of pairs, or a dict from a cookie set before
    repeated fields were kept; ``None`` for anything else."""
    if isinstance(raw_fields, dict):
        return [(str(key), str(value)) for key, value in raw_fields.items()]
    if not isinstance(raw_fields, list):
        return None
    pairs = [item for item in raw_fields if isinstance(item, list | tuple) and len(item) == 2]
    return [(str(key), str(value)) for key, value in pairs] if len(pairs) == len(raw_fields) else None


def readable_fields(pairs: list[tuple[str, str]], content: Content) -> list[tuple[str, list[str]]]:
    """What the person typed, for people to read: one row per field (all the values of a repeated
    one), labels in words, exercise, equipment and symptom ids as their names; bookkeeping and empty
    answers left out (they are still sent again)."""
    names: dict[str, str] = {key: item.name for key, item in content.exercises.items()}
    names |= {key: item.name for key, item in content.equipment.items()}
    names |= {item.id: item.label for item in content.symptoms}
    flags = {"rf_" + flag.id: flag.title for flag in content.red_flags}
    rows: dict[str, list[str]] = {}
    for name, value in pairs:
        if name in UNSHOWN_FIELDS or not value.strip():
            continue
        rows.setdefault(name, []).append(names.get(value, value))
    readable: list[tuple[str, list[str]]] = []
    for name, values in rows.items():
        label = FIELD_LABELS.get(name) or flags.get(name)
        if label is None and name.startswith("kujala_"):
            label = "Knee score, question " + name.removeprefix("kujala_")
        readable.append((label or name.replace("_", " ").capitalize(), values))
    return readable


@router.get("/resume", name="resume_form")
def resume_form(request: Request, user: CurrentUser, content: ContentDep) -> Response:
    pending = session_of(request).pending or {}
    fields, action = pending_pairs(pending.get("fields")), pending.get("action")
    if fields is None or not isinstance(action, str):
        return redirect(request, home_for(user.role))
    _drop_pending(request)  # the fields now live in the page; the cookie need not keep them
    return render(
        request,
        "resume.html",
        {"fields": fields, "shown": readable_fields(fields, content), "action": action},
        title="Save your form",
    )


@router.post("/resume/discard", name="resume_discard")
def resume_discard(request: Request, user: CurrentUser) -> Response:
    _drop_pending(request)
    flash(request, "The unsaved form was discarded.")
    return redirect(request, home_for(user.role))
