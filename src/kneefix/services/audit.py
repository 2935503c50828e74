"""The audit log: who viewed or changed which person's record, written and read in one place.

Every interface records through here (web, API and CLI), with the small vocabulary of :class:`Action`.
An event names its actor (:class:`Actor`: a signed-in person, clinician or administrator, or ``cli``
for the command line's local user, who owns the machine), the record (profile id and its owner's user
id), the moment and the address when known. ``detail`` holds ids and kinds only, checked by
:func:`clean_detail`, never health data: the log is kept after the record itself is deleted.

Views are throttled (:data:`VIEW_EVERY`): one ``record.viewed`` per actor per profile in that time,
so the log stays readable and most GETs only read. A view is written before the record is shown, in
a short write beside the GET's read session; when the database is too busy to take it, the page fails
with the busy answer rather than show a record nobody will know was seen (docs/security.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import tempfile
import zoneinfo
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kneefix.errors import InputError, NotFoundError
from kneefix.storage import audit as audit_store
from kneefix.storage import profiles as profile_store
from kneefix.storage.columns import utc_now
from kneefix.storage.db import writes_beside
from kneefix.storage.records import AuditEntry, ProfileInfo, UserInfo

VIEW_EVERY = dt.timedelta(minutes=10)
"""At most one ``record.viewed`` per actor per profile in this time (the first view of it is logged)."""


class Action(StrEnum):
    """What happened to a person's record (stored as the text value)."""

    RECORD_VIEWED = "record.viewed"  # a clinician (page or API) opened the record
    PLAN_CHANGED = "plan.changed"  # the plan's settings changed (a new plan, other days or equipment)
    PLAN_ADJUSTED = "plan.adjusted"  # a clinician adjusted the plan, withdrew an adjustment or resumed it
    EXPORT_DOWNLOADED = "export.downloaded"  # JSON, CSV or PDF taken out of kneefix
    RECORD_DELETED = "record.deleted"  # a log, a technique check, a profile or the whole account
    RED_FLAG_CLEARED = "red_flag.cleared"  # a clinician saw the person and cleared a screening's flags
    LINK_CREATED = "link.created"  # the person shared their record with a clinician
    LINK_REMOVED = "link.removed"  # the person stopped sharing with a clinician
    RESET_LINK_SENT = "password.reset_link_sent"  # someone asked for the account's reset link
    RESET_BY_LINK = "password.reset_by_link"  # the account's password was reset with an emailed link


ADMIN_PREFIX = "admin."
"""An administrator's own actions are ``admin.<what>`` (e.g. ``admin.audit_exported``)."""
_ADMIN_ACTION = re.compile(r"^admin\.[a-z][a-z0-9_.]{0,50}$")

ROLES = ("person", "clinician", "admin", "cli", "anonymous")
"""``anonymous``: someone not signed in (who asked for a reset link, say), known by address only."""


@dataclass(frozen=True)
class Actor:
    """Who did it: ``role`` is the capacity they acted in (person, clinician, admin or cli)."""

    user_id: int | None
    role: str
    name: str = ""
    ip: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"an audit actor's role is one of {ROLES}, not {self.role!r}")

    @classmethod
    def of(cls, user: UserInfo, ip: str | None = None, *, role: str | None = None) -> Actor:
        """A signed-in user, acting in their account's role unless ``role`` says otherwise (``admin``)."""
        return cls(user.id, role or user.role, user.display_name or user.email or f"user {user.id}", ip)

    @classmethod
    def cli(cls, name: str = "command line") -> Actor:
        """The command line's local user (the machine's owner; never signs in, has no address)."""
        return cls(None, "cli", name)

    @classmethod
    def anonymous(cls, ip: str | None) -> Actor:
        """Someone not signed in, known only by the address they came from."""
        return cls(None, "anonymous", "", ip)


CLI = Actor.cli()

# ----- what ``detail`` may hold ------------------------------------------------------------------

