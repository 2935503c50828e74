"""One person's record as an HL7 FHIR R4 (R4B models) ``Bundle`` of type ``collection``.

Clinics keep records in an electronic health record; FHIR is the format those systems read. The
mapping, resource by resource, is in ``docs/fhir.md``. Every resource id is derived from a kneefix id
(``kujala-score-12``), and every ``fullUrl`` is a ``urn:uuid:`` made from it with uuid5, so two exports
of the same record carry the same ids and references. References point at those ``fullUrl`` values,
so each resolves inside the Bundle. Timestamps are written in the person's time zone (their profile's
``time_zone``; the server's local zone when none is set); records kept as a day (scores, sessions) stay
days, since a time of day would be invented.

The Bundle is assembled as JSON-ready dicts and then parsed with the ``fhir.resources`` R4B models,
which validate every field on construction; what leaves is what the library accepted and wrote out.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError
from sqlalchemy.orm import Session

from kneefix.content.loader import Content
from kneefix.errors import NotFoundError
from kneefix.limits import AGE_MAX, AGE_MIN, DAYS_MAX, DAYS_MIN, PAIN_MAX, PAIN_MIN
from kneefix.programme.records import LOG_KIND_RUN, PlanChange, RunCheck, ScoreRecord, SessionLog
from kneefix.services import audit, clinic, fhir_bindings, fhir_narrative, uploads
from kneefix.services import plan as plan_service
from kneefix.services import scores as score_service
from kneefix.services.clinic import clinician_label
from kneefix.storage import check_queue
from kneefix.storage import clinic as clinic_store
from kneefix.storage import profiles as profile_store
from kneefix.storage import screenings as screening_store
from kneefix.storage.files import FileStore
from kneefix.storage.records import ProfileInfo, ScreeningEntry, TechniqueCheckInfo, UserInfo

FHIR_VERSION = "4.3.0"  # R4B
FORMAT = "fhir"
# No fhirVersion parameter: the Bundle validates as R4B (the models) and as R4 (Medplum's R4 definitions,
# in the tests), and an R4 server may refuse a download labelled 4.3 (docs/fhir.md).
MEDIA_TYPE = "application/fhir+json"
BASE = "https://kneefix.org/fhir"
KUJALA_URL = f"{BASE}/Questionnaire/kujala"
SCREENING_URL = f"{BASE}/Questionnaire/screening"
SYSTEM_RED_FLAG = f"{BASE}/CodeSystem/red-flag"
SYSTEM_EXERCISE = f"{BASE}/CodeSystem/exercise"
SYSTEM_LOG = f"{BASE}/CodeSystem/log"
LOG_EXERCISE_DONE = "exercise-done"
LOG_EXERCISE_HURT = "exercise-hurt"
RUN_CHECK = "run-readiness-check"
RUN_CHECK_WALK = "walk-pain"
RUN_CHECK_HOP = "hop-pain"
# Every code of the log system, with its display (published as a CodeSystem: fhir_definitions).
LOG_CODES = {
    "session": "Exercise session",
    "run": "Return-to-running run",
    "pain-during": "Pain during",
    "pain-after": "Pain after",
    "next-morning-pain": "Pain the next morning",
    LOG_EXERCISE_DONE: "Exercise done",
    LOG_EXERCISE_HURT: "Exercise marked 'this hurt'",
    "run-minutes": "Time running",
    "run-distance": "Distance",
    RUN_CHECK: "Return-to-running readiness check",
    RUN_CHECK_WALK: "Pain on a brisk walk",
    RUN_CHECK_HOP: "Pain on single-leg hops",
}
# One code system per kind of code (a system's codes must mean one thing each).
SYSTEM_SYMPTOM = f"{BASE}/CodeSystem/symptom"
SYSTEM_KUJALA_ANSWER = f"{BASE}/CodeSystem/kujala-answer"  # "ITEM-LETTER": 1-a is item 1's first option
SYSTEM_SCORE = f"{BASE}/CodeSystem/score"
KUJALA_TOTAL = "kujala-total"
SYSTEM_MOVEMENT = f"{BASE}/CodeSystem/movement"  # what a technique check filmed
SYSTEM_MEASURE = f"{BASE}/CodeSystem/technique-measure"  # a check's per-rep and per-landing measures
SYSTEM_INITIATION = f"{BASE}/CodeSystem/initiation"  # hips, knees, together
SYSTEM_CHECK_FILE = f"{BASE}/CodeSystem/technique-file"  # annotated video, angles chart
EXT_REP = f"{BASE}/StructureDefinition/rep-number"
EXT_LANDING = f"{BASE}/StructureDefinition/landing-number"
EXT_ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"  # FHIR core: an option's score
EXT_MIN = "http://hl7.org/fhir/StructureDefinition/minValue"
EXT_MAX = "http://hl7.org/fhir/StructureDefinition/maxValue"
SNOMED = "http://snomed.info/sct"
KNEE_SITE = {
    "left": ("82169009", "Structure of left knee region"),
    "right": ("6757004", "Structure of right knee region"),
}
PUBLISHER = "kneefix"
KUJALA_COPYRIGHT = (
    "The Kujala Anterior Knee Pain Scale is from Kujala UM et al., Scoring of patellofemoral disorders, "
    "Arthroscopy 1993;9(2):159-163. The questions and options here are kneefix's plain-words wording; "
    "the item points follow the published table."
)
EXT_ADVICE = f"{BASE}/StructureDefinition/red-flag-advice"
EXT_CLEARANCE = f"{BASE}/StructureDefinition/red-flag-clearance"
EXT_SETTINGS = f"{BASE}/StructureDefinition/plan-settings"
EXT_OUTCOME = f"{BASE}/StructureDefinition/screening-outcome"
EXT_FLAG_DETAIL = "http://hl7.org/fhir/StructureDefinition/flag-detail"  # FHIR core: what raised a Flag
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
LOINC = "http://loinc.org"
NPRS_LOINC = "72514-3"
NPRS_DISPLAY = "Pain severity - 0-10 verbal numeric rating [Score] - Reported"
UCUM = "http://unitsofmeasure.org"
ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, BASE)

Resource = dict[str, Any]


def full_url(resource_type: str, resource_id: str) -> str:
    """The Bundle-wide address of a resource: a uuid5 of its type and id, so it never changes."""
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{resource_type}/{resource_id}')}"


def ref(resource_type: str, resource_id: str) -> dict[str, str]:
    return {"reference": full_url(resource_type, resource_id)}


def fhir_id(text: str) -> str:
    """FHIR ids allow letters, digits, '-' and '.' (content ids use '_')."""
    return text.replace("_", "-")


class _Clock:
    """Writes stored instants in the person's time zone (with its offset, as FHIR asks)."""

    def __init__(self, zone_name: str | None) -> None:
        self.zone = ZoneInfo(zone_name) if zone_name else None

    def at(self, moment: dt.datetime) -> str:
        aware = (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).replace(microsecond=0)
        return (aware.astimezone(self.zone) if self.zone else aware.astimezone()).isoformat()


