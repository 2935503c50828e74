"""``Annotated`` dependencies every route declares: database session, content, the signed-in user.

Routes say what they need in their signature (``db: DbSession, me: CurrentPerson``) and the checks
happen here once: who is asking (session cookie or Bearer token), whether they may (role), and the CSRF
and origin checks on every unsafe request, which run for every route in the app (they are installed as
an app-wide dependency by ``create_app``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from kneefix.content.loader import Content, load_content
from kneefix.errors import NotFoundError, StorageError
from kneefix.programme.clock import local_today
from kneefix.settings import Settings
from kneefix.storage.db import Database
from kneefix.storage.files import FileStore
from kneefix.storage.records import ProfileInfo, UserInfo
from kneefix.web.errors import CsrfRejectedError, ForbiddenError, NoPlanYetError, SignInRequiredError
from kneefix.web.middleware import is_api_path
from kneefix.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    bearer_token,
    csrf_matches,
    origin_allowed,
)
from kneefix.web.templating import session_of, set_session

PENDING_FORM_LIMIT = 3000  # characters of a posted form kept in the cookie to offer again after sign-in
CSRF_EXEMPT_ROUTES = frozenset({"unsubscribe"})
"""Routes a mail app posts to with no cookie and no form token (RFC 8058 one-click unsubscribe); the
secret in their URL is the proof, and all they can do is turn reminder emails off."""
NEVER_KEPT_FIELDS = frozenset({CSRF_FIELD, "password", "current_password", "new_password", "confirm"})

log = logging.getLogger("kneefix.web")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_files(request: Request) -> FileStore:
    """The file store of uploads and results, opened once by ``create_app`` from the settings."""
    files: FileStore = request.app.state.files
    return files


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent (so a redirect sees it).

    Safe methods (GET, HEAD, ...: the ones the CSRF check lets through) get a read session: on SQLite
    it takes no write lock, so pages and API reads never queue behind other requests' writes, and it
    refuses to write, so a GET that changes data fails in the tests instead of in production. A read
    that must note something (an API token's last use) does it in a short write session of its own
    (:func:`~kneefix.storage.db.writes_beside`), only when what it notes is stale. The checks before
    the route read from :func:`context_session`.
    """
    with get_database(request).session(write=request.method not in SAFE_METHODS) as session:
        yield session


def get_content() -> Content:
    """The packaged programme content (read once per process)."""
    return load_content()


def get_now(request: Request) -> dt.datetime:
    """The current instant; the ``now`` setting pins it (tests)."""
    return get_settings(request).now or dt.datetime.now(dt.UTC)


def today_in(request: Request, zone: str | None) -> dt.date:
    """The date in ``zone`` (None: the server's clock), unless the ``today`` setting pins it."""
    return get_settings(request).today or local_today(get_now(request), zone)


async def get_form(request: Request) -> FormData:
    """The posted form, parsed once (the CSRF check reads the same cached copy)."""
    return await request.form()


MAX_RECORD_ID = 2**63 - 1
RecordId = Annotated[int, Path(ge=1, le=MAX_RECORD_ID, description="A record's id (1 to 2^63 - 1)")]
"""A record id in a path: beyond a 64-bit integer no database can hold it, and asking for it must be a
422 naming the field, not a driver's overflow turned into a 500."""
AppSettings = Annotated[Settings, Depends(get_settings)]
AppFiles = Annotated[FileStore, Depends(get_files)]
PostedForm = Annotated[FormData, Depends(get_form)]
DbSession = Annotated[Session, Depends(db_session, scope="function")]


def context_session(request: Request, db: DbSession) -> Iterator[Session]:
    """The session the checks every request starts with read from: who is asking, their profile,
    their date, whether they have a plan.

    A GET's own read session. A change gets a read session of its own for these, so its write session
    begins (and takes SQLite's one write lock) only when the route itself touches the database: the
    lock is held for the route's work, not also through the dependencies before it (each of which
    waits its turn for a thread and for Python's GIL when many requests run at once).
    """
    if request.method in SAFE_METHODS:
        yield db
        return
    with get_database(request).session(write=False) as session:
        yield session


ContextSession = Annotated[Session, Depends(context_session, scope="function")]


def _finish_reads(request: Request, db: Session) -> None:
    """A change's checks end their read transaction once they have read: the request then holds no
    second pooled connection while its route writes (with many changes at once, each holding one
    connection and waiting for another could empty the pool)."""
    if request.method not in SAFE_METHODS and db.in_transaction():
        db.commit()  # a read session: nothing to write, this only gives the connection back


