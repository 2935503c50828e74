"""Jump landings: initial contact, absorption, "hips back", and the LESS items the view allows.

**Initial contact (IC)** is when the foot stops falling. The foot's downward image velocity is taken
from landmarks low-passed at 12 Hz (landings are fast; the cut-off is capped below Nyquist for the
clip). Each fall is a peak of that velocity above 0.5 leg lengths per second (a 30 cm drop reaches ~3;
a 10 cm hop filmed at 20 fps still shows ~0.7) from at least 5% of a leg length up, at least 0.3 s
from the next. For the toe and for the heel separately, IC is where the velocity drops
through half of its peak just before: a zero-lag filter smears the abrupt stop symmetrically, so the
half-way crossing sits on the true stop, and it is interpolated between frames. The foot's IC is the
earlier of toe and heel (which one came first also scores LESS item 4). In a front view both feet are
followed and paired, giving IC per foot (LESS item 11); the landing's IC is the first foot's, and a
"landing" of one foot while the other, in view, never left the floor is a tracking glitch, not a landing.

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
MIN_KNEE_DISPLACEMENT_FOR_RATIO = 5.0


@dataclass(frozen=True)
class FootContact:
    side: Side
    time_s: float
    toe_s: float | None
    heel_s: float | None


@dataclass(frozen=True)
class LandingEvent:
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


def _stop_time(t: FloatArray, v: FloatArray, centre: int, fps: float) -> float | None:
    """Where this marker's downward velocity falls through half of its peak near ``centre``.

    The peak is the second-fastest sample (one outlier frame cannot set it) and the drop must hold
    for two samples (the rebound of a one-frame outlier does not count as a stop).
    """
    reach = max(2, round(0.12 * fps))
    lo, hi = max(0, centre - reach), min(v.shape[0], centre + reach + 1)
    local = v[lo:hi]
    finite = np.flatnonzero(np.isfinite(local))
    if finite.size < 2:
        return None
    order = finite[np.argsort(local[finite])]
    j = lo + int(order[-1])
    peak = float(local[order[-2]])
    if peak <= 0:
        return None
    half = 0.5 * peak
    n = v.shape[0]
    for k in range(j + 1, min(n, j + 4 * reach)):
        if not np.isfinite(v[k]) or not np.isfinite(v[k - 1]):
            continue
        sustained = k + 1 >= n or not np.isfinite(v[k + 1]) or v[k + 1] <= half
        if v[k] <= half < v[k - 1] and sustained:
            frac = (v[k - 1] - half) / (v[k - 1] - v[k])
            return float(t[k - 1] + np.clip(frac, 0.0, 1.0) * (t[k] - t[k - 1]))
    return None


def foot_contacts(t: FloatArray, xy: FloatArray, side: Side) -> list[FootContact]:
    """Every landing of one foot in the clip."""
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
    v_toe, v_heel = _velocity(t, toe_y), _velocity(t, heel_y)
    contacts: list[FootContact] = []
    lookback = max(1, round(FALL_LOOKBACK_S * fps))
    ahead = max(1, round(0.15 * fps))
    for j in peaks:
        before = foot_y[max(0, j - lookback) : j + 1]
        after = foot_y[j : j + ahead + 1]
        if not (np.isfinite(before).any() and np.isfinite(after).any()):
            continue
        if float(np.nanmax(after) - np.nanmin(before)) < MIN_FALL_LEGS * length:
            continue
        toe = _stop_time(t, v_toe, int(j), fps)
        heel = _stop_time(t, v_heel, int(j), fps)
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
    return [e for e in events if _airborne_before(kin, e.initial_contact_s)]


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