DETAIL_KEYS = frozenset(
    {
        "kind",
        "format",
        "part",
        "id",
        "adjustment_kind",
        "clinician_user_id",
        "screening_id",
        "count",
        "via",
        "role",
    }
)
"""The only keys ``detail`` may carry: ids, counts and kinds, never notes, answers or scores."""
_WORD = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,39}$")


def clean_detail(detail: Mapping[str, Any] | None) -> dict[str, Any]:
    """``detail`` as stored, or ValueError: unknown keys, and text that is not a short lower-case word
    (a note or a free-text reason would carry health data into a log that outlives the record)."""
    clean: dict[str, Any] = {}
    for key, value in (detail or {}).items():
        if key not in DETAIL_KEYS:
            raise ValueError(f"audit detail key {key!r} is not one of {sorted(DETAIL_KEYS)}")
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"audit detail {key!r} must be an id, a count or a kind, got {value!r}")
        if isinstance(value, str) and not _WORD.match(value):
            raise ValueError(f"audit detail {key!r} must be a short kind word, got {value!r}")
        clean[key] = value
    return clean


def _check_action(action: str) -> str:
    if action in Action.__members__.values() or _ADMIN_ACTION.match(action):
        return str(action)
    raise ValueError(f"{action!r} is not an audit action (see services.audit.Action, or admin.<what>)")


# ----- recording ---------------------------------------------------------------------------------


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    profile_id: int | None = None,
    subject_user_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> AuditEntry:
    """Record one event. In a write session it commits with the change it records (a change that rolls
    back takes its event with it); in a GET's read session it is a short write beside it."""
    name = _check_action(action)
    clean = clean_detail(detail)
    if subject_user_id is None and profile_id is not None:
        subject_user_id = _owner_of(session, profile_id)
    with writes_beside(session) as writer:
        return audit_store.record_event(
            writer,
            action=name,
            actor_user_id=actor.user_id,
            actor_role=actor.role,
            actor_name=actor.name,
            subject_user_id=subject_user_id,
            profile_id=profile_id,
            detail=clean,
            ip=actor.ip,
            at=now,
        )


def _owner_of(session: Session, profile_id: int) -> int | None:
    try:
        return profile_store.get_profile(session, profile_id).user_id
    except NotFoundError:
        return None


