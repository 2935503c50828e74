"""The clinic side: invites that link a person to a clinician, the clinician's view of their people,
and the plan adjustments a clinician makes.

Access rule, enforced here and nowhere else: a clinician sees a profile only while it is linked to
them, and any other profile id answers exactly like a missing one (``NotFoundError``), so ids cannot be
probed. A person links by accepting an invite code (or link) and can stop sharing at any time.

Adjustments are standing instructions stored as ``PlanAdjustment`` rows: swap one exercise for another,
set an exercise's base dose, or move the person to a phase from a date.
:func:`kneefix.services.plan.adjusted_programme` folds the active ones into the content the planner
reads (:mod:`kneefix.programme.adjustments`), so the plan services show the adjusted plan everywhere
(page, API, CLI, calendar). Each adjustment also leaves a ``PlanChange`` from the clinician,
so the person reads "your clinician changed ..." beside the rules' own changes.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlalchemy.orm import Session

from kneefix.content.loader import Content
from kneefix.content.schemas import Protocol
from kneefix.errors import InputError, KneefixError, NotFoundError
from kneefix.programme.adjustments import adjusted_dose, protocol_exercises
from kneefix.programme.progress import ProgressSummary
from kneefix.programme.progression import DOSE_FIELDS
from kneefix.programme.records import PlanChange
from kneefix.services import audit, uploads
from kneefix.services.audit import Action, Actor
from kneefix.services.plan import (
    PlanRecords,
    adjusted_programme,
    clearance_text,
    plan_records_for,
    today_view,
)
from kneefix.services.progress import progress_summaries, progress_summary
from kneefix.storage import clinic as clinic_store
from kneefix.storage import plans as plan_store
from kneefix.storage import profiles as profile_store
from kneefix.storage import rates
from kneefix.storage import scores as score_store
from kneefix.storage import screenings as screening_store
from kneefix.storage import users as user_store
from kneefix.storage.columns import utc_now
from kneefix.storage.records import (
    InviteInfo,
    PlanAdjustmentEntry,
    ProfileInfo,
    ScreeningEntry,
    TechniqueCheckInfo,
    UserInfo,
)

INVITE_DAYS = 14
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: easy to read out and type
ADJUSTMENT_KINDS = ("swap", "dose", "phase", "resume")
SORT_KEYS = ("name", "adherence", "pain", "kujala", "flags", "technique", "activity")

AdjustmentKind = Literal["swap", "dose", "phase"]

INVITE_LIMITS = ((20, dt.timedelta(hours=1)), (100, dt.timedelta(days=1)))
"""Invites one clinician may create: at most 20 an hour and 100 a day (a person needs one each; a fuzzer
once made 1,839). Counted in ``rate_events`` under the bucket :data:`INVITE_BUCKET`."""
INVITE_BUCKET = "invite"


class InviteLimitError(InputError):
    """Too many invites created lately; the API answers 429 and the page says when to try again."""


# ----- invites -------------------------------------------------------------------------------


def new_invite_code() -> str:
    """Ten unambiguous characters in two groups (``K7MQP-3XRTA``): unguessable, easy to read out."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_code(code: str) -> str:
    """What a person typed, as the stored code: upper case, spaces dropped, the dash put back."""
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    if len(cleaned) != 10:
        raise InputError(
            "An invite code has ten letters and digits, like K7MQP-3XRTA. Check it and try again."
        )
    return f"{cleaned[:5]}-{cleaned[5:]}"


def create_invite(
    session: Session,
    clinician_id: int,
    *,
    note: str = "",
    now: dt.datetime | None = None,
    rate_limited: bool = True,
) -> InviteInfo:
    """A new single-use invite, valid for :data:`INVITE_DAYS` days (InviteLimitError past
    :data:`INVITE_LIMITS`; nothing is counted or created then). ``rate_limited=False`` is for the
    machine's owner setting up a clinic in one go (the demo), never for a request."""
    moment = now or utc_now()
    if rate_limited:
        _claim_invite(session, clinician_id, moment)
    for _ in range(5):
        code = new_invite_code()
        if clinic_store.find_invite(session, code) is None:
            break
    return clinic_store.create_invite(
        session,
        clinician_id,
        code=code,
        expires_at=moment + dt.timedelta(days=INVITE_DAYS),
        note=note.strip(),
    )