def _quantity(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def _absent(code: str = "unknown", text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": [{"system": ABSENT, "code": code}]}
    if text:
        concept["text"] = text
    return concept


def _category(code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code}]}]


# ----- questionnaires ---------------------------------------------------------------------------


def _versioned(questionnaire: Resource) -> Resource:
    """The Questionnaire with a ``version`` that changes exactly when its items do (a digest of them),
    so a response names the wording and options it answered: ``url|version``."""
    items = json.dumps(questionnaire["item"], sort_keys=True, ensure_ascii=False).encode()
    return {**questionnaire, "version": hashlib.sha256(items).hexdigest()[:12]}


def canonical(questionnaire: Resource) -> str:
    return f"{questionnaire['url']}|{questionnaire['version']}"


def _limits(low: int, high: int) -> list[dict[str, Any]]:
    return [{"url": EXT_MIN, "valueInteger": low}, {"url": EXT_MAX, "valueInteger": high}]


def kujala_questionnaire(content: Content) -> Resource:
    """Kujala AKPS from the content file: one choice item per question; each option a code of its own
    (item and letter) with its points as ``ordinalValue``, so a receiver can recompute the total."""
    form = score_service.questionnaire(content, "kujala")
    return _versioned(
        {
            "resourceType": "Questionnaire",
            "id": "kujala",
            "url": KUJALA_URL,
            "name": "KujalaAKPS",
            "title": form.name,
            "status": "active",
            "publisher": PUBLISHER,
            "copyright": KUJALA_COPYRIGHT,
            "subjectType": ["Patient"],
            "description": form.instructions,
            "item": [
                {
                    "linkId": str(item.number),
                    "text": item.question,
                    "type": "choice",
                    "required": True,
                    "answerOption": [
                        {
                            "valueCoding": _kujala_answer(
                                item.number, option.letter, option.label, option.points
                            )
                        }
                        for option in item.options
                    ],
                }
                for item in form.items
            ],
        }
    )


def _kujala_answer(
    number: int, letter: str, label: str | None = None, points: float | None = None
) -> Resource:
    coding: Resource = {"system": SYSTEM_KUJALA_ANSWER, "code": f"{number}-{letter}"}
    if label is not None:
        coding["display"] = label
    if points is not None:
        coding["extension"] = [{"url": EXT_ORDINAL, "valueDecimal": points}]
    return coding


def screening_questionnaire(content: Content) -> Resource:
    """The symptom and red-flag screen: age, symptoms, each red flag (yes/no), pain now, and the plan's
    settings, with the ranges kneefix accepts; the Kujala part is its own Questionnaire."""
    items: list[dict[str, Any]] = [
        {
            "extension": _limits(AGE_MIN, AGE_MAX),
            "linkId": "age",
            "text": "Age in years",
            "type": "integer",
            "required": True,
        },
        {
            "linkId": "symptoms",
            "text": "Symptoms",
            "type": "choice",
            "repeats": True,
            "answerOption": [
                {"valueCoding": {"system": SYSTEM_SYMPTOM, "code": s.id, "display": s.label}}
                for s in content.symptoms
            ],
        },
        {
            "linkId": "red-flags",
            "text": "Warning signs",
            "type": "group",
            "item": [
                {"linkId": f"red-flag-{fhir_id(flag.id)}", "text": flag.question, "type": "boolean"}
                for flag in content.red_flags
            ],
        },
        {
            "extension": _limits(PAIN_MIN, PAIN_MAX),
            "linkId": "pain-now",
            "text": f"Pain now ({PAIN_MIN}-{PAIN_MAX})",
            "type": "integer",
        },
        {
            "extension": _limits(DAYS_MIN, DAYS_MAX),
            "linkId": "days-per-week",
            "text": "Training days per week",
            "type": "integer",
        },
        {"linkId": "runs", "text": "Runs, or wants to return to running", "type": "boolean"},
    ]
    return _versioned(
        {
            "resourceType": "Questionnaire",
            "id": "screening",
            "url": SCREENING_URL,
            "name": "KneefixScreening",
            "title": "kneefix symptom and red-flag screening",
            "status": "active",
            "publisher": PUBLISHER,
            "subjectType": ["Patient"],
            "item": items,
        }
    )


