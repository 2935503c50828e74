"""``kneefix content check``, ``education``, ``exercises``, and storage problems seen from the CLI."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import yaml

from kneefix.content.loader import DATA_ROOT
from tests.cli.helpers import TYPICAL_FLAGS, Kneefix, assert_clean_error, flat


def test_content_check_passes_on_the_packaged_content(kneefix: Kneefix) -> None:
    result = kneefix.ok("content", "check")
    assert "Content is valid" in result.stdout
    assert kneefix.json("content", "check") == {"ok": True, "problems": []}


def test_content_check_names_file_and_field_and_exits_1(kneefix: Kneefix, tmp_path: Path) -> None:
    root = tmp_path / "content"
    shutil.copytree(DATA_ROOT, root)
    exercise = root / "exercises" / "hamstring_stretch.yaml"
    data = yaml.safe_load(exercise.read_text(encoding="utf-8"))
    data["dose"]["reps"] = 500
    exercise.write_text(yaml.safe_dump(data), encoding="utf-8")

    result = kneefix("content", "check", "--root", str(root))

    assert result.exit_code == 1
    assert "exercises/hamstring_stretch.yaml: dose.reps:" in flat(result.stdout)
    assert kneefix("content", "check", "--root", str(tmp_path / "nowhere")).exit_code == 1


def test_education_lists_pages_and_shows_one(kneefix: Kneefix) -> None:
    pages = kneefix.json("education")
    ids = [page["id"] for page in pages]
    assert "what_is_runners_knee" in ids

    out = flat(kneefix.ok("education", "muscle").stdout)
    assert "VMO" in out or "vastus" in out.lower()
    assert_clean_error(kneefix("education", "astrology"), "no education page")


def test_exercises_list_and_detail(kneefix: Kneefix) -> None:
    listed = kneefix.json("exercises")
    steps = [item["step"] for item in listed]
    assert steps.index("inhibit") < steps.index("integrate") < steps.index("hip")
    detail = flat(kneefix.ok("exercises", "hamstring_stretch").stdout)
    assert "How to" in detail and "Cues" in detail
    assert_clean_error(kneefix("exercises", "nope"), "no exercise 'nope'")


def test_unknown_command_and_bad_option_exit_2_without_traceback(kneefix: Kneefix) -> None:
    result = kneefix("fly")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_locked_database_gives_a_clear_message_and_keeps_saved_data(kneefix: Kneefix) -> None:
    kneefix.start()
    kneefix.ok("log", "--pain-during", "2", "--note", "before the lock")
    holder = sqlite3.connect(kneefix.db_path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE profiles SET name = name")
        result = kneefix("log", "--pain-during", "3")
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert_clean_error(result, "is busy", "Nothing saved earlier was lost")
    assert [log["note"] for log in kneefix.json("log", "list")] == ["before the lock"]


def test_corrupt_database_file_is_reported_not_overwritten(kneefix: Kneefix) -> None:
    garbage = b"this is not a database at all " * 200
    kneefix.db_path.write_bytes(garbage)

    assert_clean_error(kneefix("profiles"), "not a readable kneefix database")
    assert kneefix.db_path.read_bytes() == garbage


def test_the_installed_command_reports_errors_on_one_line(tmp_path: Path) -> None:
    """The real entry point (``main``) shows the same message and exit code as the app."""
    db = f"sqlite:///{tmp_path / 'k.db'}"
    code = "from kneefix.cli.app import main; main()"
    args = [sys.executable, "-c", code, "--db", db, "start", *TYPICAL_FLAGS[:2]]
    result = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)

    assert result.returncode == 2
    assert "Missing answers" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
