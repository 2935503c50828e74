"""The code systems and extensions kneefix's FHIR export uses, as FHIR ``CodeSystem`` and
``StructureDefinition`` resources.

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
    """The code systems and the extensions' StructureDefinitions as one validated ``collection``."""
    definitions = [*code_systems(content), *extensions()]
    document = {
        "resourceType": "Bundle",
        "id": "kneefix-definitions",
        "type": "collection",
        "entry": [{"fullUrl": item["url"], "resource": item} for item in definitions],
    }
    return fx.validated(document)


# ----- extensions -------------------------------------------------------------------------------

# Each kneefix extension: (id, url, where it sits, what it says, its value type, or its parts as
# (name, value type, min, max)). The export writes exactly these (a test checks every use against them).
_EXTENSIONS: list[tuple[str, str, str, str, str | list[tuple[str, str, int, str]]]] = [
    ("red-flag-advice", fx.EXT_ADVICE, "Flag", "The advice the person was given for this red flag", "string"),
    (
        "red-flag-clearance",
        fx.EXT_CLEARANCE,
        "Flag",
        "A linked clinician cleared the screening's red flags: when, who and their note",
        [("cleared-at", "dateTime", 1, "1"), ("cleared-by", "Reference", 1, "1"), ("note", "string", 0, "1")],
    ),
    (
        "plan-settings",
        fx.EXT_SETTINGS,
        "CarePlan",
        "What the plan adapts to, so an import rebuilds the same plan",
        [
            ("protocol", "code", 1, "1"),
            ("days-per-week", "integer", 1, "1"),
            ("runs", "boolean", 1, "1"),
            ("guideline-additions", "boolean", 1, "1"),
            ("equipment", "code", 0, "*"),
            ("training-weekday", "integer", 0, "*"),
            ("time-zone", "code", 0, "1"),
        ],
    ),
    (
        "screening-outcome",
        fx.EXT_OUTCOME,
        "QuestionnaireResponse",
        "What the screening concluded: the verdict, the red flags raised and the messages shown",
        [("verdict", "code", 1, "1"), ("red-flag", "code", 0, "*"), ("message", "string", 0, "*")],
    ),
    (
        "rep-number",
        fx.EXT_REP,
        "Observation.component",
        "The rep of the check this measure is of",
        "positiveInt",
    ),
    (
        "landing-number",
        fx.EXT_LANDING,
        "Observation.component",
        "The landing of the check this measure is of",
        "positiveInt",
    ),
]


def _element(path: str, suffix: str = "", **rules: Any) -> Resource:
    return {"id": f"{path}{suffix}", "path": path, **rules}


def _structure(name: str, url: str, context: str, description: str, value: Any) -> Resource:
    elements = [_element("Extension", short=description, definition=description)]
    if isinstance(value, str):
        elements += [
            _element("Extension.extension", max="0"),
            _element("Extension.url", fixedUri=url),
            _element("Extension.value[x]", min=1, type=[{"code": value}]),
        ]
    else:
        slicing = {"discriminator": [{"type": "value", "path": "url"}], "rules": "closed"}
        elements.append(_element("Extension.extension", slicing=slicing))
        for part, kind, low, high in value:
            slice_id = f"Extension.extension:{part}"
            elements += [
                {"id": slice_id, "path": "Extension.extension", "sliceName": part, "min": low, "max": high},
                {"id": f"{slice_id}.url", "path": "Extension.extension.url", "fixedUri": part},
                {
                    "id": f"{slice_id}.value[x]",
                    "path": "Extension.extension.value[x]",
                    "min": 1,
                    "type": [{"code": kind}],
                },
            ]
        elements += [_element("Extension.url", fixedUri=url), _element("Extension.value[x]", max="0")]
    return {
        "resourceType": "StructureDefinition",
        "id": name,
        "url": url,
        "name": "".join(part.capitalize() for part in name.split("-")),
        "status": "active",
        "publisher": fx.PUBLISHER,
        "description": description,
        "fhirVersion": fx.FHIR_VERSION,
        "kind": "complex-type",
        "abstract": False,
        "context": [{"type": "element", "expression": context}],
        "type": "Extension",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension",
        "derivation": "constraint",
        "differential": {"element": elements},
    }


def extensions() -> list[Resource]:
    """Every kneefix extension as a StructureDefinition (differential only)."""
    return [_structure(*extension) for extension in _EXTENSIONS]


def extension_types() -> dict[str, str | dict[str, str]]:
    """url -> its value type, or (complex) part name -> value type: what a test checks the export by."""
    return {
        url: value if isinstance(value, str) else {part: kind for part, kind, _, _ in value}
        for _, url, _, _, value in _EXTENSIONS
    }
