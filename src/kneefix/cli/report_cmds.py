"""``kneefix report --pdf FILE``: the progress report for a clinician, or with ``--handout`` the
programme handout, as a PDF (the same documents the web pages and the API give)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kneefix.cli.base import app
from kneefix.cli.context import err_console, state_of, today
from kneefix.content.loader import load_content
from kneefix.errors import InputError
from kneefix.services import audit
from kneefix.services.printing import handout_pdf, report_pdf
from kneefix.services.profiles import open_profile
from kneefix.services.transfer import write_bytes_file


@app.command("report")
def report_command(
    ctx: typer.Context,
    pdf: Annotated[Path, typer.Option("--pdf", help="Write the PDF to this file.")],
    handout: Annotated[
        bool, typer.Option("--handout", help="The programme handout (exercises, pain rules, coming weeks).")
    ] = False,
) -> None:
    """A PDF to print or send: the progress report (pain, scores, adherence, plan changes), or the
    programme handout with --handout."""
    if pdf.suffix.lower() != ".pdf":
        raise InputError(f"{pdf.name}: give the PDF a file name ending in .pdf.")
    state = state_of(ctx)
    content = load_content()
    with state.database().session(write=False) as session:  # what is stale is written beside it
        profile = open_profile(session, state.profile)
        maker = handout_pdf if handout else report_pdf
        audit.record_export(session, audit.CLI, profile.id, "pdf" if handout else "report-pdf")
        body = maker(session, content, profile.id, today())
    written = write_bytes_file(pdf, body)
    what = "programme handout" if handout else "progress report"
    err_console().print(f"Wrote the {what} for {profile.name} to {written}")
