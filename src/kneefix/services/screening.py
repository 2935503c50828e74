"""First run (and re-runs) of the screening: check the answers, save them, and set up the plan.

A red flag stops here: the screening and scores are saved (so a clinician can see them) but no plan
is set up. Atypical symptoms let the person decide; typical ones start the programme. Answers can
come as a partial mapping (a JSON file, flags, a web form) and be completed interactively, so the
parsing of each answer lives here once.

The answers are asked in :data:`ASK_ORDER`: the safety questions straight after the age. A raised red
flag - a "yes", or a Kujala answer that raises one - ends the questions, so every answer after that point
may be missing (:func:`needed_answers`); it is then recorded as not asked, never as a made-up answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

from kneefix.content.loader import Content
from kneefix.content.schemas_screening import RedFlag
from kneefix.errors import InputError
from kneefix.jsonvalues import record_fields
from kneefix.limits import check_age, check_days_per_week
from kneefix.programme.planner import Plan
from kneefix.programme.records import PersonSettings
from kneefix.programme.scoring import validate_nprs
from kneefix.programme.screening import (
    ScreeningAnswers,
    ScreeningResult,
    check_red_flag_ids,
    kujala_raised_flags,
    questions_for,
    screen,
)
from kneefix.services import audit
from kneefix.services.plan import refresh_plan
from kneefix.services.profiles import check_equipment, check_protocol
from kneefix.services.scores import kujala_letters, save_score, score_kujala, score_nprs
from kneefix.storage import profiles as profile_store
from kneefix.storage import screenings as screening_store
from kneefix.storage.records import ProfileInfo, ScreeningEntry

ANSWER_KEYS = ("age", "symptoms", "red_flags", "kujala", "pain", "equipment", "days", "runs")
"""Every answer the screening needs (unless a red flag stops it early)."""

ASK_ORDER = ("age", "red_flags", "symptoms", "kujala", "pain", "equipment", "days", "runs")
"""The order the answers are asked in. The safety questions come straight after the age (some depend on
it); a red flag raised by the safety answers or by the Kujala leaves everything after that unasked."""

StopPoint = Literal["red_flags", "kujala"]

PLACEHOLDER_DAYS = 3
"""Stands in for the training days when a red flag stopped the questions first (recorded as not asked)."""

_FIELD_OF = {
    "symptoms": "symptoms",
    "kujala": "kujala",
    "pain": "pain_now",
    "equipment": "equipment",
    "days": "days_per_week",
    "runs": "runs",
}
"""Answer key -> the :class:`ScreeningAnswers` field it fills."""

OPTIONAL_KEYS = ("start_date", "guideline_additions", "protocol", "continue_if_atypical", "weekdays")

_ALIASES = {
    "pain_now": "pain",
    "days_per_week": "days",
    "kujala_answers": "kujala",
    "start": "start_date",
    "hip_additions": "guideline_additions",
    "protocol_id": "protocol",
    "training_weekdays": "weekdays",
}

NONE_WORDS = {"none", "no", "-", ""}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# --- parsing each answer ------------------------------------------------------------------------------


def split_ids(value: object, what: str) -> list[str]:
    """A list of ids from ``"a,b"`` text or a JSON list; ``none`` (or nothing) is the empty list."""
    if value is None:
        return []
    if isinstance(value, str):
        if value.strip().lower() in NONE_WORDS:
            return []
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple | set | frozenset):
        if not all(isinstance(item, str) for item in value):
            raise InputError(f"{what} must be a list of ids (text), got {value!r}.")
        return [item.strip() for item in value if item.strip()]
    raise InputError(f"{what} must be a comma-separated list of ids or 'none', got {value!r}.")


def parse_age(value: object) -> int:
    return check_age(value)


def parse_days(value: object) -> int:
    return check_days_per_week(value)


def parse_pain(value: object) -> int:
    return validate_nprs(value, "Pain right now")


def parse_bool(value: object, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in {"y", "yes", "true", "1"}:
            return True
        if text in {"n", "no", "false", "0"}:
            return False
    raise InputError(f"{what} must be yes or no, not {value!r}.")


def parse_date(value: object, what: str = "Start date") -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InputError(f"{what} must be a date written YYYY-MM-DD, not {value!r}.")


def parse_weekdays(value: object) -> tuple[int, ...]:
    """Training weekdays from ``mon,wed,fri`` or numbers 0 (Monday) to 6."""
    parts = split_ids(value, "Training days") if not isinstance(value, list) else [str(v) for v in value]
    days: list[int] = []
    for part in parts:
        key = part.strip().lower()[:3]
        if key in WEEKDAYS:
            days.append(WEEKDAYS.index(key))
        elif key.isdigit() and 0 <= int(key) <= 6:
            days.append(int(key))
        else:
            raise InputError(f"{part!r} is not a weekday: use mon,tue,... or 0 (Monday) to 6 (Sunday).")
    if not days:
        raise InputError("Choose at least one training weekday.")
    if len(set(days)) != len(days):
        raise InputError("Each training weekday may be given once.")
    return tuple(sorted(days))


def parse_symptoms(content: Content, value: object) -> frozenset[str]:
    chosen = split_ids(value, "Symptoms")
    known = {symptom.id for symptom in content.symptoms}
    unknown = [item for item in chosen if item not in known]
    if unknown:
        raise InputError(f"Unknown symptom id(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")
    return frozenset(chosen)


def parse_red_flags(content: Content, age: int, value: object) -> dict[str, bool]:
    """Answers to the safety questions for this age: ``none``, the ids answered yes, or a mapping.

    An id that is unknown, or whose question is not asked at this age, is an error (never dropped). In a
    mapping every question for the age must be answered, unless one is answered yes: the questions stop
    at the first yes, so the ones after it may be missing (and stay out of the result).
    """
    applicable = questions_for(age, content)
    known = {flag.id for flag in content.red_flags}
    if isinstance(value, Mapping):
        answers = {str(key): parse_bool(answer, f"Red flag '{key}'") for key, answer in value.items()}
        unknown = sorted(set(answers) - known)
        if unknown:
            raise InputError(f"Unknown red-flag id(s): {', '.join(unknown)}.")
        check_red_flag_ids(answers, age, content)
        missing = [flag.id for flag in applicable if flag.id not in answers]
        if missing and not any(answers.values()):
            raise InputError(f"Answer every safety question; missing: {', '.join(missing)}.")
        return {flag.id: answers[flag.id] for flag in applicable if flag.id in answers}
    yes = split_ids(value, "Red flags")
    unknown = [item for item in yes if item not in known]
    if unknown:
        listed = ", ".join(flag.id for flag in applicable)
        raise InputError(f"Unknown red-flag id(s): {', '.join(unknown)}. Known for age {age}: {listed}.")
    check_red_flag_ids(yes, age, content)
    return {flag.id: flag.id in yes for flag in applicable}


def parse_equipment(content: Content, value: object) -> frozenset[str]:
    return check_equipment(content, split_ids(value, "Equipment"))


def parse_kujala(content: Content, value: object) -> tuple[str, ...] | None:
    """Kujala letters, checked against the items now; ``skip`` leaves the questionnaire out."""
    if isinstance(value, str) and value.strip().lower() == "skip":
        return None
    if not isinstance(value, str | list | tuple):
        raise InputError(f"Kujala answers must be letters like a,b,a,..., not {value!r}.")
    letters = kujala_letters(value if isinstance(value, str) else [str(item) for item in value])
    score_kujala(content, letters)  # raises InputError naming the item with a bad answer
    return tuple(letters)


def normalise_keys(raw: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Accept a few spellings of each key and reject unknown ones (a typo must not go unnoticed)."""
    result: dict[str, Any] = {}
    allowed = set(ANSWER_KEYS) | set(OPTIONAL_KEYS)
    for key, value in raw.items():
        name = _ALIASES.get(str(key), str(key))
        if name not in allowed:
            raise InputError(
                f"{source}: unknown answer '{key}'. Known answers: {', '.join(sorted(allowed))}."
            )
        result[name] = value
    return result