def _worded(items: list[dict[str, Any]], form: Resource) -> list[dict[str, Any]]:
    """The response's items with their Questionnaire's question texts and option labels, so the
    response reads on its own (a receiver may not hold kneefix's Questionnaires)."""
    texts: dict[str, str] = {}
    labels: dict[tuple[str, str], str] = {}

    def index(questions: list[dict[str, Any]]) -> None:
        for question in questions:
            texts[question["linkId"]] = question["text"]
            for option in question.get("answerOption") or ():
                coding = option["valueCoding"]
                labels[(question["linkId"], coding["code"])] = coding["display"]
            index(question.get("item") or [])

    def word(item: dict[str, Any]) -> dict[str, Any]:
        worded: dict[str, Any] = {"linkId": item["linkId"]}
        if item["linkId"] in texts:
            worded["text"] = texts[item["linkId"]]
        if "answer" in item:
            worded["answer"] = item["answer"]
            for coding in (answer["valueCoding"] for answer in item["answer"] if "valueCoding" in answer):
                label = labels.get((item["linkId"], coding["code"]))
                if label:
                    coding["display"] = label
        if "item" in item:
            worded["item"] = [word(inner) for inner in item["item"]]
        return worded

    index(form["item"])
    return [word(item) for item in items]


def _screening_response(
    content: Content, form: Resource, entry: ScreeningEntry, patient: str, clock: _Clock
) -> Resource:
    answers = entry.answers
    not_asked = set(answers.get("not_asked") or ())
    items: list[dict[str, Any]] = []

    def single(link: str, key: str, kind: str) -> None:
        value = answers.get(key)
        if value is not None and key not in not_asked:
            items.append({"linkId": link, "answer": [{kind: value}]})

    single("age", "age", "valueInteger")
    symptoms = [
        {"valueCoding": {"system": SYSTEM_SYMPTOM, "code": code}} for code in answers.get("symptoms") or ()
    ]
    if symptoms and "symptoms" not in not_asked:
        items.append({"linkId": "symptoms", "answer": symptoms})
    flags = answers.get("red_flags") or {}
    # Answers follow their Questionnaire's item order (FHIR: a response's items keep it); a flag the
    # content no longer asks comes last.
    order = {flag.id: index for index, flag in enumerate(content.red_flags)}
    if flags:
        items.append(
            {
                "linkId": "red-flags",
                "item": [
                    {"linkId": f"red-flag-{fhir_id(flag)}", "answer": [{"valueBoolean": bool(yes)}]}
                    for flag, yes in sorted(
                        flags.items(), key=lambda item: (order.get(item[0], len(order)), item[0])
                    )
                ],
            }
        )
    single("pain-now", "pain_now", "valueInteger")
    single("days-per-week", "days_per_week", "valueInteger")
    single("runs", "runs", "valueBoolean")
    outcome = [{"url": "verdict", "valueCode": entry.verdict}]
    outcome += [{"url": "red-flag", "valueCode": flag} for flag in entry.red_flags]
    outcome += [{"url": "message", "valueString": message} for message in entry.messages]
    return {
        "resourceType": "QuestionnaireResponse",
        "id": f"screening-response-{entry.id}",
        "extension": [{"url": EXT_OUTCOME, "extension": outcome}],
        "questionnaire": canonical(form),
        "status": "completed",
        "subject": ref("Patient", patient),
        "source": ref("Patient", patient),
        "authored": clock.at(entry.taken_at),
        "item": _worded(items, form),
    }


def _kujala_response(form: Resource, score: ScoreRecord, patient: str) -> Resource:
    items = [
        {"linkId": str(number), "answer": [{"valueCoding": _kujala_answer(number, letter)}]}
        for number, letter in enumerate(score.answers, start=1)
    ]
    return {
        "resourceType": "QuestionnaireResponse",
        "id": f"kujala-response-{score.id}",
        "questionnaire": canonical(form),
        "status": "completed",
        "subject": ref("Patient", patient),
        "source": ref("Patient", patient),
        "authored": score.date.isoformat(),
        "item": _worded(items, form),
    }


# ----- scores -----------------------------------------------------------------------------------


def _score_observation(score: ScoreRecord, patient: str) -> Resource:
    base: Resource = {
        "resourceType": "Observation",
        "status": "final",
        "category": _category("survey"),
        "subject": ref("Patient", patient),
        "effectiveDateTime": score.date.isoformat(),
        "performer": [ref("Patient", patient)],  # the person's own rating
    }
    if score.instrument == "nprs":
        return {
            **base,
            "id": f"nprs-score-{score.id}",
            "code": {"coding": [{"system": LOINC, "code": NPRS_LOINC, "display": NPRS_DISPLAY}]},
            "valueInteger": round(score.score),
        }
    observation = {
        **base,
        "id": f"kujala-score-{score.id}",
        "code": {
            "coding": [{"system": SYSTEM_SCORE, "code": KUJALA_TOTAL, "display": "Kujala AKPS total score"}],
            "text": "Kujala Anterior Knee Pain Scale (AKPS), 0-100, higher is better",
        },
        "valueQuantity": _quantity(score.score, "score", "{score}"),
    }
    if score.answers:
        observation["derivedFrom"] = [ref("QuestionnaireResponse", f"kujala-response-{score.id}")]
    return observation


# ----- red flags --------------------------------------------------------------------------------


