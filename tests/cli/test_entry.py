"""The console script loads only the command module a command line names, and loses no command."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from kneefix.cli.app import app
from kneefix.cli.entry import COMMAND_MODULES, command_word


def test_every_command_of_the_full_app_has_its_module() -> None:
    commands = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    assert commands == set(COMMAND_MODULES)


@pytest.mark.parametrize(
    ("argv", "word"),
    [
        (["analyze", "clip.mp4", "-m", "squat"], "analyze"),
        (["--profile", "ana", "today"], "today"),
        (["-p", "ana", "--db", "sqlite:///x.db", "log", "list"], "log"),
        (["--profile=ana", "plan"], "plan"),
        (["--help"], None),
        ([], None),
    ],
)
def test_the_command_word_skips_global_options_and_their_values(argv: list[str], word: str | None) -> None:
    assert command_word(argv) == word


def _run_entry(*args: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        f"sys.argv = ['kneefix', *{list(args)!r}]\n"
        "from kneefix.cli import entry\n"
        "try:\n    entry.main()\n"
        "except SystemExit as stop:\n    code = stop.code\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'kneefix.services.plan')))\n"
        "print('LOADED', loaded, file=sys.stderr)\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_a_technique_check_does_not_load_the_programme_or_the_database_layer() -> None:
    result = _run_entry("analyze", "--help")
    assert "--movement" in result.stdout
    assert "LOADED []" in result.stderr


def test_help_and_an_unknown_command_still_see_every_command() -> None:
    listing = _run_entry("--help")
    for name in ("start", "analyze", "serve", "export"):
        assert name in listing.stdout
    unknown = _run_entry("squat-me")
    assert "No such command" in unknown.stderr
