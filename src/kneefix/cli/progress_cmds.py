"""``kneefix progress``: pain and Kujala trends, adherence, streak, phase, and why the plan changed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kneefix.cli.base import app
from kneefix.cli.context import out_console, state_of, today
from kneefix.cli.output import echo_json
from kneefix.cli.render import day_text, print_changes
from kneefix.content.loader import load_content
from kneefix.programme.progress import ProgressSummary
from kneefix.services.profiles import open_profile
from kneefix.services.progress import progress_chart, progress_summary

MEASURE_NAMES = {
    "pain_during": "Pain during",
    "pain_after": "Pain after",
    "next_morning_pain": "Next-morning pain",
}


def _number(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}"


def describe_slope(name: str, slope: float | None) -> str:
    if slope is None:
        return f"{name}: not enough weeks yet to see a trend."
    if abs(slope) < 0.1:
        return f"{name}: steady."
    direction = "falling" if slope < 0 else "rising"
    return f"{name}: {direction} by about {abs(slope):.1f} points a week."


@app.command("progress")
def progress_cmd(
    ctx: typer.Context,
    plot: Annotated[Path | None, typer.Option("--plot", help="Also write a chart to this PNG file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """How it is going: pain trend, Kujala trend, adherence, streak, phase and plan changes."""
    state = state_of(ctx)
    content = load_content()
    with state.database().session(write=False) as session:  # what is stale is written beside it
        profile = open_profile(session, state.profile)
        summary = progress_summary(session, content, profile.id, today())
    if plot is not None:
        progress_chart(summary, plot)
    if as_json:
        echo_json(summary)
        return
    console = out_console()
    _print_summary(console, summary)
    if plot is not None:
        console.print(f"Chart written to {plot}.")


def _print_summary(console: Console, summary: ProgressSummary) -> None:
    console.print(
        f"[bold]Progress to {day_text(summary.today)}[/] - phase {summary.phase_index + 1} of "
        f"{summary.phase_count}: {summary.phase_name}"
    )
    adherence = summary.adherence_pct
    if adherence is None:
        console.print("Adherence: no sessions were due yet.")
    else:
        console.print(
            f"Adherence: [bold]{adherence:g}%[/] ({summary.done_to_date} of {summary.planned_to_date} "
            f"planned sessions done). Streak: [bold]{summary.streak}[/] in a row."
        )
    if summary.weeks:
        table = Table(title="Week by week")
        running = any(week.runs for week in summary.weeks)
        names = ["week", "done / planned", "pain during", "after", "next morning"]
        for name in [*names, *(["runs", "run min", "run km"] if running else [])]:
            table.add_column(name, justify="right")
        for week in summary.weeks:
            cells = [
                str(week.week),
                f"{week.done} / {week.planned}",
                _number(week.pain_during),
                _number(week.pain_after),
                _number(week.next_morning_pain),
            ]
            if running:
                cells += [str(week.runs), f"{week.run_minutes:g}", f"{week.run_km:g}"]
            table.add_row(*cells)
        console.print(table)
    if summary.running_summary:
        console.print(f"Running: {summary.running_summary}")
    for measure, name in MEASURE_NAMES.items():
        console.print(describe_slope(name, summary.pain_slopes.get(measure)))
    kujala = summary.kujala
    if kujala.points:
        scores = ", ".join(f"{score:g} ({day_text(day)})" for day, score in kujala.points)
        console.print(f"Kujala (0-100, higher is better): {scores}")
        if kujala.change is not None:
            verdict = (
                "a change that matters"
                if kujala.meaningful
                else f"less than the {kujala.mcid:g} points that matter"
            )
            console.print(f"  Change since the first score: {kujala.change:+g} points, {verdict}.")
    else:
        console.print("Kujala: no score yet.")
    if summary.kujala_due:
        console.print(
            "[bold yellow]Kujala re-score due.[/] Record it with "
            "`kneefix score kujala --answers a,b,... --save`."
        )
    else:
        console.print(f"Next Kujala re-score: {day_text(summary.kujala_next_due)}.")
    nprs = summary.nprs
    if nprs.change is not None:
        console.print(f"Pain rating (NPRS) change since screening: {nprs.change:+g} points.")
    for message in summary.messages:
        style = "bold red" if summary.reassess and "clinician" in message else "bold"
        console.print(f"[{style}]{message}[/]")
    print_changes(console, summary.recent_changes)
