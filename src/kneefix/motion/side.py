"""Camera view, analysed side and facing direction: each decided ONCE per clip.

Per-frame left/right choices are the most-reported bug of comparable tools (angles jumping between the
two legs whenever visibility flickers), so every decision here pools evidence over the whole clip:

* **View** - MediaPipe's depth (``z``) of the two shoulders and hips tells how the body is turned: the
  median over the clip of atan2(|left-right depth difference|, |left-right image distance|) was 4-31
  deg on every front-view clip in the shared test set and 74-89 deg on every side or oblique one, so
  50 deg splits them. Where the landmarks carry no depth (some CSVs), the image widths decide: the
  median (shoulder width + hip width) / torso length is ~0.1-0.3 from the side and ~0.9-1.2 from the
  front. A side view whose widths still reach half a torso (>= 0.5), or a front view turned > 35 deg,
  is flagged oblique: analysed as the nearer view, with a warning.
* **Side** - ``--side`` wins. For a single-leg squat, the stance leg: the foot that stays lowest and
  stillest. Otherwise the leg the camera sees best: summed visibility of the leg's landmarks over the
  clip, then MediaPipe's depth (the near leg has the smaller ``z``) when visibility cannot tell.
* **Facing** - from the heel-to-toe direction over the clip (the nose as a fallback); it fixes the sign
  that makes flexion positive whichever way the person faces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kneefix.motion.types import LANDMARK_INDEX, LandmarkSeries, Movement, Side, SideChoice, View

FloatArray = NDArray[np.float64]

SIDE_RATIO_MAX = 0.45  # (shoulder + hip width) / torso at or below this: a side view (no depth data)
FRONT_RATIO_MIN = 0.65  # at or above this: a front view; in between: oblique
OBLIQUE_SIDE_RATIO = 0.5  # a side view this wide looks oblique
FRONT_YAW_MAX = 50.0  # body turned less than this from the camera (by depth): a front view
OBLIQUE_FRONT_YAW = 35.0
LEG_POINTS = ("hip", "knee", "ankle", "heel", "foot_index")
VISIBILITY_MARGIN = 0.03  # relative difference in summed visibility that counts as "clearly better"


@dataclass(frozen=True)
class ViewEstimate:
    view: View
    width_ratio: float  # (shoulder width + hip width) / torso length, median over the clip; NaN if unknown
    oblique: bool
    yaw_deg: float = float("nan")  # how far the body is turned from the camera, from depth; NaN if no depth


def point(xy: FloatArray, name: str) -> FloatArray:
    """One landmark's ``(N, 2)`` track."""
    return xy[:, LANDMARK_INDEX[name], :]


