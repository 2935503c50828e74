"""How far the pose track can be trusted, frame by frame and over one rep or landing.

A technique call is only as good as the skeleton under it, and MediaPipe never says when it is wrong:
a barbell plate read as a knee, the left and right legs swapped, the track leaping to a passer-by, a
leg out of the picture. These checks look for the signs of such failures in the landmarks themselves:

* **Segment lengths.** Thigh, shank and trunk are rigid; in the image they change only by turning out
  of the picture plane. From the side, each frame's length is compared with the clip's median for
  that segment: a shank or trunk outside 0.67-1.5x, or a thigh outside 0.5-1.5x (a thigh foreshortens
  when the knees point at the camera in a deep squat), means a misplaced joint. From the front every
  segment (and from an oblique view, most) shortens as it tilts towards the camera, so only what
  tilting cannot do counts: a shank or
  trunk over 1.5x its median, or (both legs moving alike) one leg's shank or thigh far longer than
  the other's.
* **Left/right swaps.** Between two frames, the analysed knee and ankle landing where the other leg's
  were (and the other's where the analysed one was) is a label swap, not a movement.
* **Leaps** of the whole body to another place or size (:func:`.pose_checks.identity_jump_times`).
* **Hidden joints.** The analysed leg's hip, knee or ankle invisible or outside the picture.
* **Feet at the edge.** A toe or heel outside the picture or within 1% of its long side of the edge
  (the sole lies below those landmarks). A touch-down cannot be seen there, so a landing whose feet are
  at the edge around its initial contact is poor (:func:`contact_reasons`).
* **Impossible values** (checked per rep by the caller with :func:`value_reasons`): a standing knee bent
  backwards beyond -15 deg, a standing hip flexed beyond 45 deg, flexion beyond 165 deg, a "bottom" that
  is not below the standing level.

A window is **poor** when any frame of it leaps or swaps, when more than 20% of its frames have a
wrong segment length or a hidden joint, or when a value is impossible; **fair** when 5-20% of its frames
have such a problem; **good** otherwise. Poor reps and landings get no technique call and no cue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kneefix.motion.pose_checks import identity_jump_times
from kneefix.motion.side import point
from kneefix.motion.smoothing import VISIBILITY_MIN
from kneefix.motion.types import LANDMARK_INDEX, LandmarkSeries, Quality, Side, View

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

THIGH_RANGE = (0.5, 1.5)
RIGID_RANGE = (0.67, 1.5)  # shank and trunk
POOR_SHARE = 0.20
FAIR_SHARE = 0.05
FOOT_EDGE_MARGIN = 0.01  # share of the picture's long side: a toe or heel this close to the edge is cut
CONTACT_FRAMES = 2  # frames either side of a touch-down whose feet must be inside the picture
SWAP_MARGIN_LEGS = 0.15  # a swap must explain the frame-to-frame change better by this many leg lengths

STANDING_KNEE_MIN_DEG = -15.0
STANDING_HIP_MAX_DEG = 45.0
FLEXION_MAX_DEG = 165.0
MIN_DEPTH_DEG = 0.0


@dataclass(frozen=True)
class TrackChecks:
    """Per-frame problems of one clip's pose track for the analysed leg."""

    time_s: FloatArray
    bad_length: BoolArray
    hidden: BoolArray
    swap: BoolArray
    leap: BoolArray
    foot_at_edge: BoolArray  # this side's toe or heel outside the picture or at its edge


def _ratio_to_median(length: FloatArray) -> FloatArray:
    finite = length[np.isfinite(length) & (length > 0)]
    if finite.size == 0:
        return np.full_like(length, np.nan)
    result: FloatArray = length / float(np.median(finite))
    return result


def _outside(ratio: FloatArray, bounds: tuple[float, float]) -> BoolArray:
    with np.errstate(invalid="ignore"):
        result: BoolArray = np.isfinite(ratio) & ((ratio < bounds[0]) | (ratio > bounds[1]))
    return result


