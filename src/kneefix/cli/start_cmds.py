"""``kneefix start``: the first run. Screening questions, a verdict, and a plan when it is safe to start.

Every answer can come from a flag or an ``--answers`` JSON file, so clinicians can script it; whatever
is missing is asked in the terminal. With no terminal (a pipe, a script) a missing answer is an error
naming the flag to use - a script never hangs waiting for input.

The safety questions come straight after the age, and the first "yes" ends the questions: the referral
for that warning sign is shown and the screening is saved as "refer_now" without asking anything else.
A Kujala answer that raises a warning sign ends them in the same way once the Kujala is done.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.panel import Panel

from kneefix.cli.base import app
from kneefix.cli.context import CliState, err_console, out_console, state_of, today
from kneefix.cli.output import echo_json
from kneefix.cli.prompts import ask_valid, ask_yes_no, parse_int_in_range, stdin_is_interactive
from kneefix.cli.render import print_start_outcome
from kneefix.content.loader import Content, load_content
from kneefix.errors import InputError
from kneefix.programme.screening import screen
from kneefix.services.profiles import list_profiles
from kneefix.services.screening import (
    ASK_ORDER,
    applicable_red_flags,
    build_request,
    needed_answers,
    normalise_keys,
    parse_age,
    parse_days,
    parse_equipment,
    parse_kujala,
    parse_pain,
    parse_symptoms,
    run_start,
    stop_point,
)

FLAG_FOR = {
    "age": "--age",
    "symptoms": "--symptoms",
    "red_flags": "--red-flags",
    "kujala": "--kujala",
    "pain": "--pain",
    "equipment": "--equipment",
    "days": "--days",
    "runs": "--runs/--no-runs",
}


def read_answers_file(path: Path) -> dict[str, Any]:
    """Answers from a JSON object; any problem is a clear InputError naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"There is no answers file {path}.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"Cannot read the answers file {path}: {error}.") from None
    except json.JSONDecodeError as error:
        raise InputError(f"{path} is not valid JSON (line {error.lineno}: {error.msg}).") from None
    if not isinstance(data, dict):
        raise InputError(f'{path} must hold one JSON object such as {{"age": 30, "pain": 3, ...}}.')
    return normalise_keys(data, str(path))


