"""The entry point: report contract, warnings for doubtful input, clear errors for unusable input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kneefix.errors import InputError, VideoError
from kneefix.motion.analyze import analyze_series
from kneefix.motion.types import LANDMARK_INDEX, LandmarkSeries, Report
from tests.motion.synthetic import (
    LandingSpec,
    Noise,
    landing_clip,
    random_reps,
    single_leg_squat_clip,
    squat_clip,
)


def _replace(series: LandmarkSeries, **changes: object) -> LandmarkSeries:
    fields = {
        "frame": series.frame,
        "time_s": series.time_s,
        "xy": series.xy,
        "z": series.z,
        "visibility": series.visibility,
        "width": series.width,
        "height": series.height,
    }
    fields.update(changes)
    return LandmarkSeries(**fields)  # type: ignore[arg-type]


def test_report_contract_round_trips_as_json() -> None:
    rng = np.random.default_rng(31)
    clip = squat_clip(random_reps(rng, 3), rng)
    report, kin = analyze_series(clip.series, "squat")
    data = json.loads(report.model_dump_json())
    for key in ("movement", "fps", "side", "warnings", "feedback", "reps", "landings"):
        assert key in data
    rep = data["reps"][0]
    for key in (
        "start_s", "bottom_s", "end_s", "hip_onset_s", "knee_onset_s", "lag_ms", "initiation",
        "peak_hip_flexion_deg", "peak_knee_flexion_deg",
    ):  # fmt: skip
        assert key in rep
    assert Report.model_validate(data) == report
    assert data["movement"] == "squat" and data["view"] == "side" and abs(data["fps"] - 30.0) < 0.1
    assert data["frames"] == len(kin) and data["warnings"] == []
    assert data["summary"]["reps"] == 3
    assert len(data["feedback"]) >= 1


def test_landing_report_has_landings() -> None:
    rng = np.random.default_rng(32)
    report, _ = analyze_series(landing_clip(LandingSpec(), rng).series, "landing")
    data = json.loads(report.model_dump_json())
    landing = data["landings"][0]
    for key in (
        "initial_contact_s", "hip_flexion_ic_deg", "knee_flexion_ic_deg", "peak_knee_flexion_s",
        "peak_knee_flexion_deg", "hip_flexion_at_peak_knee_deg", "less",
    ):  # fmt: skip
        assert key in landing
    assert len(landing["less"]) == 17
    assert data["reps"] == []


def test_view_mismatch_warnings() -> None:
    rng = np.random.default_rng(33)
    front_squat, _ = analyze_series(squat_clip(random_reps(rng, 2), rng, view="front").series, "squat")
    assert front_squat.view == "front"
    assert any("only be seen from the side" in w for w in front_squat.warnings)
    assert all(r.initiation == "unknown" and r.lag_ms is None for r in front_squat.reps)
    side_sls, _ = analyze_series(squat_clip(random_reps(rng, 2), rng).series, "single-leg-squat")
    assert any("needs a front view" in w for w in side_sls.warnings)


def test_single_leg_squat_front_reports_stance_leg_valgus() -> None:
    rng = np.random.default_rng(34)
    reps = random_reps(rng, 3, lowering_range_s=(1.0, 1.4))
    for rep in reps:
        rep.knee_peak, rep.hip_peak = 60.0, 50.0  # a single-leg squat is shallow
    for stance in ("left", "right"):
        clip = single_leg_squat_clip(reps, rng, stance=stance, valgus_shift_m=0.04)
        report, _ = analyze_series(clip.series, "single-leg-squat")
        assert report.side == stance
        assert len(report.reps) == 3
        truth = clip.truth[f"valgus_{stance}"]
        for rep_result in report.reps:
            i = int(np.searchsorted(clip.series.time_s, rep_result.bottom_s))
            assert rep_result.valgus_deg is not None
            assert abs(rep_result.valgus_deg - truth[i]) < 3.0
            assert rep_result.valgus_deg > 5
        assert any("not a diagnosis" in line for line in report.feedback)


def test_person_partly_out_of_frame_is_warned_about() -> None:
    rng = np.random.default_rng(35)
    series = squat_clip(random_reps(rng, 2), rng).series
    vis = series.visibility.copy()
    for name in (
        "left_ankle",
        "right_ankle",
        "left_heel",
        "right_heel",
        "left_foot_index",
        "right_foot_index",
    ):
        vis[: len(series) // 2, LANDMARK_INDEX[name]] = 0.1  # feet hidden in half the frames
    report, _ = analyze_series(_replace(series, visibility=vis), "squat")
    assert any("partly out of frame" in w for w in report.warnings)
    cut = series.xy.copy()
    cut[..., 1] = np.minimum(cut[..., 1], 900.0)
    report, _ = analyze_series(_replace(series, xy=cut, height=900), "squat")
    assert any("image edge" in w for w in report.warnings)


def test_few_frames_with_a_person_is_warned_about() -> None:
    rng = np.random.default_rng(36)
    series = squat_clip(random_reps(rng, 2), rng, noise=Noise(dropout_rate=0.0)).series
    vis = series.visibility.copy()
    vis[: int(len(series) * 0.6)] = 0.0
    report, _ = analyze_series(_replace(series, visibility=vis), "squat")
    assert any("A person was found in only" in w for w in report.warnings)


def test_jumping_between_two_people_is_warned_about() -> None:
    rng = np.random.default_rng(37)
    series = squat_clip(random_reps(rng, 2), rng).series
    xy = series.xy.copy()
    xy[100:110, :, 0] += 500.0  # the model follows someone else for a moment
    report, _ = analyze_series(_replace(series, xy=xy), "squat")
    assert any("more than one person" in w for w in report.warnings)


def test_unusable_input_raises_clear_errors() -> None:
    rng = np.random.default_rng(38)
    series = squat_clip(random_reps(rng, 1), rng).series
    with pytest.raises(VideoError, match="No person was found"):
        analyze_series(_replace(series, visibility=np.zeros_like(series.visibility)), "squat")
    few = series.visibility.copy()
    few[3:] = 0.0
    with pytest.raises(VideoError, match="only 3 frame"):
        analyze_series(_replace(series, visibility=few), "squat")
    with pytest.raises(InputError, match="unknown movement"):
        analyze_series(series, "jumping-jack")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="unknown side"):
        analyze_series(series, "squat", side="middle")  # type: ignore[arg-type]
    empty = _replace(
        series,
        frame=series.frame[:0],
        time_s=series.time_s[:0],
        xy=series.xy[:0],
        z=series.z[:0],
        visibility=series.visibility[:0],
    )
    with pytest.raises(InputError, match="no frames"):
        analyze_series(empty, "squat")
    with pytest.raises(InputError, match="shape"):
        analyze_series(_replace(series, xy=series.xy[:, :10]), "squat")
    backwards = series.time_s.copy()
    backwards[5] = backwards[4]
    with pytest.raises(InputError, match="increase"):
        analyze_series(_replace(series, time_s=backwards), "squat")
