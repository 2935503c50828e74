"""``kneefix profiles`` and ``kneefix settings``: several people on one laptop, and their plan settings."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from kneefix.cli.base import app
from kneefix.cli.context import out_console, state_of
from kneefix.cli.output import echo_json
from kneefix.cli.render import day_text
from kneefix.content.loader import load_content
from kneefix.errors import InputError
from kneefix.services.audit import CLI
from kneefix.services.profiles import delete_profile, list_profiles, open_profile, update_settings
from kneefix.services.screening import parse_weekdays, split_ids

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

profiles_app = typer.Typer(help="List or delete the profiles in this database.", invoke_without_command=True)
app.add_typer(profiles_app, name="profiles")


@profiles_app.callback()
def profiles(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the profiles (people) in this database."""
    if ctx.invoked_subcommand is not None:
        return
    state = state_of(ctx)
    with state.database().session(write=False) as session:
        found = list_profiles(session)
    if as_json:
        echo_json(
            [
                {
                    "name": p.name,
                    "set_up": p.settings is not None,
                    "settings": p.settings,
                    "created_at": p.created_at,
                }
                for p in found
            ]
        )
        return
    console = out_console()
    if not found:
        console.print("No profiles yet. Run `kneefix start` to create one.")
        return
    table = Table(title="Profiles")
    table.add_column("name", style="cyan")
    table.add_column("plan")
    table.add_column("started")
    for profile in found:
        settings = profile.settings
        plan = f"{settings.protocol_id}, {settings.days_per_week}/week" if settings else "not set up yet"
        marker = " (current)" if profile.name == state.profile else ""
        table.add_row(profile.name + marker, plan, day_text(settings.start_date) if settings else "-")
    console.print(table)


@profiles_app.command("delete")
def delete(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The profile to delete with all its data.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a profile and everything recorded for it (export it first to keep a copy)."""
    state = state_of(ctx)
    if not yes:
        confirmed = typer.confirm(f"Delete profile '{name}' and all its logs and scores?", default=False)
        if not confirmed:
            out_console().print("Nothing deleted.")
            return
    with state.database().session() as session:
        delete_profile(session, name, actor=CLI)
    out_console().print(f"Deleted profile '{name}'.")


@app.command("settings")
def settings(
    ctx: typer.Context,
    equipment: Annotated[
        str | None, typer.Option(help="Equipment ids you have, comma-separated, or 'none'.")
    ] = None,
    days: Annotated[int | None, typer.Option(help="Training days per week, 1-7.")] = None,
    weekdays: Annotated[
        str | None, typer.Option(help="Fixed training weekdays, e.g. mon,wed,fri ('none' to spread evenly).")
    ] = None,
    runs: Annotated[bool | None, typer.Option("--runs/--no-runs", help="Do you run?")] = None,
    guideline_additions: Annotated[
        bool | None,
        typer.Option(
            "--guideline-additions/--no-guideline-additions",
            help="Hip exercises and load education added from the clinical guidelines.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show the profile's plan settings, or change some of them (the plan follows)."""
    state = state_of(ctx)
    content = load_content()
    clear = weekdays is not None and weekdays.strip().lower() == "none"
    chosen_days = None if weekdays is None or clear else parse_weekdays(weekdays)
    changing = any(value is not None for value in (equipment, days, weekdays, runs, guideline_additions))
    if days is not None and chosen_days is not None:
        raise InputError("Give either --days or --weekdays, not both.")
    with state.database().session(write=changing) as session:
        profile = open_profile(session, state.profile)
        if changing:
            profile = update_settings(
                session,
                content,
                profile.id,
                equipment=None if equipment is None else split_ids(equipment, "Equipment"),
                days_per_week=days,
                runs=runs,
                guideline_additions=guideline_additions,
                training_weekdays=chosen_days,
                clear_weekdays=clear or days is not None,
                actor=CLI,
            )
    current = profile.settings
    if as_json:
        echo_json({"profile": profile.name, "settings": current})
        return
    console = out_console()
    if current is None:
        console.print(f"Profile '{profile.name}' is not set up yet: run `kneefix start`.")
        return
    table = Table(title=f"Settings for {profile.name}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("Programme", current.protocol_id)
    table.add_row("Start date", day_text(current.start_date))
    if current.training_weekdays:
        table.add_row("Training days", ", ".join(WEEKDAY_NAMES[d] for d in current.training_weekdays))
    else:
        table.add_row("Training days", f"{current.days_per_week} a week, spread evenly")
    names = [content.equipment[e].name if e in content.equipment else e for e in sorted(current.equipment)]
    table.add_row("Equipment", ", ".join(names) or "none (home items only)")
    table.add_row("Runs", "yes" if current.runs else "no")
    table.add_row("Guideline additions", "on" if current.guideline_additions else "off")
    console.print(table)
    if changing:
        console.print("[green]Saved.[/] `kneefix today` and `kneefix plan` now follow these settings.")
