"""Helpers for content tests: a writable copy of the packaged content folder to break on purpose."""

from __future__ import annotations

import shutil
from pathlib import Path

from kneefix.content.loader import DATA_ROOT, ContentProblem


def copy_content(tmp_path: Path) -> Path:
    """A private copy of the packaged data folder that a test may edit."""
    root = tmp_path / "data"
    shutil.copytree(DATA_ROOT, root)
    return root


def replace_in(path: Path, old: str, new: str) -> None:
    """Replace exactly one occurrence, so a test fails loudly if the data it edits has moved."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def problem_strings(problems: list[ContentProblem]) -> list[str]:
    return [str(problem) for problem in problems]