def _claim_invite(session: Session, clinician_id: int, moment: dt.datetime) -> None:
    """Count one invite, or refuse it past either limit.

    ``rates.claim`` checks the daily limit and counts this invite while holding the bucket's lock (the
    write lock on SQLite, an advisory lock on PostgreSQL, both held to the end of the transaction), so
    the hourly count read after it includes every invite counted before and cannot be raced. A refusal
    raises: the caller's transaction rolls back, and with it this invite's count.
    """
    key = str(clinician_id)
    (hourly, hour), (daily, day) = INVITE_LIMITS
    within_day = rates.claim(session, INVITE_BUCKET, key, limit=daily, window=day, now=moment)
    if within_day and rates.count_recent(session, INVITE_BUCKET, key, window=hour, now=moment) <= hourly:
        return
    limit, span = (daily, "day") if not within_day else (hourly, "hour")
    raise InviteLimitError(
        f"You have created {limit} invites in the last {span}, the most kneefix allows. Use or withdraw "
        "the open ones, or try again later; each person needs only one."
    )


def invite_path(invite: InviteInfo) -> str:
    """The in-app path a person opens to accept (the page turns it into a full link)."""
    return f"/invite/{invite.code}"


def list_invites(session: Session, clinician_id: int) -> list[InviteInfo]:
    return clinic_store.list_invites(session, clinician_id)


def withdraw_invite(session: Session, clinician_id: int, invite_id: int) -> None:
    clinic_store.delete_invite(session, clinician_id, invite_id)


@dataclass(frozen=True)
class InvitePreview:
    """What a person sees before accepting: who invites them and whether the code still works."""

    code: str
    clinician_name: str
    usable: bool
    problem: str | None


def preview_invite(session: Session, code: str, *, now: dt.datetime | None = None) -> InvitePreview:
    """Look an invite up without using it (NotFoundError for an unknown code)."""
    cleaned = normalise_code(code)
    invite = clinic_store.find_invite(session, cleaned)
    if invite is None:
        raise NotFoundError("That invite code does not exist; check it with your clinician.")
    clinician = user_store.get_user(session, invite.clinician_user_id)
    problem = None
    if invite.used_at is not None:
        problem = "This invite has already been used; ask your clinician for a new one."
    elif not invite.is_open(now or utc_now()):
        problem = "This invite has expired; ask your clinician for a new one."
    return InvitePreview(cleaned, clinician_label(clinician), problem is None, problem)


def accept_invite(
    session: Session, code: str, profile_id: int, *, now: dt.datetime | None = None, ip: str | None = None
) -> UserInfo:
    """Link the person's profile to the inviting clinician (recorded in the audit log); returns the
    clinician."""
    invite = clinic_store.redeem_invite(session, normalise_code(code), profile_id, now=now)
    _record_by_owner(session, profile_id, Action.LINK_CREATED, invite.clinician_user_id, ip)
    return user_store.get_user(session, invite.clinician_user_id)


def _record_by_owner(
    session: Session, profile_id: int, action: Action, clinician_id: int, ip: str | None
) -> UserInfo:
    """Record ``action`` on the link to ``clinician_id`` as done by the profile's owner (the person)."""
    owner = user_store.get_user(session, profile_store.get_profile(session, profile_id).user_id)
    audit.record(
        session,
        Actor.of(owner, ip, role="person"),
        action,
        profile_id=profile_id,
        subject_user_id=owner.id,
        detail={"clinician_user_id": clinician_id},
    )
    return owner


def my_clinicians(session: Session, profile_id: int) -> list[UserInfo]:
    """The clinicians a person shares their record with."""
    return clinic_store.profile_clinicians(session, profile_id)


def stop_sharing(session: Session, profile_id: int, clinician_id: int, *, ip: str | None = None) -> None:
    """The person withdraws a clinician's access (NotFoundError when they were not linked); recorded."""
    if not clinic_store.unlink_clinician(session, clinician_id, profile_id):
        raise NotFoundError("You do not share your record with that clinician.")
    _record_by_owner(session, profile_id, Action.LINK_REMOVED, clinician_id, ip)


def clinician_label(user: UserInfo) -> str:
    return user.display_name or user.email or f"Clinician {user.id}"


# ----- access --------------------------------------------------------------------------------


