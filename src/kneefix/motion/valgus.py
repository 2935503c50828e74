"""Knee valgus from a front view: the frontal-plane projection angle (FPPA) and the knee-over-foot check.

The FPPA itself (hip->knee vs knee->ankle, positive when the knee sits towards the other leg) is computed
per frame in :mod:`.kinematics`. Here live the pieces that interpret it:

* :func:`knee_medial_offset` - how far the knee sits medial to the middle of its foot, as a fraction of
  leg length; the Landing Error Scoring System items 5 and 15 ask exactly this ("knee inside the
  midfoot"), and a fraction of leg length does not depend on how far the camera stands.
* :data:`FPPA_NOISE_DEG` - between-day changes smaller than ~8 deg are within measurement noise (smallest
  detectable difference 7.5-8.9 deg), so comparisons across sessions must say so.
* :func:`fppa_caution` - the sentence that goes with every FPPA shown to a person: a screening angle,
  not a diagnosis, with no validated cut-off for knee pain.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from kneefix.motion.side import mean_of, point
from kneefix.motion.types import Side

FloatArray = NDArray[np.float64]

FPPA_NOISE_DEG = 8.0
FPPA_COACHING_DEG = 15.0  # above this at the bottom, the knee-over-foot cue is offered (coaching, not risk)
KNEES_IN_RATIO = 0.7  # squat: knee distance / toe distance below this at the bottom = knees caved in
MEDIAL_TOLERANCE = 0.02  # knee this far (fraction of leg length) inside the midfoot before it counts


def leg_length(xy: FloatArray, side: Side) -> float:
    """Median thigh + shank length over the clip, in pixels (NaN if unknown)."""
    hip, knee, ankle = (point(xy, f"{side}_{n}") for n in ("hip", "knee", "ankle"))
    total = np.linalg.norm(knee - hip, axis=1) + np.linalg.norm(ankle - knee, axis=1)
    finite = total[np.isfinite(total)]
    return float(np.median(finite)) if finite.size else float("nan")


def _midfoot_x(xy: FloatArray, side: Side) -> FloatArray:
    return mean_of([point(xy, f"{side}_{n}")[:, 0] for n in ("ankle", "heel", "foot_index")])


def knee_medial_offset(xy: FloatArray, side: Side) -> FloatArray:
    """Per frame: how far the knee is medial (+) or lateral (-) of the midfoot, in leg lengths."""
    other: Side = "right" if side == "left" else "left"
    toward_other = point(xy, f"{other}_hip")[:, 0] - point(xy, f"{side}_hip")[:, 0]
    finite = toward_other[np.isfinite(toward_other)]
    if finite.size == 0:
        return np.full(xy.shape[0], np.nan)
    direction = float(np.sign(np.median(finite)))
    length = leg_length(xy, side)
    if not np.isfinite(length) or length <= 0 or direction == 0:
        return np.full(xy.shape[0], np.nan)
    result: FloatArray = direction * (point(xy, f"{side}_knee")[:, 0] - _midfoot_x(xy, side)) / length
    return result


def fppa_caution() -> str:
    """The uncertainty that must travel with any valgus angle shown to a person."""
    return (
        f"Knee angles measured from a 2-D video vary by several degrees from day to day; changes smaller "
        f"than about {FPPA_NOISE_DEG:.0f} degrees between sessions are within that noise. This is a "
        f"screening angle for coaching, not a diagnosis."
    )
