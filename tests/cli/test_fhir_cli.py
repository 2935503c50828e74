"""Issue 12: ``kneefix export --fhir FILE.json`` writes a valid, stable FHIR R4 Bundle."""

from __future__ import annotations

import json
from pathlib import Path

from fhir.resources.R4B.bundle import Bundle

from tests.cli.helpers import Kneefix


def test_export_fhir_writes_a_bundle_that_validates_and_repeats(kneefix: Kneefix, tmp_path: Path) -> None:
    """Issue 12: the CLI export validates against the R4B models; two exports give the same Bundle."""
    kneefix.start()
    kneefix.ok("log", "--pain-during", "4", "--pain-after", "3")
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    result = kneefix.ok("export", "--fhir", str(first))
    assert result.stdout == ""  # only the Bundle was asked for
    kneefix.ok("export", "--fhir", str(second))
    bundle = json.loads(first.read_text())
    Bundle.model_validate(bundle)
    assert first.read_text() == second.read_text()
    codes = [c["code"] for e in bundle["entry"] for c in e["resource"].get("code", {}).get("coding", [])]
    assert "72514-3" in codes


def test_export_fhir_into_a_folder_is_a_clean_error(kneefix: Kneefix, tmp_path: Path) -> None:
    """House rule: bad input gets a clear message, never a traceback."""
    kneefix.start()
    result = kneefix("export", "--fhir", str(tmp_path))
    assert result.exit_code != 0 and "is a folder" in result.output
