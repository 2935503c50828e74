"""Screening before the programme starts: red flags first, then whether the symptoms look typical.

The order matters. Any red flag stops the programme and says whom to see and how soon, because the
exercises could delay care for something that is not runner's knee. The red-flag questions come straight
after the age (some depend on it), most urgent first, and the first "yes" ends the questionnaire: the
answers after it may be left out (``ScreeningAnswers.not_asked``). Some Kujala answers contradict runner's
knee (a leg that cannot take weight, constant swelling...) and raise a flag on their own, as the content's
``kujala_trigger`` says. Without red flags, symptoms that do not match patellofemoral pain's core
criterion (pain around the kneecap made worse by loading the bent knee) still let the person start - the
exercises are low-risk - but suggest an assessment. kneefix is a coach, not a diagnosis, and the messages
say so. :func:`severity` grades how bad things are now (pain and Kujala), for choosing a starting dose.

Pure logic: the questions, symptom roles and Kujala items all come from the content passed in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from kneefix.content.loader import Content
from kneefix.content.schemas_screening import SEVERITY_ORDER, Questionnaire, RedFlag
from kneefix.content.schemas_screening import Severity as Urgency
from kneefix.errors import InputError
from kneefix.limits import AGE_MAX, AGE_MIN, check_age, check_days_per_week
from kneefix.programme.scoring import score_kujala, validate_nprs

Verdict = Literal["refer_now", "atypical_suggest_assessment", "typical"]
SeverityLevel = Literal["mild", "moderate", "severe"]

MIN_AGE, MAX_AGE = AGE_MIN, AGE_MAX  # the screening asks about every age it accepts
HIGH_PAIN = 7
"""Pain now at or above this gets a "start gently" note; it is not a red flag on its own."""

SEVERE_PAIN = 7
MODERATE_PAIN = 4
SEVERE_KUJALA_BELOW = 50
MODERATE_KUJALA_BELOW = 70
"""Severity bands: pain 7+ or Kujala under 50 is severe; pain 4-6 or Kujala 50-69 is moderate."""

SKIPPABLE: tuple[str, ...] = ("symptoms", "kujala", "pain_now", "equipment", "days_per_week", "runs")
"""The answers a red flag may leave unasked (names of :class:`ScreeningAnswers` fields)."""

_HEADLINES: dict[Urgency, str] = {
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
    person's age must be answered, unless one was answered yes (the questions stop there). ``kujala``
    holds one letter per Kujala item when it was filled in. ``pain_now`` is ``None`` only when a red flag
    stopped the questions before it. ``not_asked`` names the answers (field names, see
    :data:`SKIPPABLE`) that were not asked because a red flag had already stopped the screening; their
    values are placeholders and must not be read as the person's answers.
    """

    age: int
    symptoms: frozenset[str]
    red_flags: Mapping[str, bool]
    pain_now: int | None
    equipment: frozenset[str]
    days_per_week: int
    runs: bool
    kujala: tuple[str, ...] | None = None
    not_asked: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "symptoms", _frozen_ids("symptoms", self.symptoms))
        object.__setattr__(self, "equipment", _frozen_ids("equipment", self.equipment))
        not_asked = _frozen_ids("not_asked", self.not_asked)
        strange = sorted(str(name) for name in not_asked if name not in SKIPPABLE)
        if strange:
            raise InputError(
                f"Unknown question(s) marked as not asked: {', '.join(strange)}. "
                f"Only these can be left out: {', '.join(SKIPPABLE)}."
            )
        object.__setattr__(self, "not_asked", not_asked)
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
            "not_asked": [name for name in SKIPPABLE if name in self.not_asked],
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
    """A red flag the answers raised, with what to tell the person.

    ``kujala_answers`` lists, in words, the Kujala answers that raise this flag (empty when none did);
    when only they raised it, ``reason`` starts by saying which answer it was.
    """

    id: str
    title: str
    severity: Urgency
    reason: str
    action: str
    raised_by: Literal["answer", "kujala"]
    kujala_answers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Severity:
    """How bad the knee is right now, from pain and the Kujala score; ``reason`` says why, plainly."""

    level: SeverityLevel
    reason: str