def _swaps(xy: FloatArray, side: Side, leg: float) -> BoolArray:
    """Frames whose analysed knee and ankle are best explained as the other leg's of the frame before."""
    other: Side = "right" if side == "left" else "left"
    mine = np.concatenate([point(xy, f"{side}_knee"), point(xy, f"{side}_ankle")], axis=1)
    theirs = np.concatenate([point(xy, f"{other}_knee"), point(xy, f"{other}_ankle")], axis=1)
    swap = np.zeros(xy.shape[0], dtype=bool)
    if xy.shape[0] < 2 or not np.isfinite(leg) or leg <= 0:
        return swap
    stay = np.linalg.norm(mine[1:] - mine[:-1], axis=1) + np.linalg.norm(theirs[1:] - theirs[:-1], axis=1)
    cross = np.linalg.norm(mine[1:] - theirs[:-1], axis=1) + np.linalg.norm(theirs[1:] - mine[:-1], axis=1)
    with np.errstate(invalid="ignore"):
        swap[1:] = np.isfinite(stay) & np.isfinite(cross) & (cross + SWAP_MARGIN_LEGS * leg < stay)
    return swap


def _front_lengths_wrong(xy: FloatArray, shank: FloatArray, trunk: FloatArray, paired: bool) -> BoolArray:
    """From the front, segments shorten whenever they tilt towards the camera (a landing, a squat), so
    only what tilting cannot do is a fault: a shank or trunk much longer than usual, or, where both
    legs move alike (``paired``: not a single-leg squat), one leg's shank or thigh far longer than the
    other's."""
    too_long = _outside(shank, (0.0, RIGID_RANGE[1])) | _outside(trunk, (0.0, RIGID_RANGE[1]))
    pairs = (("knee", "ankle", RIGID_RANGE), ("hip", "knee", THIGH_RANGE)) if paired else ()
    uneven = np.zeros(xy.shape[0], dtype=bool)
    for top, bottom, bounds in pairs:
        left = np.linalg.norm(point(xy, f"left_{bottom}") - point(xy, f"left_{top}"), axis=1)
        right = np.linalg.norm(point(xy, f"right_{bottom}") - point(xy, f"right_{top}"), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            uneven |= _outside(left / right, bounds)
    result: BoolArray = too_long | uneven
    return result


def check_track(
    series: LandmarkSeries, side: Side, view: View, paired: bool = True, oblique: bool = False
) -> TrackChecks:
    """The per-frame checks for the analysed ``side``, on the raw (unsmoothed) landmarks; ``paired``
    says both legs do the same movement (False for a single-leg squat); an ``oblique`` view has its
    segments tilting towards the camera as a front view does, and is checked like one."""
    xy = series.xy.copy()
    xy[series.visibility < VISIBILITY_MIN] = np.nan
    hip, knee, ankle = (point(xy, f"{side}_{n}") for n in ("hip", "knee", "ankle"))
    shoulder = point(xy, f"{side}_shoulder")
    thigh = _ratio_to_median(np.linalg.norm(knee - hip, axis=1))
    shank = _ratio_to_median(np.linalg.norm(ankle - knee, axis=1))
    trunk = _ratio_to_median(np.linalg.norm(shoulder - hip, axis=1))
    if view == "front" or oblique:
        bad = _front_lengths_wrong(xy, shank, trunk, paired)
    else:
        bad = _outside(shank, RIGID_RANGE) | _outside(trunk, RIGID_RANGE) | _outside(thigh, THIGH_RANGE)
    joints = [LANDMARK_INDEX[f"{side}_{n}"] for n in ("hip", "knee", "ankle")]
    raw = series.xy[:, joints]
    hidden = (series.visibility[:, joints] < VISIBILITY_MIN).any(axis=1) | ~np.isfinite(raw).all(axis=(1, 2))
    if series.width > 0 and series.height > 0 and not series.size_inferred:
        with np.errstate(invalid="ignore"):
            hidden |= (
                (raw[..., 0] < 0)
                | (raw[..., 0] > series.width)
                | (raw[..., 1] < 0)
                | (raw[..., 1] > series.height)
            ).any(axis=1)
    feet = series.xy[:, [LANDMARK_INDEX[f"{side}_{n}"] for n in ("foot_index", "heel")]]
    foot_at_edge = np.zeros(len(series), dtype=bool)
    if series.width > 0 and series.height > 0 and not series.size_inferred:
        margin = FOOT_EDGE_MARGIN * max(series.width, series.height)
        with np.errstate(invalid="ignore"):
            foot_at_edge = (
                (feet[..., 0] < margin)
                | (feet[..., 0] > series.width - margin)
                | (feet[..., 1] < margin)
                | (feet[..., 1] > series.height - margin)
            ).any(axis=1)
    legs = np.linalg.norm(knee - hip, axis=1) + np.linalg.norm(ankle - knee, axis=1)
    finite_legs = legs[np.isfinite(legs)]
    leg = float(np.median(finite_legs)) if finite_legs.size else float("nan")
    swap = _swaps(xy, side, leg) if view != "front" else np.zeros(len(series), dtype=bool)
    leap = np.isin(series.time_s, identity_jump_times(series))
    return TrackChecks(series.time_s.astype(np.float64), bad, hidden, swap, leap, foot_at_edge)


def contact_reasons(checks: dict[Side, TrackChecks], feet: list[Side], contact_s: float) -> list[str]:
    """Why a touch-down at ``contact_s`` cannot be seen, in words (empty when it can): a landing foot's
    toe or heel outside the picture or at its edge within :data:`CONTACT_FRAMES` frames of it. A foot
    cut by the frame's edge lands out of sight, and its landmarks there are MediaPipe's guesses."""
    reasons: list[str] = []
    for side in feet:
        flags = checks[side]
        if flags.time_s.shape[0] < 2:
            continue
        nearest = int(np.argmin(np.abs(flags.time_s - contact_s)))
        lo, hi = max(0, nearest - CONTACT_FRAMES), nearest + CONTACT_FRAMES + 1
        if flags.foot_at_edge[lo:hi].any():
            reasons.append(
                f"the {side} foot is at or beyond the edge of the picture at touch-down, so the moment of "
                "contact cannot be seen"
            )
    return reasons


def window_quality(checks: TrackChecks, start_s: float, end_s: float, extra: list[str]) -> Quality:
    """The quality of the frames from ``start_s`` to ``end_s``, with ``extra`` reasons (impossible
    values) that make it poor on their own."""
    inside = (checks.time_s >= start_s - 1e-9) & (checks.time_s <= end_s + 1e-9)
    n = int(inside.sum())
    reasons = list(extra)
    if n == 0:
        return Quality(level="poor", reasons=[*reasons, "no frames"])
    if checks.leap[inside].any():
        reasons.append("the tracked body leapt to another place or size (another person or a lost track)")
    if checks.swap[inside].any():
        reasons.append("the left and right legs swapped in the pose track")
    shares = {
        "frames with a body segment of the wrong length (a joint misplaced)": checks.bad_length[inside],
        "frames with the hip, knee or ankle hidden or outside the picture": checks.hidden[inside],
    }
    fair = False
    for words, flags in shares.items():
        share = float(flags.mean())
        if share > POOR_SHARE:
            reasons.append(f"{share:.0%} of {words}")
        elif share > FAIR_SHARE:
            fair = True
            reasons.append(f"{share:.0%} of {words}")
    poor = bool(extra) or bool(checks.leap[inside].any()) or bool(checks.swap[inside].any())
    poor = poor or any(float(f.mean()) > POOR_SHARE for f in shares.values())
    level = "poor" if poor else "fair" if fair else "good"
    return Quality(level=level, reasons=reasons)


def values_quality(impossible: list[str]) -> Quality:
    """Quality from impossible values alone, where there are no per-frame checks."""
    return Quality(level="poor" if impossible else "good", reasons=impossible)


def value_reasons(
    standing_knee: float | None,
    standing_hip: float | None,
    peak_knee: float,
    peak_hip: float,
    depth: float | None,
) -> list[str]:
    """Numbers a body cannot produce, in words: each means the skeleton, not the person, is wrong."""
    reasons: list[str] = []
    if standing_knee is not None and np.isfinite(standing_knee) and standing_knee < STANDING_KNEE_MIN_DEG:
        reasons.append(f"the standing knee reads {standing_knee:.0f} deg (bent backwards)")
    if standing_hip is not None and np.isfinite(standing_hip) and standing_hip > STANDING_HIP_MAX_DEG:
        reasons.append(f"the standing hip reads {standing_hip:.0f} deg of flexion")
    for joint, value in (("knee", peak_knee), ("hip", peak_hip)):
        if np.isfinite(value) and value > FLEXION_MAX_DEG:
            reasons.append(f"the {joint} reads {value:.0f} deg of flexion, beyond what a {joint} can bend")
    if depth is not None and depth <= MIN_DEPTH_DEG:
        reasons.append("the bottom of the rep is not below the standing position")
    return reasons
