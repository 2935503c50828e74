"""Angles, view, side and facing on synthetic skeletons whose true angles are known."""

from __future__ import annotations

import numpy as np
import pytest

from kneefix.motion.kinematics import compute_kinematics, kinematics_from_clean
from kneefix.motion.side import detect_view
from kneefix.motion.types import LANDMARK_INDEX, LANDMARK_NAMES, LandmarkSeries, Side
from tests.motion.synthetic import QUIET, LandingSpec, Noise, landing_clip, random_reps, squat_clip

ANGLES = (("hip", "hip_flexion"), ("knee", "knee_flexion"), ("ankle", "ankle_dorsiflexion"))


@pytest.mark.parametrize("facing", [1, -1])
@pytest.mark.parametrize("near", ["left", "right"])
def test_exact_landmarks_give_exact_angles(facing: int, near: str) -> None:
    rng = np.random.default_rng(3)
    clip = squat_clip(random_reps(rng, 2), rng, facing=facing, near=near, noise=QUIET)
    kin = kinematics_from_clean(clip.series, clip.series.xy, "squat", "auto", 0.0)
    assert kin.view == "side"
    assert kin.facing == facing
    for truth, name in (*ANGLES, ("trunk", "trunk_inclination")):
        np.testing.assert_allclose(getattr(kin, name), clip.truth[truth], atol=0.05)
    assert float(np.max(kin.knee_flexion)) > 80  # flexion is positive and 0 standing
    assert abs(float(kin.knee_flexion[0]) - 4.0) < 0.1


def test_noisy_squat_angles_within_four_degrees() -> None:
    rng = np.random.default_rng(4)
    errors: dict[str, list[float]] = {name: [] for _, name in ANGLES}
    for _ in range(6):
        clip = squat_clip(random_reps(rng, 3), rng, noise=Noise(), variable_rate=bool(rng.random() < 0.5))
        kin = compute_kinematics(clip.series, "squat")
        for truth, name in ANGLES:
            diff = np.abs(getattr(kin, name) - clip.truth[truth])
            errors[name].extend(diff[np.isfinite(diff)].tolist())
    for name, values in errors.items():
        assert np.median(values) < 1.5, name
        assert np.percentile(values, 95) < 4.0, name


def test_noisy_landing_angles_within_four_degrees() -> None:
    rng = np.random.default_rng(5)
    errors = []
    for _ in range(6):
        clip = landing_clip(LandingSpec(), rng, fps=60.0)
        kin = compute_kinematics(clip.series, "landing")
        diff = np.abs(kin.knee_flexion - clip.truth["knee"])
        errors.extend(diff[np.isfinite(diff)].tolist())
    assert np.percentile(errors, 95) < 4.0


def test_front_view_valgus_sign_for_both_legs() -> None:
    rng = np.random.default_rng(6)
    reps = random_reps(rng, 1)
    inward = squat_clip(reps, rng, view="front", noise=QUIET, valgus_shift_m=0.03)
    kin = kinematics_from_clean(inward.series, inward.series.xy, "squat", "auto", 0.0)
    assert kin.view == "front"
    for side in ("left", "right"):
        measured, truth = getattr(kin, f"valgus_{side}"), inward.truth[f"valgus_{side}"]
        known = np.isfinite(measured)
        assert known.sum() > 10
        np.testing.assert_allclose(measured[known], truth[known], atol=0.1)
        assert np.nanmax(measured) > 5  # knee pushed medially reads positive on either leg
    outward = squat_clip(reps, rng, view="front", noise=QUIET, valgus_shift_m=-0.03)
    kin_out = kinematics_from_clean(outward.series, outward.series.xy, "squat", "auto", 0.0)
    assert np.nanmin(kin_out.valgus_left) < -5 and np.nanmin(kin_out.valgus_right) < -5


def test_valgus_sign_holds_when_the_person_faces_away() -> None:
    rng = np.random.default_rng(7)
    clip = squat_clip(random_reps(rng, 1), rng, view="front", noise=QUIET, valgus_shift_m=0.03)
    series = clip.series
    mirrored = series.xy.copy()
    mirrored[..., 0] = 1280 - mirrored[..., 0]  # seen from behind: left and right swap sides in the image
    back = LandmarkSeries(series.frame, series.time_s, mirrored, series.z, series.visibility, 1280, 1080)
    kin = kinematics_from_clean(back, back.xy, "squat", "auto", 0.0)
    assert np.nanmax(kin.valgus_left) > 5 and np.nanmax(kin.valgus_right) > 5


