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
* from the front the onsets are estimates, so the initiation call is left ``unknown`` there;
* ``quality`` of the rep's pose track (:mod:`.quality`): a poor rep gets no initiation call, and
  ``initiation_note`` says in words why a call is unknown;
* a rep that ends in flight (both feet leave the floor: a jump squat) is not a squat rep and is left
  out, and so is a bottom reached straight out of a flight (the give of the last jump's landing); the
  landings are what a landing analysis measures;
* single-leg squats: the stance leg is decided per rep (the foot lower in the picture over the rep), so
  a clip that changes legs is measured on the standing leg throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from kneefix.motion.kinematics import Kinematics, for_side
from kneefix.motion.quality import TrackChecks, value_reasons, values_quality, window_quality
from kneefix.motion.reps import (
    Onset,
    RepWindow,
    agreement_s,
    classify_initiation,
    find_onset,
    find_reps,
    lowering_time,
    onset_cutoff,
    smooth_for_onsets,
)
from kneefix.motion.side import mean_of, point
from kneefix.motion.types import LANDMARK_INDEX, RepResult, Side

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

EARLY_FRACTION = 0.25
FLIGHT_LEGS = 0.10  # both feet this far (leg lengths) above the floor: the person is in the air
HIP_RISE_LEGS = 0.05  # ... and the hips this far above their standing height
STANDING_KNEE_DEG = 20.0
FLOOR_WINDOW_S = 0.3  # the floor level is taken this close to the rep's bottom
FLIGHT_AFTER_S = 0.5  # how long after a rep's end a take-off still belongs to it
LANDING_GIVE_S = 0.5  # a bottom this soon after a flight is a landing's give, not a squat rep
BOTTOM_SEEN_S = 0.15  # a rep's bottom must be measured on most frames this close to it
BOTTOM_SEEN_SHARE = 0.5
STANCE_SMOOTH_S = 1.0


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
    return find_onset(t, smooth_for_onsets(t, angle, window, cutoff), window, angle)


def _initiation(kin: Kinematics, hip: Onset, knee: Onset, lag: float | None, poor: bool) -> tuple[str, str]:
    """The call and, where it is unknown, why."""
    if kin.view == "front":
        return "unknown", "initiation needs a side view"
    if kin.movement == "single-leg-squat":
        return "unknown", "initiation is checked on squats and deadlifts, not single-leg squats"
    if poor:
        return "unknown", "the pose track is not trustworthy in this rep"
    for joint, onset in (("hip", hip), ("knee", knee)):
        if onset.time_s is None:
            return "unknown", f"{joint} onset unknown: {onset.reason or 'not timed'}"
    return classify_initiation(lag, agreement_s(kin.fps) * 1000.0), ""


def rep_result(
    number: int, window: RepWindow, kin: Kinematics, checks: TrackChecks | None = None
) -> RepResult:
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
    peak_hip, peak_knee = _nanmax(kin.hip_flexion[span]), _nanmax(kin.knee_flexion[span])
    side_view = kin.view == "side"
    impossible = value_reasons(
        knee.baseline_deg if side_view else None,
        hip.baseline_deg if side_view else None,
        peak_knee,
        peak_hip,
        depth,
    )
    if checks is not None:
        quality = window_quality(checks, float(t[window.search_start]), end_s, impossible)
    else:
        quality = values_quality(impossible)
    poor = quality.level == "poor"
    initiation, note = _initiation(kin, hip, knee, lag, poor)
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
        lag_ms=None if poor else _round(lag, 0),
        initiation=initiation,
        initiation_note=note,
        peak_hip_flexion_deg=round(peak_hip, 1),
        peak_knee_flexion_deg=round(peak_knee, 1),
        depth_deg=None if poor else _round(depth),
        lowering_s=_round(bottom_s - start_s if onsets else None, 3),
        rising_s=None if window.partial_end else _round(end_s - bottom_s, 3),
        early_hip_knee_ratio=_round(_early_ratio(t, kin, start_s, bottom_s, hip, knee), 2)
        if onsets and not poor
        else None,
        valgus_deg=None if poor else _round(valgus),
        valgus_left_deg=None if poor else _round(valgus_left),
        valgus_right_deg=None if poor else _round(valgus_right),
        knee_feet_width_ratio=(
            _round(knee_feet_width_ratio(kin, bottom_s), 2)
            if kin.view == "front" and kin.movement != "single-leg-squat" and not poor
            else None
        ),
        partial=window.partial_start or window.partial_end,
        quality=quality,
        view=kin.view,
    )


