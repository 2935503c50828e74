"""Issue 12: exported Bundles pass a second, independent FHIR validator (Medplum's, in Node.js).

``fhir.resources`` builds the export, so its own acceptance is not an independent check. Medplum's
validator reads the FHIR R4 StructureDefinitions and checks cardinality, types and the FHIRPath
invariants (ext-1, que-*, ele-1, ...). It cannot type a ``urn:uuid:`` reference (it expects
``Type/id``) and says so as a warning on every reference, which is all it says; those warnings are the
only ones let through. It does not check required bindings; ``services/fhir_bindings.py`` does.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kneefix.content.loader import Content
from kneefix.services import fhir_definitions, logbook
from kneefix.storage.db import Database
from kneefix.storage.models import TechniqueCheck
from tests.services.fhir_helpers import (
    TODAY,
    as_transaction,
    export,
    linked_export,
    observations,
    rich_record,
)
from tests.services.helpers import START

VALIDATOR = Path(__file__).parents[1] / "fhir_validator"
UNTYPED_REFERENCE = "Invalid reference"  # its warning for a urn:uuid reference (see the docstring)

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (VALIDATOR / "node_modules" / "@medplum" / "core").is_dir(),
    reason="Medplum's validator is not installed (make test-tools installs it with npm)",
)


def _issues(tmp_path: Path, bundles: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    files = []
    for name, bundle in bundles.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(bundle))
        files.append(str(path))
    done = subprocess.run(
        ["node", str(VALIDATOR / "validate.mjs"), *files],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {Path(line["file"]).stem: line["issues"] for line in lines}


def _rich_bundle(db: Database, content: Content, profile_id: int) -> dict[str, Any]:
    rich_record(db, content, profile_id)
    with db.session() as session:
        logbook.log_run_check(session, content, profile_id, day=START, today=TODAY, walk_pain=1, hop_pain=1)
        session.add(
            TechniqueCheck(profile_id=profile_id, movement="squat", status="failed", error="No person.")
        )
        session.add(TechniqueCheck(profile_id=profile_id, movement="squat", status="running"))
    return export(db, content, profile_id)


def test_a_rich_record_passes_medplums_validator_and_the_validator_is_not_blind(
    db: Database, content: Content, profile_id: int, tmp_path: Path
) -> None:
    bundle = _rich_bundle(db, content, profile_id)
    kinds = {entry["resource"]["resourceType"] for entry in bundle["entry"]}
    assert {"CareTeam", "Flag", "CarePlan", "QuestionnaireResponse", "Questionnaire"} <= kinds
    no_code = copy.deepcopy(bundle)
    del observations(no_code, "nprs-score-")[0]["code"]
    both = copy.deepcopy(bundle)
    observations(both, "nprs-score-")[0]["extension"] = [
        {"url": "https://x.example", "valueString": "a", "extension": [{"url": "b", "valueString": "c"}]}
    ]
    found = _issues(
        tmp_path,
        {"collection": bundle, "transaction": as_transaction(bundle), "no_code": no_code, "both": both},
    )
    for name in ("collection", "transaction"):
        left = [issue for issue in found[name] if UNTYPED_REFERENCE not in issue["text"]]
        assert left == [], (name, left)
        assert found[name], "the reference warnings show the validator read the references"
    errors = {name: [i for i in found[name] if i["severity"] == "error"] for name in ("no_code", "both")}
    assert any("code" in i["expression"] and "Missing required" in i["text"] for i in errors["no_code"])
    assert any("ext-1" in i["text"] for i in errors["both"])


def test_a_bundle_with_files_and_the_code_systems_pass_too(
    db: Database, content: Content, profile_id: int, tmp_path: Path
) -> None:
    """The web export adds the checks' files as DocumentReferences, and kneefix publishes its code
    systems (``GET /fhir/definitions.json``); they pass as well."""
    linked = linked_export(db, content, profile_id, tmp_path / "store")
    assert any(entry["resource"]["resourceType"] == "DocumentReference" for entry in linked["entry"])
    definitions = fhir_definitions.definitions_bundle(content)
    found = _issues(tmp_path, {"linked": linked, "definitions": definitions})
    assert [i for i in found["linked"] if UNTYPED_REFERENCE not in i["text"]] == []
    assert found["definitions"] == []  # the published code systems, too
