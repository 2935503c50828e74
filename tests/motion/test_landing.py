"""Landings against synthetic truth: initial contact within one frame, angles within 4 degrees."""

from __future__ import annotations

import numpy as np

from kneefix.motion.analyze import analyze_series
from kneefix.motion.kinematics import compute_kinematics
from kneefix.motion.landing import analyze_landings
from kneefix.motion.types import LandingResult
from tests.motion.synthetic import QUIET, LandingSpec, Noise, landing_clip


def _random_spec(rng: np.random.Generator) -> LandingSpec:
    return LandingSpec(
        drop_at=rng.uniform(0.5, 1.5),
        box_height=rng.uniform(0.2, 0.45),
        knee_ic=rng.uniform(10, 30),
        hip_ic=rng.uniform(15, 35),
        knee_peak=rng.uniform(60, 100),
        hip_peak=rng.uniform(40, 90),
        time_to_peak=rng.uniform(0.15, 0.3),
        rebound_height=[None, 0.25][int(rng.integers(2))],
    )


def _less(landing: LandingResult, number: int) -> int | None:
    return next(item.error for item in landing.less if item.number == number)


def test_initial_contact_within_one_frame_and_angles_within_four_degrees() -> None:
    rng = np.random.default_rng(11)
    frame_errors: list[float] = []
    angle_errors: list[float] = []
    for _ in range(24):
        fps = float(rng.choice([25.0, 30.0, 60.0]))
        view = str(rng.choice(["side", "front"]))
        spec = _random_spec(rng)
        clip = landing_clip(
            spec,
            rng,
            fps=fps,
            view=view,
            facing=int(rng.choice([-1, 1])),
            variable_rate=bool(rng.random() < 0.3),
        )
        landings, skipped = analyze_landings(compute_kinematics(clip.series, "landing"))
        assert skipped == 0
        assert len(landings) == len(clip.contacts), "every landing found, no extra ones"
        times = clip.series.time_s
        for found, truth in zip(landings, clip.contacts, strict=True):
            i = int(np.searchsorted(times, truth))
            frame = float(times[i] - times[i - 1])
            frame_errors.append(abs(found.initial_contact_s - truth) / frame)
            if view == "side":
                angle_errors += [
                    abs(found.knee_flexion_ic_deg - spec.knee_ic),
                    abs(found.hip_flexion_ic_deg - spec.hip_ic),
                    abs(found.peak_knee_flexion_deg - spec.knee_peak),
                    abs(found.hip_flexion_at_peak_knee_deg - spec.hip_peak),
                ]
    assert max(frame_errors) <= 1.0
    assert np.median(angle_errors) < 1.5
    assert np.percentile(angle_errors, 95) < 4.0


def test_side_view_measures_and_less_items() -> None:
    rng = np.random.default_rng(12)
    stiff = LandingSpec(knee_ic=15, hip_ic=4, knee_peak=45, hip_peak=6, rebound_height=None)
    (landing,), _ = analyze_landings(
        compute_kinematics(landing_clip(stiff, rng, noise=QUIET).series, "landing")
    )
    assert landing.knee_flexion_displacement_deg is not None
    assert abs(landing.knee_flexion_displacement_deg - 30.0) < 2.0
    assert landing.hip_knee_ratio is not None and landing.hip_knee_ratio < 0.2
    assert _less(landing, 1) == 1  # knee < 30 at contact
    assert _less(landing, 2) == 1  # hips barely bent at contact
    assert _less(landing, 4) == 0  # toes landed first (the generator lands toe first)
    assert _less(landing, 12) == 1  # < 45 deg of knee bend after contact
    assert _less(landing, 16) == 2  # stiff
    measured = {item.number for item in landing.less if item.measurable}
    assert measured == {1, 2, 3, 4, 12, 13, 14, 16}
    assert landing.less_total_measured == sum(item.error or 0 for item in landing.less)
    soft = LandingSpec(knee_ic=35, hip_ic=30, knee_peak=110, hip_peak=95, rebound_height=None)
    (good,), _ = analyze_landings(compute_kinematics(landing_clip(soft, rng, noise=QUIET).series, "landing"))
    assert _less(good, 1) == 0 and _less(good, 12) == 0 and _less(good, 13) == 0 and _less(good, 16) == 0


def test_front_view_uneven_feet_and_knees_in() -> None:
    rng = np.random.default_rng(13)
    clip = landing_clip(
        LandingSpec(rebound_height=None), rng, view="front", right_delay=0.08, valgus_shift_m=0.06
    )
    (landing,), _ = analyze_landings(compute_kinematics(clip.series, "landing"))
    assert landing.initial_contact_left_s is not None and landing.initial_contact_right_s is not None
    gap = landing.initial_contact_right_s - landing.initial_contact_left_s
    assert abs(gap - 0.08) < 0.035
    assert _less(landing, 11) == 1
    assert _less(landing, 15) == 1
    assert landing.valgus_peak_deg is not None and landing.valgus_peak_deg > 5
    measured = {item.number for item in landing.less if item.measurable}
    assert measured == {5, 6, 7, 8, 11, 15}
    even = landing_clip(LandingSpec(rebound_height=None), rng, view="front", noise=Noise(outlier_rate=0))
    (level,), _ = analyze_landings(compute_kinematics(even.series, "landing"))
    assert _less(level, 11) == 0 and _less(level, 5) == 0 and _less(level, 6) == 0


def test_standing_still_is_not_a_landing() -> None:
    rng = np.random.default_rng(14)
    clip = landing_clip(LandingSpec(rebound_height=None), rng)
    n = clip.series.time_s.shape[0]
    still = clip.series.xy[:1].repeat(n, axis=0) + rng.normal(0, 2.0, (n, 33, 2))
    series = type(clip.series)(
        clip.series.frame, clip.series.time_s, still, clip.series.z, clip.series.visibility, 1280, 1080
    )
    report, _ = analyze_series(series, "landing")
    assert report.landings == []
    assert any("No landing was found" in w for w in report.warnings)


def test_low_frame_rate_is_warned_about() -> None:
    rng = np.random.default_rng(15)
    report, _ = analyze_series(landing_clip(LandingSpec(), rng, fps=20.0).series, "landing")
    assert any("frames per second" in w for w in report.warnings)