def linked_profile(session: Session, clinician_id: int, profile_id: int) -> ProfileInfo:
    """The profile if it is linked to this clinician; otherwise the same answer as a missing one."""
    if not clinic_store.is_linked(session, clinician_id, profile_id):
        raise NotFoundError(f"There is no person with id {profile_id} among your people.")
    return profile_store.get_profile(session, profile_id)


def view_profile(
    session: Session, clinician_id: int, profile_id: int, *, ip: str | None = None, part: str = "record"
) -> ProfileInfo:
    """:func:`linked_profile`, and the view recorded in the audit log (throttled, before anything is
    shown: see :func:`kneefix.services.audit.record_view`). Every clinician read of a record uses it."""
    profile = linked_profile(session, clinician_id, profile_id)
    clinician = user_store.get_user(session, clinician_id)
    audit.record_view(
        session,
        Actor.of(clinician, ip, role="clinician"),
        profile_id,
        part=part,
        subject_user_id=profile.user_id,
    )
    return profile


def record_export(
    session: Session, clinician_id: int, profile_id: int, fmt: str, *, ip: str | None = None
) -> ProfileInfo:
    """:func:`linked_profile`, and the clinician's download (``fmt``: pdf, report-pdf) recorded first."""
    profile = linked_profile(session, clinician_id, profile_id)
    clinician = user_store.get_user(session, clinician_id)
    audit.record(
        session,
        Actor.of(clinician, ip, role="clinician"),
        Action.EXPORT_DOWNLOADED,
        profile_id=profile_id,
        subject_user_id=profile.user_id,
        detail={"format": fmt},
    )
    return profile


def person_label(session: Session, profile: ProfileInfo) -> str:
    """The name a clinician knows a person by: their account's display name, else email, else profile."""
    owner = user_store.get_user(session, profile.user_id)
    return owner.display_name or owner.email or profile.name


# ----- the dashboard -------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonRow:
    """One line of the clinician's table. ``None`` means "nothing recorded yet"."""

    profile_id: int
    name: str
    email: str | None
    started: bool
    kujala: float | None
    kujala_change: float | None
    kujala_date: dt.date | None
    red_flags: tuple[str, ...]
    technique: str | None
    technique_date: dt.date | None
    last_activity: dt.date | None
    phase: str | None = None
    adherence_pct: float | None = None
    pain_recent: float | None = None  # mean pain during sessions in the latest week with any
    pain_slope: float | None = None  # points per week, negative = easing
    pain_trend: str = "unknown"  # easing | rising | steady | unknown
    reassess: bool = False
    paused_reason: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def attention(self) -> bool:
        """A paused plan, red flags, a worsening trend or a reassessment flag: look at these first."""
        return (
            bool(self.red_flags) or self.reassess or self.pain_trend == "rising" or bool(self.paused_reason)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile_id": self.profile_id,
            "name": self.name,
            "email": self.email,
            "started": self.started,
            "phase": self.phase,
            "adherence_pct": self.adherence_pct,
            "pain_recent": self.pain_recent,
            "pain_slope": self.pain_slope,
            "pain_trend": self.pain_trend,
            "kujala": self.kujala,
            "kujala_change": self.kujala_change,
            "kujala_date": self.kujala_date.isoformat() if self.kujala_date else None,
            "red_flags": list(self.red_flags),
            "reassess": self.reassess,
            "paused_reason": self.paused_reason,
            "attention": self.attention,
            "technique": self.technique,
            "technique_date": self.technique_date.isoformat() if self.technique_date else None,
            "last_activity": self.last_activity.isoformat() if self.last_activity else None,
            "notes": list(self.notes),
        }


STEADY_SLOPE = 0.25  # points per week; smaller changes read as "steady"


def trend_word(slope: float | None) -> str:
    if slope is None:
        return "unknown"
    if slope <= -STEADY_SLOPE:
        return "easing"
    if slope >= STEADY_SLOPE:
        return "rising"
    return "steady"


def red_flag_titles(content: Content, flag_ids: Sequence[str]) -> tuple[str, ...]:
    titles = {flag.id: flag.title for flag in content.red_flags}
    return tuple(titles.get(flag, flag.replace("_", " ")) for flag in flag_ids)


RECENT_CHECKS = 5
"""The newest technique checks a row looks through for the latest finished one."""


@dataclass(frozen=True)
class _PersonRecords:
    """What one line of the table is built from."""

    records: PlanRecords
    owner: UserInfo
    checks: tuple[TechniqueCheckInfo, ...]  # the newest few, newest first
    progress: ProgressSummary | KneefixError | None  # None: no plan yet; an error: it cannot be built