def _feet_and_leg(kin: Kinematics, hidden: dict[Side, BoolArray] | None) -> tuple[FloatArray, float]:
    """Per-frame height of the lower foot (image y, down positive; heel and toe) and a leg length: only
    when even the lower foot is off the floor is the person in the air.

    Frames where a leg is hidden or out of the picture (``hidden``, from the track checks) use the
    other foot alone: the model guesses a hidden foot, and a guess cannot show a flight. That is why
    :func:`ends_in_flight` also needs the hips to rise above standing: a step lifts one foot, not the
    hips."""
    sides: tuple[Side, ...] = ("left", "right")
    feet = []
    for s in sides:
        foot = mean_of([point(kin.xy, f"{s}_heel")[:, 1], point(kin.xy, f"{s}_foot_index")[:, 1]])
        if hidden is not None and s in hidden:
            foot = np.where(hidden[s], np.nan, foot)
        feet.append(foot)
    both = np.vstack(feet)
    seen = np.isfinite(both)
    lower = np.where(seen.any(axis=0), np.max(np.where(seen, both, -np.inf), axis=0), np.nan)
    hip, ankle = point(kin.xy, f"{kin.side}_hip"), point(kin.xy, f"{kin.side}_ankle")
    legs = np.linalg.norm(hip - ankle, axis=1)
    finite_legs = legs[np.isfinite(legs)]
    return lower, float(np.median(finite_legs)) if finite_legs.size else float("nan")


def _floor_at_bottom(kin: Kinematics, window: RepWindow, lower: FloatArray) -> float | None:
    """The floor's height in the picture: where the lower foot is around the rep's bottom (both feet are
    planted there)."""
    t = kin.time_s
    planted = lower[np.abs(t - t[window.bottom]) <= FLOOR_WINDOW_S]
    planted = planted[np.isfinite(planted)]
    return float(np.median(planted)) if planted.size else None


def _airborne(
    kin: Kinematics, during: BoolArray, standing: BoolArray, floor: float, feet: tuple[FloatArray, float]
) -> bool:
    """Two frames running, within ``during``, with both feet ``FLIGHT_LEGS`` above ``floor`` and the hips
    ``HIP_RISE_LEGS`` above their height on the ``standing`` frames."""
    lower, leg = feet
    hip = point(kin.xy, f"{kin.side}_hip")[:, 1]
    if not np.isfinite(hip[standing]).any():
        return False
    standing_hip = float(np.nanmedian(hip[standing]))
    with np.errstate(invalid="ignore"):
        up = during & (lower < floor - FLIGHT_LEGS * leg) & (hip < standing_hip - HIP_RISE_LEGS * leg)
    return bool(np.any(up[1:] & up[:-1]))


def ends_in_flight(
    kin: Kinematics, window: RepWindow, next_bottom: int | None, feet: tuple[FloatArray, float]
) -> bool:
    """Whether both feet leave the floor during this rep's rise or just after it (a jump squat).

    ``feet`` is :func:`_feet_and_leg` of the clip. Two frames with both feet above the floor by
    ``FLIGHT_LEGS`` (and the hips above standing) make a flight."""
    lower, leg = feet
    floor = _floor_at_bottom(kin, window, lower)
    if floor is None or not np.isfinite(leg) or leg <= 0:
        return False
    t = kin.time_s
    stop = float(t[window.end]) + FLIGHT_AFTER_S
    if next_bottom is not None:
        stop = min(stop, float(t[next_bottom]))
    inside = (t >= t[window.bottom]) & (t <= stop)
    return _airborne(kin, inside, inside & (kin.knee_flexion < STANDING_KNEE_DEG), floor, feet)


def lands_into(kin: Kinematics, window: RepWindow, feet: tuple[FloatArray, float]) -> bool:
    """Whether this rep's bottom comes straight out of a flight: the give of a landing (the last jump of a
    jump-squat set lands, bends and stands), not a squat from standing.

    A flight within ``LANDING_GIVE_S`` before the bottom leaves no time to stand and lower again (a squat's
    lowering alone takes 0.45 s or more). The hips' standing height comes from after the rise, since the
    frames before this bottom are mostly in the air."""
    lower, leg = feet
    floor = _floor_at_bottom(kin, window, lower)
    if floor is None or not np.isfinite(leg) or leg <= 0:
        return False
    t = kin.time_s
    bottom = float(t[window.bottom])
    before = (t >= bottom - LANDING_GIVE_S) & (t < bottom)
    after = (
        (t > bottom) & (t <= float(t[window.end]) + FLIGHT_AFTER_S) & (kin.knee_flexion < STANDING_KNEE_DEG)
    )
    return _airborne(kin, before, after, floor, feet)


