"""The FHIR rules the model library does not check: codes in required bindings, and a few invariants.

``fhir.resources`` checks structure and datatypes, not codes: it accepts ``Observation.status: "foo"``
and an Observation with both a value and a ``dataAbsentReason``. A receiver that trusts such a resource
misreads it, so the export checks what it writes (a mapping bug) and the import checks what it reads (a
sender's mistake) against the same table: the FHIR R4B value sets of the required bindings of the
elements kneefix writes or reads (hl7.org/fhir/R4B/valueset-*.html).

Each problem is a (resource, field, text) triple; the caller decides whether it is a bug or bad input.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

Problem = tuple[dict[str, Any], str, str]  # (resource, field, what is wrong)

_GENDER = frozenset(["male", "female", "other", "unknown"])
_NAME_USE = frozenset(["usual", "official", "temp", "nickname", "anonymous", "old", "maiden"])
_CONTACT_SYSTEM = frozenset(["phone", "fax", "email", "pager", "url", "sms", "other"])
_CONTACT_USE = frozenset(["home", "work", "temp", "old", "mobile"])
_IDENTIFIER_USE = frozenset(["usual", "official", "temp", "secondary", "old"])
_NARRATIVE_STATUS = frozenset(["generated", "extensions", "additional", "empty"])

# Element path (resource type, then element names, no indexes) -> the codes its required binding allows.
REQUIRED: dict[str, frozenset[str]] = {
    "Bundle.type": frozenset(
        [
            "document",
            "message",
            "transaction",
            "transaction-response",
            "batch",
            "batch-response",
            "history",
            "searchset",
            "collection",
        ]
    ),
    "Bundle.entry.request.method": frozenset(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]),
    "Patient.gender": _GENDER,
    "Patient.name.use": _NAME_USE,
    "Patient.telecom.system": _CONTACT_SYSTEM,
    "Patient.telecom.use": _CONTACT_USE,
    "Patient.identifier.use": _IDENTIFIER_USE,
    "Practitioner.gender": _GENDER,
    "Practitioner.name.use": _NAME_USE,
    "Practitioner.telecom.system": _CONTACT_SYSTEM,
    "Practitioner.telecom.use": _CONTACT_USE,
    "Practitioner.identifier.use": _IDENTIFIER_USE,
    "CareTeam.status": frozenset(["proposed", "active", "suspended", "inactive", "entered-in-error"]),
    "Observation.status": frozenset(
        [
            "registered",
            "preliminary",
            "final",
            "amended",
            "corrected",
            "cancelled",
            "entered-in-error",
            "unknown",
        ]
    ),
    "CarePlan.status": frozenset(
        ["draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"]
    ),
    "CarePlan.intent": frozenset(["proposal", "plan", "order", "option"]),
    "CarePlan.activity.detail.status": frozenset(
        [
            "not-started",
            "scheduled",
            "in-progress",
            "on-hold",
            "completed",
            "cancelled",
            "stopped",
            "unknown",
            "entered-in-error",
        ]
    ),
    "CarePlan.activity.detail.kind": frozenset(
        [
            "Appointment",
            "CommunicationRequest",
            "DeviceRequest",
            "MedicationRequest",
            "NutritionOrder",
            "Task",
            "ServiceRequest",
            "VisionPrescription",
        ]
    ),
    "Flag.status": frozenset(["active", "inactive", "entered-in-error"]),
    "QuestionnaireResponse.status": frozenset(
        ["in-progress", "completed", "amended", "entered-in-error", "stopped"]
    ),
    "Questionnaire.status": frozenset(["draft", "active", "retired", "unknown"]),
    "Questionnaire.item.type": frozenset(
        [
            "group",
            "display",
            "boolean",
            "decimal",
            "integer",
            "date",
            "dateTime",
            "time",
            "string",
            "text",
            "url",
            "choice",
            "open-choice",
            "attachment",
            "reference",
            "quantity",
        ]
    ),
    "Questionnaire.item.enableWhen.operator": frozenset(["exists", "=", "!=", ">", "<", ">=", "<="]),
    "Questionnaire.item.enableBehavior": frozenset(["all", "any"]),
    "DocumentReference.status": frozenset(["current", "superseded", "entered-in-error"]),
    "CodeSystem.status": frozenset(["draft", "active", "retired", "unknown"]),
    "CodeSystem.content": frozenset(["not-present", "example", "fragment", "complete", "supplement"]),
    "StructureDefinition.status": frozenset(["draft", "active", "retired", "unknown"]),
    "StructureDefinition.kind": frozenset(["primitive-type", "complex-type", "resource", "logical"]),
    "StructureDefinition.derivation": frozenset(["specialization", "constraint"]),
    "StructureDefinition.context.type": frozenset(["fhirpath", "element", "extension"]),
    "DocumentReference.docStatus": frozenset(["preliminary", "final", "amended", "entered-in-error"]),
}
# A Quantity's comparator, wherever a Quantity sits in the resources above.
COMPARATORS = frozenset(["<", "<=", ">=", ">"])
CHECKED_TYPES = frozenset(path.split(".")[0] for path in REQUIRED)  # the Bundle: its own fields only


def _paths(node: object, path: str) -> Iterator[tuple[str, str, object]]:
    """(element path without indexes, path with indexes, value) for every primitive under ``node``;
    extensions are skipped (their values are typed, not coded here), nested Questionnaire items fold
    into ``item`` (the binding is the same at every depth)."""
    if isinstance(node, dict):
        for key, inner in node.items():
            if key in ("extension", "modifierExtension", "contained", "resource"):
                continue
            yield from ((re.sub(r"(\.item)+", ".item", p), q, v) for p, q, v in _paths_of(inner, path, key))
    return


def _paths_of(node: object, path: str, key: str) -> Iterator[tuple[str, str, object]]:
    if isinstance(node, list):
        for index, inner in enumerate(node):
            if isinstance(inner, dict):
                yield from _indexed(inner, f"{path}.{key}", f"{key}[{index}]")
            else:
                yield f"{path}.{key}", f"{key}[{index}]", inner
    elif isinstance(node, dict):
        yield from _indexed(node, f"{path}.{key}", key)
    else:
        yield f"{path}.{key}", key, node


def _indexed(node: dict[str, Any], path: str, field: str) -> Iterator[tuple[str, str, object]]:
    for element, inner_field, value in _paths(node, path):
        yield element, f"{field}.{inner_field}", value


def binding_problems(resource: dict[str, Any]) -> Iterator[Problem]:
    """Codes outside the required binding of their element, in one resource of a type listed above."""
    kind = resource.get("resourceType")
    if kind not in CHECKED_TYPES:
        return
    for element, field, value in _paths(resource, str(kind)):
        allowed = REQUIRED.get(element)
        if element == f"{kind}.text.status":
            allowed = _NARRATIVE_STATUS
        elif element.endswith(".comparator"):
            allowed = COMPARATORS
        if allowed is not None and value not in allowed:
            codes = ", ".join(sorted(allowed))
            yield resource, field, f"{value!r} is not a code FHIR allows here ({codes})"


def _has_value(node: dict[str, Any]) -> bool:
    return any(key.startswith("value") for key in node)


def _codings(concept: object) -> set[tuple[str, str]]:
    codings = concept.get("coding") if isinstance(concept, dict) else None
    return {(str(c.get("system")), str(c.get("code"))) for c in codings or () if isinstance(c, dict)}


def observation_problems(resource: dict[str, Any]) -> Iterator[Problem]:
    """obs-6 (a value and a dataAbsentReason exclude each other, on the Observation and on each
    component) and obs-7 (a component coded as the Observation itself carries no value)."""
    if resource.get("resourceType") != "Observation":
        return
    if _has_value(resource) and "dataAbsentReason" in resource:
        yield resource, "dataAbsentReason", "present together with a value (FHIR invariant obs-6)"
    own = _codings(resource.get("code"))
    for index, component in enumerate(resource.get("component") or ()):
        if not isinstance(component, dict):
            continue
        if _has_value(component) and "dataAbsentReason" in component:
            yield (
                resource,
                f"component[{index}].dataAbsentReason",
                "present together with a value (FHIR invariant obs-6)",
            )
        if own & _codings(component.get("code")) and _has_value(resource):
            yield (
                resource,
                f"component[{index}].code",
                "the same code as the Observation, which has a value (FHIR invariant obs-7)",
            )


def problems(bundle: dict[str, Any]) -> Iterator[Problem]:
    """Every rule above, for the Bundle's own fields and each resource in it."""
    yield from binding_problems(bundle)
    for entry in bundle.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict):
            yield from binding_problems(resource)
            yield from observation_problems(resource)