def _read_people(
    session: Session, content: Content, profiles: Sequence[ProfileInfo], today: dt.date
) -> list[_PersonRecords]:
    """Everything the rows of these people show, in a few queries for all of them together.

    Reading person by person cost some twenty statements a person (a page of fifty sent over a
    thousand); each kind of record is read once for the whole table here instead.
    """
    records = plan_records_for(session, profiles)
    owners = user_store.users_by_id(session, (profile.user_id for profile in profiles))
    checks = uploads.recent_checks_for(session, [profile.id for profile in profiles], limit=RECENT_CHECKS)
    started = [records[profile.id] for profile in profiles if profile.settings is not None]
    progress = progress_summaries(session, content, started, today)
    return [
        _PersonRecords(
            records[profile.id], owners[profile.user_id], tuple(checks[profile.id]), progress.get(profile.id)
        )
        for profile in profiles
    ]


def _row(content: Content, person: _PersonRecords) -> PersonRow:
    """The dashboard line for one person, from the same summary as their own progress page."""
    profile, records = person.records.profile, person.records
    screening = records.latest_screening
    # cleared flags no longer ask for the clinician's attention; the note says who cleared them
    flags = red_flag_titles(content, screening.red_flags) if screening and screening.stops_the_plan else ()
    cleared = clearance_text(screening) if screening is not None and screening.flags_cleared else ""
    kujala_scores = [score for score in records.scores if score.instrument == "kujala"]
    latest_kujala = kujala_scores[-1] if kujala_scores else None
    checks = [check for check in person.checks if check.status == "done"]
    latest_check = checks[0] if checks else None
    last_activity = max((log.date for log in records.logs), default=None)
    owner = person.owner
    first_kujala = kujala_scores[0].score if kujala_scores else None
    row = PersonRow(
        profile_id=profile.id,
        name=owner.display_name or owner.email or profile.name,
        email=owner.email,
        started=profile.settings is not None,
        kujala=latest_kujala.score if latest_kujala else None,
        kujala_change=None
        if latest_kujala is None or first_kujala is None or len(kujala_scores) < 2
        else round(latest_kujala.score - first_kujala, 1),
        kujala_date=latest_kujala.date if latest_kujala else None,
        red_flags=flags,
        technique=(latest_check.summary or {}).get("headline") if latest_check else None,
        technique_date=latest_check.created_at.date() if latest_check else None,
        last_activity=last_activity,
    )
    summary = person.progress
    if summary is None:  # no plan yet
        note = "Stopped at screening: see the red flags." if flags else "Has not finished screening yet."
        return replace(row, notes=(note, cleared) if cleared else (note,))
    if isinstance(summary, KneefixError):  # a plan that cannot be built must not hide the rest of the table
        return replace(row, notes=(str(summary),))
    recent = [week.pain_during for week in summary.weeks if week.pain_during is not None]
    slope = summary.pain_slopes.get("pain_during")
    return replace(
        row,
        phase=f"{summary.phase_index + 1}/{summary.phase_count} {summary.phase_name}",
        adherence_pct=summary.adherence_pct,
        pain_recent=round(recent[-1], 1) if recent else None,
        pain_slope=None if slope is None else round(slope, 2),
        pain_trend=trend_word(slope),
        reassess=summary.reassess or summary.paused_reason is not None,
        paused_reason=summary.paused_reason,
        notes=(*summary.messages, cleared) if cleared else tuple(summary.messages),
    )


def person_row(session: Session, content: Content, profile: ProfileInfo, today: dt.date) -> PersonRow:
    """The dashboard line for one person (the headline of their full picture)."""
    return _row(content, _read_people(session, content, [profile], today)[0])


def _sort_value(row: PersonRow, key: str) -> tuple[int, Any]:
    """Missing values always sort last, whichever the direction."""
    value: Any
    if key == "name":
        value = row.name.lower()
    elif key == "adherence":
        value = row.adherence_pct
    elif key == "pain":
        value = row.pain_recent
    elif key == "kujala":
        value = row.kujala
    elif key == "flags":  # a paused plan weighs like a red flag: both need the clinician now
        value = len(row.red_flags) + (1 if row.reassess else 0) + (1 if row.paused_reason else 0)
    elif key == "technique":
        value = row.technique_date.toordinal() if row.technique_date else None
    else:
        value = row.last_activity.toordinal() if row.last_activity else None
    return (1, 0) if value is None else (0, value)


