"""Jump landings: initial contact, absorption, "hips back", and the LESS items the view allows.

**Falls.** The foot's height is the mean image height of its toe (``foot_index``), heel and ankle. A
fall is a peak of its downward image velocity above 0.5 leg lengths per second (a 30 cm drop reaches
~3; a 10 cm hop filmed at 20 fps still shows ~0.7) from at least 5% of a leg length up, at least 0.3 s
from the next peak. The peak only says that a landing is near; it is not the contact.

**Initial contact (IC)** is the first moment the toe or the heel reaches the floor. For each of the two
markers separately:

* its floor level is the median of its image height over the stance 0.1-0.3 s after the fall's peak
  (each marker rests at its own height in the image, so each gets its own level). A marker still
  moving at falling speed there has no stance and gives no contact (a speed peak in mid-flight);
* "on the floor" means within a tolerance of that level: three robust SDs of the marker's scatter in
  the same stance (pose jitter and the slow drift of a loaded foot), never less than 1.5% of a leg
  length nor more than 5% (about 1.3-4.5 cm for an adult);
* the marker must be above that tolerance at some frame in the 0.1 s up to the fall's peak; the first
  frame after that within the tolerance is its first frame on the floor, and the touch-down time is
  interpolated linearly between the last frame above and that frame, where the height crosses the
  tolerance. A contact between two frames is therefore reported between them, not at the next frame.

The foot's IC is the earlier of toe and heel; the heel's lag behind the toe scores LESS item 4. The
heights come from the analysis landmarks (:mod:`kneefix.motion.smoothing`: spike and Hampel filters,
then a zero-lag low-pass at 12 Hz capped at 0.8 x Nyquist, so barely any at 24-30 fps). That filter
rounds the corner where a marker stops, but symmetrically and over about a frame, so it moves the
tolerance crossing by a fraction of a frame; unfiltered landmarks were no better on synthetic landings
(their jitter costs more than the rounding). In a front view both feet are followed and paired,
giving IC per foot (LESS item 11); the landing's IC is the first foot's, and a "landing" of one foot
while the other, in view, never left the floor is a tracking glitch, not a landing. A landing also
needs every foot in view off the floor at one moment just before it (a step always has one down).

**Absorption** runs from IC to the next contact or 1 s, whichever is first: peak knee flexion in it,
hip flexion and trunk lean at IC and at that peak, displacements, and the hip:knee ratio = hip flexion
gained / knee flexion gained from IC to peak knee flexion ("hips back": the hips share the landing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.signal import find_peaks

from kneefix.motion.kinematics import Kinematics
from kneefix.motion.less import LessInputs, score_less
from kneefix.motion.side import mean_of, point
from kneefix.motion.types import LandingResult, Side
from kneefix.motion.valgus import knee_medial_offset, leg_length

FloatArray = NDArray[np.float64]

SIDES: tuple[Side, Side] = ("left", "right")
FALL_SPEED_LEGS_PER_S = 0.5
MIN_FALL_LEGS = 0.05  # the foot must come down from at least this height (leg lengths) to count
FALL_LOOKBACK_S = 0.6
AIRBORNE_LOOKBACK_S = 0.4
MIN_FALL_SPACING_S = 0.3
PAIR_WINDOW_S = 0.25
ABSORPTION_WINDOW_S = 1.0
FALL_FIT_S = 0.3  # the hips' fall is fitted over this long before contact
MIN_FALL_ACCEL_LEGS = 5.5  # leg lengths/s^2: half of free fall
LEG_NEAR_S = 0.5  # the leg length for it is measured this close to the contact
MIN_KNEE_DISPLACEMENT_FOR_RATIO = 5.0
STANCE_FROM_S = 0.1  # the stance that sets a marker's floor level, after the foot's fastest descent
STANCE_TO_S = 0.3
MIN_STANCE_SAMPLES = 3
TOUCH_SIGMAS = 3.0  # "on the floor": within this many robust SDs of the marker's stance scatter ...
TOUCH_MIN_LEGS = 0.015  # ... never closer than this share of a leg length (landmark noise) ...
TOUCH_MAX_LEGS = 0.05  # ... and never further (about 4-5 cm for an adult)
FALLING_AT_PEAK_S = 0.1  # a marker must be clearly above its floor this close before the fastest descent


@dataclass(frozen=True)
class FootContact:
    """One foot's touch-down: ``time_s`` is the earlier of its toe and heel touch-downs (seconds,
    interpolated between frames); either of those is None when that marker gave no touch-down."""

    side: Side
    time_s: float
    toe_s: float | None
    heel_s: float | None


@dataclass(frozen=True)
class LandingEvent:
    """One landing: its initial contact (the first foot's) and the contact of each foot seen landing."""

    initial_contact_s: float
    contacts: dict[Side, FootContact]


def _velocity(t: FloatArray, y: FloatArray) -> FloatArray:
    v = np.full_like(y, np.nan)
    good = np.isfinite(y)
    if good.sum() < 3:
        return v
    filled = np.interp(t, t[good], y[good])
    v = np.asarray(np.gradient(filled, t), dtype=np.float64)
    v[~good] = np.nan
    return v


def _floor_and_tolerance(
    t: FloatArray, y: FloatArray, peak: int, stop: int, length: float
) -> tuple[float, float] | None:
    """This marker's floor level (image y, px) and how close to it counts as touching it.

    The floor is the median of the marker's height over the stance 0.1-0.3 s after the foot's fastest
    descent: late enough for a toe-first foot to have put its heel down, early enough to end before a
    rebound, and measured per marker because the toe and heel landmarks rest at different heights.
    The tolerance is three robust SDs of the marker's scatter about that level in the same stance (pose
    jitter plus the slow drift of a loaded foot), kept between 1.5% and 5% of a leg length: never
    finer than the landmark noise, never so coarse that a foot still well up counts as down.

    None when there is no stance to measure: too few samples, or the marker still travelling at a
    falling speed (a peak of speed in mid-flight, not at a landing).
    """
    window = (t >= t[peak] + STANCE_FROM_S) & (t <= t[peak] + STANCE_TO_S) & np.isfinite(y)
    window[stop:] = False
    if window.sum() < MIN_STANCE_SAMPLES:
        return None
    stance, times = y[window], t[window]
    half = stance.shape[0] // 2
    drift = abs(float(np.median(stance[-half:]) - np.median(stance[:half])))
    span = float(np.median(times[-half:]) - np.median(times[:half]))
    if span <= 0 or drift / span > FALL_SPEED_LEGS_PER_S * length:
        return None
    floor = float(np.median(stance))
    scatter = 1.4826 * float(np.median(np.abs(stance - floor)))
    tolerance = float(np.clip(TOUCH_SIGMAS * scatter, TOUCH_MIN_LEGS * length, TOUCH_MAX_LEGS * length))
    return floor, tolerance


def _touch_time(t: FloatArray, y: FloatArray, peak: int, stop: int, length: float) -> float | None:
    """The first moment after a fall that this marker (image y, down positive) reaches its floor.

    The marker must be clearly above its floor (by more than the tolerance) at some sample in the
    0.1 s up to the foot's fastest descent; the first later sample within the tolerance is its first
    frame on the floor. The touch time is interpolated linearly between that sample and the one
    before, where the height above the floor crosses the tolerance, so a touch that happened between
    two frames is reported between them rather than at the next frame. None when the marker was
    never clearly above its floor there (it did not fall) or never came down before ``stop``.
    """
    found = _floor_and_tolerance(t, y, peak, stop, length)
    if found is None:
        return None
    floor, tolerance = found
    height = floor - y
    idx = np.flatnonzero(np.isfinite(height[:stop]))
    up = idx[(idx <= peak) & (t[idx] >= t[peak] - FALLING_AT_PEAK_S) & (height[idx] > tolerance)]
    if up.size == 0:
        return None
    down = idx[(idx > up[-1]) & (height[idx] <= tolerance)]
    if down.size == 0:
        return None
    b = int(down[0])
    a = int(idx[np.searchsorted(idx, b) - 1])  # the last sample above the tolerance
    frac = (height[a] - tolerance) / (height[a] - height[b])
    return float(t[a] + np.clip(frac, 0.0, 1.0) * (t[b] - t[a]))


def foot_contacts(t: FloatArray, xy: FloatArray, side: Side) -> list[FootContact]:
    """Every landing of one foot in the clip, with its toe and heel touch-down times."""
    toe_y, heel_y = point(xy, f"{side}_foot_index")[:, 1], point(xy, f"{side}_heel")[:, 1]
    ankle_y = point(xy, f"{side}_ankle")[:, 1]
    foot_y = mean_of([toe_y, heel_y, ankle_y])
    length = leg_length(xy, side)
    n = t.shape[0]
    if n < 5 or not np.isfinite(length) or length <= 0:
        return []
    fps = (n - 1) / max(float(t[-1] - t[0]), 1e-9)
    v_foot = _velocity(t, foot_y)
    search = np.where(np.isfinite(v_foot), v_foot, 0.0)
    peaks, _ = find_peaks(
        search, height=FALL_SPEED_LEGS_PER_S * length, distance=max(1, round(MIN_FALL_SPACING_S * fps))
    )
    contacts: list[FootContact] = []
    lookback = max(1, round(FALL_LOOKBACK_S * fps))
    ahead = max(1, round(0.15 * fps))
    for i, j in enumerate(peaks):
        before = foot_y[max(0, j - lookback) : j + 1]
        after = foot_y[j : j + ahead + 1]
        if not (np.isfinite(before).any() and np.isfinite(after).any()):
            continue
        if float(np.nanmax(after) - np.nanmin(before)) < MIN_FALL_LEGS * length:
            continue
        stop = int(peaks[i + 1]) if i + 1 < len(peaks) else n
        toe = _touch_time(t, toe_y, int(j), stop, length)
        heel = _touch_time(t, heel_y, int(j), stop, length)
        times = [x for x in (toe, heel) if x is not None]
        if not times:
            continue
        contacts.append(FootContact(side, min(times), toe, heel))
    return contacts


def find_landings(kin: Kinematics) -> list[LandingEvent]:
    """Landings in time order; in a front view each pairs the two feet's contacts."""
    sides: tuple[Side, ...] = ("left", "right") if kin.view == "front" else (kin.side,)
    all_contacts = sorted(
        (c for side in sides for c in foot_contacts(kin.time_s, kin.xy, side)), key=lambda c: c.time_s
    )
    events: list[LandingEvent] = []
    for contact in all_contacts:
        if events:
            last = events[-1]
            close = contact.time_s - last.initial_contact_s <= PAIR_WINDOW_S
            if close and contact.side not in last.contacts:
                last.contacts[contact.side] = contact
                continue
            if close:
                continue  # a second stop of the same foot within one landing (a bounce or jitter)
        events.append(LandingEvent(contact.time_s, {contact.side: contact}))
    if len(sides) == 2:
        events = [e for e in events if len(e.contacts) == 2 or not _other_foot_seen(kin, e)]
    return [
        e
        for e in events
        if _airborne_before(kin, e.initial_contact_s) and _hips_falling(kin, e.initial_contact_s)
    ]


def _hips_falling(kin: Kinematics, ic: float) -> bool:
    """Whether the hips come down like a body in the air just before contact.

    In flight the whole body falls freely: about 11 leg lengths/s^2 (9.81 m/s^2 over a leg of ~0.9 m). A
    parabola fitted to the hips' height over the last ``FALL_FIT_S`` before contact gives their downward
    acceleration, in leg lengths measured within ``LEG_NEAR_S`` of the contact (a camera may follow or
    the person come closer); a landing needs at least ``MIN_FALL_ACCEL_LEGS``. On the shared clips real
    flights (jump squats, countermovement jumps, hops) gave 6.5-20 leg lengths/s^2, while the "landings"
    found in squat and deadlift clips analysed as landings (a foot landmark leaping behind a barbell
    plate while the hips lower or rise) gave -3.2 to 5.3, but for one on a track already called poor,
    and a person hanging upside down from a bar -1.9. Hips not in view cannot testify, so they do not
    rule a landing out.
    """
    t = kin.time_s
    hips = mean_of([point(kin.xy, f"{side}_hip")[:, 1] for side in SIDES])
    near = np.abs(t - ic) <= LEG_NEAR_S  # the person's size in the picture here (a camera may follow)
    length = np.nanmedian([leg_length(kin.xy[near], side) for side in SIDES])
    window = (t >= ic - FALL_FIT_S) & (t <= ic)
    seen = window & np.isfinite(hips)
    if seen.sum() < max(4, 0.6 * window.sum()) or not np.isfinite(length) or length <= 0:
        return True
    curve = np.polyfit(t[seen] - ic, hips[seen] / length, 2)
    return bool(2.0 * curve[0] >= MIN_FALL_ACCEL_LEGS)  # image y grows downwards


def _airborne_before(kin: Kinematics, ic: float) -> bool:
    """Whether, just before contact, every foot in view was off the floor at the same moment.

    This is what separates a landing from a step: when walking, one foot is always on the ground.
    """
    t = kin.time_s
    before = (t >= ic - AIRBORNE_LOOKBACK_S) & (t < ic)
    after = (t >= ic) & (t <= ic + 0.15)
    if not before.any() or not after.any():
        return True
    up = np.ones(int(before.sum()), dtype=bool)
    for side in SIDES:
        y = mean_of([point(kin.xy, f"{side}_{n}")[:, 1] for n in ("ankle", "heel", "foot_index")])
        length = leg_length(kin.xy, side)
        seen_before, seen_after = np.isfinite(y[before]), np.isfinite(y[after])
        if seen_before.mean() < 0.5 or not seen_after.any() or not np.isfinite(length):
            continue  # this foot was not in view: it cannot testify
        ground = float(np.nanmedian(y[after]))
        with np.errstate(invalid="ignore"):
            up &= (ground - y[before] > MIN_FALL_LEGS * length) | ~seen_before
    return bool(up.any())


def _other_foot_seen(kin: Kinematics, event: LandingEvent) -> bool:
    """Whether the foot that did not 'land' was in view around the contact (then it was a glitch)."""
    (side,) = event.contacts
    other: Side = "right" if side == "left" else "left"
    near = np.abs(kin.time_s - event.initial_contact_s) <= PAIR_WINDOW_S
    y = point(kin.xy, f"{other}_foot_index")[near, 1]
    return bool(near.any() and np.isfinite(y).mean() > 0.8)


def _at(t: FloatArray, values: FloatArray, when: float) -> float | None:
    good = np.isfinite(values)
    if good.sum() < 2 or when < t[good][0] or when > t[good][-1]:
        return None
    return float(np.interp(when, t[good], values[good]))


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _stance_ratio(kin: Kinematics, when: float) -> float | None:
    feet = []
    for side in ("left", "right"):
        parts = [point(kin.xy, f"{side}_{n}")[:, 0] for n in ("ankle", "heel", "foot_index")]
        feet.append(_at(kin.time_s, mean_of(parts), when))
    shoulders = [_at(kin.time_s, point(kin.xy, f"{s}_shoulder")[:, 0], when) for s in ("left", "right")]
    if None in feet or None in shoulders:
        return None
    assert feet[0] is not None and feet[1] is not None
    assert shoulders[0] is not None and shoulders[1] is not None
    width = abs(shoulders[0] - shoulders[1])
    return abs(feet[0] - feet[1]) / width if width > 0 else None


def _max_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def landing_result(
    number: int, event: LandingEvent, next_ic: float | None, kin: Kinematics
) -> LandingResult | None:
    """Measure one landing, including the LESS items its view allows (None if the legs were not seen)."""
    t = kin.time_s
    ic = event.initial_contact_s
    end = min(ic + ABSORPTION_WINDOW_S, (next_ic - 0.05) if next_ic is not None else np.inf, float(t[-1]))
    window = np.flatnonzero((t >= ic) & (t <= end) & np.isfinite(kin.knee_flexion))
    if window.size:
        k = int(window[np.argmax(kin.knee_flexion[window])])
        peak_s, peak_knee = float(t[k]), float(kin.knee_flexion[k])
    else:
        peak_s, peak_knee = ic, float("nan")
    knee_ic = _at(t, kin.knee_flexion, ic)
    hip_ic = _at(t, kin.hip_flexion, ic)
    hip_peak = _at(t, kin.hip_flexion, peak_s)
    if knee_ic is None or hip_ic is None or hip_peak is None or not np.isfinite(peak_knee):
        return None
    trunk_ic = _at(t, kin.trunk_inclination, ic)
    trunk_peak = _at(t, kin.trunk_inclination, peak_s)
    knee_disp = _diff(peak_knee if np.isfinite(peak_knee) else None, knee_ic)
    hip_disp = _diff(hip_peak, hip_ic)
    ratio = None
    if knee_disp is not None and hip_disp is not None and knee_disp >= MIN_KNEE_DISPLACEMENT_FOR_RATIO:
        ratio = hip_disp / knee_disp

    front = kin.view == "front"
    valgus_ic = {s: _at(t, getattr(kin, f"valgus_{s}"), ic) for s in ("left", "right")}
    valgus_peak = {s: _at(t, getattr(kin, f"valgus_{s}"), peak_s) for s in ("left", "right")}
    medial_ic = medial_peak = None
    lateral = stance = gap = None
    if front:
        offsets = {s: knee_medial_offset(kin.xy, s) for s in ("left", "right")}
        medial_ic = _max_or_none([_at(t, offsets[s], ic) for s in ("left", "right")])
        medial_peak = _max_or_none([_at(t, offsets[s], peak_s) for s in ("left", "right")])
        tilt = _at(t, kin.trunk_lateral, ic)
        lateral = abs(tilt) if tilt is not None else None
        stance = _stance_ratio(kin, ic)
        if len(event.contacts) == 2:
            gap = abs(event.contacts["left"].time_s - event.contacts["right"].time_s) * 1000.0
    main = event.contacts.get(kin.side) or next(iter(event.contacts.values()))
    heel_after_toe = None
    if main.toe_s is not None and main.heel_s is not None:
        heel_after_toe = (main.heel_s - main.toe_s) * 1000.0
    frame_ms = 1000.0 / kin.fps if kin.fps > 0 else 33.0
    less_items, less_total = score_less(
        LessInputs(
            view=kin.view,
            frame_ms=frame_ms,
            knee_ic=None if front else knee_ic,
            hip_ic=None if front else hip_ic,
            trunk_ic=None if front else trunk_ic,
            knee_displacement=None if front else knee_disp,
            hip_displacement=None if front else hip_disp,
            trunk_change=None if front else _diff(trunk_peak, trunk_ic),
            heel_after_toe_ms=None if front else heel_after_toe,
            medial_ic=medial_ic,
            medial_peak=medial_peak,
            lateral_trunk_ic=lateral,
            stance_ratio=stance,
            contact_gap_ms=gap,
        )
    )
    left, right = event.contacts.get("left"), event.contacts.get("right")
    return LandingResult(
        landing=number,
        initial_contact_s=round(ic, 3),
        hip_flexion_ic_deg=round(hip_ic, 1),
        knee_flexion_ic_deg=round(knee_ic, 1),
        peak_knee_flexion_s=round(peak_s, 3),
        peak_knee_flexion_deg=round(peak_knee, 1),
        hip_flexion_at_peak_knee_deg=round(hip_peak, 1),
        knee_flexion_displacement_deg=_r(knee_disp),
        hip_flexion_displacement_deg=_r(hip_disp),
        hip_knee_ratio=_r(ratio, 2),
        trunk_flexion_ic_deg=_r(trunk_ic),
        trunk_flexion_at_peak_knee_deg=_r(trunk_peak),
        ankle_dorsiflexion_ic_deg=_r(_at(t, kin.ankle_dorsiflexion, ic)),
        valgus_ic_deg=_r(_max_or_none(list(valgus_ic.values()))) if front else None,
        valgus_peak_deg=_r(_max_or_none(list(valgus_peak.values()))) if front else None,
        valgus_left_peak_deg=_r(valgus_peak["left"]) if front else None,
        valgus_right_peak_deg=_r(valgus_peak["right"]) if front else None,
        initial_contact_left_s=None if left is None else round(left.time_s, 3),
        initial_contact_right_s=None if right is None else round(right.time_s, 3),
        less=less_items,
        less_total_measured=less_total,
    )


def analyze_landings(kin: Kinematics) -> tuple[list[LandingResult], int]:
    """All landings in a clip, and how many were found but could not be measured (legs not seen)."""
    events = find_landings(kin)
    results: list[LandingResult] = []
    skipped = 0
    for i, event in enumerate(events):
        next_ic = events[i + 1].initial_contact_s if i + 1 < len(events) else None
        result = landing_result(len(results) + 1, event, next_ic, kin)
        if result is None:
            skipped += 1
        else:
            results.append(result)
    return results, skipped
