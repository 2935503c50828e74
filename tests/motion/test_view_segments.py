"""A clip whose view changes (filmed from the front, then from the side) is analysed per stretch."""

from __future__ import annotations

import numpy as np

from kneefix.motion.analyze import analyze_series
from kneefix.motion.side import view_segments
from kneefix.motion.types import LandmarkSeries
from tests.motion.synthetic import QUIET, RepSpec, squat_clip


def _reps(offset: float) -> list[RepSpec]:
    return [
        RepSpec(hip_onset=offset + 1.0, knee_onset=offset + 1.2, bottom=offset + 2.2, hold=0.1, rise=1.0,
                hip_peak=95, knee_peak=100),
        RepSpec(hip_onset=offset + 4.4, knee_onset=offset + 4.6, bottom=offset + 5.6, hold=0.1, rise=1.0,
                hip_peak=95, knee_peak=100),
    ]  # fmt: skip


def _front_then_side() -> LandmarkSeries:
    rng = np.random.default_rng(11)
    front = squat_clip(_reps(0.0), rng, view="front", noise=QUIET).series
    end = float(front.time_s[-1]) + 1 / 30
    side = squat_clip(_reps(end), rng, view="side", noise=QUIET).series
    keep = side.time_s >= end
    return LandmarkSeries(
        frame=np.arange(len(front) + int(keep.sum()), dtype=np.int64),
        time_s=np.concatenate([front.time_s, side.time_s[keep]]),
        xy=np.concatenate([front.xy, side.xy[keep]]),
        z=np.concatenate([front.z, side.z[keep]]),
        visibility=np.concatenate([front.visibility, side.visibility[keep]]),
        width=front.width,
        height=front.height,
    )


def test_one_view_is_one_stretch() -> None:
    series = squat_clip(_reps(0.0), np.random.default_rng(2), noise=QUIET).series
    assert [v for _, _, v in view_segments(series.time_s, series.xy, series.z)] == ["side"]
    report, _ = analyze_series(series, "squat")
    assert report.segments == []


def test_each_view_of_a_turning_clip_gets_its_own_measures() -> None:
    series = _front_then_side()
    report, _ = analyze_series(series, "squat")
    assert [s.view for s in report.segments] == ["front", "side"]
    assert report.segments[0].end_s < report.segments[1].start_s
    assert [r.rep for r in report.reps] == [1, 2, 3, 4]
    assert [r.view for r in report.reps] == ["front", "front", "side", "side"]
    front, side = report.reps[:2], report.reps[2:]
    assert all(
        r.initiation == "unknown" and r.initiation_note == "initiation needs a side view" for r in front
    )
    assert all(r.initiation == "hips" for r in side)
    assert any(w.startswith("The view changes during the clip") for w in report.warnings)
    assert any(line.startswith("0.0-") and "(front view)" in line for line in report.feedback)
    assert report.summary["reps"] == 4 and report.summary["reps_hips"] == 2
