"""Rich renderings of service results shared by several commands (sessions, plan changes, screening)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from kneefix.cli.guided import STEP_TITLES
from kneefix.content.schemas import Equipment
from kneefix.programme.planner import PlannedExercise, PlannedSession
from kneefix.programme.records import PlanChange
from kneefix.services.screening import StartOutcome

SEVERITY_STYLE = {
    "emergency": "bold white on red",
    "urgent": "bold red",
    "see_clinician": "bold yellow",
    "other_condition": "yellow",
}


def day_text(day: dt.date) -> str:
    """``Mon 3 Mar 2025``: unambiguous in every locale."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def equipment_names(ids: Iterable[str], equipment: Mapping[str, Equipment]) -> str:
    names = [equipment[item].name if item in equipment else item for item in ids]
    return ", ".join(names)


def exercise_block(item: PlannedExercise, equipment: Mapping[str, Equipment]) -> Text:
    """One exercise as a person reads it before doing it: dose, equipment, cues, then why."""
    text = Text()
    text.append(item.name, style="bold")
    if item.origin == "guideline":
        text.append("  (addition from the clinical guidelines)", style="dim")
    text.append("\n")
    text.append(f"  Dose: {item.dose_text}\n", style="cyan")
    if item.equipment:
        text.append(f"  Equipment: {equipment_names(item.equipment, equipment)}\n")
    for cue in item.cues:
        text.append(f"  - {cue}\n")
    text.append(f"  Why: {item.why}\n", style="dim")
    if item.substitution_note:
        text.append(f"  Note: {item.substitution_note}\n", style="yellow")
    return text


def print_session(console: Console, session: PlannedSession, equipment: Mapping[str, Equipment]) -> None:
    """The session's exercises grouped under their steps, in order."""
    step = None
    for item in session.exercises:
        if item.step != step:
            step = item.step
            console.rule(STEP_TITLES.get(step, step), style="magenta")
        console.print(exercise_block(item, equipment))
    shown = {item.substitution_note for item in session.exercises}
    for note in session.notes:
        if note not in shown:
            console.print(f"[yellow]Note:[/] {note}")


def print_changes(
    console: Console, changes: Iterable[PlanChange], title: str = "Why your plan changed"
) -> None:
    listed = list(changes)
    if not listed:
        return
    console.print(f"[bold]{title}[/]")
    for change in listed:
        console.print(f"  {day_text(change.date)} [magenta]{change.kind}[/]: {change.explanation}")


def print_start_outcome(console: Console, outcome: StartOutcome) -> None:
    """The verdict first (red flags loudest), then the messages, then the plan when it starts."""
    result = outcome.screening
    if result.verdict == "refer_now":
        body = Text()
        for flag in result.red_flags:
            body.append(f"{flag.title}\n", style=SEVERITY_STYLE.get(flag.severity, "bold"))
            body.append(f"  Why: {flag.reason}\n")
            body.append(f"  What to do: {flag.action}\n\n")
        body.append(result.messages[0] if result.messages else "Please see a clinician.", style="bold")
        title = (
            "Emergency - get help now"
            if result.most_urgent == "emergency"
            else "Please see a clinician first"
        )
        console.print(Panel(body, title=title, border_style="red"))
        if outcome.settings is not None:  # a re-screening of a person who already has a plan
            console.print(
                "Your plan is paused: no sessions and no running until a clinician has checked your knee. "
                "It carries on when you run `kneefix start` again without warning signs, or when your "
                "linked clinician resumes it. Everything you logged is kept."
            )
            return
        console.print(
            "The programme has not been started: exercise could delay the care this needs. "
            "Once a clinician has checked your knee and says exercise is fine, run `kneefix start` again."
        )
        return
    style = "green" if result.verdict == "typical" else "yellow"
    title = "Looks like runner's knee" if result.verdict == "typical" else "Not the typical pattern"
    console.print(Panel("\n\n".join(result.messages), title=title, border_style=style))
    if not outcome.started:
        console.print("The programme was not started. Run `kneefix start` again whenever you are ready.")
        return
    plan = outcome.plan
    if plan is None:
        return
    table = Table(title=f"Your plan: {plan.protocol_name}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("Profile", outcome.profile.name)
    table.add_row("Sessions", f"{plan.sessions} over {plan.weeks} weeks, {plan.sessions_per_week} a week")
    table.add_row("First session", day_text(plan.first_session))
    table.add_row("Last session", day_text(plan.last_session))
    table.add_row("Phases", " -> ".join(plan.phases))
    hip = "on (switch off with `kneefix settings --no-guideline-additions`)"
    table.add_row("Hip additions", hip if plan.guideline_additions else "off")
    console.print(table)
    for note in plan.notes:
        console.print(f"[dim]- {note}[/]")
    if plan.swaps:
        console.print("[bold]Fitted to your equipment:[/]")
        for swap in plan.swaps:
            console.print(f"  - {swap}")
    console.print("Next: `kneefix today` shows your first session; `kneefix session` guides you through it.")