def _flags(content: Content, entry: ScreeningEntry, patient: str, clock: _Clock) -> list[Resource]:
    """A Flag per red flag the screening raised. It names no author: kneefix's screening rules raised
    it from the person's answers (the Flag points at that response), and whoever cleared it is in the
    clearance, not in ``author``, which FHIR reads as who raised it."""
    known = {flag.id: flag for flag in content.red_flags}
    flags: list[Resource] = []
    for flag_id in entry.red_flags:
        flag = known.get(flag_id)
        title = flag.title if flag else flag_id
        advice = flag.action if flag else " ".join(entry.messages)
        resource: Resource = {
            "resourceType": "Flag",
            "id": f"red-flag-{entry.id}-{fhir_id(flag_id)}",
            "status": "inactive" if entry.cleared_at else "active",
            "category": [
                {
                    "coding": [{"system": FLAG_CATEGORY, "code": "clinical", "display": "Clinical"}],
                    "text": "red flag from the screening",
                }
            ],
            "code": {
                "coding": [{"system": SYSTEM_RED_FLAG, "code": flag_id, "display": title}],
                "text": title,
            },
            "subject": ref("Patient", patient),
            "period": {"start": clock.at(entry.taken_at)},
            "extension": [
                {"url": EXT_ADVICE, "valueString": advice},
                {
                    "url": EXT_FLAG_DETAIL,
                    "valueReference": ref("QuestionnaireResponse", f"screening-response-{entry.id}"),
                },
            ],
        }
        if entry.cleared_at is not None:
            resource["period"]["end"] = clock.at(entry.cleared_at)
            resource["extension"].append({"url": EXT_CLEARANCE, "extension": _clearance(entry, clock)})
        flags.append(resource)
    return flags


def _clearance(entry: ScreeningEntry, clock: _Clock) -> list[dict[str, Any]]:
    """Who cleared the red flags, when, and their note (sub-extensions of ``red-flag-clearance``)."""
    assert entry.cleared_at is not None
    parts: list[dict[str, Any]] = [{"url": "cleared-at", "valueDateTime": clock.at(entry.cleared_at)}]
    if entry.cleared_by_user_id is not None:
        parts.append(
            {
                "url": "cleared-by",
                "valueReference": {
                    **ref("Practitioner", f"practitioner-{entry.cleared_by_user_id}"),
                    "display": entry.cleared_by_name or "a clinician",
                },
            }
        )
    else:
        parts.append(
            {"url": "cleared-by", "valueReference": {"display": entry.cleared_by_name or "a clinician"}}
        )
    if entry.clearance_note:
        parts.append({"url": "note", "valueString": entry.clearance_note})
    return parts


# ----- the programme ----------------------------------------------------------------------------

# The plan's state as CarePlan.status. Maintenance (the programme's phases done) stays ``active``: the
# person keeps doing the maintenance exercises, and ``completed`` would tell a clinic the plan is over.
_CAREPLAN_STATUS = {"paused": "on-hold"}
_ACTIVITY_STATUS = {"on-hold": "on-hold", "active": "in-progress"}


def _care_plan(
    content: Content, session: Session, profile: ProfileInfo, patient: str, today: dt.date, clock: _Clock
) -> Resource | None:
    if profile.settings is None:
        return None
    records = plan_service.plan_records(session, profile.id)
    state = plan_service.replay_records(content, records, today)
    status = _CAREPLAN_STATUS.get(state.status, "active")
    activities = [
        {
            "detail": {
                "kind": "ServiceRequest",
                "code": {
                    "coding": [
                        {"system": SYSTEM_EXERCISE, "code": exercise.exercise_id, "display": exercise.name}
                    ],
                    "text": exercise.name,
                },
                "status": _ACTIVITY_STATUS[status],
                "description": f"{exercise.name}: {exercise.dose_text}",
            }
        }
        for exercise in (state.next_session.exercises if state.next_session else ())
    ]
    clinician_entries = [
        e for e in plan_service.change_history(session, profile.id) if e.source == "clinician"
    ]
    by_clinician = {
        (entry.change.date, entry.change.rule_id, entry.change.explanation): entry.clinician_user_id
        for entry in clinician_entries
    }
    made = plan_service.with_clinician_changes(
        state, [entry.change for entry in clinician_entries], today
    ).changes
    notes = [
        _change_note(change, by_clinician.get((change.date, change.rule_id, change.explanation)))
        for change in made
        if not change.details.get("projected", False)
    ]
    plan: Resource = {
        "resourceType": "CarePlan",
        "id": f"careplan-{profile.id}",
        "status": status,
        "intent": "plan",
        "title": state.plan.protocol_name or profile.settings.protocol_id,
        "description": f"Phase {state.phase_index + 1} of {state.phase_count}: {state.phase_name}",
        "subject": ref("Patient", patient),
        "period": {"start": profile.settings.start_date.isoformat()},
        "extension": [{"url": EXT_SETTINGS, "extension": _settings_extension(profile)}],
    }
    if state.programme_complete:
        plan["description"] += " (programme complete: maintenance)"
    if state.paused_reason:
        plan["description"] += f" (paused: {state.paused_reason})"
    if activities:
        plan["activity"] = activities
    if notes:
        plan["note"] = notes
    return plan


def _change_note(change: PlanChange, clinician_id: int | None) -> dict[str, Any]:
    """A plan change as a note: when it applies, its kind and why (the rules' changes are the replay's,
    so they are the same whenever the same record is exported)."""
    note: dict[str, Any] = {"time": change.date.isoformat(), "text": f"{change.kind}: {change.explanation}"}
    if clinician_id is not None:
        note["authorReference"] = ref("Practitioner", f"practitioner-{clinician_id}")
    else:
        note["authorString"] = "kneefix rules"
    return note


