"""``kneefix audit export``: the administrator's copy of the audit log, as CSV or JSON Lines.

The command line's user owns the machine and its database, so they may export the whole log; the
export is itself recorded (``admin.audit_exported``, actor ``cli``). Events stream into the file, so a
long log never sits in memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kneefix.cli.base import app
from kneefix.cli.context import err_console, state_of
from kneefix.services import audit

audit_app = typer.Typer(
    help="The audit log: who viewed or changed which person's record.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")


@audit_app.command("export")
def export_cmd(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="The file to write: FILE.csv or FILE.jsonl.")],
    since: Annotated[str | None, typer.Option("--since", help="From this day (YYYY-MM-DD, UTC).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Up to, not including, this day.")] = None,
) -> None:
    """Export the audit log (every event, oldest first) for an administrator."""
    start = audit.parse_day(since, "--since")
    end = audit.parse_day(until, "--until")
    audit.format_for(out)  # a wrong name is refused before the database is opened
    state = state_of(ctx)
    with state.database().session(write=False) as session:  # the export's own event is written beside
        target, count = audit.write_export(session, out, actor=audit.CLI, since=start, until=end)
    err_console().print(f"Wrote {count} audit events to {target}.")