# --- the start request ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartRequest:
    """Screening answers plus how the plan should run."""

    answers: ScreeningAnswers
    start_date: dt.date | None = None  # None: keep an existing plan's start, else today
    guideline_additions: bool = True
    protocol_id: str = "runners_knee"
    training_weekdays: tuple[int, ...] | None = None
    continue_if_atypical: bool = True


def stop_point(content: Content, raw: Mapping[str, Any]) -> StopPoint | None:
    """Where a raised red flag ends the questions, judging by the answers so far (``None``: it does not).

    ``"red_flags"`` when a safety question was answered yes, ``"kujala"`` when a Kujala answer raises a
    flag on its own. Bad answers raise :class:`InputError` as they would later.
    """
    if "age" not in raw or "red_flags" not in raw:
        return None
    age = parse_age(raw["age"])
    if any(parse_red_flags(content, age, raw["red_flags"]).values()):
        return "red_flags"
    if "kujala" in raw:
        letters = parse_kujala(content, raw["kujala"])
        if letters is not None and kujala_raised_flags(age, letters, content):
            return "kujala"
    return None


def needed_answers(content: Content, raw: Mapping[str, Any]) -> list[str]:
    """The answers still missing, in :data:`ANSWER_KEYS` order; none of those after a raised red flag."""
    stop = stop_point(content, raw)
    required = ASK_ORDER if stop is None else ASK_ORDER[: ASK_ORDER.index(stop) + 1]
    return [key for key in ANSWER_KEYS if key in required and key not in raw]


