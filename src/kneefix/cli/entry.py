"""The ``kneefix`` console script: load only the command module the command line names, then run.

Importing every command module costs about two seconds (the programme's services, SQLAlchemy and
Alembic), which a person pays on every command, including a technique check that otherwise starts
its pose worker at once. The command word is the first argument that is neither an option nor the value
of a global option (``--profile``/``-p``, ``--db``); a word not in :data:`COMMAND_MODULES`, or none
(``kneefix --help``), loads them all, so help and "no such command" read as they always did.
"""

from __future__ import annotations

import importlib
import sys

from kneefix.cli.base import run

COMMAND_MODULES: dict[str, str] = {
    "analyze": "analyze",
    "landmarks": "analyze",
    "content": "content_cmds",
    "education": "content_cmds",
    "exercises": "content_cmds",
    "log": "log_cmds",
    "today": "plan_cmds",
    "plan": "plan_cmds",
    "profiles": "profile_cmds",
    "settings": "profile_cmds",
    "progress": "progress_cmds",
    "reminders": "reminder_cmds",
    "report": "report_cmds",
    "score": "score_cmds",
    "serve": "serve",
    "worker": "worker_cmds",
    "session": "session_cmds",
    "start": "start_cmds",
    "export": "transfer_cmds",
    "import": "transfer_cmds",
    "users": "user_cmds",
}
"""Each command's module under :mod:`kneefix.cli` (a test checks it against the full app)."""

GLOBAL_OPTIONS_WITH_VALUES = ("--profile", "-p", "--db")


def command_word(argv: list[str]) -> str | None:
    """The sub-command named on the command line (arguments after the program name), if any."""
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token in GLOBAL_OPTIONS_WITH_VALUES:
            skip = True
        elif not token.startswith("-"):
            return token
    return None


def main() -> None:
    """Console entry point."""
    module = COMMAND_MODULES.get(command_word(sys.argv[1:]) or "")
    if module is None:
        importlib.import_module("kneefix.cli.app")
    else:
        importlib.import_module(f"kneefix.cli.{module}")
    run()
