"""The account page: change password, signed-in browsers, API tokens, download all data, delete.

Every action is a POST with the CSRF token; the ones that can hurt (password change, deletion) ask for
the current password. Deleting removes the database rows first (committed), then the person's files.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from kneefix.errors import InputError
from kneefix.services import accounts, audit
from kneefix.services.credentials import MIN_PASSWORD_LENGTH
from kneefix.storage.records import UserInfo
from kneefix.web.deps import AppFiles, AppSettings, CurrentUser, DbSession, RecordId, client_ip
from kneefix.web.routes.auth import redirect, sign_in_session
from kneefix.web.templating import flash, render, session_of, set_session

router = APIRouter(include_in_schema=False)


def account_page(
    request: Request,
    db: DbSession,
    user: UserInfo,
    *,
    error: str | None = None,
    new_token: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "account.html",
        {
            "tokens": accounts.list_api_tokens(db, user.id),
            "browsers": accounts.list_web_sessions(db, user.id),
            "current_browser": getattr(request.state, "web_session_id", None),
            "error": error,
            "new_token": new_token,
            "min_password": MIN_PASSWORD_LENGTH,
        },
        status_code=status_code,
        nav="account",
        title="Account",
    )


@router.get("/account", name="account")
def account(request: Request, user: CurrentUser, db: DbSession) -> Response:
    return account_page(request, db, user)


@router.post("/account/password", name="account_password")
def account_password(
    request: Request,
    user: CurrentUser,
    db: DbSession,
    settings: AppSettings,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    try:
        if new_password != confirm:
            raise InputError("The two new passwords are not the same; type the same one twice.")
        updated = accounts.change_password(db, user.id, current=current_password, new=new_password)
    except InputError as error:
        return account_page(request, db, user, error=str(error), status_code=422)
    sign_in_session(request, db, settings, updated.id)  # this browser stays signed in, in a fresh session
    flash(request, "Your password is changed. Other browsers were signed out.", "ok")
    return redirect(request, "/account")


@router.post("/account/sessions/revoke-all", name="account_sessions_revoke_all")
def account_sessions_revoke_all(request: Request, user: CurrentUser, db: DbSession) -> Response:
    """Sign out every browser of the account, this one included (ASVS 3.3.1)."""
    accounts.sign_out_everywhere(db, user.id)
    set_session(
        request,
        session_of(request)
        .signed_out()
        .with_flash("You are signed out everywhere, in this browser too.", "ok"),
    )
    return redirect(request, "/")


@router.post("/account/sessions/{session_id}/revoke", name="account_session_revoke")
def account_session_revoke(
    request: Request, session_id: RecordId, user: CurrentUser, db: DbSession
) -> Response:
    """Sign out one browser; signing out this one is the same as the sign-out button."""
    accounts.sign_out_browser(db, user.id, session_id)
    if session_id == getattr(request.state, "web_session_id", None):
        set_session(request, session_of(request).signed_out().with_flash("You are signed out.", "ok"))
        return redirect(request, "/")
    flash(request, "That browser is signed out.", "ok")
    return redirect(request, "/account")


@router.post("/account/tokens", name="account_token_create")
def account_token_create(
    request: Request, user: CurrentUser, db: DbSession, name: Annotated[str, Form()] = ""
) -> Response:
    token, _ = accounts.create_api_token(db, user.id, name)
    # Shown in this response only (never put in the cookie or stored in clear).
    return account_page(request, db, user, new_token=token)


@router.post("/account/tokens/{token_id}/revoke", name="account_token_revoke")
def account_token_revoke(request: Request, token_id: RecordId, user: CurrentUser, db: DbSession) -> Response:
    accounts.revoke_api_token(db, user.id, token_id)
    flash(request, "The token is revoked; clients using it can no longer sign in.", "ok")
    return redirect(request, "/account")


@router.get("/account/export.json", name="account_export")
def account_export(request: Request, user: CurrentUser, db: DbSession) -> Response:
    audit.record_account_export(db, user, client_ip(request))  # in the log before the data leaves
    body = json.dumps(accounts.export_account(db, user.id), indent=2, sort_keys=True, ensure_ascii=False)
    return Response(
        body,
        media_type="application/json",
        headers={"content-disposition": 'attachment; filename="kneefix-my-data.json"'},
    )


@router.post("/account/delete", name="account_delete")
def account_delete(
    request: Request,
    user: CurrentUser,
    db: DbSession,
    files: AppFiles,
    password: Annotated[str, Form()] = "",
    confirm_delete: Annotated[str, Form()] = "",
) -> Response:
    from kneefix.web.routes.api import delete_everything

    try:
        if confirm_delete != "yes":
            raise InputError("Tick the box to confirm that the account and its data should be deleted.")
        delete_everything(db, files, user.id, password)
    except InputError as error:
        return account_page(request, db, user, error=str(error), status_code=422)
    set_session(
        request,
        session_of(request).signed_out().with_flash("Your account and all its data are deleted.", "ok"),
    )
    return redirect(request, "/")
