"""``kneefix content check``, ``kneefix education`` and ``kneefix exercises``: the programme as data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table

from kneefix.cli.base import app
from kneefix.cli.context import err_console, out_console
from kneefix.cli.output import echo_json
from kneefix.content.loader import load_content
from kneefix.errors import InputError
from kneefix.services.library import (
    content_problems,
    education_pages,
    exercises_in_order,
    find_education,
    find_exercise,
    write_demonstration,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]

content_app = typer.Typer(help="Check the programme's content files.", no_args_is_help=True)
app.add_typer(content_app, name="content")


@content_app.command("check")
def check(
    root: Annotated[
        Path | None,
        typer.Option("--root", help="A content folder to check instead of the packaged one."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Validate every content file; list each problem with its file and field (exit 1 if any)."""
    problems = content_problems(root)
    if as_json:
        echo_json({"ok": not problems, "problems": problems})
    else:
        console = out_console()
        for problem in problems:
            console.print(str(problem), markup=False)
        if problems:
            console.print(f"[bold red]{len(problems)} problem(s) found.[/]")
        else:
            console.print("[green]Content is valid.[/]")
    if problems:
        raise typer.Exit(1)


@app.command("education")
def education(
    topic: Annotated[
        str | None, typer.Argument(help="A page id (or the start of one); none lists them.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Read the education pages: what runner's knee is, what the evidence says, load management."""
    content = load_content()
    console = out_console()
    if topic is None:
        pages = education_pages(content)
        if as_json:
            echo_json([{"id": p.id, "title": p.title, "summary": p.summary} for p in pages])
            return
        table = Table(title="Education pages (kneefix education ID to read one)")
        table.add_column("id", style="cyan", no_wrap=True)
        table.add_column("title")
        table.add_column("summary")
        for page in pages:
            table.add_row(page.id, page.title, page.summary)
        console.print(table)
        return
    page = find_education(content, topic)
    if as_json:
        echo_json(page)
        return
    subtitle = "addition from the clinical guidelines" if page.module else None
    console.print(Panel(Markdown(page.body), title=page.title, subtitle=subtitle))


@app.command("exercises")
def exercises(
    words: Annotated[
        list[str] | None,
        typer.Argument(metavar="[show] [ID]", help="Show one exercise in full (the word show is optional)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Also draw its demonstration (key poses) to a .png or .svg file."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List the exercises by step, or show one with how-to, cues, mistakes, safety notes and its
    demonstration (kneefix exercises show ID --out FILE.png)."""
    content = load_content()
    console = out_console()
    given = list(words or [])
    if given[:1] == ["show"]:
        given = given[1:]
    if len(given) > 1:
        raise InputError(f"Name one exercise, not {len(given)}: kneefix exercises show ID --out FILE.png")
    exercise_id = given[0] if given else None
    if exercise_id is None and out is not None:
        raise InputError("--out draws one exercise: kneefix exercises show ID --out FILE.png")
    if exercise_id is not None:
        exercise = find_exercise(content, exercise_id)
        if out is not None:
            written = write_demonstration(exercise, out)
            err_console().print(f"Wrote the demonstration of {exercise.name} to {written}")
        if as_json:
            echo_json(exercise)
            return
        lines = [f"*{exercise.purpose}*", "", f"**Why:** {exercise.why}", "", "**How to:**"]
        lines += [f"{n}. {step}" for n, step in enumerate(exercise.how_to, start=1)]
        for heading, points in (("Cues", exercise.cues), ("Common mistakes", exercise.mistakes)):
            if points:
                lines += ["", f"**{heading}:**", *[f"- {point}" for point in points]]
        if exercise.safety:
            lines += ["", "**Safety:**", *[f"- {item}" for item in exercise.safety]]
        names = [content.equipment[e].name if e in content.equipment else e for e in exercise.equipment]
        lines += ["", f"**Equipment:** {', '.join(names) or 'none'}"]
        origin = "from the clinical guidelines" if exercise.origin == "guideline" else "from the article"
        console.print(
            Panel(Markdown("\n".join(lines)), title=exercise.name, subtitle=f"{exercise.step}, {origin}")
        )
        return
    items = exercises_in_order(content)
    if as_json:
        echo_json(items)
        return
    table = Table(title="Exercises (kneefix exercises ID for details)")
    table.add_column("step", style="magenta")
    table.add_column("id", style="cyan")
    table.add_column("name")
    table.add_column("equipment")
    table.add_column("from")
    for item in items:
        table.add_row(
            item.step,
            item.id,
            item.name,
            ", ".join(item.equipment) or "-",
            "guidelines" if item.origin == "guideline" else "article",
        )
    console.print(table)
