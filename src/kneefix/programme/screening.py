"""Screening before the programme starts: red flags first, then whether the symptoms look typical.

The order matters. Any red flag stops the programme and says whom to see and how soon, because the
exercises could delay care for something that is not runner's knee. Without red flags, symptoms that do
not match patellofemoral pain's core criterion (pain around the kneecap made worse by loading the bent
knee) still let the person start - the exercises are low-risk - but suggest an assessment. kneefix is a
coach, not a diagnosis, and the messages say so.

Pure logic: the questions, symptom roles and Kujala items all come from the content passed in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from kneefix.content.loader import Content
from kneefix.content.schemas_screening import SEVERITY_ORDER, RedFlag, Severity
from kneefix.errors import InputError
from kneefix.programme.scoring import kujala_item_points, score_kujala, validate_nprs

Verdict = Literal["refer_now", "atypical_suggest_assessment", "typical"]

MIN_AGE = 5
MAX_AGE = 120
HIGH_PAIN = 7
"""Pain now at or above this gets a "start gently" note; it is not a red flag on its own."""

_HEADLINES: dict[Severity, str] = {
    "emergency": "Get medical help now - do not start the exercises.",
    "urgent": "Please see a doctor within a day or two before starting this programme.",
    "see_clinician": "Please have your knee examined by a physiotherapist or doctor before starting.",
    "other_condition": (
        "Your answers point to a knee problem other than runner's knee. A physiotherapist or doctor can "
        "confirm it and advise you; this programme may not be the right one."
    ),
}


@dataclass(frozen=True)
class ScreeningAnswers:
    """What the person told the screening. Lists and dicts are accepted and frozen on creation.

    ``red_flags`` maps each red-flag id to the yes/no answer; every question that applies to the
    person's age must be answered. ``kujala`` holds one letter per Kujala item when it was filled in.
    """

    age: int
    symptoms: frozenset[str]
    red_flags: Mapping[str, bool]
    pain_now: int
    equipment: frozenset[str]
    days_per_week: int
    runs: bool
    kujala: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "symptoms", _frozen_ids("symptoms", self.symptoms))
        object.__setattr__(self, "equipment", _frozen_ids("equipment", self.equipment))
        if not isinstance(self.red_flags, Mapping):
            raise InputError("Red-flag answers must map each question id to yes or no.")
        object.__setattr__(self, "red_flags", dict(self.red_flags))
        if self.kujala is not None:
            if isinstance(self.kujala, str):
                raise InputError("Kujala answers must be a list of letters, one per question.")
            object.__setattr__(self, "kujala", tuple(self.kujala))

    def to_dict(self) -> dict[str, Any]:
        return {
            "age": self.age,
            "symptoms": sorted(self.symptoms),
            "red_flags": dict(self.red_flags),
            "pain_now": self.pain_now,
            "equipment": sorted(self.equipment),
            "days_per_week": self.days_per_week,
            "runs": self.runs,
            "kujala": list(self.kujala) if self.kujala is not None else None,
        }


def _frozen_ids(name: str, values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str):
        raise InputError(f"{name} must be a list of ids, not a single string.")
    try:
        return frozenset(values)
    except TypeError as err:
        raise InputError(f"{name} must be a list of ids.") from err


@dataclass(frozen=True)
class TriggeredFlag:
    """A red flag the answers raised, with what to tell the person."""

    id: str
    title: str
    severity: Severity
    reason: str
    action: str
    raised_by: Literal["answer", "kujala"]


@dataclass(frozen=True)
class ScreeningResult:
    verdict: Verdict
    may_start: bool
    red_flags: tuple[TriggeredFlag, ...]
    messages: tuple[str, ...]
    kujala_score: int | None
    pain_now: int
    typical_symptoms: bool
    core_activities: tuple[str, ...] = field(default=())
    most_urgent: Severity | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def questions_for(age: int, content: Content) -> list[RedFlag]:
    """The red-flag questions to ask a person of this age, in the content's order."""
    return [flag for flag in content.red_flags if flag.applies_to_age(age)]