ContentDep = Annotated[Content, Depends(get_content)]


# ----- CSRF ------------------------------------------------------------------------------------


def _is_json(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json"


async def enforce_csrf(request: Request) -> None:
    """Refuse an unsafe request that rides on the session cookie without proving it came from our page.

    Exempt: :data:`CSRF_EXEMPT_ROUTES`, requests with a Bearer token (a browser never adds one on its
    own), and API calls made without a signed-in cookie (nothing ambient to abuse, and the API never
    sets a cookie, so there is no login to forge). Everything else - every form - needs the token, and
    its Origin must be ours or trusted.
    """
    if request.method in SAFE_METHODS or bearer_token(request) is not None:
        return
    route = request.scope.get("route")
    if getattr(route, "name", None) in CSRF_EXEMPT_ROUTES:
        return
    session = session_of(request)
    if is_api_path(request.scope) and session.user_id is None and not request.state.session_expired:
        return  # no signed-in cookie: nothing ambient to abuse, and the API sets no cookie itself
    settings = get_settings(request)
    if not origin_allowed(request, settings):
        raise CsrfRejectedError(
            "This form was sent from another web address than this app's own, so it was refused. "
            "If kneefix runs behind a reverse proxy, its public address must be listed in "
            "KNEEFIX_TRUSTED_ORIGINS (or KNEEFIX_PROXY_HEADERS turned on); see docs/web.md."
        )
    submitted = request.headers.get(CSRF_HEADER)
    form_fields: list[tuple[str, str]] = []
    if submitted is None and not _is_json(request):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
        # Every (name, value) pair in order: a field sent more than once (the ticks of a checkbox list)
        # keeps all its values, not only the last.
        form_fields = [(key, item) for key, item in form.multi_items() if isinstance(item, str)]
    if csrf_matches(session.csrf, submitted):
        return
    if request.state.session_expired or (SESSION_COOKIE not in request.cookies and submitted):
        _keep_pending_form(request, form_fields)
        raise SignInRequiredError(expired=True)
    raise CsrfRejectedError(
        "This form had gone out of date (it may have been open in another tab, or the page was loaded "
        "before you signed in or out), so nothing was saved. Go back, reload the page and send it again."
    )


def _keep_pending_form(request: Request, fields: list[tuple[str, str]]) -> None:
    """Remember a form the person sent just after their session ran out, to offer it after sign-in.

    The fields are kept as ``[name, value]`` pairs, in the order they were sent, so repeated names
    (several ticked checkboxes) all survive the trip through the cookie.
    """
    kept = [[key, value] for key, value in fields if key not in NEVER_KEPT_FIELDS]
    if not kept or sum(len(k) + len(v) for k, v in kept) > PENDING_FORM_LIMIT:
        return
    root = str(request.scope.get("root_path", "")).rstrip("/")
    path = request.url.path
    if root and path.startswith(root):
        path = path[len(root) :]
    request.state.pending_form = {"action": path, "fields": kept}


# ----- who is asking ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A signed-in person and the profile their plan lives in."""

    user: UserInfo
    profile: ProfileInfo

    @property
    def profile_id(self) -> int:
        return self.profile.id


def _user_from_request(request: Request, db: Session) -> UserInfo | None:
    from kneefix.services import accounts

    token = bearer_token(request)
    if token is not None:
        now = dt.datetime.now(dt.UTC)  # the real clock, as before: "last used" is bookkeeping, not plan time
        found = accounts.api_token_owner(db, token, now=now)
        if found is None:
            raise SignInRequiredError()
        owner, info = found
        if accounts.api_token_use_is_stale(info, now):
            _note_token_use(db, info.id, now)
        request.state.auth_method = "token"
        return owner
    session = session_of(request)
    if session.user_id is None:
        return None
    now = dt.datetime.now(dt.UTC)
    signed_in = accounts.user_for_web_session(db, session.user_id, session.token, now=now)
    if signed_in.user is None or signed_in.session is None:
        # Signed out (here or everywhere), password changed, account deleted, or the sign-in ran out:
        # the cookie no longer counts, whatever its signature says.
        if signed_in.expired:
            request.state.session_expired = True
        set_session(request, session.signed_out())
        return None
    if accounts.web_session_seen_is_stale(signed_in.session, now):
        _note_session_seen(db, signed_in.session.id, now)
    request.state.auth_method = "session"
    request.state.web_session_id = signed_in.session.id
    return signed_in.user


def _note_session_seen(db: Session, session_id: int, now: dt.datetime) -> None:
    """Write a browser's "last seen" (at most once a minute), like a token's last use: beside a GET's
    read session, and a failure to write only logs (bookkeeping; the next visit tries again)."""
    from kneefix.services import accounts

    try:
        accounts.note_web_session_seen(db, session_id, now)
    except StorageError as error:
        log.warning("could not record the visit of signed-in browser %s: %s", session_id, error)


def _note_token_use(db: Session, token_id: int, now: dt.datetime) -> None:
    """Write a token's "last used" (at most once a minute per token, so most API calls write nothing),
    in a short write session of its own (:func:`~kneefix.services.accounts.note_api_token_use`).

    If that write fails (the database stayed busy past the timeout), the request is still answered:
    it is bookkeeping, and the next use tries again.
    """
    from kneefix.services import accounts

    try:
        accounts.note_api_token_use(db, token_id, now)
    except StorageError as error:
        log.warning("could not record the use of API token %s: %s", token_id, error)


def maybe_user(request: Request, db: ContextSession) -> UserInfo | None:
    """The signed-in user or ``None``; pages that anyone may see use this to adapt their layout."""
    user = _user_from_request(request, db)
    _finish_reads(request, db)
    request.state.user = user
    return user


def require_user(request: Request, user: Annotated[UserInfo | None, Depends(maybe_user)]) -> UserInfo:
    if user is None:
        raise SignInRequiredError(expired=bool(getattr(request.state, "session_expired", False)))
    return user


MaybeUser = Annotated[UserInfo | None, Depends(maybe_user)]
CurrentUser = Annotated[UserInfo, Depends(require_user)]


def maybe_person(request: Request, user: MaybeUser, db: ContextSession) -> Person | None:
    """The signed-in person with their profile (read once per request, also for "today"), or None
    for a visitor or a clinician."""
    from kneefix.services import accounts

    if user is None or user.role != "person":
        return None
    profile = accounts.person_profile(db, user.id)
    _finish_reads(request, db)
    return Person(user=user, profile=profile)


def require_person(user: CurrentUser, person: Annotated[Person | None, Depends(maybe_person)]) -> Person:
    """A person's own profile (created with the account; re-created if missing)."""
    if person is None:
        raise ForbiddenError(
            "This part of kneefix is for people following a plan. Clinicians see their people under "
            "'My people'."
        )
    return person


def get_today(
    request: Request, db: ContextSession, person: Annotated[Person | None, Depends(maybe_person)]
) -> dt.date:
    """The person's "today": the date in their time zone (the profile's; the server's clock when it has
    none), so the session due, the morning check and the calendar follow where they live. On a
    clinician's page about a person (``profile_id`` in the path) it is that person's date."""
    from kneefix.services import profiles

    raw_id = str(request.path_params.get("profile_id", ""))
    if raw_id.isdigit() and len(raw_id) < 12:  # a missing profile: None here; the route answers 404
        zone = profiles.time_zone_of(db, int(raw_id))
        _finish_reads(request, db)
        return today_in(request, zone)
    return today_in(request, person.profile.time_zone if person is not None else None)


Today = Annotated[dt.date, Depends(get_today)]


def require_clinician(user: CurrentUser) -> UserInfo:
    if user.role != "clinician":
        raise ForbiddenError("Only clinician accounts can open this page.")
    return user


CurrentPerson = Annotated[Person, Depends(require_person)]


def require_plan(request: Request, me: CurrentPerson, db: ContextSession) -> Person:
    """A person whose plan exists. Without one, pages go to the screening (or its result, when one was
    saved without a plan) and the API answers 409; the one guard every plan page and endpoint uses."""
    if me.profile.settings is None:
        from kneefix.services import screening

        screened = screening.latest_screening(db, me.profile_id) is not None
        _finish_reads(request, db)
        raise NoPlanYetError(screened=screened)
    return me


PersonWithPlan = Annotated[Person, Depends(require_plan)]
CurrentClinician = Annotated[UserInfo, Depends(require_clinician)]


def require_admin(user: CurrentUser) -> UserInfo:
    """An administrator; anyone else is told there is nothing here (404), as for another's records,
    so the administration pages do not announce themselves."""
    if not user.is_admin:
        raise NotFoundError("There is nothing at this address.")
    return user


AdminUser = Annotated[UserInfo, Depends(require_admin)]


def client_ip(request: Request) -> str:
    """The caller's address (the proxy's ``X-Forwarded-For`` is applied by uvicorn when trusted)."""
    return request.client.host if request.client else "unknown"
