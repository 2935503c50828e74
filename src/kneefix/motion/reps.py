"""Splitting a squat or deadlift into reps, and finding when each joint starts the lowering.

**Reps.** Each bottom is a peak of the main joint's flexion (knee for squats, hip for deadlifts), found
with ``scipy.signal.find_peaks`` using a prominence of max(15 deg, 35% of the clip's range) and at least
0.5 s between bottoms, so sway, a bounce at the bottom or a re-grip does not count as a rep. The signal is
padded with its standing level at both ends so a clip that starts or ends at the bottom (a deadlift
starting from the floor) still yields that rep, flagged partial. A rep ends when the joint is back within
10% of its range from standing (or at the next rep's lowest point in between).

**Onsets.** A fixed threshold ("first frame 5 deg above standing") reports late, and later for a joint
that moves slowly, which biases the hip-knee lag. Instead, for each joint and rep:

1. the standing baseline and its noise come from the samples before the lowering that sit within 10% of
   the rep's range from the standing level (median; robust SD from the MAD);
2. each joint is smoothed once more with a zero-lag low-pass whose cut-off scales with that joint's
   own lowering time D in this rep (1.2 / D Hz, kept within 0.7-4 Hz). A derivative amplifies jitter;
   scaling with D makes the whole estimate time-scale invariant, so whatever bias it has is the same
   fraction of each joint's lowering and the lag stays nearly unbiased for fast and slow joints alike.
   On synthetic clips with 2 px jitter this cut the median lag error from ~70 ms (no extra smoothing)
   and ~20 ms (one cut-off shared by both joints) to ~9 ms;
3. the rising flank of each joint's velocity between 8% and 40% of its peak is fitted with a straight
   line, and the onset is where that line reaches zero velocity: the moment the joint began to leave its
   baseline, back-extrapolated from the part of the movement well above the noise. Whatever small bias
   this has is nearly the same for hip and knee, so it cancels in the lag;
4. if the fit is unusable (too few samples, flat velocity), fall back to the first crossing of
   baseline + max(3 SD, 2 deg), walked back to where the velocity turned positive;
5. with less than 0.15 s of standing before the lowering, or an onset that would fall before that
   standing began (a clip that starts mid-way down), the onset is reported unknown, not guessed;
6. **both** methods (3 and 4) are always run; where both give a time and they differ by more than the
   call margin below plus one frame period (on synthetic clips the line method is ~20 ms late and the
   threshold one ~20 ms early, so they sit about a frame apart) plus 10% of the lowering time (the
   threshold method waits for a fixed 2 deg, which a slow joint reaches later), the onset is unknown:
   the frames do not pin it down well enough to call a lead;
7. the joint must have stood still for 0.25 s just before the onset (within max(3 SD, 2 deg) of its
   standing level): a weight shift, arms swinging the shoulders (which moves a hip angle built from the
   shoulder), or the tail of the previous rep's rise would otherwise be timed as an onset.

BlazePose places no landmark on the pelvis other than the hip joint centres, so a pelvis-based hip angle
cannot be built from its 2-D output; checks 6 and 7 are what keep shoulder movement out of the hip onset.

The initiation call uses a margin of max(two frame periods, 60 ms): below two frames a lead cannot be
seen at all, and 60 ms is larger than the onset error measured on synthetic clips with pose-model noise
(median ~10-20 ms, see tests/motion).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.signal import find_peaks

from kneefix.motion.smoothing import NYQUIST_FRACTION, lowpass

FloatArray = NDArray[np.float64]

INITIATION_MARGIN_MS = 60.0
MIN_PROMINENCE_DEG = 15.0
PROMINENCE_FRACTION = 0.35
MIN_REP_SPACING_S = 0.5
RETURN_FRACTION = 0.10
FIT_BAND = (0.08, 0.40)
ONSET_SMOOTHING_CYCLES = 1.2  # onset low-pass cut-off = this / lowering time (Hz)
ONSET_CUTOFF_RANGE_HZ = (0.7, 4.0)
ONSET_PAD_S = 1.0
MIN_BASELINE_S = 0.15  # standing needed before a lowering to time its onset
MIN_JOINT_EXCURSION_DEG = 4.0
AGREEMENT_LOWERING_FRACTION = 0.1  # of the lowering time, added to the methods' agreement tolerance
QUIET_S = 0.25  # still standing needed just before an onset
QUIET_GAP_S = 0.05  # ... ending this long before it (the first frames of a movement are within noise)
QUIET_BAND_DEG = 2.0
QUIET_SHARE = 0.8  # of the samples in that time within the band (a glitch frame does not break it)

Initiation = Literal["hips", "knees", "together", "unknown"]


@dataclass(frozen=True)
class RepWindow:
    """Sample indices of one rep: where its search starts (after the previous rep), bottom and end."""

    search_start: int
    bottom: int
    end: int
    partial_start: bool  # the clip starts at or near the bottom: no standing before this lowering
    partial_end: bool  # the clip ends before the person stood back up


@dataclass(frozen=True)
class Onset:
    time_s: float | None
    baseline_deg: float
    noise_deg: float
    method: str  # "velocity-line", "threshold" or "none"
    reason: str = ""  # why the time is unknown, in words


def _filled(values: FloatArray) -> FloatArray:
    """NaNs linearly bridged (for finding peaks only)."""
    good = np.isfinite(values)
    if good.all() or not good.any():
        return values.copy()
    idx = np.arange(values.shape[0])
    result: FloatArray = np.interp(idx, idx[good], values[good])
    return result


def find_reps(time_s: FloatArray, signal: FloatArray) -> list[RepWindow]:
    """The reps in a flexion track (degrees), each by its bottom, in time order."""
    finite = signal[np.isfinite(signal)]
    n = signal.shape[0]
    if finite.size < 5 or n < 5:
        return []
    low, high = float(np.percentile(finite, 5)), float(np.percentile(finite, 95))
    span = high - low
    prominence = max(MIN_PROMINENCE_DEG, PROMINENCE_FRACTION * span)
    if span < prominence:
        return []
    x = _filled(signal)
    duration = float(time_s[-1] - time_s[0])
    fps = (n - 1) / duration if duration > 0 else 30.0
    distance = max(1, round(MIN_REP_SPACING_S * fps))
    padded = np.concatenate(([low], x, [low]))
    peaks, _ = find_peaks(padded, prominence=prominence, distance=distance)
    peaks = [int(p) - 1 for p in peaks]
    peaks = [min(max(p, 0), n - 1) for p in peaks]
    interior = [p for p in peaks if 0 < p < n - 1]
    reference = float(np.median(x[interior])) if interior else high
    kept = []
    for p in peaks:
        at_edge = p <= 0 or p >= n - 1
        if at_edge and x[p] < low + 0.7 * (reference - low):
            continue  # the clip merely starts or ends part-way down: not a rep
        kept.append(p)

    reps: list[RepWindow] = []
    search_start = 0
    for k, p in enumerate(kept):
        nxt = kept[k + 1] if k + 1 < len(kept) else n - 1
        between = x[p : nxt + 1]
        trough_at = p + int(np.argmin(between)) if k + 1 < len(kept) else n - 1
        trough = float(np.min(between))
        level = min(trough, low) if k + 1 == len(kept) else trough
        back = np.flatnonzero(x[p : trough_at + 1] <= level + RETURN_FRACTION * (x[p] - level))
        partial_end = back.size == 0
        end = p + int(back[0]) if back.size else (trough_at if k + 1 < len(kept) else n - 1)
        before = x[search_start : p + 1]
        partial_start = not bool(np.any(before <= low + 0.2 * (x[p] - low))) or p == 0
        reps.append(RepWindow(search_start, p, end, partial_start, partial_end))
        search_start = end
    return reps


def _robust_sd(values: FloatArray) -> float:
    if values.size < 3:
        return float("nan")
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def _crossing_time(t: FloatArray, v: FloatArray, i: int, level: float) -> float:
    """Sub-frame time where ``v`` crosses ``level`` between samples ``i - 1`` and ``i``."""
    if i <= 0 or v[i] == v[i - 1]:
        return float(t[i])
    frac = (level - v[i - 1]) / (v[i] - v[i - 1])
    return float(t[i - 1] + np.clip(frac, 0.0, 1.0) * (t[i] - t[i - 1]))


def lowering_time(time_s: FloatArray, main: FloatArray, window: RepWindow) -> float:
    """Rough lowering time of a rep: from the main joint's last sample near standing to the bottom."""
    a, p = window.search_start, window.bottom
    x = main[a : p + 1]
    if not np.isfinite(x).any():
        return 1.0
    low = float(np.nanpercentile(x, 5))
    near = np.flatnonzero(x < low + 0.1 * (float(np.nanmax(x)) - low))
    if near.size == 0:
        return 1.0
    return max(float(time_s[p] - time_s[a + int(near[-1])]), 0.1)


