"""``kneefix today`` and ``kneefix plan``: what to do today, and the whole dated plan."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kneefix.cli.base import app
from kneefix.cli.context import out_console, state_of, today
from kneefix.cli.output import echo_json
from kneefix.cli.render import day_text, print_changes, print_session
from kneefix.content.loader import load_content
from kneefix.programme.replay import PlanState
from kneefix.services.calendar import calendar_ics
from kneefix.services.plan import plan_dict, plan_state, protocol_for, today_view
from kneefix.services.profiles import open_profile
from kneefix.services.transfer import write_bytes_file

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


@app.command("today")
def today_cmd(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Today's session: the four steps in order with dose, equipment, cues and why (or a rest day)."""
    state = state_of(ctx)
    content = load_content()
    day = today()
    with state.database().session(write=False) as session:  # what is stale is written beside it
        profile = open_profile(session, state.profile)
        view = today_view(session, content, profile.id, day)
    if as_json:
        echo_json(view)
        return
    console = out_console()
    if view.warning and view.status != "paused":
        console.print(f"[bold red]{view.warning}[/]")
    phase = f"Phase {view.phase_number} of {view.phase_count}: {view.phase_name}"
    upcoming = view.session
    if view.status == "paused" or upcoming is None:
        console.print(f"[bold]{day_text(view.today)}[/] - [bold red]your plan is paused[/]")
        console.print(f"Why: {view.paused_reason}")
        console.print(
            "No session and no running until then. Have your knee checked by a physiotherapist or doctor; "
            "the plan carries on when you re-screen without warning signs (`kneefix start`) or when your "
            "linked clinician resumes it."
        )
    elif view.rest_day:
        reason = "You have already logged today's session." if view.already_logged else "Today is a rest day."
        console.print(f"[bold]{day_text(view.today)}[/] - {phase}")
        console.print(
            f"{reason} Your next session (number {view.session_number}, week {upcoming.week}) is on "
            f"[bold]{day_text(upcoming.date)}[/]."
        )
        console.print("Its exercises: " + ", ".join(item.name for item in upcoming.exercises) + ".")
        console.print("Rest days count too: recovery is part of the programme.")
    else:
        console.print(
            f"[bold]Today, {day_text(view.today)}[/] - session {view.session_number}, "
            f"week {upcoming.week}. {phase}"
        )
        print_session(console, upcoming, content.equipment)
        console.print("Guided version with timers: `kneefix session`. Logging afterwards: `kneefix log`.")
    if view.finished and view.status != "paused":
        console.print("[green]You have finished the programme: these are your maintenance sessions.[/]")
    if view.running.available and view.status != "paused":
        if view.run_due_today:
            console.print(f"[bold]Run today:[/] {view.running.summary} Log it with `kneefix log run`.")
        else:
            console.print(f"[bold]Running:[/] {view.running.summary}")
    if not view.guideline_additions:
        console.print("[dim]Hip additions are switched off (`kneefix settings --guideline-additions`).[/]")
    print_changes(console, view.recent_changes, title="Recent changes to your plan")


@app.command("plan")
def plan_cmd(
    ctx: typer.Context,
    ics: Annotated[
        Path | None, typer.Option("--ics", help="Also write the plan as an iCalendar file for your calendar.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The whole dated plan: weeks, sessions and phases (done sessions and what is still to come)."""
    state = state_of(ctx)
    content = load_content()
    with state.database().session(write=False) as session:  # what is stale is written beside it
        profile = open_profile(session, state.profile)
        current = plan_state(session, content, profile.id, today())
        calendar = calendar_ics(session, content, profile.id, today()) if ics is not None else b""
    if ics is not None:
        written = write_bytes_file(ics, calendar)
    if as_json:
        echo_json(
            {"profile": profile.name, **plan_dict(current), "ics": str(ics) if ics is not None else None}
        )
        return
    console = out_console()
    phase_names = [phase.name for phase in protocol_for(content, current.settings).phases]
    _print_plan_table(console, current, phase_names)
    print_changes(console, current.changes)
    if current.running.available:
        console.print(f"[bold]Running:[/] {current.running.summary}")
        for run in current.plan.runs[:6]:
            console.print(f"  {day_text(run.date)}: stage {run.stage}, {run.description}")
    for note in current.plan.notes:
        console.print(f"[dim]{note}[/]")
    if ics is not None:
        console.print(
            f"Calendar written to {written} ({len(current.plan.sessions)} sessions, "
            f"{len(current.plan.runs)} runs)."
        )


def _print_plan_table(console: Console, current: PlanState, phase_names: list[str]) -> None:
    table = Table(title=f"{current.plan.protocol_name} - from {day_text(current.settings.start_date)}")
    table.add_column("week", justify="right")
    table.add_column("date")
    table.add_column("session", justify="right")
    table.add_column("phase")
    table.add_column("exercises")
    table.add_column("status")
    sessions_done = [entry for entry in current.history if not entry.log.is_run]
    for number, entry in enumerate(sessions_done, start=1):
        log = entry.log
        share = f"{round(log.completed * 100)}%"
        week = (log.date - current.settings.start_date).days // 7 + 1
        done_items = f"{len(log.exercises_done)} exercises" if log.exercises_done else ""
        table.add_row(
            str(week),
            day_text(log.date),
            str(number),
            phase_names[entry.state.phase_index],
            done_items,
            f"[green]done {share}[/]",
        )
    # Upcoming sessions continue the count after the logged ones.
    offset = len(sessions_done)
    for upcoming in current.plan.sessions:
        status = "[bold]today[/]" if upcoming.date == current.today else ""
        table.add_row(
            str(upcoming.week),
            day_text(upcoming.date),
            str(offset + upcoming.number),
            upcoming.phase_name,
            f"{len(upcoming.exercises)} exercises",
            status,
        )
    console.print(table)
    done = sum(1 for entry in current.history if entry.log.completed >= 0.5)
    console.print(
        f"Now in phase {current.phase_index + 1} of {current.phase_count} ({current.phase_name}); "
        f"{done} session(s) done so far. Missed sessions move the plan later rather than piling up."
    )
