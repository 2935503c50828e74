"""``kneefix progress`` and ``kneefix score``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from tests.cli.helpers import ALL_BEST_KUJALA, Kneefix, assert_clean_error, flat


def _two_weeks_of_logs(kneefix: Kneefix) -> dt.date:
    start = dt.date.today() - dt.timedelta(days=14)
    kneefix.start("--start-date", start.isoformat())
    for offset, pain in ((0, 4), (2, 4), (5, 3), (7, 3), (9, 2), (12, 2)):
        day = (start + dt.timedelta(days=offset)).isoformat()
        kneefix.ok("log", "--date", day, "--pain-during", str(pain), "--pain-after", str(pain - 1))
        kneefix.ok("log", "morning", "--date", day, "--pain", str(pain - 2))
    return start


def test_progress_reports_adherence_streak_trend_and_phase(kneefix: Kneefix) -> None:
    _two_weeks_of_logs(kneefix)
    summary = kneefix.json("progress")

    assert summary["done_to_date"] == 6
    assert summary["adherence_pct"] == 100.0
    assert summary["streak"] == 6
    assert summary["pain_slopes"]["pain_during"] < 0
    assert summary["phase_count"] == 3
    out = flat(kneefix.ok("progress").stdout)
    assert "Adherence: 100%" in out and "Streak: 6" in out
    assert "Pain during: falling" in out


def test_progress_says_when_kujala_is_due_and_score_save_records_it(kneefix: Kneefix) -> None:
    start = dt.date.today() - dt.timedelta(weeks=4)
    kneefix.start("--start-date", start.isoformat())
    # The screening's Kujala is dated today, so the next one is not due yet...
    assert kneefix.json("progress")["kujala_due"] is False

    saved = kneefix.json("score", "kujala", "--answers", ALL_BEST_KUJALA, "--save")

    assert saved["score"] == 100
    assert saved["saved"]["instrument"] == "kujala"
    assert saved["change"]["delta"] == 18  # from the screening's 82
    assert saved["change"]["meaningful"] is True
    points = kneefix.json("progress")["kujala"]["points"]
    assert [point["score"] for point in points] == [82.0, 100.0]


def test_progress_plot_writes_a_png(kneefix: Kneefix, tmp_path: Path) -> None:
    _two_weeks_of_logs(kneefix)
    target = tmp_path / "charts" / "progress.png"

    kneefix.ok("progress", "--plot", str(target))

    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_score_kujala_json_is_exactly_the_total(kneefix: Kneefix) -> None:
    result = kneefix.ok("score", "kujala", "--answers", ALL_BEST_KUJALA, "--json")
    assert json.loads(result.stdout) == {"score": 100}
    # Hand-computed: worst answer everywhere scores 0.
    worst = "c,c,d,d,e,e,d,e,e,e,e,c,c"
    assert kneefix.json("score", "kujala", "--answers", worst) == {"score": 0}
    # Limp b (3) + support c (0) + walking c (2) + stairs b (8) + squat d (2) + running b (8)
    # + jumping c (2) + sitting d (4) + pain c (6) + swelling b (8) + kneecap a (10) + atrophy b (3)
    # + flexion a (5) = 61.
    mixed = "b,c,c,b,d,b,c,d,c,b,a,b,a"
    assert kneefix.json("score", "kujala", "--answers", mixed) == {"score": 61}
    assert "Kujala score (0-100): 61" in flat(kneefix.ok("score", "kujala", "--answers", mixed).stdout)


def test_score_kujala_bad_answers_name_the_problem(kneefix: Kneefix) -> None:
    assert_clean_error(kneefix("score", "kujala", "--answers", "a,b,c"), "13 answers")
    wrong = ",".join(["a"] * 12 + ["z"])
    assert_clean_error(kneefix("score", "kujala", "--answers", wrong), "question 13")


def test_score_nprs(kneefix: Kneefix) -> None:
    assert kneefix.json("score", "nprs", "4") == {"score": 4}
    assert_clean_error(kneefix("score", "nprs", "11"), "from 0 (no pain) to 10")
    assert_clean_error(kneefix("score", "nprs", "4", "--save"), "No profile named")