def onset_cutoff(lowering_s: float, fps: float) -> float:
    """The extra low-pass applied before finding onsets, scaled to the rep's own tempo."""
    lo, hi = ONSET_CUTOFF_RANGE_HZ
    cutoff = float(np.clip(ONSET_SMOOTHING_CYCLES / lowering_s, lo, hi))
    return min(cutoff, NYQUIST_FRACTION * fps / 2.0) if fps > 0 else 0.0


def smooth_for_onsets(time_s: FloatArray, angle: FloatArray, window: RepWindow, cutoff: float) -> FloatArray:
    """The joint track around this rep's lowering, low-passed at ``cutoff`` (zero lag, NaN-aware)."""
    a, p = window.search_start, window.bottom
    lo = int(np.searchsorted(time_s, time_s[a] - ONSET_PAD_S))
    hi = int(np.searchsorted(time_s, time_s[p] + ONSET_PAD_S, side="right"))
    out = angle.copy()
    out[lo:hi] = lowpass(angle[lo:hi, None], time_s[lo:hi], cutoff)[:, 0]
    return out


def find_onset(
    time_s: FloatArray, angle: FloatArray, window: RepWindow, unsmoothed: FloatArray | None = None
) -> Onset:
    """When one joint left its standing baseline at the start of this rep's lowering.

    ``angle`` should already be smoothed for onsets (:func:`smooth_for_onsets`); ``unsmoothed`` is the
    same joint before that extra smoothing, for the stillness check (the extra low-pass smears the
    previous rep's rise into the standing before this one).
    """
    a, p = window.search_start, window.bottom
    t, x = time_s[a : p + 1], angle[a : p + 1]
    good = np.isfinite(x)
    if good.sum() < 5:
        return Onset(None, float("nan"), float("nan"), "none", "the joint was not seen in this rep")
    tail = x[max(0, x.shape[0] - 3) :]
    peak = float(np.nanmax(tail)) if np.isfinite(tail).any() else float(np.nanmax(x))
    low = float(np.nanpercentile(x, 5))
    amplitude = peak - low
    if amplitude < MIN_JOINT_EXCURSION_DEG:
        return Onset(None, low, float("nan"), "none", "the joint barely moved")
    below_half = np.flatnonzero(good & (x < low + 0.5 * amplitude))
    if below_half.size == 0:
        return Onset(None, low, float("nan"), "none", "no standing before the lowering")
    i_half = int(below_half[-1]) + 1
    near_base = np.flatnonzero(good[:i_half] & (x[:i_half] < low + 0.1 * amplitude))
    if near_base.size == 0 or window.partial_start:
        return Onset(None, low, float("nan"), "none", "the clip starts during the lowering")
    i_low = int(near_base[-1])
    if float(t[i_low] - t[int(near_base[0])]) < MIN_BASELINE_S:
        return Onset(None, low, float("nan"), "none", "too little standing before the lowering")
    fps = (t.shape[0] - 1) / max(float(t[-1] - t[0]), 1e-9)
    base_idx = near_base[near_base >= i_low - round(1.0 * fps)]
    baseline = float(np.median(x[base_idx]))
    noise = _robust_sd(x[base_idx])
    noise = noise if np.isfinite(noise) else 1.0

    v = np.gradient(np.where(good, x, np.interp(t, t[good], x[good])), t)
    j_peak = i_low + int(np.argmax(v[i_low:]))
    v_peak = float(v[j_peak])
    line = _velocity_line_onset(t, v, i_low, j_peak, v_peak, fps)
    crossing = _threshold_onset(t, x, v, i_half, baseline, noise)
    onset, method = (line, "velocity-line") if line is not None else (crossing, "threshold")
    if onset is None:
        return Onset(None, baseline, noise, "none", "the start of the movement could not be timed")
    # The two methods' typical biases are about a frame apart, and the threshold one's grows with how
    # slowly the joint leaves standing (it waits for a fixed 2 deg): allow for both.
    lowering = float(t[-1] - t[i_low])
    tolerance = agreement_s(fps) + 1.0 / fps + AGREEMENT_LOWERING_FRACTION * lowering
    if line is not None and crossing is not None and abs(line - crossing) > tolerance:
        return Onset(None, baseline, noise, "none", "two ways of timing the start disagree")
    if onset <= float(t[int(near_base[0])]):
        return Onset(None, baseline, noise, "none", "the lowering began before the clip shows standing")
    still = x if unsmoothed is None else unsmoothed[a : p + 1]
    still_noise = _robust_sd(still[base_idx][np.isfinite(still[base_idx])])
    still_noise = max(noise, still_noise) if np.isfinite(still_noise) else noise
    if not _quiet_before(t, still, onset, float(np.nanmedian(still[base_idx])), still_noise):
        return Onset(None, baseline, noise, "none", "there is no still standing just before the lowering")
    onset = min(onset, float(t[min(i_half, t.shape[0] - 1)]))
    return Onset(onset, baseline, noise, method)


