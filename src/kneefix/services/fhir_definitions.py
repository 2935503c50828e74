"""The code systems kneefix's FHIR export uses, as FHIR ``CodeSystem`` resources.

A code from ``https://kneefix.org/fhir/CodeSystem/…`` means nothing to a clinic's system unless it can
look the code up: this module writes every kneefix code system, complete, from the same content and
tables the export codes from (exercises, red flags, symptoms, Kujala options, movements, measures), so
a clinic can load them into its terminology server. ``GET /fhir/definitions.json`` serves them; a test
checks that every kneefix code in a rich record's Bundle is defined here.
"""

from __future__ import annotations

from typing import Any

from kneefix.content.loader import Content
from kneefix.services import fhir_export as fx
from kneefix.services import scores as score_service
from kneefix.services import uploads
from kneefix.services.technique import MOVEMENTS

Resource = dict[str, Any]


def _code_system(name: str, url: str, title: str, concepts: dict[str, str]) -> Resource:
    return {
        "resourceType": "CodeSystem",
        "id": name,
        "url": url,
        "name": "".join(part.capitalize() for part in name.split("-")),
        "title": title,
        "status": "active",
        "publisher": fx.PUBLISHER,
        "caseSensitive": True,
        "content": "complete",
        "count": len(concepts),
        "concept": [{"code": code, "display": display} for code, display in concepts.items()],
    }


def code_systems(content: Content) -> list[Resource]:
    """Every kneefix code system, with all its codes and their displays."""
    kujala = score_service.questionnaire(content, "kujala")
    tables: list[tuple[str, str, str, dict[str, str]]] = [
        (
            "red-flag",
            fx.SYSTEM_RED_FLAG,
            "Red flags the screening asks about",
            {f.id: f.title for f in content.red_flags},
        ),
        (
            "exercise",
            fx.SYSTEM_EXERCISE,
            "Exercises of the programme",
            {e.id: e.name for e in content.exercises.values()},
        ),
        ("log", fx.SYSTEM_LOG, "What a person logs: sessions, runs, pains, readiness checks", fx.LOG_CODES),
        (
            "symptom",
            fx.SYSTEM_SYMPTOM,
            "Symptoms the screening asks about",
            {s.id: s.label for s in content.symptoms},
        ),
        (
            "kujala-answer",
            fx.SYSTEM_KUJALA_ANSWER,
            "Kujala AKPS options, ITEM-LETTER",
            {f"{item.number}-{o.letter}": o.label for item in kujala.items for o in item.options},
        ),
        (
            "score",
            fx.SYSTEM_SCORE,
            "Questionnaire totals with no LOINC code",
            {fx.KUJALA_TOTAL: "Kujala AKPS total score"},
        ),
        (
            "movement",
            fx.SYSTEM_MOVEMENT,
            "Movements a technique check films",
            {m: uploads.MOVEMENTS[m] for m in MOVEMENTS},
        ),
        (
            "technique-measure",
            fx.SYSTEM_MEASURE,
            "A technique check's measures, per rep and per landing",
            fx.MEASURE_CODES,
        ),
        ("initiation", fx.SYSTEM_INITIATION, "What started a rep's lowering", fx.INITIATION_DISPLAY),
        (
            "technique-file",
            fx.SYSTEM_CHECK_FILE,
            "A technique check's result files",
            {suffix: title for _, suffix, title, _ in fx.CHECK_FILES},
        ),
    ]
    return [_code_system(name, url, title, concepts) for name, url, title, concepts in tables]


def definitions_bundle(content: Content) -> dict[str, Any]:
    """The code systems as one validated ``collection`` Bundle."""
    systems = code_systems(content)
    document = {
        "resourceType": "Bundle",
        "id": "kneefix-code-systems",
        "type": "collection",
        "entry": [{"fullUrl": system["url"], "resource": system} for system in systems],
    }
    return fx.validated(document)
