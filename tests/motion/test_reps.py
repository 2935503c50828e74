"""Reps and lowering onsets against synthetic truth: the accuracy targets of issue 3.

Targets: exact rep counts; on reps whose onsets differ by >= 120 ms, initiation never called the wrong
way round and called (not "unknown") on >= 85% of them; median lag error <= 40 ms; at most 15% of
reps with standing before them left without a lag (the onset checks say "unknown" where the two timing
methods disagree, see ``reps.py``). Many seeded random reps (tempo, depth, lag, facing, near leg) with
pose-model-like noise, outliers, dropped frames, and variable frame timing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from kneefix.motion.analyze import analyze_series
from kneefix.motion.kinematics import compute_kinematics
from kneefix.motion.reps import classify_initiation, find_reps
from kneefix.motion.squat import analyze_reps
from tests.motion.synthetic import QUIET, Noise, RepSpec, random_reps, squat_clip


@dataclass
class Tally:
    clips: int = 0
    count_errors: int = 0
    lag_errors: list[float] = field(default_factory=list)
    clear: int = 0
    clear_right: int = 0
    clear_wrong: int = 0
    reps: int = 0

    def add(self, truth: list[RepSpec], found: list[float | None], calls: list[str]) -> None:
        self.clips += 1
        if len(found) != len(truth):
            self.count_errors += 1
            return
        for spec, lag, call in zip(truth, found, calls, strict=True):
            self.reps += 1
            if lag is not None:
                self.lag_errors.append(abs(lag - spec.lag_ms))
            if abs(spec.lag_ms) >= 120:
                self.clear += 1
                self.clear_right += call == ("hips" if spec.lag_ms > 0 else "knees")
                self.clear_wrong += call == ("knees" if spec.lag_ms > 0 else "hips")

    def check(self) -> None:
        assert self.count_errors == 0, "rep counts must be exact"
        assert len(self.lag_errors) >= 0.85 * self.reps, "most reps with standing before them get a lag"
        assert np.median(self.lag_errors) <= 40.0
        assert self.clear_wrong == 0, "a clear lead is never called the wrong way round"
        assert self.clear_right >= 0.85 * self.clear


def _run(movement: str, seed: int, clips: int, **options: object) -> Tally:
    rng = np.random.default_rng(seed)
    tally = Tally()
    for _ in range(clips):
        reps = random_reps(rng, 5, movement)
        clip = squat_clip(
            reps,
            rng,
            facing=int(rng.choice([-1, 1])),
            near=str(rng.choice(["left", "right"])),
            variable_rate=bool(rng.random() < 0.3),
            **options,  # type: ignore[arg-type]
        )
        found, _ = analyze_reps(compute_kinematics(clip.series, movement))  # type: ignore[arg-type]
        tally.add(reps, [r.lag_ms for r in found], [r.initiation for r in found])
    return tally


@pytest.mark.parametrize(("movement", "seed"), [("squat", 1), ("deadlift", 2)])
def test_accuracy_targets(movement: str, seed: int) -> None:
    tally = _run(movement, seed, clips=16)
    tally.check()
    assert tally.clear >= 30


def test_accuracy_holds_at_other_frame_rates_and_more_jitter() -> None:
    for fps, sigma, seed in ((24.0, 2.0, 3), (60.0, 3.0, 4)):
        tally = _run("squat", seed, clips=6, fps=fps, noise=Noise(sigma_px=sigma))
        tally.check()


def test_fast_reps_keep_their_lag() -> None:
    rng = np.random.default_rng(5)
    errors = []
    for _ in range(6):
        reps = random_reps(rng, 5, lowering_range_s=(0.45, 0.7), lag_range_ms=(-200, 200))
        found, _ = analyze_reps(compute_kinematics(squat_clip(reps, rng).series, "squat"))
        assert len(found) == 5
        errors += [abs((r.lag_ms or 1e9) - s.lag_ms) for r, s in zip(found, reps, strict=True)]
    assert np.median(errors) <= 40.0


def test_initiation_margin() -> None:
    assert classify_initiation(60.0) == "hips"
    assert classify_initiation(59.0) == "together"
    assert classify_initiation(-59.0) == "together"
    assert classify_initiation(-60.0) == "knees"
    assert classify_initiation(None) == "unknown"


def test_rep_fields_match_the_truth() -> None:
    rng = np.random.default_rng(6)
    reps = random_reps(rng, 3)
    clip = squat_clip(reps, rng, noise=QUIET)
    found, _ = analyze_reps(compute_kinematics(clip.series, "squat"))
    for result, spec in zip(found, reps, strict=True):
        assert spec.bottom - 0.05 <= result.bottom_s <= spec.bottom + spec.hold + 0.05  # in the hold
        assert abs(result.peak_knee_flexion_deg - spec.knee_peak) < 1.0
        assert abs(result.peak_hip_flexion_deg - spec.hip_peak) < 1.0
        assert result.depth_deg is not None and abs(result.depth_deg - (spec.knee_peak - 4.0)) < 2.0
        assert result.lowering_s is not None and result.rising_s is not None
        assert result.start_s < result.bottom_s < result.end_s
        assert result.early_hip_knee_ratio is not None
        assert (result.early_hip_knee_ratio > 1.0) == (spec.lag_ms > 0)
        assert not result.partial


def test_clip_starting_at_the_bottom_gives_a_partial_rep_without_onsets() -> None:
    rng = np.random.default_rng(7)
    reps = random_reps(rng, 3, "deadlift", start=1.0)
    clip = squat_clip(reps, rng, noise=QUIET)
    series = clip.series
    start = int(np.searchsorted(series.time_s, reps[0].bottom))  # cut the clip at the first bottom
    cut = type(series)(
        series.frame[start:],
        series.time_s[start:] - series.time_s[start],
        series.xy[start:],
        series.z[start:],
        series.visibility[start:],
        series.width,
        series.height,
    )
    found, _ = analyze_reps(compute_kinematics(cut, "deadlift"))
    assert len(found) == 3
    assert found[0].partial and found[0].hip_onset_s is None and found[0].initiation == "unknown"
    assert all(not r.partial and r.initiation != "unknown" for r in found[1:])


def test_standing_still_finds_no_reps_and_says_so() -> None:
    rng = np.random.default_rng(8)
    clip = squat_clip([], rng)
    kin = compute_kinematics(clip.series, "squat")
    assert find_reps(kin.time_s, kin.knee_flexion) == []
    report, _ = analyze_series(clip.series, "squat")
    assert report.reps == []
    assert any("No reps were found" in w for w in report.warnings)


def test_shallow_bounce_at_the_bottom_is_not_a_rep() -> None:
    rng = np.random.default_rng(9)
    reps = random_reps(rng, 2)
    clip = squat_clip(reps, rng, noise=QUIET)
    t = clip.series.time_s
    knee = compute_kinematics(clip.series, "squat").knee_flexion
    bounce = knee + 8.0 * np.sin(2 * np.pi * 3.0 * t) * (knee > 60)  # small pulses while low
    assert len(find_reps(t, bounce)) == 2