def _settings_extension(profile: ProfileInfo) -> list[dict[str, Any]]:
    """What the plan adapts to, so an import rebuilds the same plan (docs/fhir.md)."""
    settings = profile.settings
    assert settings is not None
    parts: list[dict[str, Any]] = [
        {"url": "protocol", "valueCode": settings.protocol_id},
        {"url": "days-per-week", "valueInteger": settings.days_per_week},
        {"url": "runs", "valueBoolean": settings.runs},
        {"url": "guideline-additions", "valueBoolean": settings.guideline_additions},
    ]
    parts += [{"url": "equipment", "valueCode": item} for item in sorted(settings.equipment)]
    parts += [{"url": "training-weekday", "valueInteger": day} for day in settings.training_weekdays or ()]
    if profile.time_zone:
        parts.append({"url": "time-zone", "valueCode": profile.time_zone})
    return parts


def _exercise_coding(content: Content, exercise_id: str) -> dict[str, str]:
    coding = {"system": SYSTEM_EXERCISE, "code": exercise_id}
    exercise = content.exercises.get(exercise_id)
    return {**coding, "display": exercise.name} if exercise else coding


def _pain_component(code: str, value: int | None) -> dict[str, Any] | None:
    if value is None:
        return None
    display = LOG_CODES[code]
    # A kneefix code alone: LOINC 72514-3 is one rating, and the same LOINC code on each of a
    # session's pains would leave a receiver that reads LOINC three indistinguishable components.
    return {
        "code": {
            "coding": [{"system": SYSTEM_LOG, "code": code, "display": display}],
            "text": f"{display} (0-10 numeric rating)",
        },
        "valueInteger": value,
    }


def _log_observation(content: Content, log: SessionLog, patient: str, care_plan: str | None) -> Resource:
    run = log.kind == LOG_KIND_RUN
    components = [
        _pain_component("pain-during", log.pain_during),
        _pain_component("pain-after", log.pain_after),
        _pain_component("next-morning-pain", log.next_morning_pain),
    ]
    extra: list[dict[str, Any]] = [c for c in components if c is not None]
    # The exercises ticked and the "this hurt" marks: the plan's easier-version decisions read the
    # marks, so a record rebuilt from the Bundle must keep them to decide as the original did.
    for code, exercise_ids in ((LOG_EXERCISE_DONE, log.exercises_done), (LOG_EXERCISE_HURT, log.hurt)):
        extra.extend(
            {
                "code": {"coding": [log_coding(code)], "text": LOG_CODES[code]},
                "valueCodeableConcept": {"coding": [_exercise_coding(content, exercise_id)]},
            }
            for exercise_id in exercise_ids
        )
    if run and log.run_minutes is not None:
        extra.append(
            {
                "code": {
                    "coding": [log_coding("run-minutes")],
                    "text": LOG_CODES["run-minutes"],
                },
                "valueQuantity": _quantity(log.run_minutes, "min", "min"),
            }
        )
    if run and log.run_distance_km is not None:
        extra.append(
            {
                "code": {
                    "coding": [log_coding("run-distance")],
                    "text": LOG_CODES["run-distance"],
                },
                "valueQuantity": _quantity(log.run_distance_km, "km", "km"),
            }
        )
    observation: Resource = {
        "resourceType": "Observation",
        "id": f"{'run' if run else 'session'}-log-{log.id}",
        "status": "final",
        "category": _category("activity"),
        "code": {
            "coding": [log_coding("run" if run else "session")],
            "text": LOG_CODES["run" if run else "session"],
        },
        "subject": ref("Patient", patient),
        "effectiveDateTime": log.date.isoformat(),
        "performer": [ref("Patient", patient)],  # logged by the person
        "valueQuantity": _quantity(round(log.completed * 100, 1), "%", "%"),
    }
    if log.note:
        observation["note"] = [{"text": log.note}]
    if extra:
        observation["component"] = extra
    if care_plan:
        observation["basedOn"] = [ref("CarePlan", care_plan)]
    return observation


def _run_check_observation(check: RunCheck, patient: str, care_plan: str | None) -> Resource:
    """The return-to-running readiness check: pain on a brisk walk and on single-leg hops. The running
    gate opens only on a passed check, so a record rebuilt without them would hold a runner back."""
    components = [
        _pain_component(RUN_CHECK_WALK, check.walk_pain),
        _pain_component(RUN_CHECK_HOP, check.hop_pain),
    ]
    observation: Resource = {
        "resourceType": "Observation",
        "id": f"run-check-{check.id}",
        "status": "final",
        "category": _category("survey"),
        "code": {
            "coding": [log_coding(RUN_CHECK)],
            "text": LOG_CODES[RUN_CHECK],
        },
        "subject": ref("Patient", patient),
        "effectiveDateTime": check.date.isoformat(),
        "performer": [ref("Patient", patient)],
        "component": [c for c in components if c is not None],
    }
    if care_plan:
        observation["basedOn"] = [ref("CarePlan", care_plan)]
    return observation


# ----- technique checks -------------------------------------------------------------------------


def _numbered(kind: str, number: object) -> list[dict[str, Any]]:
    """Which rep or landing a component belongs to, as data (not only in its text)."""
    return [{"url": EXT_REP if kind == "rep" else EXT_LANDING, "valuePositiveInt": number}]


def _measure(kind: str, number: object, code: str, text: str, value: object, unit: str) -> dict[str, Any]:
    component: dict[str, Any] = {
        "extension": _numbered(kind, number),
        "code": {"coding": [measure_coding(code)], "text": text},
    }
    if isinstance(value, int | float) and not isinstance(value, bool):
        component["valueQuantity"] = _quantity(round(float(value), 1), unit, unit)
    else:
        component["dataAbsentReason"] = _absent()
    return component


