"""``kneefix export`` and ``kneefix import``: all of a person's data as JSON (and CSV tables, or a FHIR R4
Bundle for a clinic's record system: docs/fhir.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kneefix.cli.base import app
from kneefix.cli.context import err_console, now, out_console, public_url, state_of, today
from kneefix.cli.output import echo_json
from kneefix.content.loader import load_content
from kneefix.errors import InputError
from kneefix.services import audit, fhir_export, fhir_import
from kneefix.services.profiles import open_profile
from kneefix.services.transfer import export_csv, export_text, import_file, write_text_file
from kneefix.settings import load_settings
from kneefix.storage.files import open_store


@app.command("export")
def export_cmd(
    ctx: typer.Context,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the JSON here (default: print it).")
    ] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Also write one CSV file per table here.")] = None,
    fhir: Annotated[
        Path | None,
        typer.Option("--fhir", help="Write a FHIR R4 Bundle here (then the JSON only with --out)."),
    ] = None,
) -> None:
    """Export everything kept about the profile as JSON (and optionally CSV tables or a FHIR Bundle)."""
    state = state_of(ctx)
    json_wanted = out is not None or fhir is None
    with state.database().session(write=False) as session:
        profile = open_profile(session, state.profile)
        if json_wanted:
            audit.record_export(session, audit.CLI, profile.id, "json")  # a short write beside this read
        if csv is not None:
            audit.record_export(session, audit.CLI, profile.id, "csv")
        bundle = None
        if fhir is not None:
            audit.record_export(session, audit.CLI, profile.id, fhir_export.FORMAT)
            bundle = fhir_export.build_bundle(
                session,
                load_content(),
                profile.id,
                today(),
                now(),
                links=fhir_export.FileLinks(None, open_store(load_settings())),  # the chart, no links
                public_url=public_url(),
            )
        text = export_text(session, profile.id) if json_wanted else ""
        written = export_csv(session, profile.id, csv) if csv is not None else []
    if fhir is not None and bundle is not None:
        target = write_text_file(fhir, fhir_export.bundle_text(bundle))
        err_console().print(f"Wrote profile '{profile.name}' as a FHIR R4 Bundle to {target}.")
    if out is not None:
        target = write_text_file(out, text)
        err_console().print(f"Exported profile '{profile.name}' to {target}.")
    elif json_wanted:
        typer.echo(text, nl=False)
    if written:
        err_console().print(f"CSV tables written to {csv}: {', '.join(path.name for path in written)}.")


@app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="A JSON file made by `kneefix export`.")] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", help="Import under this name (default: the file's).")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace an existing profile of the same name.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    fhir: Annotated[
        Path | None, typer.Option("--fhir", help="Import a FHIR R4 Bundle instead (docs/fhir.md).")
    ] = None,
) -> None:
    """Import a profile from an export file (an existing profile is never overwritten unless --replace)."""
    state = state_of(ctx)
    name = profile if profile is not None else (state.profile if state.profile != "default" else None)
    if (file is None) == (fhir is None):
        raise InputError("Give one file: a kneefix export (FILE) or a FHIR Bundle (--fhir FILE).")
    not_imported: tuple[str, ...] = ()
    try:
        with state.database().session() as session:
            if fhir is not None:
                result = fhir_import.import_fhir(session, fhir, name=name, overwrite=replace)
                imported, not_imported = result.profile, result.not_imported
            else:
                assert file is not None
                imported = import_file(session, file, name=name, overwrite=replace)
    except InputError as error:
        if replace or "already exists" not in str(error):
            raise
        raise InputError(f"{error} Use --profile NEW_NAME, or --replace to overwrite it.") from error
    if as_json:
        payload: dict[str, object] = {"profile": imported.name, "id": imported.id}
        if fhir is not None:
            payload["not_imported"] = list(not_imported)
        echo_json(payload)
        return
    for line in not_imported:
        err_console().print(f"Not imported: {line}")
    out_console().print(
        f"[green]Imported[/] profile '{imported.name}'. "
        f"Use it with `kneefix --profile {imported.name} today`."
    )