def agreement_s(fps: float) -> float:
    """The least lag that can be called: two frame periods, and never under 60 ms (seconds)."""
    frame = 1.0 / fps if fps > 0 else 0.0
    return max(2.0 * frame, INITIATION_MARGIN_MS / 1000.0)


def _quiet_before(t: FloatArray, x: FloatArray, onset: float, baseline: float, noise: float) -> bool:
    """Whether the joint held still at its standing level for ``QUIET_S`` just before ``onset``.

    "Still" is within max(3 noise SD, 2 deg) of the standing baseline: a weight shift, arm swing moving
    the shoulders, or the tail of the previous rise all break it, and then no onset is claimed.
    """
    window = (t >= onset - QUIET_S - QUIET_GAP_S) & (t <= onset - QUIET_GAP_S)
    values = x[window]
    values = values[np.isfinite(values)]
    if values.size < 3:
        return False
    span = float(t[window][-1] - t[window][0]) if window.any() else 0.0
    if span < QUIET_S * 0.6:
        return False
    band = max(3.0 * noise, QUIET_BAND_DEG)
    return bool(np.mean(np.abs(values - baseline) <= band) >= QUIET_SHARE)


def _velocity_line_onset(
    t: FloatArray, v: FloatArray, i_low: int, j_peak: int, v_peak: float, fps: float
) -> float | None:
    if v_peak <= 0:
        return None
    lo, hi = FIT_BAND
    k = j_peak
    while k > 0 and v[k] > hi * v_peak:
        k -= 1
    top = k
    while k > 0 and v[k] > lo * v_peak:
        k -= 1
    bottom = k  # first sample at or below the band's floor
    idx = np.arange(bottom + 1, top + 1)
    if idx.size >= 3:
        slope, intercept = np.polyfit(t[idx], v[idx], 1)
    else:
        t_lo = _crossing_time(t, v, bottom + 1, lo * v_peak)
        t_hi = _crossing_time(t, v, top + 1, hi * v_peak)
        if t_hi <= t_lo:
            return None
        slope = (hi - lo) * v_peak / (t_hi - t_lo)
        intercept = lo * v_peak - slope * t_lo
    if slope <= 0:
        return None
    return float(-intercept / slope)


def _threshold_onset(
    t: FloatArray, x: FloatArray, v: FloatArray, i_half: int, baseline: float, noise: float
) -> float | None:
    level = baseline + max(3.0 * noise, 2.0)
    above = np.flatnonzero(x[:i_half] < level)
    if above.size == 0:
        return None
    k = int(above[-1]) + 1
    while k > 0 and v[k - 1] > 0:
        k -= 1
    return float(t[min(k, t.shape[0] - 1)])


def classify_initiation(lag_ms: float | None, margin_ms: float = INITIATION_MARGIN_MS) -> Initiation:
    """``hips`` when the knees follow by at least the margin, ``knees`` when they lead by it.

    Callers pass ``agreement_s(fps) * 1000`` as the margin: below two frame periods a lead is not seen.
    """
    if lag_ms is None or not np.isfinite(lag_ms):
        return "unknown"
    if lag_ms >= margin_ms:
        return "hips"
    if lag_ms <= -margin_ms:
        return "knees"
    return "together"