INITIATION_DISPLAY = {"hips": "Hips first", "knees": "Knees first", "together": "Hips and knees together"}
REP_MEASURES = {
    "lag-ms": "Knee onset after hip onset, in ms (negative: the knees moved first)",
    "initiation": "What started the lowering: hips, knees or both together",
    "depth-deg": "Depth of the rep, in degrees",
}
LANDING_MEASURES = (
    ("knee_flexion_ic_deg", "knee flexion at initial contact"),
    ("peak_knee_flexion_deg", "peak knee flexion"),
    ("hip_flexion_ic_deg", "hip flexion at initial contact"),
    ("hip_flexion_at_peak_knee_deg", "hip flexion at peak knee flexion"),
)
MEASURE_CODES = {
    **REP_MEASURES,
    **{fhir_id(key): f"{text.capitalize()}, in degrees" for key, text in LANDING_MEASURES},
    "less-measured": "LESS error points on the items the video let the analysis score",
}


def log_coding(code: str) -> dict[str, str]:
    return {"system": SYSTEM_LOG, "code": code, "display": LOG_CODES[code]}


def measure_coding(code: str) -> dict[str, str]:
    return {"system": SYSTEM_MEASURE, "code": code, "display": MEASURE_CODES[code]}


def _check_components(report: dict[str, Any]) -> list[dict[str, Any]]:
    components: list[dict[str, Any]] = []
    for rep in report.get("reps") or ():
        n = rep.get("rep")
        components.append(
            _measure("rep", n, "lag-ms", f"Rep {n}: knee onset after hip onset", rep.get("lag_ms"), "ms")
        )
        initiation = rep.get("initiation")
        called: dict[str, Any] = {
            "extension": _numbered("rep", n),
            "code": {
                "coding": [measure_coding("initiation")],
                "text": f"Rep {n}: initiation",
            },
        }
        if initiation in ("hips", "knees", "together"):
            coding = {
                "system": SYSTEM_INITIATION,
                "code": initiation,
                "display": INITIATION_DISPLAY[initiation],
            }
            called["valueCodeableConcept"] = {"coding": [coding]}
        else:
            called["dataAbsentReason"] = _absent(text=rep.get("initiation_note") or None)
        components.append(called)
        components.append(_measure("rep", n, "depth-deg", f"Rep {n}: depth", rep.get("depth_deg"), "deg"))
    for landing in report.get("landings") or ():
        n = landing.get("landing")
        for key, text in LANDING_MEASURES:
            components.append(
                _measure("landing", n, fhir_id(key), f"Landing {n}: {text}", landing.get(key), "deg")
            )
        total = landing.get("less_total_measured")
        less: dict[str, Any] = {
            "extension": _numbered("landing", n),
            "code": {
                "coding": [measure_coding("less-measured")],
                "text": f"Landing {n}: LESS error points on the items measured",
            },
        }
        if isinstance(total, int):
            less["valueInteger"] = total
        else:
            less["dataAbsentReason"] = _absent()
        components.append(less)
    return components


# A check's analysis state as Observation.status (required binding, FHIR ObservationStatus).
CHECK_STATUS = {"done": "final", "failed": "cancelled", "queued": "registered", "running": "registered"}


def _movement_coding(movement: str) -> dict[str, str]:
    coding = {"system": SYSTEM_MOVEMENT, "code": movement}
    label = uploads.MOVEMENTS.get(movement)
    return {**coding, "display": label} if label else coding


def _filmed_side(check: TechniqueCheckInfo) -> str | None:
    """The leg the analysis measured: its report's side (it decides when asked for "auto"), else the
    side the person chose; None when neither names a leg."""
    reported = (check.report or {}).get("side")
    for side in (reported, check.side):
        if side in KNEE_SITE:
            return str(side)
    return None


def _check_observation(check: TechniqueCheckInfo, patient: str, clock: _Clock) -> Resource:
    """A finished check with its measures; a failed one ``cancelled`` with the reason the person was
    given; one still waiting or running ``registered`` (no results yet)."""
    observation: Resource = {
        "resourceType": "Observation",
        "id": f"technique-check-{check.id}",
        "status": CHECK_STATUS[check.status],
        "category": _category("exam"),
        "code": {
            "coding": [_movement_coding(check.movement)],
            "text": f"Technique check: {uploads.MOVEMENTS.get(check.movement, check.movement).lower()}",
        },
        "subject": ref("Patient", patient),
        "effectiveDateTime": clock.at(check.created_at),
    }
    side = _filmed_side(check)
    if side:
        code, display = KNEE_SITE[side]
        observation["bodySite"] = {
            "coding": [{"system": SNOMED, "code": code, "display": display}],
            "text": f"{side} knee",
        }
    if check.status == "failed":
        observation["dataAbsentReason"] = _absent("error", check.error or "The analysis failed.")
        return observation
    if check.status != "done":
        observation["dataAbsentReason"] = _absent("temp-unknown", "The analysis had not finished.")
        return observation
    components = _check_components(check.report or {})
    if components:
        observation["component"] = components
    return observation


# A finished check's files worth a clinician's look, as (file name, id suffix, title, embedded). The
# chart travels inside the Bundle (a clinic's system cannot sign in to kneefix to open a link); the
# video, megabytes, is only linked, and only where the server has a public address.
CHECK_FILES = (
    ("annotated.mp4", "annotated", "Annotated video of the technique check", False),
    ("angles.png", "angles", "Knee and hip angles chart of the technique check", True),
)
EMBED_MAX_BYTES = 2_000_000  # a chart larger than this (none seen) is linked, not embedded


