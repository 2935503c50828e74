"""Real MediaPipe landmarks (Exercise-Correction squat set, front view, frames labelled up/down).

The rows come from several videos, concatenated, in MediaPipe's normalised coordinates, with 9 joints
and no timestamps; so only per-frame geometry is tested here (no filtering across rows): the view, the
foreshortening estimate of knee bend at the labelled stages, and the frontal-plane projection angle.
Whole clips through the full pipeline are checked against labels in ``tests/video``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from kneefix.motion.kinematics import frontal_estimates, valgus_angle
from kneefix.motion.side import detect_view
from kneefix.motion.types import LANDMARK_INDEX

JOINTS: tuple[str, ...] = ("nose", "left_shoulder", "right_shoulder", "left_hip", "right_hip")
JOINTS += ("left_knee", "right_knee", "left_ankle", "right_ankle")
SCALE = 1000.0  # normalised coordinates to "pixels"; the geometry tested does not depend on it


@pytest.fixture(scope="module")
def labelled(shared_data: Path) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.str_]]:
    path = shared_data / "keypoints" / "exercise_correction_squat_mediapipe" / "squat_landmarks_test.csv"
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    xy = np.full((len(rows), 33, 2), np.nan)
    z = np.full((len(rows), 33), np.nan)
    for i, row in enumerate(rows):
        for name in JOINTS:
            j = LANDMARK_INDEX[name]
            xy[i, j] = (float(row[f"{name}_x"]) * SCALE, float(row[f"{name}_y"]) * SCALE)
            z[i, j] = float(row[f"{name}_z"]) * SCALE
    return xy, z, np.array([row["label"] for row in rows])


def test_view_is_front(labelled: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.str_]]) -> None:
    xy, z, _ = labelled
    assert detect_view(xy, z).view == "front"
    assert detect_view(xy, None).view == "front"


def test_knee_bend_estimate_separates_up_from_down(
    labelled: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.str_]],
) -> None:
    xy, _, label = labelled
    for side in ("left", "right"):
        knee = frontal_estimates(xy, side)["knee_flexion"]
        up, down = np.nanmedian(knee[label == "up"]), np.nanmedian(knee[label == "down"])
        assert down - up > 50.0
        assert down > 90.0  # these are deep squats


def test_frontal_projection_angle_is_small_standing_and_unknown_deep_down(
    labelled: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.str_]],
) -> None:
    xy, _, label = labelled
    for side in ("left", "right"):
        fppa = valgus_angle(xy, side)
        standing = fppa[label == "up"]
        assert np.isfinite(standing).mean() > 0.95
        assert np.percentile(np.abs(standing[np.isfinite(standing)]), 90) < 10.0
        assert np.isfinite(fppa[label == "down"]).mean() < 0.1  # thigh end-on: not measured
