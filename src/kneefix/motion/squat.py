"""Per-rep results for squats, deadlifts and single-leg squats.

The main joint that splits the clip into reps is the knee for squats (it moves most) and the hip for
deadlifts (a hinge: the knees may bend only a little). Per rep:

* hip and knee onsets of the lowering, lag (knee minus hip, ms) and initiation (:mod:`.reps`);
* bottom = the main joint's peak; peaks of hip and knee flexion within the rep;
* ``depth_deg`` = the main joint's excursion from its standing baseline to the bottom;
* lowering / rising time: start of the lowering (the earlier onset) to bottom, bottom to back standing;
* early-lowering hip:knee ratio: hip flexion gained / knee flexion gained over the first 25% of the
  lowering time (denominator floored at 1 deg so a knee that has not moved yet gives a large, finite ratio);
* front view: each knee's frontal-plane projection angle at the bottom (unknown when the bend is too
  deep to measure it, see :func:`.kinematics.valgus_angle`), and the knee-to-foot width ratio at the
  bottom (distance between the knees / distance between the toes), the measure the Exercise-Correction
  project calibrated on correct squats (0.7-1.1 at the bottom in its shared data): below 0.7 the
  knees have caved in;
* from the front the onsets are estimates, so the initiation call is left ``unknown`` there.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from kneefix.motion.kinematics import Kinematics
from kneefix.motion.reps import (
    Onset,
    RepWindow,
    classify_initiation,
    find_onset,
    find_reps,
    lowering_time,
    onset_cutoff,
    smooth_for_onsets,
)
from kneefix.motion.types import LANDMARK_INDEX, RepResult

FloatArray = NDArray[np.float64]

EARLY_FRACTION = 0.25


def main_signal(kin: Kinematics) -> FloatArray:
    """The flexion track that defines reps: hip for deadlifts, knee otherwise."""
    return kin.hip_flexion if kin.movement == "deadlift" else kin.knee_flexion


def _at(t: FloatArray, values: FloatArray, when: float) -> float | None:
    """``values`` at time ``when``, interpolated between the two frames around it (None if unknown)."""
    i = int(np.searchsorted(t, when))
    lo, hi = max(i - 1, 0), min(i, t.shape[0] - 1)
    if t[lo] <= when <= t[hi] and np.isfinite(values[lo]) and np.isfinite(values[hi]):
        if hi == lo or t[hi] == t[lo]:
            return float(values[lo])
        return float(np.interp(when, t[lo : hi + 1], values[lo : hi + 1]))
    return None


def knee_feet_width_ratio(kin: Kinematics, when: float) -> float | None:
    """Distance between the knees over distance between the toes, at ``when`` (front view)."""
    xy, t = kin.xy, kin.time_s
    knees = [_at(t, xy[:, LANDMARK_INDEX[f"{s}_knee"], 0], when) for s in ("left", "right")]
    toes = [_at(t, xy[:, LANDMARK_INDEX[f"{s}_foot_index"], 0], when) for s in ("left", "right")]
    if knees[0] is None or knees[1] is None or toes[0] is None or toes[1] is None:
        return None
    feet = abs(toes[0] - toes[1])
    return abs(knees[0] - knees[1]) / feet if feet > 0 else None


def _nanmax(values: FloatArray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size else float("nan")


def _round(value: float | None, digits: int = 1) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), digits)


def _early_ratio(
    t: FloatArray, kin: Kinematics, start: float, bottom: float, hip: Onset, knee: Onset
) -> float | None:
    if bottom <= start:
        return None
    when = start + EARLY_FRACTION * (bottom - start)
    hip_then, knee_then = _at(t, kin.hip_flexion, when), _at(t, kin.knee_flexion, when)
    hip_base, knee_base = _at(t, kin.hip_flexion, start), _at(t, kin.knee_flexion, start)
    if None in (hip_then, knee_then, hip_base, knee_base):
        return None
    assert hip_then is not None and knee_then is not None and hip_base is not None and knee_base is not None
    if np.isfinite(hip.baseline_deg):
        hip_base = min(hip_base, hip.baseline_deg)
    if np.isfinite(knee.baseline_deg):
        knee_base = min(knee_base, knee.baseline_deg)
    hip_gain = max(hip_then - hip_base, 0.0)
    knee_gain = max(knee_then - knee_base, 0.0)
    return hip_gain / max(knee_gain, 1.0)


def _onset(t: FloatArray, angle: FloatArray, window: RepWindow, fps: float) -> Onset:
    """One joint's onset, after smoothing scaled to that joint's own lowering time."""
    cutoff = onset_cutoff(lowering_time(t, angle, window), fps)
    return find_onset(t, smooth_for_onsets(t, angle, window, cutoff), window)


def rep_result(number: int, window: RepWindow, kin: Kinematics) -> RepResult:
    """Measure one rep."""
    t = kin.time_s
    signal = main_signal(kin)
    hip = _onset(t, kin.hip_flexion, window, kin.fps)
    knee = _onset(t, kin.knee_flexion, window, kin.fps)
    lag = None
    if hip.time_s is not None and knee.time_s is not None and kin.view != "front":
        lag = (knee.time_s - hip.time_s) * 1000.0
    bottom_s = float(t[window.bottom])
    onsets = [o.time_s for o in (hip, knee) if o.time_s is not None]
    start_s = min(onsets) if onsets else float(t[window.search_start])
    end_s = float(t[window.end])
    span = slice(window.search_start, window.end + 1)
    main_onset = hip if kin.movement == "deadlift" else knee
    base = main_onset.baseline_deg
    depth = float(signal[window.bottom]) - base if np.isfinite(base) else None
    valgus_left = _at(t, kin.valgus_left, bottom_s)
    valgus_right = _at(t, kin.valgus_right, bottom_s)
    valgus = valgus_left if kin.side == "left" else valgus_right
    return RepResult(
        rep=number,
        start_s=round(start_s, 3),
        bottom_s=round(bottom_s, 3),
        end_s=round(end_s, 3),
        hip_onset_s=_round(hip.time_s, 3),
        knee_onset_s=_round(knee.time_s, 3),
        lag_ms=_round(lag, 0),
        initiation=classify_initiation(lag),
        peak_hip_flexion_deg=round(_nanmax(kin.hip_flexion[span]), 1),
        peak_knee_flexion_deg=round(_nanmax(kin.knee_flexion[span]), 1),
        depth_deg=_round(depth),
        lowering_s=_round(bottom_s - start_s if onsets else None, 3),
        rising_s=None if window.partial_end else _round(end_s - bottom_s, 3),
        early_hip_knee_ratio=_round(_early_ratio(t, kin, start_s, bottom_s, hip, knee), 2)
        if onsets
        else None,
        valgus_deg=_round(valgus),
        valgus_left_deg=_round(valgus_left),
        valgus_right_deg=_round(valgus_right),
        knee_feet_width_ratio=(
            _round(knee_feet_width_ratio(kin, bottom_s), 2)
            if kin.view == "front" and kin.movement != "single-leg-squat"
            else None
        ),
        partial=window.partial_start or window.partial_end,
    )


def analyze_reps(kin: Kinematics) -> list[RepResult]:
    """All reps of a squat, deadlift or single-leg squat clip."""
    windows = find_reps(kin.time_s, main_signal(kin))
    return [rep_result(i + 1, w, kin) for i, w in enumerate(windows)]