@dataclass(frozen=True)
class ScreeningResult:
    verdict: Verdict
    may_start: bool
    red_flags: tuple[TriggeredFlag, ...]
    messages: tuple[str, ...]
    kujala_score: int | None
    pain_now: int | None
    typical_symptoms: bool
    core_activities: tuple[str, ...] = field(default=())
    most_urgent: Urgency | None = None
    severity: Severity | None = None
    """``None`` only when a red flag stopped the questions before the pain was asked."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def questions_for(age: int, content: Content) -> list[RedFlag]:
    """The red-flag questions to ask a person of this age, most urgent first.

    The questions stop at the first yes, so a more urgent question must never wait behind a less urgent
    one; within one severity the content's order is kept.
    """
    applicable = [flag for flag in content.red_flags if flag.applies_to_age(age)]
    return sorted(applicable, key=lambda flag: SEVERITY_ORDER.index(flag.severity))


def kujala_answers_raising(
    flag: RedFlag, letters: Sequence[str] | None, kujala: Questionnaire
) -> tuple[str, ...]:
    """The Kujala answers that raise ``flag`` on their own, in words (``()`` when none does).

    ``letters`` must already be valid answers to ``kujala`` (one per item); ``None`` means no Kujala.
    """
    if letters is None:
        return ()
    found: list[str] = []
    for trigger in flag.kujala_triggers:
        if trigger.item > len(letters):
            continue
        item = kujala.item(trigger.item)
        option = item.option(letters[trigger.item - 1])
        if option is not None and option.points < trigger.below:
            found.append(f'"{option.label}" to "{item.question}"')
    return tuple(found)


def kujala_raised_flags(age: int, letters: Sequence[str], content: Content) -> list[RedFlag]:
    """The red flags for this age that these (valid) Kujala answers raise on their own, most urgent first."""
    kujala = content.questionnaires["kujala"]
    return [flag for flag in questions_for(age, content) if kujala_answers_raising(flag, letters, kujala)]


def severity(pain_now: int, kujala_score: int | None) -> Severity:
    """How bad the knee is now: severe, moderate or mild.

    Severe when pain is 7+ or the Kujala score is under 50; moderate when pain is 4-6 or Kujala 50-69;
    else mild. The worse of the two measures decides; without a Kujala score, pain alone does. The
    reason names each measure at the level decided.
    """
    pain = validate_nprs(pain_now, "Pain right now")
    if kujala_score is not None and (
        isinstance(kujala_score, bool) or not isinstance(kujala_score, int) or not 0 <= kujala_score <= 100
    ):
        raise InputError(f"The Kujala score must be a whole number from 0 to 100; got {kujala_score!r}.")
    pain_band = _band(pain >= SEVERE_PAIN, pain >= MODERATE_PAIN)
    pain_words = {
        "severe": f"{SEVERE_PAIN} or more",
        "moderate": f"{MODERATE_PAIN} to {SEVERE_PAIN - 1}",
        "mild": f"under {MODERATE_PAIN}",
    }[pain_band]
    parts = {pain_band: [f"your pain right now is {pain}/10 ({pain_words})"]}
    kujala_band: SeverityLevel = "mild"
    if kujala_score is not None:
        kujala_band = _band(kujala_score < SEVERE_KUJALA_BELOW, kujala_score < MODERATE_KUJALA_BELOW)
        kujala_words = {
            "severe": f"under {SEVERE_KUJALA_BELOW}",
            "moderate": f"{SEVERE_KUJALA_BELOW} to {MODERATE_KUJALA_BELOW - 1}",
            "mild": f"{MODERATE_KUJALA_BELOW} or more",
        }[kujala_band]
        parts.setdefault(kujala_band, []).append(f"your Kujala score is {kujala_score}/100 ({kujala_words})")
    level = max(pain_band, kujala_band, key=_LEVELS.index)
    reason = f"{level.capitalize()}: {' and '.join(parts[level])}."
    if kujala_score is None:
        reason += " Without a Kujala score this is judged on pain alone."
    return Severity(level=level, reason=reason)


_LEVELS: tuple[SeverityLevel, ...] = ("mild", "moderate", "severe")


def _band(severe: bool, moderate: bool) -> SeverityLevel:
    return "severe" if severe else "moderate" if moderate else "mild"


def screen(answers: ScreeningAnswers, content: Content) -> ScreeningResult:
    """Check the answers, raise red flags, judge how typical the symptoms are, and say what to do."""
    age = check_age(answers.age)
    pain_now = None if answers.pain_now is None else validate_nprs(answers.pain_now, "Pain right now")
    check_days_per_week(answers.days_per_week)
    if not isinstance(answers.runs, bool):
        raise InputError("'Do you run?' must be answered yes or no.")
    _check_known("symptom", answers.symptoms, {symptom.id for symptom in content.symptoms})
    _check_known("equipment", answers.equipment, set(content.equipment))

    kujala_score: int | None = None
    if answers.kujala is not None:
        kujala_score = score_kujala(answers.kujala, content.questionnaires["kujala"])

    triggered, stopped_early = _red_flags(answers.red_flags, age, content, answers.kujala)
    if not triggered:
        left_out = [name for name in SKIPPABLE if name in answers.not_asked]
        if left_out:
            raise InputError(
                f"These answers are missing: {', '.join(left_out)}. They can be left out only when a "
                "warning sign has already stopped the screening."
            )
        if pain_now is None:
            raise InputError(
                "Please say how much your knee hurts right now (0 to 10); it can be left out only when a "
                "warning sign has already stopped the screening."
            )
    location, activities = _core_symptoms(answers.symptoms, content)
    typical = location and bool(activities)

    messages: list[str] = []
    if triggered:
        verdict: Verdict = "refer_now"
        most_urgent = triggered[0].severity
        messages.append(_HEADLINES[most_urgent])
        messages.extend(f"{flag.title}: {flag.action}" for flag in triggered)
        if stopped_early or answers.not_asked:
            messages.append(
                "The questions stopped at this answer, because it is enough on its own for a clinician to "
                "check your knee first. Tell them about anything else that troubles you about the knee."
            )
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
    if not triggered and pain_now is not None:
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
        severity=None if pain_now is None else severity(pain_now, kujala_score),
    )


def _check_known(what: str, given: frozenset[str], known: set[str]) -> None:
    unknown = sorted(str(item) for item in given if item not in known)
    if unknown:
        choices = ", ".join(sorted(known))
        raise InputError(f"Unknown {what} id(s): {', '.join(unknown)}. Known ids: {choices}.")


def check_red_flag_ids(ids: Iterable[str], age: int, content: Content) -> None:
    """Refuse red-flag ids that do not exist, or whose question is not asked at this age.

    An answer to a question for other ages is never dropped quietly: it usually means that the age, or
    the question id, is wrong, and a quietly dropped "yes" could hide a warning sign.
    """
    flags = {flag.id: flag for flag in content.red_flags}
    given = [str(key) for key in ids]
    unknown = sorted(key for key in given if key not in flags)
    if unknown:
        raise InputError(f"Unknown red-flag question id(s): {', '.join(unknown)}.")
    outside = [flags[key] for key in given if not flags[key].applies_to_age(age)]
    if outside:
        described = "; ".join(
            f"'{flag.id}' ({flag.title}) is asked only of {flag.applies_to.words}" for flag in outside
        )
        raise InputError(
            f"{described}, and the age given is {age}. Check the age, or leave that question out."
        )


def _red_flags(
    given: Mapping[str, bool],
    age: int,
    content: Content,
    kujala_letters: tuple[str, ...] | None,
) -> tuple[list[TriggeredFlag], bool]:
    """The raised flags, most urgent first, and whether the questions stopped at a yes before the end."""
    check_red_flag_ids(given, age, content)
    not_yes_no = sorted(key for key, value in given.items() if not isinstance(value, bool))
    if not_yes_no:
        raise InputError(f"Answer yes or no to the red-flag question(s): {', '.join(not_yes_no)}.")
    applicable = questions_for(age, content)
    unanswered = [flag.title for flag in applicable if flag.id not in given]
    if unanswered and not any(given.values()):
        raise InputError(
            "Please answer every safety question before starting; still open: " + "; ".join(unanswered) + "."
        )
    kujala = content.questionnaires["kujala"]
    triggered: list[TriggeredFlag] = []
    for flag in applicable:
        said_yes = given.get(flag.id, False)
        by_kujala = kujala_answers_raising(flag, kujala_letters, kujala)
        if said_yes or by_kujala:
            reason = flag.reason
            if not said_yes:
                reason = f"You answered {' and '.join(by_kujala)} in the knee-score questions. {reason}"
            triggered.append(
                TriggeredFlag(
                    id=flag.id,
                    title=flag.title,
                    severity=flag.severity,
                    reason=reason,
                    action=flag.action,
                    raised_by="answer" if said_yes else "kujala",
                    kujala_answers=by_kujala,
                )
            )
    triggered.sort(key=lambda flag: SEVERITY_ORDER.index(flag.severity))
    return triggered, bool(unanswered)


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