@dataclass(frozen=True)
class FileLinks:
    """Where a check's result files are and how to link them: the file store (only files that exist
    are named), the server's configured public address (a link in a record must be absolute, and must
    never come from a request's Host header, which the sender controls; None: nothing is linked) and
    the path of a check's file for the one downloading (the web layer's route, so the path has one
    definition)."""

    public_url: str | None
    files: FileStore
    path_for: Callable[[int, str], str] | None = None


def _attachment(
    check: TechniqueCheckInfo, name: str, title: str, embed: bool, links: FileLinks
) -> Resource | None:
    """The file as an Attachment: its size and SHA-1 (FHIR's ``hash``, base64) so a receiver can check
    what it fetched, the bytes themselves when embedded, and the link when the server has an address."""
    key, media_type = uploads.result_key(check, name)
    linked = bool(links.public_url and links.path_for)
    if not (embed or linked) or not links.files.exists(key):
        return None  # nothing to link or embed: the file is not read
    digest = hashlib.sha1()
    with uploads.result_file(links.files, check, name) as (path, _), path.open("rb") as stream:
        size = path.stat().st_size
        data = stream.read() if embed and size <= EMBED_MAX_BYTES else None
        if data is not None:
            digest.update(data)
        else:  # a video: hashed in chunks, never held whole
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
    attachment: Resource = {
        "contentType": media_type,
        "title": title,
        "size": size,
        "hash": base64.b64encode(digest.digest()).decode(),
    }
    if links.public_url and links.path_for:
        attachment["url"] = links.public_url.rstrip("/") + links.path_for(check.id, name)
    if data is not None:
        attachment["data"] = base64.b64encode(data).decode()
    return attachment if "url" in attachment or "data" in attachment else None


def _check_documents(
    check: TechniqueCheckInfo, patient: str, observation: str, clock: _Clock, links: FileLinks
) -> list[Resource]:
    """A DocumentReference per result file the check has, about its Observation: the chart inside the
    Bundle, the video as a link on this server."""
    documents: list[Resource] = []
    for name, suffix, title, embed in CHECK_FILES:
        attachment = _attachment(check, name, title, embed, links)
        if attachment is None:
            continue
        documents.append(
            {
                "resourceType": "DocumentReference",
                "id": f"check-{check.id}-{suffix}",
                "status": "current",
                "docStatus": "final",
                "type": {"coding": [{"system": SYSTEM_CHECK_FILE, "code": suffix}], "text": title},
                "subject": ref("Patient", patient),
                "date": clock.at(check.created_at),
                "description": f"{title}, made by kneefix from the person's own video",
                "content": [{"attachment": attachment}],
                "context": {"related": [ref("Observation", observation)]},
            }
        )
    return documents


def _checks(
    checks: Sequence[TechniqueCheckInfo], patient: str, clock: _Clock, links: FileLinks | None
) -> list[Resource]:
    """Each check's Observation; a finished one derived from its files' DocumentReferences when linked."""
    resources: list[Resource] = []
    for check in sorted(checks, key=lambda c: c.id):
        observation = _check_observation(check, patient, clock)
        finished = check.status == "done" and check.output_dir
        documents = (
            _check_documents(check, patient, observation["id"], clock, links) if links and finished else []
        )
        if documents:
            observation["derivedFrom"] = [ref("DocumentReference", d["id"]) for d in documents]
        resources += [observation, *documents]
    return resources


# ----- the Bundle -------------------------------------------------------------------------------


def patient_identifier_system(public_url: str) -> str:
    """The identifier system of this server's people: its public address, so two kneefix servers'
    person 3 are two identifiers, and a clinic's system matches a later export to the same Patient."""
    return f"{public_url.rstrip('/')}/fhir/identifier/person"


def _patient(profile: ProfileInfo, public_url: str | None) -> Resource:
    patient: Resource = {
        "resourceType": "Patient",
        "id": f"patient-{profile.id}",
        "name": [{"text": profile.name}],
    }
    if public_url:
        patient["identifier"] = [
            {
                "use": "secondary",
                "system": patient_identifier_system(public_url),
                "value": str(profile.id),
                "assigner": {"display": f"kneefix at {public_url.rstrip('/')}"},
            }
        ]
    if profile.birth_year is not None:
        patient["birthDate"] = f"{profile.birth_year:04d}"
    return patient


def _practitioner(clinician: UserInfo) -> Resource:
    """The clinician's display name as their name, and their sign-in email as a work contact (an email
    is not a name: a clinic's system would file it as one)."""
    practitioner: Resource = {"resourceType": "Practitioner", "id": f"practitioner-{clinician.id}"}
    if clinician.display_name:
        practitioner["name"] = [{"text": clinician.display_name}]
    if clinician.email:
        practitioner["telecom"] = [{"system": "email", "value": clinician.email, "use": "work"}]
    return practitioner


def _care_team(profile: ProfileInfo, patient: str, clinicians: Sequence[UserInfo]) -> Resource:
    """The clinicians the person shares their record with (a physio or a coach, not a GP: FHIR's
    ``Patient.generalPractitioner`` means the person's nominated primary care provider)."""
    return {
        "resourceType": "CareTeam",
        "id": f"careteam-{profile.id}",
        "status": "active",
        "name": "Clinicians the person shares their kneefix record with",
        "subject": ref("Patient", patient),
        "participant": [
            {
                "role": [{"text": "clinician with access to the record"}],
                "member": {**ref("Practitioner", f"practitioner-{c.id}"), "display": clinician_label(c)},
            }
            for c in clinicians
        ],
    }


