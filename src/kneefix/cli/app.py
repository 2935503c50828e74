"""The ``kneefix`` command with every sub-command registered: a thin Typer layer over the services.

Each command parses flags, calls one service function and renders its result with Rich (or JSON with
``--json``). Errors derived from :class:`kneefix.errors.KneefixError` become a one-line message and a
non-zero exit code. The app and its global options live in :mod:`kneefix.cli.base`; importing this
module registers every command module on it (tests and ``python -m`` use this; the console script uses
:mod:`kneefix.cli.entry`, which loads only the module a command needs).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from kneefix.cli.base import app, report_error, run
from kneefix.cli.entry import COMMAND_MODULES as MODULE_OF_COMMAND

COMMAND_MODULES: tuple[ModuleType, ...] = tuple(
    importlib.import_module(f"kneefix.cli.{name}") for name in sorted(set(MODULE_OF_COMMAND.values()))
)
"""Every module that registers commands on :data:`app` (each is imported for that side effect)."""


def main() -> None:
    """Run the full app (every command loaded)."""
    run()


__all__ = ["COMMAND_MODULES", "app", "main", "report_error"]
