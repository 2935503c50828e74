"""The progress chart renders a real PNG, with or without data, and reports an unwritable path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kneefix.errors import InputError
from kneefix.programme.planner import training_dates
from kneefix.programme.plots import progress_chart
from kneefix.programme.progress import ProgressSummary, summarise
from kneefix.programme.records import ScoreRecord, SessionLog
from kneefix.programme.replay import current_state
from tests.programme.fixtures import CONTENT, MONDAY, PROTOCOL, settings

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def sample_summary(weeks: int = 6) -> ProgressSummary:
    person = settings()
    today = MONDAY + dt.timedelta(weeks=weeks)
    logs = []
    for index, day in enumerate(training_dates(person, MONDAY, end=today - dt.timedelta(days=1))):
        if index % 5 == 4:
            continue  # a missed session now and then
        pain = max(0, 6 - index // 3)
        logs.append(SessionLog(day, 1.0, pain, max(0, pain - 1), max(0, pain - 2)))
    scores = [
        ScoreRecord("kujala", MONDAY + dt.timedelta(weeks=w), 58 + 5 * w) for w in (0, 3, 6) if w <= weeks
    ]
    state = current_state(PROTOCOL, CONTENT, person, logs, today, 4)
    return summarise(logs, scores, state, today)


def png_size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_the_chart_is_a_png_and_is_written_where_asked(tmp_path: Path) -> None:
    target = tmp_path / "progress.png"
    png = progress_chart(sample_summary(), target)
    assert png.startswith(PNG_SIGNATURE)
    assert target.read_bytes() == png
    assert png_size(png) == (900, 1000)


def test_an_empty_history_still_draws_a_chart() -> None:
    person = settings()
    state = current_state(PROTOCOL, CONTENT, person, [], MONDAY, None)
    png = progress_chart(summarise([], [], state, MONDAY))
    assert png.startswith(PNG_SIGNATURE)


def test_an_unwritable_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Could not save the chart"):
        progress_chart(sample_summary(2), tmp_path / "missing-folder" / "chart.png")