def build_bundle(
    session: Session,
    content: Content,
    profile_id: int,
    today: dt.date,
    now: dt.datetime | None = None,
    *,
    links: FileLinks | None = None,
    public_url: str | None = None,
) -> dict[str, Any]:
    """The profile's Bundle as FHIR JSON, validated by the R4B models (NotFoundError: no such profile);
    with ``links``, the checks' result files as DocumentReference links; with the server's
    ``public_url`` (or the links'), the Patient's identifier on this server."""
    profile = profile_store.get_profile(session, profile_id)
    clock = _Clock(profile.time_zone)
    clinicians = clinic_store.profile_clinicians(session, profile.id)
    patient = f"patient-{profile.id}"
    resources: list[Resource] = [_patient(profile, public_url or (links.public_url if links else None))]
    resources += [_practitioner(c) for c in clinicians]
    if clinicians:
        resources.append(_care_team(profile, patient, clinicians))
    kujala, screen = kujala_questionnaire(content), screening_questionnaire(content)
    resources += [kujala, screen]
    for entry in screening_store.list_screenings(session, profile.id):
        resources.append(_screening_response(content, screen, entry, patient, clock))
        resources += _flags(content, entry, patient, clock)
    for score in score_service.list_scores(session, profile.id):
        if score.instrument == "kujala" and score.answers:
            resources.append(_kujala_response(kujala, score, patient))
        resources.append(_score_observation(score, patient))
    care_plan = _care_plan(content, session, profile, patient, today, clock)
    if care_plan is not None:
        if clinicians:
            care_plan["careTeam"] = [ref("CareTeam", f"careteam-{profile.id}")]
        resources.append(care_plan)
    care_plan_id = care_plan["id"] if care_plan else None
    records = plan_service.plan_records(session, profile.id)
    resources += [_log_observation(content, log, patient, care_plan_id) for log in records.logs]
    resources += [_run_check_observation(check, patient, care_plan_id) for check in records.run_checks]
    resources += _checks(check_queue.list_checks(session, profile.id), patient, clock, links)
    _drop_dangling_authors(resources, {c.id for c in clinicians})
    for resource in resources:  # last: the narrative tells what the resource holds
        resource["text"] = fhir_narrative.narrative(resource)
    document: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": f"kneefix-profile-{profile.id}",
        "meta": {"tag": [{"system": f"{BASE}/fhir-version", "code": FHIR_VERSION}]},
        "type": "collection",
        "entry": [{"fullUrl": full_url(r["resourceType"], r["id"]), "resource": r} for r in resources],
    }
    if now is not None:
        document["timestamp"] = clock.at(now)
    return validated(document)


def _drop_dangling_authors(resources: list[Resource], clinician_ids: set[int]) -> None:
    """A clinician who cleared a flag or changed the plan and no longer shares the record is not in the
    Bundle; their name stays (as display or text), the reference goes (every reference must resolve)."""
    wanted = {full_url("Practitioner", f"practitioner-{cid}") for cid in clinician_ids}
    for resource in resources:
        for extension in resource.get("extension", ()):
            for part in extension.get("extension", ()) if extension["url"] == EXT_CLEARANCE else ():
                reference = part.get("valueReference", {})
                if reference.get("reference") not in (None, *wanted):
                    del reference["reference"]
        for note in resource.get("note", ()):
            reference = note.get("authorReference")
            if reference and reference["reference"] not in wanted:
                del note["authorReference"]
                note["authorString"] = "a clinician"


def validated(document: dict[str, Any]) -> dict[str, Any]:
    """Parse with the R4B models (which check every field), check the codes the models do not
    (:mod:`~kneefix.services.fhir_bindings`) and return what they write out."""
    try:
        bundle = Bundle.model_validate(document)
    except ValidationError as error:  # a mapping bug, not the person's input: say where
        raise RuntimeError(f"The FHIR export did not validate: {error}") from error
    result: dict[str, Any] = json.loads(bundle.model_dump_json(exclude_none=True))
    for resource, field, problem in fhir_bindings.problems(result):  # what the models do not check
        where = f"{resource.get('resourceType')} {resource.get('id')}"
        raise RuntimeError(f"The FHIR export wrote a wrong code: {where}, field {field}: {problem}")
    return result


def bundle_text(document: dict[str, Any]) -> str:
    """Stable JSON text (sorted keys), so two exports compare line by line."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _own_profile(session: Session, user: UserInfo, profile_id: int) -> ProfileInfo:
    """The profile if this person owns it; another's gets the same answer as a missing one."""
    missing = NotFoundError(f"There is no person with id {profile_id} here.")
    try:
        profile = profile_store.get_profile(session, profile_id)
    except NotFoundError:
        raise missing from None
    if profile.user_id != user.id:
        raise missing
    return profile


def export_for(
    session: Session,
    content: Content,
    user: UserInfo,
    profile_id: int,
    today: dt.date,
    *,
    ip: str | None = None,
    now: dt.datetime | None = None,
    links: FileLinks | None = None,
) -> dict[str, Any]:
    """The Bundle for the profile's owner or a linked clinician; anyone else gets the same 404 as for a
    missing profile. The download is in the audit log before the data leaves."""
    if user.role == "clinician":
        profile = clinic.record_export(session, user.id, profile_id, FORMAT, ip=ip)
    else:
        profile = _own_profile(session, user, profile_id)
        audit.record_export(session, audit.Actor.of(user, ip, role="person"), profile.id, FORMAT)
    return build_bundle(session, content, profile.id, today, now, links=links)
