"""``kneefix score``: score the Kujala questionnaire or an NPRS rating, and optionally save it."""

from __future__ import annotations

from typing import Annotated

import typer

from kneefix.cli.base import app
from kneefix.cli.context import out_console, state_of, today
from kneefix.cli.output import echo_json
from kneefix.content.loader import load_content
from kneefix.services.profiles import open_profile
from kneefix.services.scores import ScoreResult, save_score, score_kujala, score_nprs

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
SaveFlag = Annotated[bool, typer.Option("--save", help="Record the score for the profile (dated today).")]

score_app = typer.Typer(help="Score a questionnaire (Kujala AKPS, NPRS pain).", no_args_is_help=True)
app.add_typer(score_app, name="score")


def _save(ctx: typer.Context, result: ScoreResult) -> ScoreResult:
    state = state_of(ctx)
    with state.database().session() as session:
        profile = open_profile(session, state.profile)
        return save_score(session, profile.id, result, today())


def _show(result: ScoreResult, as_json: bool, scale: str) -> None:
    if as_json:
        echo_json(result)
        return
    console = out_console()
    console.print(f"{scale}: [bold]{result.score}[/]")
    if result.saved is not None:
        console.print(f"Saved for {result.saved.date.isoformat()}.")
    if result.change is not None:
        console.print(result.change.describe())


@score_app.command("kujala")
def kujala(
    ctx: typer.Context,
    answers: Annotated[
        str, typer.Option("--answers", help="13 letters in the questionnaire's item order, e.g. a,b,a,...")
    ],
    save: SaveFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Kujala Anterior Knee Pain Scale total (0-100, higher is better; a 10-point change matters)."""
    result = score_kujala(load_content(), answers)
    if save:
        result = _save(ctx, result)
    _show(result, as_json, "Kujala score (0-100)")


@score_app.command("nprs")
def nprs(
    ctx: typer.Context,
    value: Annotated[str, typer.Argument(help="Pain 0 (none) to 10 (worst imaginable).")],
    save: SaveFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """A numeric pain rating (0-10; for runner's knee a change of about 1.2 points matters)."""
    result = score_nprs(value)
    if save:
        result = _save(ctx, result)
    _show(result, as_json, "Pain (NPRS 0-10)")
