"""Pages for a forgotten password: ask for a reset link, then choose a new password with it.

The rules live in :mod:`kneefix.services.recovery`; these handlers parse the forms, send the email after
the answer (a background task, so an address with an account is answered as fast as one without) and
keep the link's token out of other sites' logs (``Referrer-Policy: no-referrer`` on the page it opens).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import Response

from kneefix.errors import InputError
from kneefix.services import recovery
from kneefix.services.credentials import MIN_PASSWORD_LENGTH
from kneefix.web.deps import AppSettings, DbSession, client_ip, get_now
from kneefix.web.routes.auth import redirect
from kneefix.web.templating import flash, render, session_of, set_session

router = APIRouter(include_in_schema=False)


def _forgot_page(
    request: Request, settings: AppSettings, email: str = "", error: str | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "forgot_password.html",
        {
            "values": {"email": email},
            "error": error,
            "mail_enabled": settings.mail.enabled,
            "no_mail": recovery.NO_MAIL_MESSAGE,
        },
        status_code=status_code,
        nav="signin",
        title="Forgot your password?",
    )


def _reset_page(
    request: Request, token: str, *, live: bool, error: str | None = None, status_code: int = 200
) -> Response:
    response = render(
        request,
        "reset_password.html",
        {
            "token": token if live else "",
            "live": live,
            "error": error,
            "invalid": recovery.INVALID_LINK,
            "min_password": MIN_PASSWORD_LENGTH,
        },
        status_code=status_code,
        title="Choose a new password",
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get(recovery.FORGOT_PATH, name="forgot_password_form")
def forgot_password_form(request: Request, settings: AppSettings) -> Response:
    return _forgot_page(request, settings)


@router.post(recovery.FORGOT_PATH, name="forgot_password")
def forgot_password(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    background: BackgroundTasks,
    email: Annotated[str, Form()] = "",
) -> Response:
    mail = settings.mail
    if not mail.enabled:
        return _forgot_page(request, settings, email)  # the page says to ask the administrator
    outcome = recovery.request_reset(db, email=email, ip=client_ip(request), mail=mail, now=get_now(request))
    if outcome.rate_limited:
        return _forgot_page(request, settings, email, recovery.TOO_MANY_MESSAGE, status_code=429)
    if outcome.message is not None:
        background.add_task(recovery.send_quietly, mail, outcome.message)
    flash(request, recovery.SENT_MESSAGE, "ok")
    return redirect(request, recovery.FORGOT_PATH)


@router.get(recovery.RESET_PATH, name="reset_password_form")
def reset_password_form(request: Request, db: DbSession, token: str = "") -> Response:
    live = recovery.reset_link_is_live(db, token, now=get_now(request))
    return _reset_page(request, token, live=live, status_code=200 if live else 400)


@router.post(recovery.RESET_PATH, name="reset_password")
def reset_password(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    background: BackgroundTasks,
    token: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    try:
        if password != confirm:
            raise InputError("The two passwords are not the same; type the same password twice.")
        user = recovery.reset_password(
            db, token=token, password=password, ip=client_ip(request), now=get_now(request)
        )
    except InputError as error:
        live = recovery.reset_link_is_live(db, token, now=get_now(request))
        return _reset_page(request, token, live=live, error=str(error), status_code=422 if live else 400)
    notice = recovery.compose_changed_email(
        settings.mail, user, how="with a reset link", when=get_now(request)
    )
    if notice is not None:
        background.add_task(recovery.send_quietly, settings.mail, notice)
    # Whoever was signed in in this browser is signed out too: the next sign-in uses the new password.
    set_session(
        request,
        session_of(request)
        .signed_out()
        .with_flash(
            "Your password is changed, and every browser that was signed in to your account is signed "
            "out. Sign in with the new password.",
            "ok",
        ),
    )
    return redirect(request, "/signin")
