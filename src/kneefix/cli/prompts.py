"""Interactive questions that re-ask until the answer is valid.

Parsing is done by the same functions the flags use (they raise :class:`InputError`), so a typed answer
and a scripted one are checked by one rule and a person sees the same message either way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO, TypeVar

from rich.console import Console
from rich.prompt import Prompt

from kneefix.errors import InputError

T = TypeVar("T")


def stdin_is_interactive() -> bool:
    """True when a person can answer questions (stdin is a terminal)."""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def read_line(
    console: Console, question: str, default: str | None = None, stream: TextIO | None = None
) -> str:
    """One answer (from ``stream`` when given, else stdin); end of input is a clear error, not a hang."""
    try:
        if stream is not None:
            console.print(f"{question}: ", end="")
            line = stream.readline()
            if not line:
                raise EOFError
            answer = line.rstrip("\n")
            return answer if answer or default is None else default
        if default is None:
            return Prompt.ask(question, console=console)
        return Prompt.ask(question, console=console, default=default, show_default=bool(default))
    except EOFError as error:
        raise InputError(f"input ended before this question was answered: {_plain(question)}") from error


def ask_valid(
    console: Console,
    question: str,
    parse: Callable[[str], T],
    default: str | None = None,
    stream: TextIO | None = None,
) -> T:
    """Ask until ``parse`` accepts the answer; its :class:`InputError` message explains each retry."""
    while True:
        answer = read_line(console, question, default, stream)
        try:
            return parse(answer)
        except InputError as error:
            console.print(f"[yellow]{error}[/] Please try again.")


def ask_yes_no(console: Console, question: str, default: bool | None = None) -> bool:
    """A yes/no question that accepts y/yes/n/no in any case and re-asks otherwise."""
    hint = "(y/n)" if default is None else ("(Y/n)" if default else "(y/N)")

    def parse(text: str) -> bool:
        if not text.strip() and default is not None:
            return default
        return parse_yes_no(text)

    return ask_valid(console, f"{question} {hint}", parse)


def parse_yes_no(text: str) -> bool:
    answer = text.strip().lower()
    if answer in {"y", "yes", "true", "1"}:
        return True
    if answer in {"n", "no", "false", "0"}:
        return False
    raise InputError(f"{text.strip()!r} is not yes or no: answer y or n.")


def parse_int_in_range(text: str, low: int, high: int, what: str) -> int:
    """A whole number between ``low`` and ``high`` inclusive, with a message naming ``what``."""
    cleaned = text.strip()
    try:
        value = int(cleaned)
    except ValueError:
        raise InputError(f"{what} must be a whole number from {low} to {high}, not {cleaned!r}.") from None
    if not low <= value <= high:
        raise InputError(f"{what} must be from {low} to {high}, not {value}.")
    return value


def _plain(text: str) -> str:
    """Drop Rich markup so an error message reads cleanly."""
    from rich.text import Text

    return Text.from_markup(text).plain
