"""Track quality: the failures seen on real clips, planted in synthetic ones, make reps poor and silence
their technique calls; clean clips stay good and keep their calls."""

from __future__ import annotations

from typing import Any

import numpy as np

from kneefix.motion.analyze import analyze_series
from kneefix.motion.quality import check_track, value_reasons, window_quality
from kneefix.motion.types import LANDMARK_INDEX, LandmarkSeries
from tests.motion.synthetic import QUIET, LandingSpec, RepSpec, landing_clip, squat_clip


def _reps() -> list[RepSpec]:
    return [
        RepSpec(hip_onset=1.0, knee_onset=1.2, bottom=2.2, hold=0.1, rise=1.0, hip_peak=95, knee_peak=100),
        RepSpec(hip_onset=4.4, knee_onset=4.6, bottom=5.6, hold=0.1, rise=1.0, hip_peak=95, knee_peak=100),
    ]


def _clip() -> LandmarkSeries:
    return squat_clip(_reps(), np.random.default_rng(3), noise=QUIET).series


def _during(series: LandmarkSeries, start: float, end: float) -> np.ndarray[Any, Any]:
    return np.flatnonzero((series.time_s >= start) & (series.time_s <= end))


def test_a_clean_clip_is_good_and_keeps_its_calls() -> None:
    report, _ = analyze_series(_clip(), "squat")
    assert [r.quality.level for r in report.reps] == ["good", "good"]
    assert [r.initiation for r in report.reps] == ["hips", "hips"]


def test_a_joint_pulled_a_whole_segment_away_makes_that_rep_poor() -> None:
    """Like a barbell plate read as the knee: the knee sits far above where it is, for one rep."""
    series = _clip()
    frames = _during(series, 4.0, 7.0)
    for side in ("left", "right"):
        series.xy[frames, LANDMARK_INDEX[f"{side}_knee"], 1] -= 160.0
    report, _ = analyze_series(series, "squat")
    first, second = report.reps
    assert first.quality.level == "good" and first.initiation == "hips"
    assert second.quality.level == "poor"
    assert any("wrong length" in reason for reason in second.quality.reasons)
    assert second.initiation == "unknown" and second.lag_ms is None and second.depth_deg is None
    assert second.initiation_note == "the pose track is not trustworthy in this rep"
    assert any(line.startswith("Rep 2: the pose track was not trustworthy") for line in report.feedback)
    assert not any("Rep 2" in line and "started the lowering" in line for line in report.feedback)


def test_left_and_right_legs_swapping_is_seen() -> None:
    series = _clip()
    parts = ("knee", "ankle", "heel", "foot_index")
    left = [LANDMARK_INDEX[f"left_{p}"] for p in parts]
    right = [LANDMARK_INDEX[f"right_{p}"] for p in parts]
    series.xy[:, left, 0] += 90.0  # the legs a stride apart
    frames = _during(series, 5.0, 5.3)
    swapped = series.xy[frames][:, right + left]
    series.xy[frames[:, None], left + right] = swapped  # the model exchanges their labels
    checks = check_track(series, "right", "side")
    assert checks.swap[frames[0]] and checks.swap[frames[-1] + 1]
    assert not checks.swap[: frames[0]].any() and not checks.swap[frames[-1] + 2 :].any()
    report, _ = analyze_series(series, "squat")
    assert report.reps[1].quality.level == "poor"
    assert any("swapped" in r for r in report.reps[1].quality.reasons)


def test_impossible_numbers_are_named() -> None:
    reasons = value_reasons(standing_knee=-36.0, standing_hip=30.0, peak_knee=192.0, peak_hip=90.0, depth=-5)
    assert any("bent backwards" in r for r in reasons)
    assert any("192 deg" in r for r in reasons)
    assert any("not below the standing position" in r for r in reasons)
    assert (
        value_reasons(standing_knee=3.0, standing_hip=5.0, peak_knee=120.0, peak_hip=100.0, depth=110) == []
    )


def test_quality_levels_follow_the_share_of_bad_frames() -> None:
    series = _clip()
    checks = check_track(series, "right", "side")
    assert window_quality(checks, 0.0, 3.0, []).level == "good"
    few = _during(series, 1.0, 1.15)  # 5 of ~91 frames hidden: fair
    checks.hidden[few] = True
    assert window_quality(checks, 0.0, 3.0, []).level == "fair"
    checks.hidden[_during(series, 1.0, 2.0)] = True
    assert window_quality(checks, 0.0, 3.0, []).level == "poor"
    assert window_quality(check_track(series, "right", "side"), 0.0, 3.0, ["impossible"]).level == "poor"


