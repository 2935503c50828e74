"""The administrator's page: approve or decline clinician accounts, invite a clinician, see accounts.

Only administrators reach it (:data:`~kneefix.web.deps.AdminUser`); anyone else gets 404, as for any
record that is not theirs. Every action is a POST with the CSRF token, and the rules and the audit
events live in :mod:`kneefix.services.admin`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import Response

from kneefix.errors import InputError
from kneefix.services import admin, recovery
from kneefix.storage.records import UserInfo
from kneefix.web.deps import MAX_RECORD_ID, AdminUser, AppSettings, DbSession, client_ip
from kneefix.web.routes.auth import redirect
from kneefix.web.templating import flash, href, render

router = APIRouter(include_in_schema=False)

UserIdField = Annotated[int, Form(ge=1, le=MAX_RECORD_ID)]


def admin_page(
    request: Request,
    db: DbSession,
    me: UserInfo,
    *,
    error: str | None = None,
    invite_link: str | None = None,
    invite_email: str = "",
    status_code: int = 200,
) -> Response:
    shown, total = admin.newest_accounts(db)
    return render(
        request,
        "admin.html",
        {
            "me": me,
            "pending": admin.pending_clinicians(db),
            "accounts": shown,
            "total_accounts": total,
            "error": error,
            "invite_link": invite_link,
            "values": {"email": invite_email},
            "invite_days": admin.INVITE_VALID_FOR.days,
        },
        status_code=status_code,
        nav="admin",
        title="Administration",
    )


@router.get("/admin", name="admin_home")
def admin_home(request: Request, me: AdminUser, db: DbSession) -> Response:
    return admin_page(request, db, me)


@router.post("/admin/approve", name="admin_approve")
def admin_approve(request: Request, me: AdminUser, db: DbSession, user_id: UserIdField) -> Response:
    try:
        user = admin.approve_clinician(db, user_id, actor=me, ip=client_ip(request))
    except InputError as error:
        return admin_page(request, db, me, error=str(error), status_code=422)
    flash(request, f"{user.email} is now a clinician.", "ok")
    return redirect(request, "/admin")


@router.post("/admin/decline", name="admin_decline")
def admin_decline(request: Request, me: AdminUser, db: DbSession, user_id: UserIdField) -> Response:
    try:
        user = admin.decline_clinician(db, user_id, actor=me, ip=client_ip(request))
    except InputError as error:
        return admin_page(request, db, me, error=str(error), status_code=422)
    flash(request, f"{user.email}'s request was declined; the account stays a person's account.", "ok")
    return redirect(request, "/admin")


@router.post("/admin/invites", name="admin_invite")
def admin_invite(
    request: Request,
    me: AdminUser,
    db: DbSession,
    settings: AppSettings,
    background: BackgroundTasks,
    email: Annotated[str, Form()] = "",
) -> Response:
    mail = settings.mail
    try:
        link = admin.invite_clinician(
            db,
            settings.signing_key,
            email,
            actor=me,
            public_url=settings.public_url,
            ip=client_ip(request),
        )
    except InputError as error:
        return admin_page(request, db, me, error=str(error), invite_email=email, status_code=422)
    address = email.strip().lower()
    if mail.enabled:
        background.add_task(recovery.send_quietly, mail, admin.compose_invite_email(mail, address, link, me))
        flash(request, f"An invitation was emailed to {address}.", "ok")
        return redirect(request, "/admin")
    # No email: the link is shown once, on this page, for the administrator to pass on.
    shown = link if settings.public_url else href(request, link)
    return admin_page(request, db, me, invite_link=shown, invite_email=address)
