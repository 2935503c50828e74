"""What an imported record must agree with before it is written: kneefix's content and its own rules.

The export document's schema (:mod:`kneefix.storage.export`) checks shapes and ranges; it cannot know
the content. A record naming a protocol, piece of equipment, symptom or exercise kneefix does not
have would reach pages and plan decisions that know none, and a screening or score that disagrees
with its own answers would be a silently different answer. Two disagreements matter for safety: a
warning sign answered "yes" that the screening does not raise (the plan would run past it), and a
Kujala total its answers do not add up to. Both imports (JSON and FHIR) run these checks; nothing is
written when one fails.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, get_args

from kneefix.content.loader import Content
from kneefix.errors import InputError
from kneefix.limits import AGE_MAX, AGE_MIN, PAIN_MAX, PAIN_MIN
from kneefix.programme.screening import Verdict
from kneefix.services import scores as score_service

VERDICTS = frozenset(get_args(Verdict))


class RecordError(InputError):
    """One record of the document disagrees with the content: ``part`` and ``index`` say which (e.g.
    ``screenings``, 2), so an import that read the record from elsewhere (a FHIR resource) can name
    its source."""

    def __init__(self, part: str, index: int | None, field: str, problem: str) -> None:
        self.part, self.index, self.field, self.problem = part, index, field, problem
        where = part if index is None else f"{part}[{index}]"
        super().__init__(f"{where}, field {field}: {problem}.")


@dataclass(frozen=True)
class _Known:
    kind: str
    ids: frozenset[str]

    def check(self, part: str, index: int | None, field: str, given: Iterable[Any]) -> None:
        unknown = sorted(str(item) for item in given if item not in self.ids)
        if unknown:
            raise RecordError(part, index, field, f"{', '.join(unknown)}: not a {self.kind} kneefix knows")


def check_record(content: Content, document: dict[str, Any]) -> None:
    """RecordError for the first record that disagrees with the content or its own answers."""
    protocols = _Known("protocol", frozenset(content.protocols))
    equipment = _Known("piece of equipment", frozenset(content.equipment))
    symptoms = _Known("symptom", frozenset(symptom.id for symptom in content.symptoms))
    exercises = _Known("exercise", frozenset(content.exercises))
    settings = (document.get("profile") or {}).get("settings")
    if settings:
        protocols.check("profile", None, "settings.protocol_id", [settings.get("protocol_id")])
        equipment.check("profile", None, "settings.equipment", settings.get("equipment") or ())
    for index, screening in enumerate(document.get("screenings") or ()):
        _check_screening(index, screening, symptoms)
    for index, score in enumerate(document.get("scores") or ()):
        _check_score(content, index, score)
    for index, log in enumerate(document.get("session_logs") or ()):
        exercises.check("session_logs", index, "exercises_done", log.get("exercises_done") or ())
        exercises.check("session_logs", index, "hurt", log.get("hurt") or ())


def _in_range(index: int, answers: dict[str, Any], key: str, low: int, high: int) -> None:
    value = answers.get(key)
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise RecordError("screenings", index, f"answers.{key}", f"{value!r} is outside {low} to {high}")


def _check_screening(index: int, screening: dict[str, Any], symptoms: _Known) -> None:
    answers = screening.get("answers") or {}
    verdict = screening.get("verdict")
    if verdict not in VERDICTS:
        raise RecordError(
            "screenings", index, "verdict", f"{verdict!r} is not one of {', '.join(sorted(VERDICTS))}"
        )
    _in_range(index, answers, "age", AGE_MIN, AGE_MAX)
    _in_range(index, answers, "pain_now", PAIN_MIN, PAIN_MAX)
    symptoms.check("screenings", index, "answers.symptoms", answers.get("symptoms") or ())
    raised = set(screening.get("red_flags") or ())
    said_yes = sorted(flag for flag, yes in (answers.get("red_flags") or {}).items() if yes is True)
    missed = [flag for flag in said_yes if flag not in raised]
    if missed or (raised and verdict != "refer_now"):
        problem = (
            f"warning sign {', '.join(missed)} answered yes, but the screening does not raise it"
            if missed
            else f"red flags {', '.join(sorted(raised))} raised, but the verdict is {verdict!r}"
        )
        raise RecordError(
            "screenings",
            index,
            "red_flags",
            f"{problem}; kneefix does not import a screening whose warning sign the plan would run past",
        )


def _check_score(content: Content, index: int, score: dict[str, Any]) -> None:
    value = score.get("score")
    if score.get("instrument") == "nprs":
        if not isinstance(value, int | float) or value != int(value) or not PAIN_MIN <= value <= PAIN_MAX:
            raise RecordError("scores", index, "score", f"{value!r} is not a whole 0-10 pain rating")
        return
    letters = score.get("answers") or []
    if not letters:
        return  # a total without its answers (kneefix keeps those as given)
    try:
        result = score_service.score_kujala(content, letters)
    except InputError as error:
        raise RecordError("scores", index, "answers", str(error).rstrip(".")) from None
    if result.score != value:
        raise RecordError(
            "scores", index, "score", f"{value:g}, but its answers add up to {result.score} (Kujala AKPS)"
        )