def test_a_jump_squat_rep_is_not_a_squat_rep() -> None:
    """Both feet and the hips rise well above standing after a rep: that rep is a jump, left out."""
    series = _clip()
    flight = _during(series, 6.7, 6.95)
    series.xy[flight, :, 1] -= 120.0  # the whole body in the air
    report, _ = analyze_series(series, "squat")
    assert len(report.reps) == 1
    assert any("ended in a jump" in w for w in report.warnings)


def test_a_bottom_reached_straight_out_of_a_flight_is_a_landing_not_a_rep() -> None:
    """The last jump of a jump-squat set lands, bends and stands: that bend is the landing's give (there
    is no time to stand and lower again), so it is no squat rep. A hop well before a rep, with standing
    between, leaves the rep alone."""
    series = _clip()
    standing = series.xy[_during(series, 3.4, 3.5)[0]].copy()
    give = _during(series, 5.15, 5.4)  # rep 2's bottom is at 5.7 s: legs straight in the air, then it
    series.xy[give] = standing - [0.0, 120.0]
    report, _ = analyze_series(series, "squat")
    assert [r.bottom_s for r in report.reps] == [2.3]
    assert any("straight after landing from a jump" in w for w in report.warnings), report.warnings
    assert not any("ended in a jump" in w for w in report.warnings)

    series = _clip()
    hop = _during(series, 3.7, 3.95)  # after rep 1's rise, 0.45 s of standing before rep 2's lowering
    series.xy[hop, :, 1] -= 120.0
    report, _ = analyze_series(series, "squat")
    assert [r.bottom_s for r in report.reps] == [2.3, 5.7]


def test_a_bend_among_lost_frames_is_not_a_rep() -> None:
    """Like a person walking up to the camera at the end: the track loses the body, and two stray frames
    read as a deep bend. The frames cannot show a rep there, so none is counted, and the warning says so."""
    series = _clip()
    deep = series.xy[_during(series, 2.3, 2.3)[0]].copy()
    lost = _during(series, series.time_s[-1] - 0.7, series.time_s[-1])
    series.xy[lost], series.visibility[lost] = np.nan, 0.0
    stray = lost[8:10]
    series.xy[stray], series.visibility[stray] = deep, 0.9
    report, _ = analyze_series(series, "squat")
    assert len(report.reps) == 2
    assert any("was not counted as a rep: the pose track lost the body" in w for w in report.warnings)


def _picture_cut_at(series: LandmarkSeries, bottom: float) -> LandmarkSeries:
    """The same landmarks in a picture whose bottom edge is at image height ``bottom``."""
    series.height = int(bottom)
    return series


def test_a_landing_with_the_feet_cut_by_the_picture_edge_is_poor() -> None:
    """Like a tall phone clip whose bottom edge cuts the shoes at touch-down: the moment of contact is
    out of sight, so the landing gets no numbers; the same landing with the feet in view is good."""
    spec = LandingSpec(rebound_height=None)
    clear = landing_clip(spec, np.random.default_rng(4), noise=QUIET).series
    (landing,) = analyze_series(clear, "landing")[0].landings
    assert landing.quality.level == "good"
    feet = [LANDMARK_INDEX[f"{side}_{p}"] for side in ("left", "right") for p in ("foot_index", "heel")]
    lowest = float(np.nanmax(clear.xy[:, feet, 1]))
    cut = _picture_cut_at(landing_clip(spec, np.random.default_rng(4), noise=QUIET).series, lowest - 2.0)
    (landing,) = analyze_series(cut, "landing")[0].landings
    assert landing.quality.level == "poor"
    assert any("edge of the picture at touch-down" in reason for reason in landing.quality.reasons)


def test_feet_near_but_inside_the_edge_do_not_spoil_a_landing() -> None:
    spec = LandingSpec(rebound_height=None)
    series = landing_clip(spec, np.random.default_rng(4), noise=QUIET).series
    feet = [LANDMARK_INDEX[f"{side}_{p}"] for side in ("left", "right") for p in ("foot_index", "heel")]
    lowest = float(np.nanmax(series.xy[:, feet, 1]))
    margin = 0.01 * max(series.width, series.height)
    (landing,) = analyze_series(_picture_cut_at(series, lowest + margin + 40.0), "landing")[0].landings
    assert landing.quality.level == "good"
