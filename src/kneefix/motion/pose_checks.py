"""Cheap checks on a pose track that turn silent failures into warnings a person can act on.

MediaPipe follows one body and says nothing when half of it leaves the picture or when it swaps to a
second person; both quietly corrupt the angles. These checks need only the landmarks.
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray

from kneefix.motion.types import LANDMARK_INDEX, LandmarkSeries

# Body parts the joint angles are built from, in the words a warning uses.
_PARTS: dict[str, tuple[str, ...]] = {
    "shoulders": ("left_shoulder", "right_shoulder"),
    "hips": ("left_hip", "right_hip"),
    "knees": ("left_knee", "right_knee"),
    "ankles and feet": (
        "left_ankle", "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index",
    ),
}  # fmt: skip
OUT_OF_FRAME_SHARE = 0.10  # warn when a part is outside the picture in at least this share of frames

# A real body moves at most ~0.3 torso lengths between frames at 30 frames/s, even landing from a jump;
# a re-detection on another person lands a body length or more away, or at a clearly different size.
JUMP_TORSOS = 1.5
JUMP_TORSOS_PER_MISSING_FRAME = 0.5
SIZE_RATIO = 1.6
MAX_GAP_S = 0.5


def _indices(names: tuple[str, ...]) -> list[int]:
    return [LANDMARK_INDEX[name] for name in names]


def find_parts_out_of_frame(series: LandmarkSeries) -> list[str]:
    """One warning naming the body parts that are outside the picture in many frames."""
    found = ~np.isnan(series.xy[:, :, 0]).all(axis=1)
    if not found.any():
        return []
    xy = series.xy[found]
    x, y = xy[..., 0], xy[..., 1]
    outside = (x < 0) | (x > series.width) | (y < 0) | (y > series.height)
    named: list[str] = []
    for part, names in _PARTS.items():
        share = float(outside[:, _indices(names)].any(axis=1).mean())
        if share >= OUT_OF_FRAME_SHARE:
            named.append(f"{part} ({share:.0%} of frames)")
    if not named:
        return []
    return [
        "Part of the body is outside the picture: "
        + ", ".join(named)
        + ". Angles that use those points are estimates there; film with the whole body in view."
    ]


def _inside(series: LandmarkSeries, names: tuple[str, ...]) -> NDArray[np.bool_]:
    xy = series.xy[:, _indices(names)]
    x, y = xy[..., 0], xy[..., 1]
    inside: NDArray[np.bool_] = ((x >= 0) & (x <= series.width) & (y >= 0) & (y <= series.height)).all(axis=1)
    return inside


def identity_jump_times(series: LandmarkSeries) -> list[float]:
    """Times at which the tracked body leaps to another place or size between neighbouring frames.

    Place is the mid-hip (hips stay in the picture when the head does not); size is the torso, compared
    only where shoulders and hips are both inside the picture, since a torso cut by the edge of the
    picture is guessed by the model and its size means nothing.
    """
    torso_names = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
    shoulders = series.xy[:, _indices(torso_names[:2])].mean(axis=1)
    hips = series.xy[:, _indices(torso_names[2:])].mean(axis=1)
    torso = np.linalg.norm(shoulders - hips, axis=1)
    valid = np.flatnonzero(~np.isnan(torso) & (torso > 0))
    if len(valid) < 2:
        return []
    scale = float(np.median(torso[valid]))
    inside = _inside(series, torso_names)
    times: list[float] = []
    for before, after in itertools.pairwise(valid):
        if series.time_s[after] - series.time_s[before] > MAX_GAP_S:
            continue
        missing = after - before - 1
        distance = float(np.linalg.norm(hips[after] - hips[before])) / scale
        ratio = float(max(torso[after], torso[before]) / min(torso[after], torso[before]))
        leapt = distance > JUMP_TORSOS + JUMP_TORSOS_PER_MISSING_FRAME * missing
        resized = bool(inside[before] and inside[after]) and ratio > SIZE_RATIO
        if leapt or resized:
            times.append(float(series.time_s[after]))
    return times


def find_identity_jumps(series: LandmarkSeries) -> list[str]:
    """A warning when the track leaps between places: most often a second person in the picture."""
    times = identity_jump_times(series)
    if not times:
        return []
    shown = ", ".join(f"{t:.2f} s" for t in times[:5]) + (" ..." if len(times) > 5 else "")
    return [
        f"The tracked body jumped suddenly to another place or size {len(times)} time(s) (at {shown}): "
        "either a second person is in the picture or the pose model briefly lost the body, so results "
        "near those times are doubtful. Film one person alone, with the whole body in view."
    ]
