"""The database tables, as SQLAlchemy 2 declarative models.

The schema is built for the multi-user web app from the start: every coached person is a ``Profile``
owned by a ``User``; the command line simply uses one implicit local user. Deleting a user or a
profile removes everything hanging off it (``ON DELETE CASCADE`` in the database itself, so even a
raw SQL delete cannot leave orphans).

These classes never leave the storage package: the repository functions turn rows into the plain
records in :mod:`kneefix.programme.records` and :mod:`kneefix.storage.records`.

Any change here needs a new migration in ``storage/migrations/versions/``; a test compares the two.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kneefix.limits import DAYS_MAX, DAYS_MIN
from kneefix.programme.records import LOG_KIND_RUN, LOG_KIND_SESSION, LOG_KINDS
from kneefix.storage.columns import JsonColumn, UTCDateTime, utc_now

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Tables that live in a kneefix database but are not these models: Procrastinate's queue tables
#: on PostgreSQL (migration 0005). Comparing models with the database leaves them out.
QUEUE_TABLE_PREFIX = "procrastinate_"


def is_model_object(name: str | None, type_: str, _parent_names: Any) -> bool:
    """Alembic ``include_name`` hook: compare only kneefix's own tables with the models."""
    return not (type_ == "table" and name is not None and name.startswith(QUEUE_TABLE_PREFIX))


ROLES = ("person", "clinician")
INSTRUMENTS = ("kujala", "nprs")
CHANGE_SOURCES = ("rules", "clinician")
CHECK_STATUSES = ("queued", "running", "done", "failed")
REMINDER_STATUSES = ("sending", "sent", "failed")
MAX_RUN_MINUTES = 600
MAX_RUN_DISTANCE_KM = 100
RUN_MINUTES_CHECK = f"run_minutes IS NULL OR (run_minutes > 0 AND run_minutes <= {MAX_RUN_MINUTES})"
RUN_DISTANCE_CHECK = (
    f"run_distance_km IS NULL OR (run_distance_km > 0 AND run_distance_km <= {MAX_RUN_DISTANCE_KM})"
)
# Time and distance belong to runs; a training session never carries them.
RUN_FIELDS_CHECK = f"kind = '{LOG_KIND_RUN}' OR (run_minutes IS NULL AND run_distance_km IS NULL)"


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    """Shared metadata with a naming convention, so later migrations can name constraints."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    """Someone who signs in (web) or the implicit owner of the command line's profiles."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(512))
    role: Mapped[str] = mapped_column(String(20), default="person")
    # Set only for accounts without sign-in that live on this machine ("local" for the CLI user).
    local_name: Mapped[str | None] = mapped_column(String(50), unique=True)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    # An administrator approves clinicians and reads the audit log; orthogonal to the role.
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # "clinician" while someone who asked to be a clinician waits for an administrator's approval
    # (their role stays "person" until then); NULL otherwise.
    requested_role: Mapped[str | None] = mapped_column(String(20))


DAYS_PER_WEEK_CHECK = f"days_per_week IS NULL OR (days_per_week BETWEEN {DAYS_MIN} AND {DAYS_MAX})"

REMINDER_TIME_CHECK = (
    "reminder_time IS NULL OR (length(reminder_time) = 5 AND substr(reminder_time, 3, 1) = ':' "
    "AND substr(reminder_time, 1, 2) BETWEEN '00' AND '23' "
    "AND substr(reminder_time, 4, 2) BETWEEN '00' AND '59')"
)
"""``HH:MM`` in 24-hour time (the migration repeats it as written, as migrations must)."""


