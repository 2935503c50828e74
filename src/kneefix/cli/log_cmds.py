"""``kneefix log``: record a session after the fact, next-morning pain, and fix or remove wrong entries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kneefix.cli.base import app
from kneefix.cli.context import out_console, state_of, today
from kneefix.cli.output import echo_json
from kneefix.cli.prompts import ask_valid, stdin_is_interactive
from kneefix.cli.render import day_text, print_changes
from kneefix.content.loader import load_content
from kneefix.errors import InputError
from kneefix.programme.records import SessionLog
from kneefix.programme.scoring import validate_nprs
from kneefix.services.audit import CLI
from kneefix.services.logbook import (
    LogResult,
    delete_log,
    edit_log,
    list_logs,
    log_run,
    log_run_check,
    log_session,
    record_morning_pain,
)
from kneefix.services.profiles import open_profile
from kneefix.services.screening import parse_date, split_ids

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
DateOption = Annotated[
    str | None, typer.Option("--date", help="Date of the session, YYYY-MM-DD (default today).")
]

log_app = typer.Typer(
    help="Record a session after the fact (pain during and after), next-morning pain, or fix entries.",
    invoke_without_command=True,
)
app.add_typer(log_app, name="log")


def parse_fraction(text: str) -> float:
    """``0.8``, ``80%`` or ``80`` (a percentage) as a fraction from 0 to 1."""
    cleaned = text.strip().rstrip("%")
    try:
        value = float(cleaned)
    except ValueError:
        raise InputError(
            f"Completed must be a fraction such as 0.8 or a percentage such as 80%, not {text!r}."
        ) from None
    if text.strip().endswith("%") or value > 1:
        value /= 100
    if not 0 <= value <= 1:
        raise InputError(f"Completed must be from 0 to 1 (or 0% to 100%), not {text!r}.")
    return value


def optional_pain(text: str | None, what: str) -> int | None:
    return None if text is None else validate_nprs(text, what)


def pain_or_clear(text: str | None, what: str) -> int | str | None:
    """For edits: ``none`` clears a rating; no flag leaves it alone (returned as ``"keep"``)."""
    if text is None:
        return "keep"
    if text.strip().lower() in {"none", "clear", "-"}:
        return None
    return validate_nprs(text, what)


def log_day(text: str | None) -> dt.date:
    return today() if text is None else parse_date(text, "Date")


@log_app.callback()
def log_cmd(
    ctx: typer.Context,
    date: DateOption = None,
    completed: Annotated[
        str | None, typer.Option(help="How much of the session you did: 0..1 or a percentage (default all).")
    ] = None,
    done: Annotated[
        str | None, typer.Option(help="Exercise ids you did, comma-separated (the rest count as skipped).")
    ] = None,
    pain_during: Annotated[str | None, typer.Option("--pain-during", help="Worst pain during, 0-10.")] = None,
    pain_after: Annotated[str | None, typer.Option("--pain-after", help="Pain just after, 0-10.")] = None,
    note: Annotated[str, typer.Option(help="A short note for yourself or your clinician.")] = "",
    hurt: Annotated[
        str | None,
        typer.Option(help="Exercise ids that hurt, comma-separated: they move to their easier version."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Record a session you did (sub-commands: next-morning pain, runs, the running check, corrections)."""
    if ctx.invoked_subcommand is not None:
        if any(v is not None for v in (date, completed, done, pain_during, pain_after, hurt)) or note:
            raise InputError(f"Put the options after `log {ctx.invoked_subcommand}`, not before it.")
        return
    state = state_of(ctx)
    content = load_content()
    day = log_day(date)
    fraction = None if completed is None else parse_fraction(completed)
    done_ids = None if done is None else split_ids(done, "Exercises done")
    during = optional_pain(pain_during, "Pain during")
    after = optional_pain(pain_after, "Pain after")
    hurt_ids = () if hurt is None else tuple(split_ids(hurt, "Exercises that hurt"))
    if stdin_is_interactive() and not as_json:
        console = out_console()
        if during is None:
            during = ask_valid(console, "Worst knee pain during the session (0-10)?", _pain("Pain during"))
        if after is None:
            after = ask_valid(console, "Knee pain just after the session (0-10)?", _pain("Pain after"))
    with state.database().session() as session:
        profile = open_profile(session, state.profile)
        result = log_session(
            session,
            content,
            profile.id,
            day=day,
            today=today(),
            completed=fraction,
            done=done_ids,
            pain_during=during,
            pain_after=after,
            note=note,
            hurt=hurt_ids,
        )
    if as_json:
        echo_json(result)
        return
    console = out_console()
    console.print(f"[green]Logged[/] {describe(result.log)}")
    print_changes(console, result.plan_changes, title="Your plan changed")
    console.print(
        "Tomorrow morning, note how the knee feels: `kneefix log morning --pain N`. "
        "That answer matters most for how the plan moves on."
    )


