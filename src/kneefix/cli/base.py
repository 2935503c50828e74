"""The ``kneefix`` Typer app itself: its global options and error handling, with no commands yet.

Each command module (``analyze``, ``log_cmds``, ...) adds its commands to :data:`app` when imported.
:mod:`kneefix.cli.app` imports all of them; the console entry point (:mod:`kneefix.cli.entry`) imports
only the one a command line names, so ``kneefix analyze`` does not pay for loading the programme's
services and database layer.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from kneefix.cli.context import CliState
from kneefix.errors import KneefixError

err_console = Console(stderr=True)


def report_error(error: KneefixError) -> None:
    """The one line a person sees for a problem they can act on."""
    err_console.print(f"[bold red]Error:[/] {error}", markup=True, highlight=False, soft_wrap=True)


COMMAND_ORDER = (
    "start",
    "today",
    "session",
    "log",
    "plan",
    "progress",
    "report",
    "score",
    "settings",
    "profiles",
    "export",
    "import",
    "education",
    "exercises",
    "content",
)
"""Help lists commands in the order a person meets them; commands not named here follow."""


class KneefixGroup(TyperGroup):
    """Turns a :class:`KneefixError` from any command into the same message and exit code as ``main``.

    Handling it here, not only in :func:`main`, means Typer's test runner and any other caller of
    ``app`` see exactly what a person at the terminal sees.
    """

    def list_commands(self, ctx: Any) -> list[str]:
        names: list[str] = list(super().list_commands(ctx))
        rank = {name: index for index, name in enumerate(COMMAND_ORDER)}
        return sorted(names, key=lambda name: (rank.get(name, len(rank)), names.index(name)))

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KneefixError as error:
            report_error(error)
            raise typer.Exit(error.exit_code) from error


app = typer.Typer(
    name="kneefix",
    cls=KneefixGroup,
    help="A coaching tool for runner's knee: screen, plan, do, prevent, see progress.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global_options(
    ctx: typer.Context,
    profile: Annotated[
        str, typer.Option("--profile", "-p", help="Whose programme: one database holds several people.")
    ] = "default",
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="SQLAlchemy database URL (else KNEEFIX_DATABASE_URL, else SQLite in your data folder).",
        ),
    ] = None,
) -> None:
    """A coaching tool for runner's knee: screen, plan, do, prevent, see progress.

    Not a diagnosis: if something feels wrong, see a clinician.
    """
    state = CliState(profile=profile, db_url=db)
    ctx.obj = state
    ctx.call_on_close(state.close)


def run() -> None:
    """Run :data:`app` on the command line and turn known errors into a clear message."""
    try:
        app(standalone_mode=True)
    except KneefixError as error:
        report_error(error)
        sys.exit(error.exit_code)
