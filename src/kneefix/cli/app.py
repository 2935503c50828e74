"""The ``kneefix`` command: a thin Typer layer over the services.

Each command parses flags, calls one service function and renders its result with Rich (or JSON with
``--json``). Errors derived from :class:`kneefix.errors.KneefixError` become a one-line message and a
non-zero exit code.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from kneefix.errors import KneefixError

app = typer.Typer(
    name="kneefix",
    help="A coaching tool for runner's knee: screen, plan, do, prevent, see progress.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

err_console = Console(stderr=True)


def main() -> None:
    """Console entry point: run the app and turn known errors into a clear message."""
    try:
        app(standalone_mode=True)
    except KneefixError as error:
        err_console.print(f"[bold red]Error:[/] {error}")
        sys.exit(error.exit_code)