def screen(answers: ScreeningAnswers, content: Content) -> ScreeningResult:
    """Check the answers, raise red flags, judge how typical the symptoms are, and say what to do."""
    age = _check_whole("Age", answers.age, MIN_AGE, MAX_AGE)
    pain_now = validate_nprs(answers.pain_now, "Pain right now")
    _check_whole("Training days per week", answers.days_per_week, 1, 7)
    if not isinstance(answers.runs, bool):
        raise InputError("'Do you run?' must be answered yes or no.")
    _check_known("symptom", answers.symptoms, {symptom.id for symptom in content.symptoms})
    _check_known("equipment", answers.equipment, set(content.equipment))

    kujala_score: int | None = None
    kujala_points: tuple[int, ...] | None = None
    if answers.kujala is not None:
        questionnaire = content.questionnaires["kujala"]
        kujala_points = kujala_item_points(answers.kujala, questionnaire)
        kujala_score = score_kujala(answers.kujala, questionnaire)

    triggered = _red_flags(answers.red_flags, age, content, kujala_points)
    location, activities = _core_symptoms(answers.symptoms, content)
    typical = location and bool(activities)

    messages: list[str] = []
    if triggered:
        verdict: Verdict = "refer_now"
        most_urgent = triggered[0].severity
        messages.append(_HEADLINES[most_urgent])
        messages.extend(f"{flag.title}: {flag.action}" for flag in triggered)
    else:
        most_urgent = None
        if typical:
            verdict = "typical"
            messages.append(
                "Your answers fit the usual pattern of runner's knee, and none of the warning signs "
                "applies. You can start the programme."
            )
        else:
            verdict = "atypical_suggest_assessment"
            missing = (
                "pain around or behind the kneecap" if not location else "pain when loading the bent knee"
            )
            messages.append(
                "Your answers do not quite match the usual pattern of runner's knee (pain around or behind "
                f"the kneecap that gets worse when you load the bent knee) - you did not report {missing}. "
                "The exercises are low-risk, so you may start, but a check by a physiotherapist or doctor "
                "is a good idea."
            )
    if not triggered:
        messages.extend(_extra_notes(age, pain_now, kujala_score))
    messages.append("kneefix is a coaching tool, not a diagnosis.")
    return ScreeningResult(
        verdict=verdict,
        may_start=not triggered,
        red_flags=tuple(triggered),
        messages=tuple(messages),
        kujala_score=kujala_score,
        pain_now=pain_now,
        typical_symptoms=typical,
        core_activities=tuple(activities),
        most_urgent=most_urgent,
    )


def _check_whole(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name} must be a whole number from {low} to {high}; got {value!r}.")
    if not low <= value <= high:
        raise InputError(f"{name} must be from {low} to {high}; got {value}.")
    return value


def _check_known(what: str, given: frozenset[str], known: set[str]) -> None:
    unknown = sorted(str(item) for item in given if item not in known)
    if unknown:
        choices = ", ".join(sorted(known))
        raise InputError(f"Unknown {what} id(s): {', '.join(unknown)}. Known ids: {choices}.")


def _red_flags(
    given: Mapping[str, bool],
    age: int,
    content: Content,
    kujala_points: tuple[int, ...] | None,
) -> list[TriggeredFlag]:
    known = {flag.id for flag in content.red_flags}
    unknown = sorted(str(key) for key in given if key not in known)
    if unknown:
        raise InputError(f"Unknown red-flag question id(s): {', '.join(unknown)}.")
    not_yes_no = sorted(key for key, value in given.items() if not isinstance(value, bool))
    if not_yes_no:
        raise InputError(f"Answer yes or no to the red-flag question(s): {', '.join(not_yes_no)}.")
    applicable = questions_for(age, content)
    unanswered = [flag.title for flag in applicable if flag.id not in given]
    if unanswered:
        raise InputError(
            "Please answer every safety question before starting; still open: " + "; ".join(unanswered) + "."
        )
    triggered: list[TriggeredFlag] = []
    for flag in applicable:
        by_kujala = _raised_by_kujala(flag, kujala_points)
        if given[flag.id] or by_kujala:
            triggered.append(
                TriggeredFlag(
                    id=flag.id,
                    title=flag.title,
                    severity=flag.severity,
                    reason=flag.reason,
                    action=flag.action,
                    raised_by="answer" if given[flag.id] else "kujala",
                )
            )
    triggered.sort(key=lambda flag: SEVERITY_ORDER.index(flag.severity))
    return triggered


def _raised_by_kujala(flag: RedFlag, kujala_points: tuple[int, ...] | None) -> bool:
    trigger = flag.kujala_trigger
    if trigger is None or kujala_points is None or trigger.item > len(kujala_points):
        return False
    return kujala_points[trigger.item - 1] < trigger.below


def _core_symptoms(present: frozenset[str], content: Content) -> tuple[bool, list[str]]:
    location = any(s.role == "core_location" and s.id in present for s in content.symptoms)
    activities = [s.id for s in content.symptoms if s.role == "core_activity" and s.id in present]
    return location, activities


def _extra_notes(age: int, pain_now: int, kujala_score: int | None) -> list[str]:
    notes: list[str] = []
    if age < 18:
        notes.append(
            "As you are under 18, do the programme with a parent or guardian, and ideally check with a "
            "physiotherapist or doctor first: growing knees have a few problems of their own."
        )
    if pain_now >= HIGH_PAIN:
        notes.append(
            f"Your pain is high right now ({pain_now}/10). Start with the easiest versions, keep exercise "
            "pain at 5/10 or less, and see a clinician if pain this strong does not ease within a few days."
        )
    if kujala_score is not None:
        notes.append(
            f"Your Kujala score is {kujala_score}/100 (higher is better). A rise of 10 points or more "
            "is a change that matters; you will be asked again every few weeks."
        )
    return notes
