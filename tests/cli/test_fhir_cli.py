"""Issue 12: ``kneefix export --fhir FILE.json`` writes a valid, stable FHIR R4 Bundle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from tests.cli.helpers import Kneefix, assert_clean_error


def test_export_fhir_writes_a_bundle_that_validates_and_repeats(
    kneefix: Kneefix, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12: the CLI export validates against the R4B models; two exports at the same moment give
    the same Bundle, stamped with that moment (Bundle.timestamp)."""
    monkeypatch.setenv("KNEEFIX_NOW", "2025-03-05T10:00:00.250+00:00")
    kneefix.start()
    kneefix.ok("log", "--pain-during", "4", "--pain-after", "3")
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    result = kneefix.ok("export", "--fhir", str(first))
    assert result.stdout == ""  # only the Bundle was asked for
    kneefix.ok("export", "--fhir", str(second))
    bundle = json.loads(first.read_text())
    Bundle.model_validate(bundle)
    assert first.read_text() == second.read_text()
    assert bundle["timestamp"].startswith("2025-03-05T") and "." not in bundle["timestamp"]
    codes = [c["code"] for e in bundle["entry"] for c in e["resource"].get("code", {}).get("coding", [])]
    assert "72514-3" in codes


def test_export_fhir_into_a_folder_is_a_clean_error(kneefix: Kneefix, tmp_path: Path) -> None:
    """House rule: bad input gets a clear message, never a traceback."""
    kneefix.start()
    result = kneefix("export", "--fhir", str(tmp_path))
    assert result.exit_code != 0 and "is a folder" in result.output


def _without_ids(node: Any) -> Any:
    """The Bundle with every id, fullUrl and reference blanked: equal records, whatever their ids."""
    if isinstance(node, dict):
        return {k: ("*" if k in ("id", "fullUrl", "reference") else _without_ids(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_without_ids(v) for v in node]
    return node


def test_export_import_export_gives_the_same_bundle(kneefix: Kneefix, tmp_path: Path) -> None:
    """Issue 12: kneefix import --fhir recreates the record; export -> import -> export is equal."""
    kneefix.start()
    kneefix.ok("log", "--pain-during", "4", "--pain-after", "3", "--note", "stiff")
    first = tmp_path / "a.json"
    kneefix.ok("export", "--fhir", str(first))
    other = Kneefix(tmp_path / "other.db")
    result = other.json("import", "--fhir", str(first), "--json")
    assert result["not_imported"] == []
    again = tmp_path / "b.json"
    other.ok("export", "--fhir", str(again), profile=result["profile"])
    exported, reexported = json.loads(first.read_text()), json.loads(again.read_text())
    assert exported.pop("timestamp") and reexported.pop("timestamp")  # when each was written
    assert _without_ids(reexported) == _without_ids(exported)
    assert other.json("log", "list", profile=result["profile"])[0]["note"] == "stiff"


def _bundle(tmp_path: Path, kneefix: Kneefix) -> dict[str, Any]:
    kneefix.start()
    target = tmp_path / "a.json"
    kneefix.ok("export", "--fhir", str(target))
    data: dict[str, Any] = json.loads(target.read_text())
    return data


def _observation(bundle: dict[str, Any], prefix: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["id"].startswith(prefix))


def test_unknown_resources_and_extensions_are_reported_and_the_rest_imported(
    kneefix: Kneefix, tmp_path: Path
) -> None:
    """Issue 12: a Bundle from another system imports what kneefix understands and reports the rest."""
    bundle = _bundle(tmp_path, kneefix)
    bundle["entry"].append(
        {
            "fullUrl": "urn:uuid:0e2a0c36-1b3c-4a7e-9e55-6b1f4c3d2a10",
            "resource": {
                "resourceType": "Encounter",
                "id": "visit-1",
                "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            },
        }
    )
    _observation(bundle, "nprs-score-")["extension"] = [{"url": "https://example.org/x", "valueString": "y"}]
    path = tmp_path / "other-system.json"
    path.write_text(json.dumps(bundle))
    other = Kneefix(tmp_path / "other.db")
    result = other.json("import", "--fhir", str(path), "--json")
    assert any("Encounter visit-1" in line for line in result["not_imported"])
    assert any("https://example.org/x" in line for line in result["not_imported"])
    again = tmp_path / "again.json"
    other.ok("export", "--fhir", str(again), profile=result["profile"])
    ids = [entry["resource"]["id"] for entry in json.loads(again.read_text())["entry"]]
    assert "nprs-score-1" in ids and "kujala-score-2" in ids and "visit-1" not in ids


def test_bad_bundles_are_refused_naming_the_resource_and_field(kneefix: Kneefix, tmp_path: Path) -> None:
    """Issue 12: not JSON, not a Bundle, wrong version, dangling reference, out of range: a clear message
    naming the resource and field, and nothing imported."""
    bundle = _bundle(tmp_path, kneefix)
    other = Kneefix(tmp_path / "other.db")
    cases: list[tuple[str, tuple[str, ...]]] = []

    def case(name: str, change: Any, *fragments: str) -> None:
        data = json.loads(json.dumps(bundle))
        text = change(data)
        (tmp_path / name).write_text(text if isinstance(text, str) else json.dumps(data))
        cases.append((name, fragments))

    case("notjson.json", lambda d: "{nope", "is not JSON")
    case("patient.json", lambda d: json.dumps(d["entry"][0]["resource"]), "not a FHIR Bundle")

    def version(d: dict[str, Any]) -> None:
        d["meta"]["tag"][0]["code"] = "5.0.0"

    def dangling(d: dict[str, Any]) -> None:
        _observation(d, "nprs-score-")["subject"]["reference"] = (
            "urn:uuid:00000000-0000-5000-8000-000000000000"
        )

    def pain(d: dict[str, Any]) -> None:
        _observation(d, "nprs-score-")["valueInteger"] = 11

    def invalid(d: dict[str, Any]) -> None:
        _observation(d, "kujala-score-")["valueQuantity"]["value"] = "lots"

    def month_only(d: dict[str, Any]) -> None:
        _observation(d, "screening-response-")["authored"] = "2025-03"  # valid FHIR, no day to keep

    case("version.json", version, "FHIR version", "5.0.0")
    case("month.json", month_only, "QuestionnaireResponse screening-response-1", "cannot be read")
    case("dangling.json", dangling, "Observation nprs-score-1", "subject.reference", "does not resolve")
    case("pain.json", pain, "Observation nprs-score-1", "valueInteger", "11")
    case("invalid.json", invalid, "Observation kujala-score-2", "valueQuantity")
    for name, fragments in cases:
        result = other("import", "--fhir", str(tmp_path / name))
        assert result.exit_code != 0, name
        assert_clean_error(result, *fragments)
    assert "runners_knee" not in other("profiles").output  # nothing was imported
