"""Request and response bodies of the JSON API, as pydantic models so the OpenAPI document shows them.

Responses that mirror a programme record (plan, today's session, progress) are typed loosely as JSON
objects produced by the records' own ``to_dict`` (:mod:`kneefix.jsonvalues`): one converter for CLI
``--json``, exports and the API, rather than a second hand-written schema that could drift.
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


class ErrorOut(BaseModel):
    detail: str | list[dict[str, Any]] = Field(description="what went wrong, in words a person can act on")


# ----- accounts ----------------------------------------------------------------------------------


class SignUpIn(Body):
    email: str = Field(max_length=320, examples=["sam@example.org"])
    password: str = Field(max_length=1024, description="at least 8 characters")
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


JsonObject = dict[str, Any]


class RemindersIn(Body):
    """Any of the three; a field left out is left as it is."""

    reminder_time: str | None = Field(default=None, max_length=5, description="HH:MM, or '' for none")
    time_zone: str | None = Field(
        default=None, max_length=64, description="IANA zone, e.g. Europe/London; '' for the server's"
    )
    email_reminders: bool | None = Field(
        default=None, description="reminder emails (needs email on the server)"
    )
