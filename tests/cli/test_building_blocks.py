"""The CLI's own pieces: timers, JSON output, prompts' parsers and education look-up."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json

import pytest
from rich.console import Console

from kneefix.cli.output import dumps
from kneefix.cli.prompts import ask_valid, parse_int_in_range, parse_yes_no
from kneefix.cli.timers import FAST_SCALE, SCALE_ENV, Clock, countdown, rep_countdown, timer_scale
from kneefix.content.loader import load_content
from kneefix.errors import InputError, NotFoundError
from kneefix.services.library import find_education


def test_timer_scale_from_flag_environment_or_real_time() -> None:
    assert timer_scale(True, {SCALE_ENV: "0.5"}) == FAST_SCALE
    assert timer_scale(False, {SCALE_ENV: "0.5"}) == 0.5
    assert timer_scale(False, {}) == 1.0
    with pytest.raises(InputError, match=SCALE_ENV):
        timer_scale(False, {SCALE_ENV: "quick"})
    with pytest.raises(InputError, match="between 0 and 10"):
        timer_scale(False, {SCALE_ENV: "-1"})


def test_countdowns_sleep_the_scaled_time_and_show_it() -> None:
    slept: list[float] = []
    clock = Clock(scale=0.5, sleep=slept.append)
    console = Console(file=io.StringIO(), width=100)

    countdown(console, "Hold", 4, clock)
    rep_countdown(console, "Set 1/1", reps=3, hold_s=2, relax_s=1, clock=clock)

    assert sum(slept) == pytest.approx(0.5 * (4 + 3 * 2 + 2 * 1))
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "Hold" in shown and "rep 3/3: hold" in shown and "0 s left" in shown


def test_zero_scale_never_sleeps() -> None:
    slept: list[float] = []
    countdown(Console(file=io.StringIO()), "Rest", 30, Clock(scale=0, sleep=slept.append))
    assert slept == []


@dataclasses.dataclass(frozen=True)
class _Sample:
    day: dt.date
    tags: frozenset[str]
    ratio: float


def test_json_output_handles_dates_sets_and_non_finite_numbers() -> None:
    text = dumps({"sample": _Sample(dt.date(2025, 1, 2), frozenset({"b", "a"}), float("nan"))})
    assert json.loads(text) == {"sample": {"day": "2025-01-02", "tags": ["a", "b"], "ratio": None}}


def test_prompt_parsers_explain_the_expected_answer() -> None:
    assert parse_yes_no(" Yes ") is True and parse_yes_no("n") is False
    with pytest.raises(InputError, match="answer y or n"):
        parse_yes_no("perhaps")
    assert parse_int_in_range("7", 0, 10, "Pain") == 7
    with pytest.raises(InputError, match="Pain must be from 0 to 10"):
        parse_int_in_range("12", 0, 10, "Pain")


def test_ask_valid_reasks_then_fails_clearly_when_input_ends() -> None:
    console = Console(file=io.StringIO(), width=200)

    def pain(text: str) -> int:
        return parse_int_in_range(text, 0, 10, "Pain")

    assert ask_valid(console, "Pain?", pain, stream=io.StringIO("x\n11\n4\n")) == 4
    assert console.file.getvalue().count("Please try again") == 2  # type: ignore[attr-defined]
    with pytest.raises(InputError, match="input ended before this question was answered: Pain"):
        ask_valid(console, "Pain?", pain, stream=io.StringIO("x\n"))


def test_education_topic_lookup_by_id_prefix_or_words() -> None:
    content = load_content()
    assert find_education(content, "what_is_runners_knee").id == "what_is_runners_knee"
    assert find_education(content, "return").id == "return_to_running"
    with pytest.raises(NotFoundError, match="no education page"):
        find_education(content, "astrology")