def _stance_per_frame(kin: Kinematics) -> NDArray[np.str_]:
    """The lower foot in each frame ("left"/"right"), held over ``STANCE_SMOOTH_S`` to ignore flicker."""
    heights = [
        mean_of([point(kin.xy, f"{s}_{p}")[:, 1] for p in ("ankle", "heel", "foot_index")])
        for s in ("left", "right")
    ]
    diff = heights[0] - heights[1]  # positive: the left foot is lower in the picture
    n = diff.shape[0]
    half = max(1, round(STANCE_SMOOTH_S * kin.fps / 2)) if kin.fps > 0 else 15
    smoothed = np.array(
        [
            np.nanmedian(diff[max(0, i - half) : i + half + 1])
            if np.isfinite(diff[max(0, i - half) : i + half + 1]).any()
            else np.nan
            for i in range(n)
        ]
    )
    fallback = "left" if kin.side == "left" else "right"
    return np.where(np.isfinite(smoothed), np.where(smoothed > 0, "left", "right"), fallback)


@dataclass(frozen=True)
class LeftOut:
    """Bends the rep finder found that are not squat reps: jump squats, landing gives (a bottom reached
    straight out of a flight), and bottoms the pose track did not see (a blip between lost frames)."""

    jump_squats: int = 0
    landing_gives: int = 0
    unseen_bottoms: list[float] = field(default_factory=list)  # their times, s


def bottom_seen(t: FloatArray, signal: FloatArray, window: RepWindow) -> bool:
    """Whether the track measured the main joint on at least ``BOTTOM_SEEN_SHARE`` of the frames within
    ``BOTTOM_SEEN_S`` of the rep's bottom. Gaps up to 0.2 s were filled in cleaning, so a bottom among
    missing frames sits in a longer stretch the track lost: its "peak" is a few stray frames (a person
    walking up to the camera), not a rep anyone could see."""
    near = np.abs(t - t[window.bottom]) <= BOTTOM_SEEN_S
    return bool(np.isfinite(signal[near]).mean() >= BOTTOM_SEEN_SHARE)


def analyze_reps(
    kin: Kinematics, checks: dict[Side, TrackChecks] | None = None
) -> tuple[list[RepResult], LeftOut]:
    """All reps of a squat, deadlift or single-leg squat clip, and what its jumps took out of them.

    ``checks`` are the pose-track checks per leg (:func:`.quality.check_track`); without them only
    impossible values can make a rep poor."""
    per_side: dict[Side, Kinematics] = {kin.side: kin}
    stance = None
    if kin.movement == "single-leg-squat" and not kin.side_reason.startswith("chosen"):
        per_side = {s: (kin if s == kin.side else for_side(kin, s)) for s in ("left", "right")}
        stance = _stance_per_frame(kin)
        signal = np.where(stance == "left", main_signal(per_side["left"]), main_signal(per_side["right"]))
    else:
        signal = main_signal(kin)
    windows = find_reps(kin.time_s, signal)
    reps: list[RepResult] = []
    jumps = gives = 0
    unseen: list[float] = []
    feet = _feet_and_leg(kin, None if checks is None else {s: c.hidden for s, c in checks.items()})
    for k, window in enumerate(windows):
        next_bottom = windows[k + 1].bottom if k + 1 < len(windows) else None
        if not bottom_seen(kin.time_s, signal, window):
            unseen.append(round(float(kin.time_s[window.bottom]), 2))
            continue
        if kin.movement == "squat" and ends_in_flight(kin, window, next_bottom, feet):
            jumps += 1
            continue
        if kin.movement == "squat" and lands_into(kin, window, feet):
            gives += 1
            continue
        leg: Side = kin.side
        if stance is not None:
            part = stance[window.search_start : window.end + 1]
            leg = "left" if int(np.sum(part == "left")) * 2 >= part.size else "right"
        result = rep_result(len(reps) + 1, window, per_side[leg], None if checks is None else checks.get(leg))
        if stance is not None:
            result.stance = leg
        reps.append(result)
    return reps, LeftOut(jumps, gives, unseen)