def sort_rows(rows: Sequence[PersonRow], key: str = "name", descending: bool = False) -> list[PersonRow]:
    """Sort by one column; people with nothing in that column stay at the bottom."""
    if key not in SORT_KEYS:
        raise InputError(f"Sort by one of {', '.join(SORT_KEYS)} (got {key!r}).")
    present = [row for row in rows if _sort_value(row, key)[0] == 0]
    missing = [row for row in rows if _sort_value(row, key)[0] == 1]
    present.sort(key=lambda row: _sort_value(row, key)[1], reverse=descending)
    missing.sort(key=lambda row: row.name.lower())
    return present + missing


def dashboard(
    session: Session,
    content: Content,
    clinician_id: int,
    today: dt.date,
    *,
    sort: str = "name",
    descending: bool = False,
) -> list[PersonRow]:
    """The clinician's people, one row each, sorted by the chosen column."""
    user_store.require_role(session, clinician_id, "clinician")
    profiles = clinic_store.linked_profiles(session, clinician_id)
    rows = [_row(content, person) for person in _read_people(session, content, profiles, today)]
    return sort_rows(rows, sort, descending)


# ----- plan adjustments ----------------------------------------------------------------------


def _require_positive(payload: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    value = payload.get(name)
    if value in (None, ""):
        return None
    try:
        number = int(str(value))
    except ValueError:
        raise InputError(f"{name.replace('_', ' ')} must be a whole number, got {value!r}.") from None
    if not low <= number <= high:
        raise InputError(f"{name.replace('_', ' ')} must be between {low} and {high}, got {number}.")
    return number


_DOSE_RANGES = {"sets": (1, 10), "reps": (1, 50), "hold_s": (1, 600), "duration_s": (5, 900)}


def _check_adjustment(
    content: Content, protocol: Protocol, kind: str, payload: Mapping[str, Any], today: dt.date
) -> tuple[dict[str, Any], str]:
    """A clean payload and the sentence the person will read, or InputError saying what is wrong."""
    names = {ex_id: ex.name for ex_id, ex in content.exercises.items()}
    if kind == "swap":
        old, new = str(payload.get("from") or ""), str(payload.get("to") or "")
        if old not in protocol_exercises(protocol):
            raise InputError("Choose an exercise from the person's programme to replace.")
        if new not in names:
            raise InputError("Choose the exercise to use instead from the list.")
        if old == new:
            raise InputError("Choose a different exercise to use instead.")
        return {"from": old, "to": new}, f"Your clinician replaced {names[old]} with {names[new]}."
    if kind == "dose":
        exercise = str(payload.get("exercise") or "")
        if exercise not in names:
            raise InputError("Choose which exercise's dose to change.")
        clean: dict[str, Any] = {"exercise": exercise}
        for name, (low, high) in _DOSE_RANGES.items():
            value = _require_positive(payload, name, low, high)
            if value is not None:
                clean[name] = value
        if len(clean) == 1:
            raise InputError("Give at least one of sets, reps, hold (s) or duration (s).")
        adjusted_dose(content.exercises[exercise].dose, clean)
        parts = [
            f"{clean[key]} {label}"
            for key, label in (("sets", "sets"), ("reps", "reps"), ("hold_s", "s holds"), ("duration_s", "s"))
            if key in clean
        ]
        return clean, f"Your clinician set {names[exercise]} to {', '.join(parts)} (before phase scaling)."
    if kind == "phase":
        phases = {phase.id: phase for phase in protocol.phases}
        phase_id = str(payload.get("phase") or "")
        if phase_id not in phases:
            raise InputError(f"Choose a phase: {', '.join(phases)}.")
        start = today  # from now on: the sessions already done stay as they were
        number = list(phases).index(phase_id) + 1
        text = (
            f"Your clinician moved you to phase {number}, {phases[phase_id].name}, from {start.isoformat()}."
        )
        return {"phase": phase_id, "start": start.isoformat()}, text
    if kind == "resume":
        text = "Your clinician reviewed your knee and resumed your plan."
        return {"date": today.isoformat()}, text
    raise InputError(f"An adjustment is one of {', '.join(ADJUSTMENT_KINDS)}, not {kind!r}.")


def _clinician_change_kind(
    protocol: Protocol, kind: str, clean: Mapping[str, Any], current_phase: int
) -> str:
    """The plan-change kind a person reads: a phase move up or down, else a shift made by hand."""
    if kind != "phase":
        return "shift"
    ids = [phase.id for phase in protocol.phases]
    return "advance" if ids.index(str(clean["phase"])) > current_phase else "regress"


def _protocol_of(session: Session, content: Content, profile: ProfileInfo) -> Protocol:
    if profile.settings is None:
        raise InputError(
            "This person has no plan yet (screening not finished), so there is nothing to adjust."
        )
    try:
        return content.protocols[profile.settings.protocol_id]
    except KeyError:
        raise InputError(f"The programme {profile.settings.protocol_id!r} is not available.") from None


def adjust_plan(
    session: Session,
    content: Content,
    clinician_id: int,
    profile_id: int,
    kind: str,
    payload: Mapping[str, Any],
    *,
    note: str = "",
    today: dt.date,
    ip: str | None = None,
) -> PlanAdjustmentEntry:
    """Record a clinician's adjustment and tell the person about it in their plan's history (and in the
    audit log)."""
    profile = linked_profile(session, clinician_id, profile_id)
    adjusted = adjusted_programme(
        session, content, profile.settings.protocol_id if profile.settings else "", profile_id
    )
    protocol = _protocol_of(session, adjusted.content, profile)
    clean, explanation = _check_adjustment(adjusted.content, protocol, kind, payload, today)
    note = note.strip()
    if kind == "resume":
        from kneefix.services.plan import plan_state

        if not plan_state(session, content, profile_id, today).paused:
            raise InputError("This person's plan is not paused, so there is nothing to resume.")
        # the replay records the resume itself (with the note), from this adjustment
        resumed = plan_store.add_plan_adjustment(
            session, profile_id, clinician_user_id=clinician_id, kind=kind, payload=clean, note=note
        )
        _record_adjustment(session, clinician_id, profile, resumed, "resume", ip)
        return resumed
    current_phase = 0
    if kind == "phase":
        from kneefix.services.plan import plan_state

        current_phase = plan_state(session, content, profile_id, today).phase_index
    entry = plan_store.add_plan_adjustment(
        session, profile_id, clinician_user_id=clinician_id, kind=kind, payload=clean, note=note
    )
    clinician = user_store.get_user(session, clinician_id)
    text = explanation + (f" Their note: {note}" if note else "")
    change = PlanChange(
        date=today,
        rule_id=f"clinician.{kind}",
        kind=_clinician_change_kind(protocol, kind, clean, current_phase),
        explanation=text,
        details={**clean, "adjustment_id": entry.id, "clinician": clinician_label(clinician)},
    )
    plan_store.add_plan_changes(
        session, profile_id, [change], source="clinician", clinician_user_id=clinician_id
    )
    _record_adjustment(session, clinician_id, profile, entry, "made", ip, clinician)
    return entry


def _record_adjustment(
    session: Session,
    clinician_id: int,
    profile: ProfileInfo,
    entry: PlanAdjustmentEntry,
    what: str,
    ip: str | None,
    clinician: UserInfo | None = None,
) -> None:
    who = clinician or user_store.get_user(session, clinician_id)
    audit.record(
        session,
        Actor.of(who, ip, role="clinician"),
        Action.PLAN_ADJUSTED,
        profile_id=profile.id,
        subject_user_id=profile.user_id,
        detail={"kind": what, "adjustment_kind": entry.kind, "id": entry.id},
    )


def list_adjustments(session: Session, clinician_id: int, profile_id: int) -> list[PlanAdjustmentEntry]:
    linked_profile(session, clinician_id, profile_id)
    return plan_store.list_plan_adjustments(session, profile_id, active_only=False)


def withdraw_adjustment(
    session: Session,
    content: Content,
    clinician_id: int,
    profile_id: int,
    adjustment_id: int,
    *,
    today: dt.date,
    ip: str | None = None,
) -> PlanAdjustmentEntry:
    """Switch an adjustment off; the plan goes back to the rules (and the person is told)."""
    profile = linked_profile(session, clinician_id, profile_id)
    entry = plan_store.set_plan_adjustment_active(session, profile_id, adjustment_id, False)
    clinician = user_store.get_user(session, clinician_id)
    change = PlanChange(
        date=today,
        rule_id=f"clinician.{entry.kind}.withdrawn",
        kind="clinician",
        explanation=f"Your clinician withdrew an earlier change ({describe_adjustment(content, entry)}).",
        details={"adjustment_id": entry.id, "clinician": clinician_label(clinician)},
    )
    plan_store.add_plan_changes(
        session, profile_id, [change], source="clinician", clinician_user_id=clinician_id
    )
    _record_adjustment(session, clinician_id, profile, entry, "withdrawn", ip, clinician)
    return entry


def describe_adjustment(content: Content, entry: PlanAdjustmentEntry) -> str:
    """One line for lists of adjustments."""
    payload = entry.payload
    names = {ex_id: ex.name for ex_id, ex in content.exercises.items()}
    if entry.kind == "swap":
        old, new = str(payload.get("from")), str(payload.get("to"))
        return f"{names.get(old, old)} replaced by {names.get(new, new)}"
    if entry.kind == "dose":
        exercise = str(payload.get("exercise"))
        parts = [f"{key.replace('_s', ' (s)')} {payload[key]}" for key in DOSE_FIELDS if key in payload]
        return f"{names.get(exercise, exercise)}: {', '.join(parts)}"
    if entry.kind == "phase":
        return f"phase {payload.get('phase')} from {payload.get('start')}"
    if entry.kind == "resume":
        return f"plan resumed on {payload.get('date')}"
    return entry.kind


def adjustment_view(content: Content, entry: PlanAdjustmentEntry) -> dict[str, Any]:
    """An adjustment as the clinician's pages and API show it."""
    return {
        "id": entry.id,
        "kind": entry.kind,
        "payload": entry.payload,
        "note": entry.note,
        "active": entry.active,
        "created_at": entry.created_at.isoformat(),
        "description": describe_adjustment(content, entry),
    }


def clinician_changes(session: Session, profile_id: int) -> list[PlanChange]:
    """The plan changes clinicians made for this person, oldest first."""
    return plan_store.list_plan_changes(session, profile_id, source="clinician")


# ----- one person's full picture -------------------------------------------------------------


def person_overview(
    session: Session,
    content: Content,
    clinician_id: int,
    profile_id: int,
    today: dt.date,
    *,
    ip: str | None = None,
) -> dict[str, Any]:
    """Everything a clinician sees about one linked person, JSON-ready (the page renders the same).

    The view is recorded in the audit log first (:func:`view_profile`)."""
    from kneefix.storage import logs as log_store

    profile = view_profile(session, clinician_id, profile_id, ip=ip)
    row = person_row(session, content, profile, today)
    screening = screening_store.latest_screening(session, profile_id)
    overview: dict[str, Any] = {
        "row": row.to_dict(),
        "profile": {
            "id": profile.id,
            "name": row.name,
            "birth_year": profile.birth_year,
            "settings": None
            if profile.settings is None
            else {
                "equipment": sorted(profile.settings.equipment),
                "days_per_week": profile.settings.days_per_week,
                "runs": profile.settings.runs,
                "start_date": profile.settings.start_date.isoformat(),
                "protocol_id": profile.settings.protocol_id,
                "guideline_additions": profile.settings.guideline_additions,
            },
        },
        "screening": None
        if screening is None
        else {
            "taken_at": screening.taken_at.isoformat(),
            "verdict": screening.verdict,
            "red_flags": list(red_flag_titles(content, screening.red_flags)),
            "messages": list(screening.messages),
            "id": screening.id,
            "refer_now": screening.verdict == "refer_now",
            "cleared": None
            if screening.cleared_at is None
            else {
                "at": screening.cleared_at.isoformat(),
                "by": screening.cleared_by_name,
                "note": screening.clearance_note,
                "text": clearance_text(screening),
            },
        },
        "logs": [
            {
                "id": log.id,
                "date": log.date.isoformat(),
                "completed": log.completed,
                "pain_during": log.pain_during,
                "pain_after": log.pain_after,
                "next_morning_pain": log.next_morning_pain,
                "note": log.note,
                "kind": log.kind,
                "run_minutes": log.run_minutes,
                "run_distance_km": log.run_distance_km,
                "hurt": list(log.hurt),
            }
            for log in reversed(log_store.list_logs(session, profile_id))
        ],
        "scores": [
            {"instrument": s.instrument, "date": s.date.isoformat(), "score": s.score}
            for s in score_store.list_scores(session, profile_id)
        ],
        "changes": [
            {
                "date": entry.change.date.isoformat(),
                "source": entry.source,
                "kind": entry.change.kind,
                "explanation": entry.change.explanation,
            }
            for entry in reversed(plan_store.list_plan_change_entries(session, profile_id))
        ],
        "adjustments": [
            adjustment_view(content, entry)
            for entry in reversed(plan_store.list_plan_adjustments(session, profile_id, active_only=False))
        ],
        "checks": [uploads.check_view(check) for check in uploads.list_checks(session, profile_id, limit=20)],
        "progress": None,
        "today": None,
    }
    if profile.settings is not None:
        try:
            overview["progress"] = progress_summary(session, content, profile_id, today).to_dict()
            overview["today"] = today_view(session, content, profile_id, today).to_dict()
        except KneefixError as error:
            overview["problem"] = str(error)
    return overview


def adjustment_choices(
    session: Session, content: Content, clinician_id: int, profile_id: int
) -> dict[str, Any]:
    """What the adjust-plan form offers: the programme's exercises, every exercise, the phases."""
    profile = linked_profile(session, clinician_id, profile_id)
    if profile.settings is None:
        return {"in_plan": [], "all": [], "phases": []}
    adjusted = adjusted_programme(session, content, profile.settings.protocol_id, profile_id)
    protocol = _protocol_of(session, adjusted.content, profile)
    in_plan = sorted(protocol_exercises(protocol))
    exercises = adjusted.content.exercises
    return {
        "in_plan": [
            {"id": ex, "name": exercises[ex].name, "step": exercises[ex].step}
            for ex in in_plan
            if ex in exercises
        ],
        "all": [
            {"id": ex.id, "name": ex.name, "step": ex.step}
            for ex in sorted(exercises.values(), key=lambda e: (e.step, e.name))
        ],
        "phases": [
            {"id": phase.id, "name": phase.name, "number": i + 1} for i, phase in enumerate(protocol.phases)
        ],
        "doses": {ex: exercises[ex].dose.model_dump() for ex in in_plan if ex in exercises},
    }


# ----- a clinician clears a screening's red flags --------------------------------------------


def clear_red_flags(
    session: Session,
    clinician_id: int,
    profile_id: int,
    screening_id: int,
    *,
    note: str,
    today: dt.date,
    now: dt.datetime | None = None,
    ip: str | None = None,
) -> ScreeningEntry:
    """A linked clinician saw the person and clears the red flags of their latest screening.

    Only that screening's flags: the answers and flags stay on record with who cleared them, when and
    why (the note, required), and a later screening with red flags pauses the plan again. The plan's
    pause ends on the day of the clearance (:func:`kneefix.services.plan.programme_records`). Refused
    (InputError) for an older screening, one without red flags, or one already cleared; NotFoundError
    for anyone not linked to this clinician, the person themselves included.
    """
    profile = linked_profile(session, clinician_id, profile_id)
    clinician = user_store.require_role(session, clinician_id, "clinician")
    latest = screening_store.latest_screening(session, profile_id)
    if latest is None or latest.id != screening_id:
        raise InputError(
            "Only the latest screening's red flags can be cleared: this person has screened again "
            "since. Reload the page to see the latest one."
        )
    if latest.verdict != "refer_now":
        raise InputError("This screening raised no red flags, so there is nothing to clear.")
    if latest.flags_cleared:
        raise InputError(clearance_text(latest) + " There is nothing more to clear.")
    note = note.strip()
    if not note:
        raise InputError("Write a note for the person: what you found when you saw them.")
    moment = now or utc_now()
    if moment.date() != today:  # a pinned "today" (tests, demos): the clearance happens on that day
        moment = dt.datetime.combine(today, dt.time(12, 0), tzinfo=dt.UTC)
    moment = max(moment, latest.taken_at)  # never before the screening it clears
    cleared = screening_store.clear_red_flags(
        session,
        profile_id,
        screening_id,
        cleared_at=moment,
        cleared_by_user_id=clinician_id,
        cleared_by_name=clinician_label(clinician),
        note=note,
    )
    audit.record(
        session,
        Actor.of(clinician, ip, role="clinician"),
        Action.RED_FLAG_CLEARED,
        profile_id=profile_id,
        subject_user_id=profile.user_id,
        detail={"screening_id": screening_id},
    )
    return cleared
