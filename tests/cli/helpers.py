"""Running the real ``kneefix`` app in-process against a throwaway SQLite database."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from kneefix.cli.app import app

ALL_BEST_KUJALA = ",".join(["a"] * 13)

TYPICAL_FLAGS: tuple[str, ...] = (
    "--age",
    "34",
    "--symptoms",
    "pain_around_kneecap,pain_stairs_downhill,pain_squatting",
    "--red-flags",
    "none",
    "--kujala",
    "a,b,a,b,b,c,b,b,b,b,a,a,a",
    "--pain",
    "3",
    "--equipment",
    "foam_roller,lacrosse_ball,stability_ball,dumbbells,resistance_band",
    "--days",
    "3",
    "--runs",
)


@dataclass
class Kneefix:
    """``kneefix --db URL ...`` for one test's database."""

    db_path: Path

    @property
    def url(self) -> str:
        return f"sqlite:///{self.db_path}"

    def __call__(self, *args: str, input: str | None = None, profile: str | None = None) -> Result:
        prefix = ["--db", self.url]
        if profile is not None:
            prefix += ["--profile", profile]
        return CliRunner().invoke(app, [*prefix, *args], input=input)

    def ok(self, *args: str, input: str | None = None, profile: str | None = None) -> Result:
        """Run and insist on success, showing the output when it fails."""
        result = self(*args, input=input, profile=profile)
        assert result.exit_code == 0, f"exit {result.exit_code}\n{result.output}\n{result.stderr}"
        return result

    def json(self, *args: str, profile: str | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", profile=profile).stdout)

    def start(self, *extra: str, profile: str | None = None) -> Any:
        """A typical scripted first run; returns its JSON result."""
        return self.json("start", *TYPICAL_FLAGS, *extra, profile=profile)


def assert_clean_error(result: Result, *fragments: str) -> None:
    """Exit code 2, one readable message naming the problem, and no traceback."""
    assert result.exit_code == 2, f"exit {result.exit_code}\n{result.output}"
    message = flat(result.stderr)
    assert "Traceback" not in result.output
    assert "Error" in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def without(flags: Sequence[str], name: str) -> list[str]:
    """``flags`` with one option (and its value, if any) removed."""
    items = list(flags)
    index = items.index(name)
    takes_value = index + 1 < len(items) and not items[index + 1].startswith("--")
    del items[index : index + (2 if takes_value else 1)]
    return items


def flat(text: str) -> str:
    """Output with Rich's line wrapping undone, so phrases can be searched for."""
    return " ".join(text.split())
