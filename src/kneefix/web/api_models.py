"""Request and response bodies of the JSON API, as pydantic models so the OpenAPI document shows them.

Responses that mirror a programme record (plan, today's session, progress) are still built by the
records' own ``to_dict`` (:mod:`kneefix.jsonvalues`): one converter for CLI ``--json``, exports and the
API. The response models here name and type the fields every client relies on; FastAPI validates each
answer against its model before sending it, so a record that drifts from its documented shape fails the
tests (and the fuzzing in ``tests/security/test_api_fuzz.py``) instead of surprising a client. They allow
extra fields (``Out``): a record may carry more than is documented, never less or of another type.
Deeply nested programme detail (the plan's weeks, an exercise's dose) is typed as a JSON object.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kneefix.limits import AgeYears, DaysPerWeek, Pain
from kneefix.storage.records import ApiTokenInfo


class Body(BaseModel):
    """Request bodies refuse unknown fields, so a misspelt key is an error rather than ignored."""

    model_config = ConfigDict(extra="forbid")


class FieldProblem(BaseModel):
    loc: list[str | int] = Field(description="where: e.g. ['body', 'age'] or ['path', 'log_id']")
    msg: str
    type: str = Field(description="pydantic's error type, e.g. missing, int_parsing, less_than_equal")


class ErrorOut(BaseModel):
    """The one error body of the whole API, whatever the status (4xx and 503)."""

    detail: str = Field(description="what went wrong, in words a person can act on")
    errors: list[FieldProblem] | None = Field(
        default=None,
        description="on a 422 for a request that did not fit the document: each field's problem "
        "(the input itself is never echoed back)",
    )


class Out(BaseModel):
    """Response bodies: the listed fields are always sent, with these types; a record may add more."""

    model_config = ConfigDict(extra="allow")


JsonObject = dict[str, Any]


# ----- accounts ----------------------------------------------------------------------------------


class SignUpIn(Body):
    email: str = Field(max_length=320, examples=["sam@example.org"])
    password: str = Field(
        default="",
        max_length=1024,
        description="at least 8 characters; needed when the server sends no email. When it does, "
        "it is not used: the emailed link's page asks for the password",
    )
    display_name: str = Field(default="", max_length=200)
    role: Literal["person", "clinician"] = "person"
    token_name: str = Field(default="API client", max_length=100, description="label for the returned token")


class TokenRequest(Body):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    name: str = Field(default="API client", max_length=100, description="a label to recognise the token by")


class NewToken(Body):
    name: str = Field(default="API client", max_length=100)


class NewTokenOut(BaseModel):
    token: str = Field(description="send as `Authorization: Bearer <token>`; shown only this once")
    name: str
    id: int | None = None


class UserOut(BaseModel):
    id: int
    email: str
    display_name: str
    role: Literal["person", "clinician"] | str
    profile_id: int | None = Field(description="the person's coaching profile; null for a clinician")
    created_at: dt.datetime


class SignUpOut(BaseModel):
    user: UserOut
    token: str


class SignUpEmailedOut(BaseModel):
    """The answer to every sign-up when the server sends email: the same for every address."""

    message: str = Field(description="check your email: the link there finishes the sign-up")


class PasswordChange(Body):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class AccountDeletion(Body):
    password: str = Field(max_length=1024, description="the account's password, to confirm")


class ApiTokenOut(BaseModel):
    id: int
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None

    @classmethod
    def from_info(cls, info: ApiTokenInfo) -> ApiTokenOut:
        return cls(
            id=info.id,
            name=info.name,
            created_at=info.created_at,
            last_used_at=info.last_used_at,
            expires_at=info.expires_at,
        )


# ----- screening, logs, scores -------------------------------------------------------------------


class ScreeningIn(Body):
    """The screening answers; the same rules as the web wizard and ``kneefix start``."""

    age: AgeYears
    symptoms: list[str] = Field(default_factory=list, description="symptom ids from /screening/questions")
    red_flags: dict[str, bool] = Field(
        description="every red-flag question that applies to the age: id -> answered yes"
    )
    kujala: list[str] | None = Field(
        default=None, description="13 letters, one per Kujala item (a = best); null to skip"
    )
    pain: Pain = Field(description="pain right now, 0-10")
    equipment: list[str] = Field(default_factory=list, description="equipment ids the person has")
    days: DaysPerWeek = Field(default=3, description="training days per week")
    weekdays: list[int] | None = Field(default=None, description="exact training weekdays, 0 = Monday")
    runs: bool
    start_date: dt.date | None = None
    guideline_additions: bool = True
    continue_if_atypical: bool = True
    request_id: str | None = Field(
        default=None, max_length=150, description="send the same id to retry safely"
    )


class LogIn(Body):
    date: dt.date | None = Field(default=None, description="the day of the session; default today")
    done: list[str] | None = Field(default=None, description="exercise ids done (sets `completed`)")
    completed: float | None = Field(default=None, ge=0, le=1, description="or the fraction done, 0..1")
    pain_during: Pain | None = Field(default=None)
    pain_after: Pain | None = Field(default=None)
    note: str = Field(default="", max_length=2000)
    request_id: str | None = Field(
        default=None, max_length=100, description="send the same id to retry safely"
    )
    hurt: list[str] = Field(
        default_factory=list,
        description="exercise ids of this session that hurt: each moves to its easier version next time",
    )


class LogPatch(Body):
    """Only the fields sent change; send ``null`` to clear a pain rating."""

    date: dt.date | None = None
    completed: float | None = Field(default=None, ge=0, le=1)
    pain_during: Pain | None = Field(default=None)
    pain_after: Pain | None = Field(default=None)
    next_morning_pain: Pain | None = Field(default=None)
    note: str | None = Field(default=None, max_length=2000)


class MorningIn(Body):
    pain: Pain = Field(description="knee pain this morning, 0-10")
    session_date: dt.date | None = Field(default=None, description="default: the latest session before today")


class KujalaIn(Body):
    answers: list[str] = Field(min_length=13, max_length=13, description="13 letters, a = best")
    request_id: str | None = Field(default=None, max_length=150)


class RemindersIn(Body):
    """Any of the three; a field left out is left as it is."""

    reminder_time: str | None = Field(default=None, max_length=5, description="HH:MM, or '' for none")
    time_zone: str | None = Field(
        default=None, max_length=64, description="IANA zone, e.g. Europe/London; '' for the server's"
    )
    email_reminders: bool | None = Field(
        default=None, description="reminder emails (needs email on the server)"
    )


# ----- responses -------------------------------------------------------------------------------

Timestamp = str  # ISO 8601 date and time as the record holds it (with its UTC offset when it has one)


class SymptomOut(Out):
    id: str
    label: str


class RedFlagQuestionOut(Out):
    id: str
    title: str
    question: str
    criteria: list[str]
    severity: str
    min_age: int | None
    max_age: int | None


class QuestionsOut(Out):
    symptoms: list[SymptomOut]
    red_flags: list[RedFlagQuestionOut] = Field(description="answer each that applies to the age")
    kujala: JsonObject = Field(description="the Kujala questionnaire: items, options and letters")
    nprs: JsonObject
    equipment: list[JsonObject]


class ScreeningRecordOut(Out):
    id: int
    profile_id: int
    taken_at: Timestamp
    answers: JsonObject
    verdict: str
    red_flags: list[Any]
    messages: list[str]


class ScreeningOutcomeOut(Out):
    """What the screening concluded; ``repeat`` (and only the saved ``screening``) for a retried
    ``request_id``."""

    repeat: bool = Field(default=False, description="true: this request_id was already handled")
    screening: JsonObject
    profile: str | None = None
    verdict: str | None = None
    plan_paused: bool | None = None
    may_start: bool | None = None
    started: bool | None = None
    severity: Any = None
    settings: JsonObject | None = None
    plan: JsonObject | None = None


class PlanChangeOut(Out):
    date: dt.date
    rule_id: str | None
    kind: str
    explanation: str
    details: JsonObject


class PlanChangeEntryOut(PlanChangeOut):
    id: int | None
    source: str = Field(description="rules or clinician")


class LogOut(Out):
    id: int | None
    date: dt.date
    kind: str = Field(description="session or run")
    completed: float
    pain_during: int | None
    pain_after: int | None
    next_morning_pain: int | None
    exercises_done: list[str]
    hurt: list[str]
    note: str
    run_minutes: float | None
    run_distance_km: float | None


class LogResultOut(Out):
    log: LogOut
    plan_changes: list[PlanChangeOut] = Field(description="what the plan changed because of it")


class RunCheckRecordOut(Out):
    id: int | None
    date: dt.date
    walk_pain: int
    hop_pain: int


class RunCheckOut(Out):
    check: RunCheckRecordOut
    passed: bool
    message: str
    plan_changes: list[PlanChangeOut]


class RunningOut(Out):
    stage: int | None
    status: str
    open: bool
    summary: str
    good_runs_at_stage: int
    next_run_from: dt.date | None
    due_today: bool
    logged_today: bool
    missing: list[str]
    finished: bool


class SessionOut(Out):
    date: dt.date
    number: int
    week: int
    phase_index: int
    phase_id: str
    phase_name: str
    exercises: list[JsonObject] = Field(description="in step order: id, name, dose, cues, why, easier")
    notes: list[str]


class TodayOut(Out):
    today: dt.date
    status: str = Field(description="session, rest, paused or finished")
    paused_reason: str | None
    rest_day: bool
    training_day: bool
    already_logged: bool
    next_session_date: dt.date | None
    session: SessionOut | None = Field(description="today's session, or the next one on a rest day")
    phase_name: str
    phase_number: int
    phase_count: int
    programme_finished: bool
    guideline_additions: bool
    running: RunningOut | None = Field(description="null when running is not part of the plan")
    recent_changes: list[PlanChangeOut]
    warning: str | None


class PlanOut(Out):
    protocol_id: str
    today: dt.date
    status: str
    paused_reason: str | None
    phase_index: int
    phase_id: str
    phase_name: str
    settings: JsonObject
    next_session: SessionOut | None
    plan: JsonObject = Field(description="the dated sessions and runs, week by week")
    changes: list[JsonObject]
    runs: list[JsonObject]
    running: RunningOut | None
    history: list[JsonObject]


class ScoreOut(Out):
    id: int | None
    instrument: str
    date: dt.date
    score: int | float  # an int stays an int (no "100.0" for 100)
    answers: list[str]


class KujalaScoreOut(Out):
    score: int | float  # an int stays an int (no "100.0" for 100)
    repeat: bool = Field(default=False, description="true: this request_id was already handled")
    saved: ScoreOut | None = None
    change: JsonObject | None = None


class ProgressOut(Out):
    today: dt.date
    start_date: dt.date
    weeks: list[JsonObject]
    pain_slopes: JsonObject
    kujala: JsonObject
    nprs: JsonObject
    kujala_next_due: dt.date
    kujala_due: bool
    planned_to_date: int
    done_to_date: int
    adherence_pct: float | None
    streak: int
    phase_index: int
    phase_name: str
    phase_count: int
    recent_changes: list[JsonObject]
    reassess: bool
    messages: list[str]


class ExportOut(Out):
    kind: str = Field(description="kneefix-account-export")
    exported_at: Timestamp
    account: JsonObject
    profiles: list[JsonObject] = Field(description="storage's versioned export, one per profile")


class RemindersOut(Out):
    reminder_time: str | None = Field(description="HH:MM, or null for none")
    time_zone: str | None
    email_reminders: bool
    email_available: bool


class CheckOut(Out):
    """A technique check; the results (feedback, warnings, reps, ...) come once its status is done."""

    id: int
    created_at: Timestamp
    movement: str
    movement_name: str
    side: str
    status: str
    progress: float
    error: str | None
    original_filename: str | None
    finished_at: Timestamp | None
    summary: JsonObject
    headline: Any = None


class UploadedCheckOut(CheckOut):
    duplicate: bool = Field(description="true: this request_id was sent before; the first check")


class InviteOut(Out):
    id: int
    code: str
    link: str
    note: str
    created_at: Timestamp
    expires_at: Timestamp
    used_at: Timestamp | None
    open: bool


class ClinicianOut(Out):
    id: int
    name: str
    email: str | None


class PersonRowOut(Out):
    profile_id: int
    name: str
    email: str | None
    started: bool
    attention: bool
    red_flags: list[Any]
    notes: list[Any]


class AdjustmentOut(Out):
    id: int
    kind: str
    payload: JsonObject
    note: str
    active: bool


class PersonOverviewOut(Out):
    row: PersonRowOut
    profile: JsonObject
    screening: JsonObject | None
    logs: list[JsonObject]
    scores: list[JsonObject]
    changes: list[JsonObject]
    adjustments: list[AdjustmentOut]
    checks: list[CheckOut]
    progress: JsonObject | None
    today: JsonObject | None