def _pain(what: str) -> Callable[[str], int]:
    return lambda text: validate_nprs(text, what)


def describe(log: SessionLog) -> str:
    """One line: date, share done (or the run) and the pain ratings given."""
    if log.is_run:
        distance = f", {log.run_distance_km:g} km" if log.run_distance_km is not None else ""
        parts = [f"{day_text(log.date)}: run of {log.run_minutes or 0:g} min{distance}"]
    else:
        parts = [f"{day_text(log.date)}: {round(log.completed * 100)}% done"]
    for label, value in (
        ("pain during", log.pain_during),
        ("after", log.pain_after),
        ("next morning", log.next_morning_pain),
    ):
        if value is not None:
            parts.append(f"{label} {value}/10")
    if log.hurt:
        parts.append("hurt: " + ", ".join(log.hurt))
    entry = f" (entry {log.id})" if log.id is not None else ""
    return ", ".join(parts) + entry


@log_app.command("run")
def run_cmd(
    ctx: typer.Context,
    minutes: Annotated[str, typer.Option("--minutes", help="Minutes on your feet, walking breaks included.")],
    date: DateOption = None,
    distance_km: Annotated[
        str | None, typer.Option("--distance-km", help="Distance in km (optional).")
    ] = None,
    pain_during: Annotated[str | None, typer.Option("--pain-during", help="Worst pain during, 0-10.")] = None,
    pain_after: Annotated[str | None, typer.Option("--pain-after", help="Pain just after, 0-10.")] = None,
    note: Annotated[str, typer.Option(help="A short note.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Record a return-to-running run; rate the next morning with `kneefix log morning` as for sessions."""
    state = state_of(ctx)
    content = load_content()
    day = log_day(date)
    during = optional_pain(pain_during, "Pain during")
    after = optional_pain(pain_after, "Pain after")
    with state.database().session() as session:
        profile = open_profile(session, state.profile)
        result = log_run(
            session,
            content,
            profile.id,
            day=day,
            today=today(),
            minutes=_number(minutes, "Minutes"),
            distance_km=None if distance_km is None else _number(distance_km, "Distance (km)"),
            pain_during=during,
            pain_after=after,
            note=note,
        )
    if as_json:
        echo_json(result)
        return
    console = out_console()
    console.print(f"[green]Logged[/] {describe(result.log)}")
    print_changes(console, result.plan_changes, title="Your running changed")
    console.print(
        "Tomorrow morning, rate the knee: `kneefix log morning --pain N`; it decides the next stage."
    )


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{what} must be a number, not {text!r}.") from None


@log_app.command("run-check")
def run_check_cmd(
    ctx: typer.Context,
    walk_pain: Annotated[str, typer.Option("--walk-pain", help="Knee pain on a 30-minute brisk walk, 0-10.")],
    hop_pain: Annotated[str, typer.Option("--hop-pain", help="Knee pain on ten single-leg hops, 0-10.")],
    date: DateOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Answer the return-to-running readiness check: a brisk walk and hops on the sore leg."""
    state = state_of(ctx)
    content = load_content()
    day = log_day(date)
    walk = validate_nprs(walk_pain, "Walk pain")
    hop = validate_nprs(hop_pain, "Hop pain")
    with state.database().session() as session:
        profile = open_profile(session, state.profile)
        result = log_run_check(
            session, content, profile.id, day=day, today=today(), walk_pain=walk, hop_pain=hop
        )
    if as_json:
        echo_json(result)
        return
    console = out_console()
    colour = "green" if result.passed else "yellow"
    console.print(f"[{colour}]{result.message}[/]")
    print_changes(console, result.plan_changes, title="Your plan changed")


@log_app.command("morning")
def morning(
    ctx: typer.Context,
    pain: Annotated[str, typer.Option("--pain", help="Knee pain this morning, 0-10.")],
    date: Annotated[
        str | None,
        typer.Option("--date", help="Date of the session it follows (default: your latest before today)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Record next-morning pain: the check that decides whether the plan can step up."""
    state = state_of(ctx)
    content = load_content()
    value = validate_nprs(pain, "Next-morning pain")
    session_day = None if date is None else parse_date(date, "Date")
    with state.database().session() as session:
        profile = open_profile(session, state.profile)
        result = record_morning_pain(
            session, content, profile.id, pain=value, today=today(), session_day=session_day
        )
    _report(result, as_json, "Next-morning pain recorded for")


@log_app.command("list")
def list_cmd(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every logged session with its entry number (for `log edit` and `log delete`)."""
    state = state_of(ctx)
    with state.database().session(write=False) as session:
        profile = open_profile(session, state.profile)
        logs = list_logs(session, profile.id)
    if as_json:
        echo_json(logs)
        return
    console = out_console()
    if not logs:
        console.print("Nothing logged yet. After a session: `kneefix log --pain-during N --pain-after N`.")
        return
    _print_logs(console, logs)


def _print_logs(console: Console, logs: list[SessionLog]) -> None:
    table = Table(title="Your sessions and runs")
    for name in ("entry", "date", "done", "pain during", "after", "next morning", "note"):
        table.add_column(name, justify="right" if name in {"entry", "done"} else "left")
    for log in logs:

        def shown(value: int | None) -> str:
            return "-" if value is None else f"{value}/10"

        if log.is_run:
            distance = f", {log.run_distance_km:g} km" if log.run_distance_km is not None else ""
            done = f"run {log.run_minutes or 0:g} min{distance}"
        else:
            done = f"{round(log.completed * 100)}%" + (f" (hurt: {', '.join(log.hurt)})" if log.hurt else "")
        table.add_row(
            str(log.id),
            day_text(log.date),
            done,
            shown(log.pain_during),
            shown(log.pain_after),
            shown(log.next_morning_pain),
            log.note,
        )
    console.print(table)


@log_app.command("edit")
def edit(
    ctx: typer.Context,
    entry: Annotated[int, typer.Argument(help="Entry number from `kneefix log list`.")],
    date: Annotated[str | None, typer.Option("--date", help="Correct date, YYYY-MM-DD.")] = None,
    completed: Annotated[str | None, typer.Option(help="Share done: 0..1 or a percentage.")] = None,
    pain_during: Annotated[
        str | None, typer.Option("--pain-during", help="0-10, or 'none' to clear.")
    ] = None,
    pain_after: Annotated[str | None, typer.Option("--pain-after", help="0-10, or 'none' to clear.")] = None,
    morning: Annotated[
        str | None, typer.Option("--morning", help="Next-morning pain 0-10, or 'none' to clear.")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Replace the note.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Correct a logged entry; only the values you give change."""
    state = state_of(ctx)
    content = load_content()
    changes: dict[str, int | None] = {}
    for key, text, what in (
        ("pain_during", pain_during, "Pain during"),
        ("pain_after", pain_after, "Pain after"),
        ("next_morning_pain", morning, "Next-morning pain"),
    ):
        value = pain_or_clear(text, what)
        if value != "keep":
            changes[key] = value if isinstance(value, int) else None
    with state.database().session() as session:
        profile = open_profile(session, state.profile)
        result = edit_log(
            session,
            content,
            profile.id,
            entry,
            today=today(),
            day=None if date is None else parse_date(date, "Date"),
            completed=None if completed is None else parse_fraction(completed),
            note=note,
            **changes,
        )
    _report(result, as_json, "Entry updated:")


@log_app.command("delete")
def delete(
    ctx: typer.Context,
    entry: Annotated[int, typer.Argument(help="Entry number from `kneefix log list`.")],
    as_json: JsonFlag = False,
) -> None:
    """Remove a wrong entry (the plan is recomputed without it)."""
    state = state_of(ctx)
    content = load_content()
    with state.database().session() as session:
        profile = open_profile(session, state.profile)
        result = delete_log(session, content, profile.id, entry, today=today(), actor=CLI)
    _report(result, as_json, "Deleted")


def _report(result: LogResult, as_json: bool, verb: str) -> None:
    if as_json:
        echo_json(result)
        return
    console = out_console()
    console.print(f"[green]{verb}[/] {describe(result.log)}")
    print_changes(console, result.plan_changes, title="Your plan changed")