def test_valgus_unknown_when_the_thigh_points_at_the_camera() -> None:
    rng = np.random.default_rng(8)
    clip = squat_clip(random_reps(rng, 1), rng, view="front", noise=QUIET, valgus_shift_m=0.03)
    kin = kinematics_from_clean(clip.series, clip.series.xy, "squat", "auto", 0.0)
    thigh_tilt = clip.truth["knee"] - clip.truth["ankle"]  # thigh from vertical, towards the camera
    deep = thigh_tilt > 62  # the thigh shows less than cos(62) = 47% of its length
    assert deep.any() and np.isnan(kin.valgus_left[deep]).all()


def test_side_is_decided_once_even_when_visibility_alternates() -> None:
    rng = np.random.default_rng(9)
    clip = squat_clip(random_reps(rng, 2), rng, noise=Noise(outlier_rate=0, dropout_rate=0))
    series = clip.series
    vis = series.visibility.copy()
    left = [LANDMARK_INDEX[n] for n in LANDMARK_NAMES if n.startswith("left_")]
    right = [LANDMARK_INDEX[n] for n in LANDMARK_NAMES if n.startswith("right_")]
    vis[0::2, left], vis[0::2, right] = 0.95, 0.6  # even frames: left looks better
    vis[1::2, left], vis[1::2, right] = 0.6, 0.95  # odd frames: right looks better
    xy = series.xy.copy()
    xy[:, LANDMARK_INDEX["right_knee"], 0] += 25.0  # the right knee reads ~10 deg different
    flicker = LandmarkSeries(series.frame, series.time_s, xy, series.z, vis, 1280, 1080)
    kin = compute_kinematics(flicker, "squat")
    other: Side = "left" if kin.side == "right" else "right"
    one_leg = compute_kinematics(flicker, "squat", side=kin.side)
    np.testing.assert_allclose(kin.knee_flexion, one_leg.knee_flexion)  # one leg throughout
    legs_differ = np.nanmedian(
        np.abs(kin.knee_flexion - compute_kinematics(flicker, "squat", side=other).knee_flexion)
    )
    assert legs_differ > 3.0  # so a per-frame switch would have shown
    assert np.nanmax(np.abs(np.diff(kin.knee_flexion))) < 2 * legs_differ
    forced = compute_kinematics(flicker, "squat", side="left" if kin.side == "right" else "right")
    assert forced.side != kin.side
    assert forced.side_reason == "chosen with --side"


def test_near_leg_is_chosen_from_visibility() -> None:
    rng = np.random.default_rng(10)
    for near in ("left", "right"):
        clip = squat_clip(random_reps(rng, 1), rng, near=near)
        assert compute_kinematics(clip.series, "squat").side == near


def test_view_from_widths_when_depth_is_missing() -> None:
    rng = np.random.default_rng(11)
    side = squat_clip(random_reps(rng, 1), rng, noise=QUIET).series
    front = squat_clip(random_reps(rng, 1), rng, view="front", noise=QUIET).series
    assert detect_view(side.xy, None).view == "side"
    assert detect_view(front.xy, None).view == "front"
    assert detect_view(front.xy, np.zeros_like(front.z)).view == "front"  # constant depth is ignored
    assert detect_view(side.xy, side.z).view == "side"
    assert detect_view(front.xy, front.z).view == "front"
    nothing = np.full_like(side.xy, np.nan)
    assert detect_view(nothing, None).view == "unknown"


def test_ankle_angle_never_leaves_minus_180_to_180() -> None:
    """A foot pointing back along the shank once read 250 deg: the offset must wrap, not overflow."""
    from kneefix.motion.kinematics import wrap_degrees

    angles = np.array([250.0, 270.0, -190.0, 90.0, 180.0])
    assert np.allclose(wrap_degrees(angles), [-110.0, -90.0, 170.0, 90.0, 180.0])