def build_request(content: Content, raw: Mapping[str, Any]) -> StartRequest:
    """A :class:`StartRequest` from raw answers (after :func:`normalise_keys`).

    Every answer is needed unless a red flag stopped the questions first (see :func:`needed_answers`);
    the answers left out then are recorded in ``not_asked`` and filled with neutral placeholders.
    """
    missing = needed_answers(content, raw)
    if missing:
        raise InputError(f"Missing answers: {', '.join(missing)}.")
    age = parse_age(raw["age"])
    weekdays = parse_weekdays(raw["weekdays"]) if raw.get("weekdays") is not None else None
    not_asked = {_FIELD_OF[key] for key in ANSWER_KEYS if key not in raw}
    if weekdays:
        not_asked.discard("days_per_week")
    if weekdays:
        days_per_week = len(weekdays)
    elif "days" in raw:
        days_per_week = parse_days(raw["days"])
    else:
        days_per_week = PLACEHOLDER_DAYS
    answers = ScreeningAnswers(
        age=age,
        symptoms=parse_symptoms(content, raw["symptoms"]) if "symptoms" in raw else frozenset(),
        red_flags=parse_red_flags(content, age, raw["red_flags"]),
        pain_now=parse_pain(raw["pain"]) if "pain" in raw else None,
        equipment=parse_equipment(content, raw["equipment"]) if "equipment" in raw else frozenset(),
        days_per_week=days_per_week,
        runs=parse_bool(raw["runs"], "Do you run") if "runs" in raw else False,
        kujala=parse_kujala(content, raw["kujala"]) if "kujala" in raw else None,
        not_asked=frozenset(not_asked),
    )
    start = raw.get("start_date")
    return StartRequest(
        answers=answers,
        start_date=None if start is None else parse_date(start),
        guideline_additions=parse_bool(raw.get("guideline_additions", True), "Guideline additions"),
        protocol_id=check_protocol(content, str(raw.get("protocol", "runners_knee"))),
        training_weekdays=weekdays,
        continue_if_atypical=parse_bool(raw.get("continue_if_atypical", True), "Continue if atypical"),
    )


# --- running it ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanSummary:
    """The plan in a few lines: what the person is starting."""

    protocol_name: str
    start_date: dt.date
    first_session: dt.date
    last_session: dt.date
    sessions: int
    weeks: int
    sessions_per_week: int
    phases: tuple[str, ...]
    guideline_additions: bool
    notes: tuple[str, ...]  # the protocol's caveats
    swaps: tuple[str, ...] = ()  # exercises swapped or left out for the person's equipment