def mean_of(tracks: list[FloatArray]) -> FloatArray:
    """Per-frame mean of several ``(N,)`` tracks, ignoring unknown ones (NaN where all are unknown)."""
    stack = np.vstack(tracks)
    count = np.isfinite(stack).sum(axis=0)
    total = np.nansum(stack, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        result: FloatArray = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return result


def _nanmedian(values: FloatArray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else float("nan")


def _turn_from_depth(xy: FloatArray, z: FloatArray | None) -> float:
    """Median body turn (deg) from MediaPipe depth: 0 facing the camera, 90 side on; NaN without depth."""
    if z is None or z.shape[0] != xy.shape[0]:
        return float("nan")
    pairs = (("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"))
    dz: FloatArray = np.sum(
        [np.abs(z[:, LANDMARK_INDEX[a]] - z[:, LANDMARK_INDEX[b]]) for a, b in pairs], axis=0
    )
    dx: FloatArray = np.sum([np.abs(point(xy, a)[:, 0] - point(xy, b)[:, 0]) for a, b in pairs], axis=0)
    body = z[:, [LANDMARK_INDEX[name] for pair in pairs for name in pair]]
    finite = np.isfinite(body).all(axis=1) & np.isfinite(dx)
    if finite.sum() < 3 or float(np.nanstd(body[finite])) <= 1e-6:
        return float("nan")  # no depth, or a tool that writes a constant
    return _nanmedian(np.degrees(np.arctan2(dz[finite], dx[finite])))


def detect_view(xy: FloatArray, z: FloatArray | None = None) -> ViewEstimate:
    """Side or front view, from landmark depth when there is any, else from image widths."""
    shoulders_w = np.abs(point(xy, "left_shoulder")[:, 0] - point(xy, "right_shoulder")[:, 0])
    hips_w = np.abs(point(xy, "left_hip")[:, 0] - point(xy, "right_hip")[:, 0])
    mid_shoulder = (point(xy, "left_shoulder") + point(xy, "right_shoulder")) / 2
    mid_hip = (point(xy, "left_hip") + point(xy, "right_hip")) / 2
    torso = np.linalg.norm(mid_shoulder - mid_hip, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (shoulders_w + hips_w) / torso
    ratio[~np.isfinite(ratio) | (torso <= 0)] = np.nan
    if np.isfinite(ratio).any():
        value = _nanmedian(ratio)
    else:
        value = _nanmedian(hips_w / (_leg_length(xy) + 1e-9)) * 2.2  # torso out of frame: hips alone
    yaw = _turn_from_depth(xy, z)
    if np.isfinite(yaw):
        if yaw < FRONT_YAW_MAX:
            return ViewEstimate("front", value, yaw > OBLIQUE_FRONT_YAW, yaw)
        return ViewEstimate("side", value, bool(np.isfinite(value) and value >= OBLIQUE_SIDE_RATIO), yaw)
    if not np.isfinite(value):
        return ViewEstimate("unknown", float("nan"), False)
    if value <= SIDE_RATIO_MAX:
        return ViewEstimate("side", value, False)
    if value >= FRONT_RATIO_MIN:
        return ViewEstimate("front", value, False)
    middle = (SIDE_RATIO_MAX + FRONT_RATIO_MIN) / 2
    return ViewEstimate("side" if value < middle else "front", value, True)


def _leg_length(xy: FloatArray) -> FloatArray:
    lengths = []
    for side in ("left", "right"):
        thigh = np.linalg.norm(point(xy, f"{side}_hip") - point(xy, f"{side}_knee"), axis=1)
        shank = np.linalg.norm(point(xy, f"{side}_knee") - point(xy, f"{side}_ankle"), axis=1)
        lengths.append(thigh + shank)
    return mean_of(lengths)


def _leg_visibility(series: LandmarkSeries, side: Side) -> float:
    idx = [LANDMARK_INDEX[f"{side}_{p}"] for p in LEG_POINTS]
    return float(np.nansum(series.visibility[:, idx]))


def _leg_depth(series: LandmarkSeries, side: Side) -> float:
    idx = [LANDMARK_INDEX[f"{side}_{p}"] for p in LEG_POINTS]
    return _nanmedian(series.z[:, idx].ravel())


def _foot_height(xy: FloatArray, side: Side) -> FloatArray:
    return mean_of([point(xy, f"{side}_{p}")[:, 1] for p in ("ankle", "heel", "foot_index")])


def stance_leg(xy: FloatArray) -> Side | None:
    """The single-leg-squat stance leg: the foot lower in the image (larger y) and stiller over the clip."""
    left, right = _foot_height(xy, "left"), _foot_height(xy, "right")
    both = np.isfinite(left) & np.isfinite(right)
    if both.sum() < 3:
        return None
    scale = _nanmedian(_leg_length(xy))
    lower = _nanmedian(left[both] - right[both])  # positive: the left foot is lower
    if np.isfinite(scale) and abs(lower) > 0.05 * scale:
        return "left" if lower > 0 else "right"
    still_left, still_right = float(np.std(left[both])), float(np.std(right[both]))
    if still_left == still_right:
        return None
    return "left" if still_left < still_right else "right"


def decide_side(
    series: LandmarkSeries, xy: FloatArray, movement: Movement, choice: SideChoice
) -> tuple[Side, str]:
    """The leg to analyse for the whole clip, and a short reason (shown when asked why)."""
    if choice != "auto":
        return choice, "chosen with --side"
    if movement == "single-leg-squat":
        stance = stance_leg(xy)
        if stance is not None:
            return stance, "the stance leg (the foot that stays on the ground)"
    left_vis, right_vis = _leg_visibility(series, "left"), _leg_visibility(series, "right")
    total = left_vis + right_vis
    if total > 0 and abs(left_vis - right_vis) > VISIBILITY_MARGIN * total:
        return ("left" if left_vis > right_vis else "right"), "the leg seen most clearly over the clip"
    left_z, right_z = _leg_depth(series, "left"), _leg_depth(series, "right")
    if np.isfinite(left_z) and np.isfinite(right_z) and left_z != right_z:
        return ("left" if left_z < right_z else "right"), "the leg nearer the camera"
    return "left", "both legs looked alike; the left was used"


def detect_facing(xy: FloatArray) -> int:
    """+1 when the person faces image-right (+x), -1 when image-left; decided once from the feet or nose."""
    toe_ahead = []
    for side in ("left", "right"):
        toe_ahead.append(point(xy, f"{side}_foot_index")[:, 0] - point(xy, f"{side}_heel")[:, 0])
    feet = _nanmedian(np.concatenate(toe_ahead))
    if np.isfinite(feet) and feet != 0:
        return 1 if feet > 0 else -1
    ears = (point(xy, "left_ear")[:, 0] + point(xy, "right_ear")[:, 0]) / 2
    nose = _nanmedian(point(xy, "nose")[:, 0] - ears)
    if np.isfinite(nose) and nose != 0:
        return 1 if nose > 0 else -1
    return 1


VIEW_WINDOW_S = 2.0  # the view is judged over this much of the clip around each moment ...
VIEW_STEP_S = 0.25  # ... every this often
MIN_SEGMENT_S = 3.0  # a stretch of one view shorter than this is not a view change


def view_segments(time_s: FloatArray, xy: FloatArray, z: FloatArray | None) -> list[tuple[int, int, View]]:
    """Stretches of frames ``[start, stop)`` filmed from one view, for a clip where the view changes.

    The view is judged as in :func:`detect_view`, over a sliding window; stretches shorter than
    ``MIN_SEGMENT_S`` join their longer neighbour. One stretch means one view for the whole clip.
    """
    n = time_s.shape[0]
    if n < 2:
        return [(0, n, detect_view(xy, z).view)]
    labels: list[View] = []
    centres = np.arange(float(time_s[0]), float(time_s[-1]) + 1e-9, VIEW_STEP_S)
    for centre in centres:
        inside = np.abs(time_s - centre) <= VIEW_WINDOW_S / 2
        labels.append(detect_view(xy[inside], None if z is None else z[inside]).view)
    per_frame = [labels[min(round((t - time_s[0]) / VIEW_STEP_S), len(labels) - 1)] for t in time_s]
    runs: list[list[Any]] = []
    for i, view in enumerate(per_frame):
        if view == "unknown" and runs:
            view = runs[-1][2]
        if runs and runs[-1][2] == view:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1, view])
    changed = True
    while changed and len(runs) > 1:
        changed = False
        lengths = [float(time_s[r[1] - 1] - time_s[r[0]]) for r in runs]
        k = int(np.argmin(lengths))
        if lengths[k] < MIN_SEGMENT_S:
            neighbour = k - 1 if k == len(runs) - 1 or (k > 0 and lengths[k - 1] >= lengths[k + 1]) else k + 1
            lo, hi = min(k, neighbour), max(k, neighbour)
            runs[lo] = [runs[lo][0], runs[hi][1], runs[neighbour][2]]
            del runs[hi]
            changed = True
    return [(int(a), int(b), v) for a, b, v in runs]