def record_view(
    session: Session,
    actor: Actor,
    profile_id: int,
    *,
    part: str = "record",
    subject_user_id: int | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Record that ``actor`` looked at the record, unless they did within :data:`VIEW_EVERY`.

    Returns True when an event was written. Call it before the record is shown: a failure (the
    database busy past its timeout) is the request's failure, so no record is shown unlogged.
    """
    moment = now or utc_now()
    last = audit_store.latest_event_at(
        session,
        action=Action.RECORD_VIEWED,
        profile_id=profile_id,
        actor_user_id=actor.user_id,
        actor_role=actor.role,
    )
    if last is not None and moment - last < VIEW_EVERY:
        return False
    record(
        session,
        actor,
        Action.RECORD_VIEWED,
        profile_id=profile_id,
        subject_user_id=subject_user_id,
        detail={"part": part},
        now=moment,
    )
    return True


def record_export(session: Session, actor: Actor, profile_id: int, fmt: str) -> AuditEntry:
    """A download of the record (``fmt``: json, csv, pdf, report-pdf, fhir), recorded before it is made."""
    return record(session, actor, Action.EXPORT_DOWNLOADED, profile_id=profile_id, detail={"format": fmt})


def record_account_export(session: Session, user: UserInfo, ip: str | None = None) -> None:
    """The account's own "download all my data": one event per profile it holds (none: one without)."""
    actor = Actor.of(user, ip)
    profiles = profile_store.list_profiles(session, user_id=user.id)
    for profile in profiles:
        record(
            session,
            actor,
            Action.EXPORT_DOWNLOADED,
            profile_id=profile.id,
            subject_user_id=user.id,
            detail={"format": "json", "kind": "account"},
        )
    if not profiles:
        record(
            session,
            actor,
            Action.EXPORT_DOWNLOADED,
            subject_user_id=user.id,
            detail={"format": "json", "kind": "account"},
        )


def record_account_deletion(session: Session, user: UserInfo, profile_ids: Iterable[int]) -> None:
    """The account deleted by its owner: one event per profile it held (none: one without a profile)."""
    actor = Actor.of(user)
    ids: list[int | None] = list(profile_ids)
    for profile_id in ids or [None]:
        record_deletion(session, actor, "account", profile_id=profile_id, subject_user_id=user.id)


def record_deletion(
    session: Session,
    actor: Actor,
    kind: str,
    *,
    profile_id: int | None,
    record_id: int | None = None,
    subject_user_id: int | None = None,
) -> AuditEntry:
    """Something deleted from a record (``kind``: log, check, profile, account), in the same transaction
    as the deletion. Give ``subject_user_id`` when the profile is already gone."""
    detail: dict[str, Any] = {"kind": kind}
    if record_id is not None:
        detail["id"] = record_id
    return record(
        session,
        actor,
        Action.RECORD_DELETED,
        profile_id=profile_id,
        subject_user_id=subject_user_id,
        detail=detail,
    )


# ----- the person's own view: "who saw or changed my record" -------------------------------------


@dataclass(frozen=True)
class AccessLine:
    """One line of the person's "who saw or changed my record" page, in their time zone."""

    at: dt.datetime  # aware, in the person's zone
    who: str
    what: str
    action: str
    role: str


_WHAT = {
    Action.RECORD_VIEWED: "looked at your record",
    Action.PLAN_CHANGED: "changed your plan's settings",
    Action.PLAN_ADJUSTED: "adjusted your plan",
    Action.EXPORT_DOWNLOADED: "downloaded your data",
    Action.RECORD_DELETED: "deleted part of your record",
    Action.RED_FLAG_CLEARED: "cleared the warning signs of your screening after seeing you",
    Action.LINK_CREATED: "started sharing your record with a clinician",
    Action.LINK_REMOVED: "stopped sharing your record with a clinician",
}
_DELETED = {
    "log": "deleted a logged session",
    "check": "deleted a technique check",
    "profile": "deleted a profile",
    "account": "deleted the account",
}
_FORMATS = {
    "json": "as JSON",
    "csv": "as CSV tables",
    "pdf": "as a PDF",
    "report-pdf": "as a progress report",
    "fhir": "as a FHIR record (for a clinic's system)",
}
_ADJUSTED = {
    "withdrawn": "withdrew an earlier change to your plan",
    "resume": "resumed your paused plan",
}


def describe(entry: AuditEntry) -> str:
    """What happened, in words for the person (from the action and its kinds only)."""
    detail = entry.detail
    if entry.action == Action.RECORD_DELETED and detail.get("kind") in _DELETED:
        return _DELETED[str(detail["kind"])]
    if entry.action == Action.EXPORT_DOWNLOADED and detail.get("format") in _FORMATS:
        return f"downloaded your data {_FORMATS[str(detail['format'])]}"
    if entry.action == Action.PLAN_CHANGED and detail.get("kind") == "screening":
        return "set up your plan from a screening"
    if entry.action == Action.PLAN_ADJUSTED and detail.get("kind") in _ADJUSTED:
        return _ADJUSTED[str(detail["kind"])]
    if entry.action.startswith(ADMIN_PREFIX):
        return "an administrator's action on your account (" + entry.action[len(ADMIN_PREFIX) :] + ")"
    try:
        return _WHAT[Action(entry.action)]
    except ValueError:
        return entry.action


def who_label(entry: AuditEntry, viewer_user_id: int) -> str:
    """ "you", the clinician's name, "an administrator" or "the command line on this computer"."""
    if entry.actor_role == "cli":
        return "the command line on this computer"
    if entry.actor_role == "admin":
        return "an administrator"
    if entry.actor_user_id == viewer_user_id:
        return "you"
    return entry.actor_name or f"a {entry.actor_role}"


def _zone(name: str | None) -> dt.tzinfo:
    if name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return dt.UTC


def record_access(
    session: Session, viewer: UserInfo, profile: ProfileInfo, *, limit: int = 500
) -> list[AccessLine]:
    """The newest events about ``profile`` for its owner, newest first (NotFoundError for anyone else's:
    a person sees only their own log, and another profile's id answers like a missing one)."""
    if profile.user_id != viewer.id:
        raise NotFoundError("There is no such record among yours.")
    zone = _zone(profile.time_zone)
    return [
        AccessLine(
            at=entry.at.astimezone(zone),
            who=who_label(entry, viewer.id),
            what=describe(entry),
            action=entry.action,
            role=entry.actor_role,
        )
        for entry in audit_store.events_for_profile(session, profile.id, limit=limit)
    ]


# ----- the administrator's export ------------------------------------------------------------------

EXPORT_FIELDS = (
    "id",
    "at",
    "action",
    "actor_role",
    "actor_user_id",
    "actor_name",
    "subject_user_id",
    "profile_id",
    "ip",
    "detail",
)
EXPORT_FORMATS = ("csv", "jsonl")


def parse_day(text: str | None, what: str) -> dt.datetime | None:
    """A ``YYYY-MM-DD`` bound as the start of that day in UTC (None when not given)."""
    if text is None or not text.strip():
        return None
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{what} must be a date like 2026-01-31, got {text!r}.") from None
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "action": entry.action,
        "actor_role": entry.actor_role,
        "actor_user_id": entry.actor_user_id,
        "actor_name": entry.actor_name,
        "subject_user_id": entry.subject_user_id,
        "profile_id": entry.profile_id,
        "ip": entry.ip,
        "detail": entry.detail,
    }