@app.command("start")
def start(
    ctx: typer.Context,
    age: Annotated[str | None, typer.Option(help="Age in years.")] = None,
    symptoms: Annotated[
        str | None, typer.Option(help="Symptom ids that apply, comma-separated, or 'none'.")
    ] = None,
    red_flags: Annotated[
        str | None,
        typer.Option("--red-flags", help="Red-flag ids answered yes, comma-separated, or 'none'."),
    ] = None,
    kujala: Annotated[
        str | None, typer.Option(help="13 Kujala answer letters in item order, e.g. a,b,a,... (or 'skip').")
    ] = None,
    pain: Annotated[str | None, typer.Option(help="Knee pain right now, 0 (none) to 10 (worst).")] = None,
    equipment: Annotated[
        str | None, typer.Option(help="Equipment ids you have, comma-separated, or 'none'.")
    ] = None,
    days: Annotated[str | None, typer.Option(help="Training days per week, 1-7.")] = None,
    runs: Annotated[bool | None, typer.Option("--runs/--no-runs", help="Do you run?")] = None,
    start_date: Annotated[
        str | None, typer.Option("--start-date", help="First day of the plan, YYYY-MM-DD (default today).")
    ] = None,
    weekdays: Annotated[
        str | None, typer.Option(help="Fixed training weekdays instead of --days, e.g. mon,wed,fri.")
    ] = None,
    guideline_additions: Annotated[
        bool | None,
        typer.Option(
            "--guideline-additions/--no-guideline-additions",
            help="Include the hip exercises added from the clinical guidelines (default on).",
        ),
    ] = None,
    protocol: Annotated[str | None, typer.Option(help="Programme id (default runners_knee).")] = None,
    continue_if_atypical: Annotated[
        bool | None,
        typer.Option(
            "--continue-if-atypical/--stop-if-atypical",
            help="Start even if the symptoms are not typical of runner's knee (default: ask, or yes).",
        ),
    ] = None,
    answers: Annotated[
        Path | None, typer.Option("--answers", help="JSON file with any of the answers (flags win).")
    ] = None,
    interactive: Annotated[
        bool | None,
        typer.Option(
            "--interactive/--no-interactive", help="Ask for missing answers (default: when in a terminal)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Answer the screening questions and get a verdict and a plan (first run)."""
    state = state_of(ctx)
    content = load_content()
    raw: dict[str, Any] = read_answers_file(answers) if answers is not None else {}
    flags = {
        "age": age,
        "symptoms": symptoms,
        "red_flags": red_flags,
        "kujala": kujala,
        "pain": pain,
        "equipment": equipment,
        "days": days,
        "runs": runs,
        "start_date": start_date,
        "weekdays": weekdays,
        "guideline_additions": guideline_additions,
        "protocol": protocol,
        "continue_if_atypical": continue_if_atypical,
    }
    raw.update({key: value for key, value in flags.items() if value is not None})
    if "weekdays" in raw and "days" not in raw:
        raw["days"] = len(str(raw["weekdays"]).split(",")) if isinstance(raw["weekdays"], str) else 1
    asking = stdin_is_interactive() if interactive is None else interactive
    # After a raised red flag nothing more is needed: a scripted run may stop there too.
    missing = needed_answers(content, raw)
    if missing and not asking:
        needed = ", ".join(FLAG_FOR[key] for key in missing)
        raise InputError(
            f"Missing answers: {needed}. Give them as flags or in --answers FILE.json, or run "
            "`kneefix start` in a terminal to be asked."
        )
    console = err_console() if as_json else out_console()
    if missing:
        _mention_existing_plan(console, state)
        _ask_missing(console, content, raw, state.profile)
    request = build_request(content, raw)
    if asking and continue_if_atypical is None and "continue_if_atypical" not in raw:
        preview = screen(request.answers, content)
        if preview.verdict == "atypical_suggest_assessment":
            console.print(Panel(preview.messages[0], title="Not the typical pattern", border_style="yellow"))
            go_on = ask_yes_no(console, "Start the programme anyway?", default=True)
            raw["continue_if_atypical"] = go_on
            request = build_request(content, raw)
    with state.database().session() as session:
        outcome = run_start(session, content, state.profile, request, today=today())
    if as_json:
        echo_json(outcome)
    else:
        print_start_outcome(out_console(), outcome)


# --- interactive questions ----------------------------------------------------------------------------


def _mention_existing_plan(console: Console, state: CliState) -> None:
    """Re-running the screening changes settings but keeps the logs: say so before asking."""
    with state.database().session(write=False) as session:
        existing = [p for p in list_profiles(session) if p.name == state.profile and p.settings is not None]
    if existing and existing[0].settings is not None:
        since = existing[0].settings.start_date.isoformat()
        console.print(
            f"[yellow]Profile '{state.profile}' already has a plan (started {since}). Answering again "
            "updates its settings and keeps everything you logged.[/]"
        )


def _ask_missing(console: Console, content: Content, raw: dict[str, Any], profile: str) -> None:
    """Ask what is missing in :data:`ASK_ORDER`, and stop as soon as a red flag is raised."""
    console.print(
        Panel(
            "A few questions about your knee, then a plan. kneefix is a coaching tool, not a diagnosis: "
            "the first questions look for signs that you should see a clinician before exercising.\n"
            "Press Ctrl-C at any time to stop; nothing is saved until the end.",
            title=f"kneefix start (profile: {profile})",
        )
    )
    if "age" in raw:
        raw["age"] = parse_age(raw["age"])
    askers: dict[str, Callable[[], Any]] = {
        "age": lambda: ask_valid(console, "How old are you (years)?", parse_age),
        "red_flags": lambda: _ask_red_flags(console, content, parse_age(raw["age"])),
        "symptoms": lambda: sorted(_ask_symptoms(console, content)),
        "kujala": lambda: list(_ask_kujala(console, content)),
        "pain": lambda: _ask_pain(console),
        "equipment": lambda: sorted(_ask_equipment(console, content)),
        "days": lambda: _ask_days(console, content, raw),
        "runs": lambda: ask_yes_no(console, "Do you run, or want to get back to running?"),
    }
    while needed := needed_answers(content, raw):
        key = next(key for key in ASK_ORDER if key in needed)
        raw[key] = askers[key]()
        if key in ("red_flags", "kujala") and stop_point(content, raw) is not None:
            console.print(
                "\n[bold yellow]That answer means a clinician should look at your knee first, so kneefix "
                "stops the questions here.[/]"
            )
            return


def _ask_pain(console: Console) -> int:
    console.print()
    return ask_valid(
        console,
        "How much does your knee hurt right now, from 0 (no pain) to 10 (worst imaginable)?",
        parse_pain,
    )


def _ask_days(console: Console, content: Content, raw: dict[str, Any]) -> int:
    default = content.protocols.get(str(raw.get("protocol", "runners_knee")))
    shown = str(default.default_days_per_week) if default else "3"
    return ask_valid(console, "How many days a week can you train (1-7)?", parse_days, shown)


def _numbered_choice(text: str, ids: list[str], what: str) -> list[str]:
    """Ids from numbers (``1,3``), ids themselves, or ``none``."""
    cleaned = text.strip().lower()
    if cleaned in {"", "none", "no", "-"}:
        return []
    chosen: list[str] = []
    for part in (p.strip() for p in cleaned.replace(" ", ",").split(",")):
        if not part:
            continue
        if part.isdigit():
            chosen.append(ids[parse_int_in_range(part, 1, len(ids), f"Each {what} number") - 1])
        elif part in ids:
            chosen.append(part)
        else:
            raise InputError(f"{part!r} is not one of the numbers 1-{len(ids)}.")
    return list(dict.fromkeys(chosen))


def _ask_symptoms(console: Console, content: Content) -> frozenset[str]:
    console.rule("Your symptoms")
    ids = [symptom.id for symptom in content.symptoms]
    for number, symptom in enumerate(content.symptoms, start=1):
        console.print(f"  {number:>2}. {symptom.label}")
    return ask_valid(
        console,
        "Which of these do you have? Type the numbers, e.g. 1,3 (or none)",
        lambda text: parse_symptoms(content, _numbered_choice(text, ids, "symptom")),
    )


def _ask_red_flags(console: Console, content: Content, age: int) -> dict[str, bool]:
    """The safety questions for this age, most urgent first, up to and including the first yes."""
    console.rule("Safety questions")
    console.print(
        "Answer y (yes) or n (no). A yes means a clinician should look at your knee first, and the "
        "questions stop there."
    )
    answers: dict[str, bool] = {}
    flags = applicable_red_flags(content, age)
    for number, flag in enumerate(flags, start=1):
        console.print(f"\n[bold]{number}/{len(flags)}[/] {flag.question}")
        for criterion in flag.criteria:
            console.print(f"    - {criterion}")
        answers[flag.id] = ask_yes_no(console, "Your answer")
        if answers[flag.id]:
            break
    return answers


def _ask_kujala(console: Console, content: Content) -> tuple[str, ...]:
    questionnaire = content.questionnaires["kujala"]
    console.rule(f"{questionnaire.name} ({len(questionnaire.items)} questions)")
    console.print(questionnaire.instructions)
    letters: list[str] = []
    for item in questionnaire.items:
        console.print(f"\n[bold]{item.number}. {item.topic}:[/] {item.question}")
        for option in item.options:
            console.print(f"    {option.letter}) {option.label}")

        def parse(text: str, item_letters: str = item.letters, number: int = item.number) -> str:
            letter = text.strip().lower().rstrip(")")
            if len(letter) != 1 or letter not in item_letters:
                raise InputError(f"Answer {number} must be one of {', '.join(item_letters)}.")
            return letter

        letters.append(ask_valid(console, "Your answer (letter)", parse))
    parse_kujala(content, letters)
    return tuple(letters)


def _ask_equipment(console: Console, content: Content) -> frozenset[str]:
    console.rule("Equipment")
    offered = [item for item in content.equipment.values() if not item.always_available]
    assumed = [item.name.lower() for item in content.equipment.values() if item.always_available]
    ids = [item.id for item in offered]
    for number, item in enumerate(offered, start=1):
        console.print(f"  {number:>2}. {item.name}")
    if assumed:
        console.print(f"[dim]Assumed in every home: {'; '.join(assumed)}.[/]")
    return ask_valid(
        console,
        "Which of these do you have? Type the numbers, e.g. 1,4 (or none)",
        lambda text: parse_equipment(content, _numbered_choice(text, ids, "equipment")),
    )