def summarise_plan(plan: Plan, settings: PersonSettings, protocol_notes: Sequence[str]) -> PlanSummary:
    sessions = plan.sessions
    phases = tuple(dict.fromkeys(session.phase_name for session in sessions))
    return PlanSummary(
        protocol_name=plan.protocol_name,
        start_date=settings.start_date,
        first_session=sessions[0].date,
        last_session=sessions[-1].date,
        sessions=len(sessions),
        weeks=len(plan.weeks),
        sessions_per_week=settings.days_per_week,
        phases=phases,
        guideline_additions=settings.guideline_additions,
        notes=tuple(protocol_notes),
        swaps=plan.notes,
    )


@dataclass(frozen=True)
class StartOutcome:
    """What the screening concluded and, when the programme starts, the plan it set up."""

    profile: ProfileInfo
    screening: ScreeningResult
    started: bool
    settings: PersonSettings | None = None
    plan: PlanSummary | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile.name,
            "verdict": self.screening.verdict,
            "plan_paused": self.settings is not None
            and not self.started
            and self.screening.verdict == "refer_now",
            "may_start": self.screening.may_start,
            "started": self.started,
            "severity": record_fields(self.screening.severity),
            "screening": record_fields(self.screening),
            "settings": record_fields(self.settings),
            "plan": record_fields(self.plan),
        }


def applicable_red_flags(content: Content, age: int) -> list[RedFlag]:
    """The safety questions to ask a person of this age, most urgent first."""
    return questions_for(age, content)


def run_start(
    session: Session,
    content: Content,
    profile_name: str,
    request: StartRequest,
    *,
    today: dt.date,
    user_id: int | None = None,
) -> StartOutcome:
    """Screen, save the screening and scores, and (when allowed) set up the plan from ``today``."""
    result = screen(request.answers, content)
    profile = profile_store.get_or_create_profile(session, profile_name, user_id=user_id)
    profile = profile_store.set_birth_year(
        session, profile.id, profile_store.birth_year_from_age(request.answers.age, today)
    )
    screening_store.save_screening(
        session,
        profile.id,
        answers={**request.answers.to_dict(), "start_date": _iso(request.start_date)},
        verdict=result.verdict,
        red_flags=[flag.id for flag in result.red_flags],
        messages=list(result.messages),
        taken_at=_taken_at(today),
    )
    if result.pain_now is not None:  # not asked when a red flag stopped the questions first
        save_score(session, profile.id, score_nprs(result.pain_now), today)
    if request.answers.kujala is not None:
        save_score(session, profile.id, score_kujala(content, request.answers.kujala), today)
    starts = result.may_start and (result.verdict == "typical" or request.continue_if_atypical)
    if not starts:
        return StartOutcome(profile=profile, screening=result, started=False, settings=profile.settings)
    start_date = request.start_date or (profile.settings.start_date if profile.settings else today)
    settings = PersonSettings(
        equipment=request.answers.equipment,
        days_per_week=request.answers.days_per_week,
        runs=request.answers.runs,
        start_date=start_date,
        protocol_id=request.protocol_id,
        guideline_additions=request.guideline_additions,
        training_weekdays=request.training_weekdays,
    )
    profile = profile_store.update_settings(session, profile.id, settings)
    # A new plan (or a new start) from this screening: by the signed-in person, or the command line.
    actor = audit.CLI if user_id is None else audit.Actor(user_id, "person")
    audit.record(
        session, actor, audit.Action.PLAN_CHANGED, profile_id=profile.id, detail={"kind": "screening"}
    )
    refreshed = refresh_plan(session, content, profile.id, today)
    protocol = content.protocols[settings.protocol_id]
    summary = summarise_plan(refreshed.state.plan, settings, protocol.notes)
    return StartOutcome(profile=profile, screening=result, started=True, settings=settings, plan=summary)


def _taken_at(today: dt.date) -> dt.datetime:
    """The screening's time on the caller's ``today`` (the plan replays events by that date)."""
    now = dt.datetime.now(dt.UTC)
    return now if now.date() == today else dt.datetime.combine(today, dt.time(12, 0), tzinfo=dt.UTC)


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def latest_screening(session: Session, profile_id: int) -> ScreeningEntry | None:
    """The person's most recent screening (None before the first)."""
    return screening_store.latest_screening(session, profile_id)
