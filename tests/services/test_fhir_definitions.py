"""Issue 12: every kneefix code in an exported Bundle is defined in a published kneefix CodeSystem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kneefix.content.loader import Content
from kneefix.services import fhir_bindings, fhir_definitions, fhir_export, logbook
from kneefix.storage import screenings as screening_store
from kneefix.storage import users as user_store
from kneefix.storage.db import Database
from tests.services.fhir_helpers import TODAY, export, linked_export
from tests.services.helpers import START


def _codings(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        own = [node] if isinstance(node.get("system"), str) and "code" in node else []
        return own + [c for value in node.values() for c in _codings(value)]
    if isinstance(node, list):
        return [c for value in node for c in _codings(value)]
    return []


def test_every_kneefix_code_a_rich_bundle_uses_is_defined_with_its_display(
    db: Database, content: Content, profile_id: int, tmp_path: Path
) -> None:
    """A code a clinic cannot look up means nothing to its system: each kneefix coding in the Bundle
    names a code its CodeSystem defines, and a coding's display (when given) is the CodeSystem's."""
    with db.session() as session:
        logbook.log_run_check(session, content, profile_id, day=START, today=TODAY, walk_pain=1, hop_pain=1)
    bundle = linked_export(db, content, profile_id, tmp_path / "store")
    systems = {system["url"]: system for system in fhir_definitions.code_systems(content)}
    defined = {url: {c["code"]: c["display"] for c in s["concept"]} for url, s in systems.items()}
    ours = [c for c in _codings(bundle) if c["system"].startswith(f"{fhir_export.BASE}/CodeSystem/")]
    others = {c["system"] for c in _codings(bundle) if c["system"].startswith(fhir_export.BASE)} - {
        c["system"] for c in ours
    }
    assert others == {f"{fhir_export.BASE}/fhir-version"}  # the version tag, a tag and not a code
    assert len({c["system"] for c in ours}) >= 9, "the Bundle uses most kneefix systems"
    for coding in ours:
        assert coding["system"] in defined, coding
        assert coding["code"] in defined[coding["system"]], coding
        if "display" in coding:
            assert coding["display"] == defined[coding["system"]][coding["code"]], coding
    for system in systems.values():
        assert system["count"] == len(system["concept"]) == len({c["code"] for c in system["concept"]})


def test_the_definitions_are_a_valid_bundle_with_no_wrong_codes(content: Content) -> None:
    bundle = fhir_definitions.definitions_bundle(content)
    assert list(fhir_bindings.problems(bundle)) == []
    kujala = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == "kujala-answer")
    assert kujala["concept"][0] == {"code": "1-a", "display": "No limp"}


def _extensions(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        own = [e for e in node.get("extension", ()) if isinstance(e, dict)]
        return own + [x for key, value in node.items() if key != "extension" for x in _extensions(value)]
    if isinstance(node, list):
        return [x for value in node for x in _extensions(value)]
    return []


PRIMITIVES = {"string", "code", "boolean", "integer", "positiveInt", "dateTime", "decimal", "uri"}


def _value_type(extension: dict[str, Any]) -> str:
    """The FHIR type of an extension's value[x]: ``valueDateTime`` is dateTime, ``valueReference``
    Reference (primitive types start lower-case, complex ones upper-case)."""
    (key,) = [key for key in extension if key.startswith("value")]
    kind = key.removeprefix("value")
    lowered = kind[0].lower() + kind[1:]
    return lowered if lowered in PRIMITIVES else kind


def test_every_kneefix_extension_a_rich_bundle_uses_is_defined_with_its_types(
    db: Database, content: Content, profile_id: int, tmp_path: Path
) -> None:
    """Each kneefix extension in the Bundle has a published StructureDefinition; its value (or each
    part's value) has the declared type, and every part a definition requires is there."""
    with db.session() as session:
        logbook.log_run_check(session, content, profile_id, day=START, today=TODAY, walk_pain=1, hop_pain=1)
    linked = linked_export(db, content, profile_id, tmp_path / "store")
    with db.session() as session:  # and a clinician's clearance
        (flagged,) = [s for s in screening_store.list_screenings(session, profile_id) if s.red_flags]
        screening_store.clear_red_flags(
            session,
            profile_id,
            flagged.id,
            cleared_at=flagged.taken_at,
            cleared_by_user_id=user_store.list_users(session, role="clinician")[0].id,
            cleared_by_name="Dr Who",
            note="Seen.",
        )
    bundle = {**linked, "entry": linked["entry"] + export(db, content, profile_id)["entry"]}
    declared = fhir_definitions.extension_types()
    structures = {s["url"]: s for s in fhir_definitions.extensions()}
    used = [e for e in _extensions(bundle) if e["url"].startswith(f"{fhir_export.BASE}/StructureDefinition/")]
    assert {e["url"] for e in used} == set(declared)
    for extension in used:
        kind = declared[extension["url"]]
        if isinstance(kind, str):
            assert _value_type(extension) == kind, extension
            continue
        parts = extension["extension"]
        assert all(_value_type(part) == kind[part["url"]] for part in parts), extension
        required = [
            e["sliceName"]
            for e in structures[extension["url"]]["differential"]["element"]
            if e.get("sliceName") and e["min"] == 1
        ]
        assert set(required) <= {part["url"] for part in parts}, extension
