"""``kneefix export``/``import`` round trips, and several profiles in one database."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from tests.cli.helpers import Kneefix, assert_clean_error


def _without_identity(document: dict[str, Any]) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(document))
    copy["profile"].pop("name")
    copy.pop("exported_at", None)
    return copy


def test_export_import_round_trip_reproduces_the_data(kneefix: Kneefix, tmp_path: Path) -> None:
    kneefix.start()
    kneefix.ok("log", "--pain-during", "7", "--pain-after", "6", "--note", "sore")
    export_file = tmp_path / "me.json"
    kneefix.ok("export", "--out", str(export_file))

    other = Kneefix(tmp_path / "other.db")
    other.ok("import", str(export_file))
    again = json.loads(other.ok("export").stdout)

    assert _without_identity(again) == _without_identity(json.loads(export_file.read_text()))
    assert other.json("log", "list")[0]["note"] == "sore"
    assert other.json("plan")["changes"] == kneefix.json("plan")["changes"]


def test_import_refuses_to_overwrite_unless_asked(kneefix: Kneefix, tmp_path: Path) -> None:
    kneefix.start()
    export_file = tmp_path / "me.json"
    kneefix.ok("export", "--out", str(export_file))

    assert_clean_error(kneefix("import", str(export_file)), "already exists", "--replace")
    kneefix.ok("import", str(export_file), "--profile", "copy")
    assert [p["name"] for p in kneefix.json("profiles")] == ["copy", "default"]
    kneefix.ok("import", str(export_file), "--replace")


def test_import_of_a_bad_file_fails_cleanly(kneefix: Kneefix, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert_clean_error(kneefix("import", str(broken)), "is not JSON")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"format": "kneefix-profile", "format_version": 1}), encoding="utf-8")
    assert_clean_error(kneefix("import", str(wrong)), "not a valid kneefix export")
    assert_clean_error(kneefix("import", str(tmp_path / "missing.json")), "There is no file")
    assert kneefix.json("profiles") == []


def test_export_csv_writes_one_table_per_file(kneefix: Kneefix, tmp_path: Path) -> None:
    kneefix.start()
    kneefix.ok("log", "--pain-during", "2", "--pain-after", "1")
    folder = tmp_path / "tables"

    kneefix.ok("export", "--out", str(tmp_path / "me.json"), "--csv", str(folder))

    with (folder / "session_logs.csv").open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 1 and rows[0]["pain_during"] == "2"
    assert (folder / "scores.csv").is_file()


def test_profiles_are_kept_apart(kneefix: Kneefix) -> None:
    kneefix.start(profile="ana")
    kneefix.start(profile="ben")
    kneefix.ok("log", "--pain-during", "2", profile="ana")

    assert len(kneefix.json("log", "list", profile="ana")) == 1
    assert kneefix.json("log", "list", profile="ben") == []
    listed = kneefix.json("profiles")
    assert [(p["name"], p["set_up"]) for p in listed] == [("ana", True), ("ben", True)]

    kneefix.ok("profiles", "delete", "ana", "--yes")
    assert [p["name"] for p in kneefix.json("profiles")] == ["ben"]
    assert_clean_error(kneefix("log", "list", profile="ana"), "No profile named 'ana'")