class Profile(Base):
    """A person being coached, with the settings the plan adapts to as plain columns."""

    __tablename__ = "profiles"
    __table_args__ = (
        UniqueConstraint("user_id", "name", name="uq_profiles_user_id_name"),
        CheckConstraint(DAYS_PER_WEEK_CHECK, name="days_per_week"),
        CheckConstraint(REMINDER_TIME_CHECK, name="reminder_time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    # Settings stay NULL until the first screening sets them.
    equipment: Mapped[list[str] | None] = mapped_column(JsonColumn)
    days_per_week: Mapped[int | None] = mapped_column(Integer)
    runs: Mapped[bool | None] = mapped_column(Boolean)
    training_weekdays: Mapped[list[int] | None] = mapped_column(JsonColumn)
    protocol_id: Mapped[str] = mapped_column(String(100), default="runners_knee")
    guideline_additions: Mapped[bool] = mapped_column(Boolean, default=True)
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    # The subscribable calendar: the hash of its URL's secret (None: no feed) and the reminder time.
    calendar_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    reminder_time: Mapped[str | None] = mapped_column(String(5))
    # What the calendar last handed out carried: its digest, and the SEQUENCE and DTSTAMP of its events.
    calendar_digest: Mapped[str | None] = mapped_column(String(64))
    calendar_sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    calendar_stamp: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    calendar_events: Mapped[dict[str, str] | None] = mapped_column(JsonColumn)  # uid -> ISO date
    # The IANA zone "today" and reminders follow (None: the server's clock); reminder emails wanted.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    email_reminders: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now, onupdate=utc_now)


class Screening(Base):
    """One run of the screening questions and the verdict it gave."""

    __tablename__ = "screenings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), index=True)
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    answers: Mapped[dict[str, Any]] = mapped_column(JsonColumn)
    verdict: Mapped[str] = mapped_column(String(40))
    red_flags: Mapped[list[str]] = mapped_column(JsonColumn)
    messages: Mapped[list[str]] = mapped_column(JsonColumn)
    # A clinician who saw the person may clear the red flags of this screening (kept, with a note).
    # No foreign key, so the record of who cleared it outlives that clinician's account.
    cleared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cleared_by_user_id: Mapped[int | None] = mapped_column(Integer)
    cleared_by_name: Mapped[str | None] = mapped_column(String(200))
    clearance_note: Mapped[str | None] = mapped_column(Text)


class Score(Base):
    """A questionnaire result (Kujala AKPS 0-100 or NPRS 0-10)."""

    __tablename__ = "scores"
    __table_args__ = (
        CheckConstraint(_in("instrument", INSTRUMENTS), name="instrument"),
        Index("ix_scores_profile_id_instrument_date", "profile_id", "instrument", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    instrument: Mapped[str] = mapped_column(String(20))
    date: Mapped[dt.date] = mapped_column(Date)
    score: Mapped[float] = mapped_column(Float)
    answers: Mapped[list[str]] = mapped_column(JsonColumn)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class SessionLogRow(Base):
    """A training session or a return-to-running run, as done (or missed).

    ``kind`` tells the two apart (``session`` or ``run``); only runs carry ``run_minutes`` and
    ``run_distance_km``. ``hurt`` lists the exercises the person marked "this hurt". ``request_id``
    lets a double-submitted form land once.
    """

    __tablename__ = "session_logs"
    __table_args__ = (
        CheckConstraint("completed >= 0 AND completed <= 1", name="completed"),
        CheckConstraint("pain_during IS NULL OR (pain_during BETWEEN 0 AND 10)", name="pain_during"),
        CheckConstraint("pain_after IS NULL OR (pain_after BETWEEN 0 AND 10)", name="pain_after"),
        CheckConstraint(
            "next_morning_pain IS NULL OR (next_morning_pain BETWEEN 0 AND 10)", name="next_morning_pain"
        ),
        CheckConstraint(_in("kind", LOG_KINDS), name="kind"),
        CheckConstraint(RUN_MINUTES_CHECK, name="run_minutes"),
        CheckConstraint(RUN_DISTANCE_CHECK, name="run_distance_km"),
        CheckConstraint(RUN_FIELDS_CHECK, name="run_fields"),
        UniqueConstraint("profile_id", "request_id", name="uq_session_logs_profile_id_request_id"),
        Index("ix_session_logs_profile_id_date", "profile_id", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    completed: Mapped[float] = mapped_column(Float)
    pain_during: Mapped[int | None] = mapped_column(Integer)
    pain_after: Mapped[int | None] = mapped_column(Integer)
    next_morning_pain: Mapped[int | None] = mapped_column(Integer)
    exercises_done: Mapped[list[str]] = mapped_column(JsonColumn)
    note: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now, onupdate=utc_now)
    kind: Mapped[str] = mapped_column(
        String(10), default=LOG_KIND_SESSION, server_default=text(f"'{LOG_KIND_SESSION}'")
    )
    hurt: Mapped[list[str]] = mapped_column(JsonColumn, default=list, server_default=text("'[]'"))
    run_minutes: Mapped[float | None] = mapped_column(Float)
    run_distance_km: Mapped[float | None] = mapped_column(Float)


class RunCheckRow(Base):
    """The return-to-running readiness check: pain (0-10) on a brisk walk and on single-leg hops."""

    __tablename__ = "run_checks"
    __table_args__ = (
        CheckConstraint("walk_pain BETWEEN 0 AND 10", name="walk_pain"),
        CheckConstraint("hop_pain BETWEEN 0 AND 10", name="hop_pain"),
        Index("ix_run_checks_profile_id_date", "profile_id", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    walk_pain: Mapped[int] = mapped_column(Integer)
    hop_pain: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class PlanChangeRow(Base):
    """A change to the plan, made by the progression rules or by a linked clinician."""

    __tablename__ = "plan_changes"
    __table_args__ = (
        CheckConstraint(_in("source", CHANGE_SOURCES), name="source"),
        Index("ix_plan_changes_profile_id_date", "profile_id", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    rule_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    explanation: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JsonColumn)
    source: Mapped[str] = mapped_column(String(20), default="rules")
    clinician_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class PlanAdjustment(Base):
    """A clinician's standing instruction for a plan (swap an exercise, change a dose or phase)."""

    __tablename__ = "plan_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), index=True)
    clinician_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonColumn)
    note: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class TechniqueCheck(Base):
    """A video technique check and the background job that analyses it.

    The job lives here rather than in memory so that a restarted server finds queued work and takes
    back work whose worker died (its lease ran out).
    """

    __tablename__ = "technique_checks"
    __table_args__ = (
        CheckConstraint(_in("status", CHECK_STATUSES), name="status"),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress"),
        UniqueConstraint("profile_id", "request_id", name="uq_technique_checks_profile_id_request_id"),
        Index("ix_technique_checks_status_created_at", "status", "created_at"),
        Index("ix_technique_checks_profile_id_created_at", "profile_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    movement: Mapped[str] = mapped_column(String(40))
    side: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    # Paths are relative to the data folder so the folder can move.
    input_path: Mapped[str | None] = mapped_column(String(500))
    original_filename: Mapped[str | None] = mapped_column(String(255))
    output_dir: Mapped[str | None] = mapped_column(String(500))
    report: Mapped[dict[str, Any] | None] = mapped_column(JsonColumn)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JsonColumn)
    request_id: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker_id: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ClinicianLink(Base):
    """A clinician may see and adjust this profile."""

    __tablename__ = "clinician_links"
    __table_args__ = (
        UniqueConstraint("clinician_user_id", "profile_id", name="uq_clinician_links_clinician_profile"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinician_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class Invite(Base):
    """A single-use code a clinician hands to a person to link their profile."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    clinician_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    used_by_profile_id: Mapped[int | None] = mapped_column(ForeignKey("profiles.id", ondelete="SET NULL"))


class ApiToken(Base):
    """A bearer token for API clients; only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class LoginAttempt(Base):
    """One sign-in try, kept briefly so repeated failures can be slowed down."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    ip: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    ok: Mapped[bool] = mapped_column(Boolean)


class IdempotencyKey(Base):
    """A form or request token already acted on, so a double submit does its work once."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    # What the first submit led to (e.g. the page to redirect to), so a repeat can go there too.
    result: Mapped[str | None] = mapped_column(String(500))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class ReminderEmail(Base):
    """A reminder email claimed (``sending``), sent, or given up on for one person's local date.

    The unique (profile, date) pair is the claim that keeps two senders from sending the same email.
    """

    __tablename__ = "reminder_emails"
    __table_args__ = (
        UniqueConstraint("profile_id", "local_date", name="uq_reminder_emails_profile_id_local_date"),
        CheckConstraint(_in("status", REMINDER_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    local_date: Mapped[dt.date] = mapped_column(Date)
    topics: Mapped[list[str]] = mapped_column(JsonColumn)  # "session", "morning"
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class WebSession(Base):
    """A signed-in browser: the cookie names it by a random token whose SHA-256 is stored here.

    Signing out revokes the row, so a copied cookie stops working at once (ASVS 3.3.1); "sign out
    everywhere", a password change and account deletion revoke every row of the account.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    ip: Mapped[str | None] = mapped_column(String(64))


class PasswordReset(Base):
    """A single-use, expiring password-reset link sent by email; only the token's SHA-256 is kept."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    requested_ip: Mapped[str | None] = mapped_column(String(64))


class RateEvent(Base):
    """One counted action (a sign-up, an invite, a reset email) for rate limits by bucket and key."""

    __tablename__ = "rate_events"
    __table_args__ = (Index("ix_rate_events_bucket_key_at", "bucket", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(320))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class AuditEvent(Base):
    """Who viewed or changed whose record, and when.

    No foreign keys: the log outlives the accounts and profiles it names (a deletion is itself an
    event). ``detail`` holds ids and kinds only, never health data.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_profile_id_at", "profile_id", "at"),
        Index("ix_audit_events_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor_role: Mapped[str] = mapped_column(String(20))
    actor_name: Mapped[str] = mapped_column(String(320), default="")
    subject_user_id: Mapped[int | None] = mapped_column(Integer)
    profile_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(60))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonColumn)
    ip: Mapped[str | None] = mapped_column(String(64))
