"""The one-line technique summary counts only what was measurable, and says why when nothing was."""

from __future__ import annotations

from kneefix.services.uploads import summarise_report


def squat(view: str, *calls: str) -> dict[str, object]:
    return {"movement": "squat", "view": view, "reps": [{"initiation": call} for call in calls]}


def test_a_side_view_counts_hip_led_reps_among_the_measured_ones() -> None:
    summary = summarise_report(squat("side", "hips", "knees", "hips"))
    assert summary["headline"] == "Squat: 3 reps, hips led 2 of 3"
    assert summary["hips_first"] == 2 and summary["initiation_measured"] == 3


def test_unknown_calls_are_left_out_of_the_count_and_said() -> None:
    summary = summarise_report(squat("side", "hips", "unknown", "together"))
    assert summary["headline"] == "Squat: 3 reps, hips led 1 of 2 (1 not measurable)"


def test_a_front_view_says_initiation_needs_a_side_view_instead_of_zero_of_n() -> None:
    summary = summarise_report(squat("front", "unknown", "unknown"))
    assert summary["headline"] == "Squat: 2 reps, initiation needs a side view"
    assert "hips_first" not in summary and summary["initiation_measured"] == 0
    other = summarise_report(squat("side", "unknown"))
    assert other["headline"] == "Squat: 1 rep, initiation could not be measured"
