"""``kneefix session``: a guided session in the terminal, logged at the end with the pain ratings.

The database is not held open while the person exercises: the session is read in one short
transaction and logged in another, so a second kneefix window (or the web app) is never blocked.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from kneefix.cli.base import app
from kneefix.cli.context import err_console, out_console, state_of, today
from kneefix.cli.guided import GuidedSession, SessionProgress, StopRequestedError
from kneefix.cli.log_cmds import describe
from kneefix.cli.output import echo_json
from kneefix.cli.prompts import ask_valid, ask_yes_no
from kneefix.cli.render import day_text, print_changes
from kneefix.cli.timers import Clock, timer_scale
from kneefix.content.loader import load_content
from kneefix.errors import InputError
from kneefix.programme.scoring import validate_nprs
from kneefix.services.logbook import log_session
from kneefix.services.plan import today_view
from kneefix.services.profiles import open_profile


def ask_pain(console: Console, question: str, what: str) -> int:
    return ask_valid(console, question, lambda text: validate_nprs(text, what))


@app.command("session")
def session_cmd(
    ctx: typer.Context,
    fast: Annotated[
        bool,
        typer.Option("--fast", help="Shrink every timer (for a demo or a test); see KNEEFIX_TIMER_SCALE."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the logged entry as JSON at the end.")
    ] = False,
) -> None:
    """Do today's session with countdown timers, set prompts and rest timers, then log it."""
    state = state_of(ctx)
    content = load_content()
    clock = Clock(scale=timer_scale(fast))
    console = err_console() if as_json else out_console()
    day = today()
    with state.database().session() as db:
        profile = open_profile(db, state.profile)
        view = today_view(db, content, profile.id, day)
    if view.status == "paused" or view.session is None:
        raise InputError(f"Your plan is paused: {view.paused_reason} See `kneefix today` for what to do.")
    if view.warning:
        console.print(f"[bold red]{view.warning}[/]")
    if view.already_logged:
        console.print(
            f"You have already logged a session today. Your next session is on {day_text(view.session.date)}."
        )
        return
    if view.rest_day:
        console.print(f"Today is a rest day. Your next session is on {day_text(view.session.date)}.")
        if not ask_yes_no(console, "Do that session now instead?", default=False):
            console.print("Enjoy the rest day.")
            return
    names = {item.id: item.name for item in content.equipment.values()}
    runner = GuidedSession(console, view.session, clock, equipment_names=names)
    try:
        progress = runner.run()
    except StopRequestedError:
        progress = runner.progress
        console.print("\n[yellow]Session stopped.[/]")
        if progress.completed == 0:
            console.print("Nothing was finished, so nothing is logged.")
            return
        share = round(progress.completed * 100)
        if not ask_yes_no(console, f"Log what you did ({share}% of the session)?", default=True):
            console.print("Nothing logged.")
            return
    _log(ctx, console, progress, as_json)


def _log(ctx: typer.Context, console: Console, progress: SessionProgress, as_json: bool) -> None:
    state = state_of(ctx)
    content = load_content()
    during = ask_pain(console, "Worst knee pain during the session (0-10)?", "Pain during")
    after = ask_pain(console, "Knee pain now, just after (0-10)?", "Pain after")
    with state.database().session() as db:
        profile = open_profile(db, state.profile)
        result = log_session(
            db,
            content,
            profile.id,
            day=today(),
            today=today(),
            completed=progress.completed,
            done=list(progress.exercises_done),
            pain_during=during,
            pain_after=after,
        )
    if as_json:
        echo_json(result)
        return
    console.print(f"[green]Logged[/] {describe(result.log)}")
    print_changes(console, result.plan_changes, title="Your plan changed")
    console.print("Tomorrow morning, record how the knee feels: `kneefix log morning --pain N`.")