def _csv_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text: no leading ``= + - @`` that it would run as a formula."""
    if isinstance(value, dict):
        value = json.dumps(value, sort_keys=True)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def export_lines(
    session: Session, fmt: str, *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> Iterator[str]:
    """The log in time order as CSV (with a header) or JSON Lines, one line at a time (streamed)."""
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"The audit export is {' or '.join(EXPORT_FORMATS)}, not {fmt!r}.")
    if since is not None and until is not None and until <= since:
        raise InputError("--until must be after --since.")
    events: Iterable[AuditEntry] = audit_store.iter_events(session, since=since, until=until)
    if fmt == "jsonl":
        for entry in events:
            yield json.dumps(_row(entry), sort_keys=True, ensure_ascii=False) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_FIELDS)  # the header is the first line, then one line per event
    for row in (_row(entry) for entry in events):
        yield _take(buffer)
        writer.writerow([_csv_cell(row[name]) for name in EXPORT_FIELDS])
    yield _take(buffer)


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def format_for(path: Path) -> str:
    """The export format a file name asks for: ``.csv`` or ``.jsonl`` (InputError otherwise)."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in EXPORT_FORMATS:
        raise InputError(f"{path.name}: give the audit export a name ending in .csv or .jsonl.")
    return suffix


def write_export(
    session: Session,
    path: Path,
    *,
    actor: Actor,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> tuple[Path, int]:
    """Stream the log into ``path`` (format from its suffix), readable by its owner only; returns the
    file and how many events it holds. Written beside and renamed over ``path``, so a failure half-way
    leaves no truncated export. The export itself is recorded (``admin.audit_exported``)."""
    fmt = format_for(path)
    target = path.expanduser()
    if target.is_dir():
        raise InputError(f"{target} is a folder; give a file name such as {target / 'audit.csv'}.")
    record(session, actor, "admin.audit_exported", detail={"format": fmt})
    count = 0
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
                for line in export_lines(session, fmt, since=since, until=until):
                    stream.write(line)
                    count += 1
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise InputError(f"Cannot write {target}: {error.strerror or error}.") from error
    return target, count - 1 if fmt == "csv" else count
