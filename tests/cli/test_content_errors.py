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


def test_reads_work_while_another_program_holds_the_write_lock(kneefix: Kneefix) -> None:
    """Looking at the plan writes nothing (unless what is stored is stale), so it needs no lock."""
    kneefix.start()
    kneefix.ok("log", "--pain-during", "2")
    kneefix.ok("today")  # brings the stored plan history up to date first
    holder = sqlite3.connect(kneefix.db_path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE profiles SET name = name")
        for command in (["today"], ["plan"], ["progress"]):
            result = kneefix(*command)
            assert result.exit_code == 0, (command, result.output)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


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


def test_exercises_show_draws_the_demonstration(kneefix: Kneefix, tmp_path: Path) -> None:
    from PIL import Image

    png = tmp_path / "demo.png"
    result = kneefix.ok("exercises", "show", "seated_leg_extension_12", "--out", str(png))
    assert "How to" in flat(result.stdout)
    with Image.open(png) as image:
        assert image.format == "PNG" and image.width > 600
    svg = tmp_path / "demo.svg"
    kneefix.ok("exercises", "seated_leg_extension_12", "--out", str(svg))  # "show" is optional
    assert svg.read_text().startswith("<svg") and 'data-pose="2"' in svg.read_text()


def test_exercises_show_refuses_what_it_cannot_draw_and_writes_nothing(
    kneefix: Kneefix, tmp_path: Path
) -> None:
    assert_clean_error(
        kneefix("exercises", "show", "bridge", "--out", str(tmp_path / "d.txt")), ".png or .svg"
    )
    assert_clean_error(
        kneefix("exercises", "show", "bridge", "--out", str(tmp_path / "no/d.png")), "not a folder"
    )
    assert_clean_error(kneefix("exercises", "show", "bridge", "clamshell"), "one exercise")
    assert_clean_error(kneefix("exercises", "--out", str(tmp_path / "d.png")), "draws one exercise")
    assert_clean_error(kneefix("exercises", "show", "nope", "--out", str(tmp_path / "d.png")), "no exercise")
    assert list(tmp_path.iterdir()) == []


def _content_with(tmp_path: Path, exercise_id: str, change: dict[str, object]) -> Path:
    root = tmp_path / "content"
    shutil.copytree(DATA_ROOT, root)
    path = root / "exercises" / f"{exercise_id}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if change.get("demo") is None and "demo" in change:
        del data["demo"]
    else:
        data["demo"].update(change)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return root


def test_content_check_requires_a_demonstration_in_anatomical_range(kneefix: Kneefix, tmp_path: Path) -> None:
    missing = _content_with(tmp_path / "a", "bridge", {"demo": None})
    result = kneefix("content", "check", "--root", str(missing))
    assert (
        result.exit_code == 1
        and "exercises/bridge.yaml: demo: every exercise needs a demonstration" in flat(result.stdout)
    )
    bent = yaml.safe_load((DATA_ROOT / "exercises" / "squat_overhead_reach.yaml").read_text())["demo"][
        "poses"
    ]
    bent[1]["knee"] = 200
    wrong = _content_with(tmp_path / "b", "squat_overhead_reach", {"poses": bent})
    out = flat(kneefix("content", "check", "--root", str(wrong)).stdout)
    assert "demo.poses[1].knee: 200 deg is outside 0..160 for a side view" in out


def test_content_check_wants_the_clock_exercises_seen_from_above(kneefix: Kneefix, tmp_path: Path) -> None:
    hidden = _content_with(tmp_path / "a", "seated_leg_extension_2", {"foot_from_above": False})
    out = flat(kneefix("content", "check", "--root", str(hidden)).stdout)
    assert 'seated_leg_extension_2.yaml: demo.foot_from_above: the name says "two o\'clock"' in out
    poses = yaml.safe_load((DATA_ROOT / "exercises" / "seated_leg_extension_2.yaml").read_text())["demo"][
        "poses"
    ]
    for pose in poses:
        pose["foot_rotation"] = 0
    unturned = _content_with(tmp_path / "b", "seated_leg_extension_2", {"poses": poses})
    out = flat(kneefix("content", "check", "--root", str(unturned)).stdout)
    assert "some pose must turn the foot to 60 deg" in out


def test_report_writes_the_progress_report_and_the_handout(kneefix: Kneefix, tmp_path: Path) -> None:
    from pypdf import PdfReader

    kneefix.start()
    report = tmp_path / "report.pdf"
    kneefix.ok("report", "--pdf", str(report))
    text = " ".join(page.extract_text() or "" for page in PdfReader(report).pages)
    assert "Progress report" in text
    handout = tmp_path / "handout.pdf"
    kneefix.ok("report", "--handout", "--pdf", str(handout))
    assert "Your knee programme" in " ".join(page.extract_text() or "" for page in PdfReader(handout).pages)
    assert_clean_error(kneefix("report", "--pdf", str(tmp_path / "r.txt")), "ending in .pdf")
