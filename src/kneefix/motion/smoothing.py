"""Landmark cleaning: the biomechanics recipe, made safe for phone clips.

Order and reasons (after Sports2D / Pose2Sim, adapted):

1. Landmarks the model itself doubts (visibility < 0.5) become gaps: a guessed joint is worse than none.
2. Hampel filter, 7 samples, 3 robust SDs: one-frame jumps (the model snapping to the other leg or to a
   shadow) are replaced by the local median before they can ring through the low-pass filter. Jumps
   under 5% of the person's leg length are never touched: in a landing the ankle genuinely reverses
   by nearly that much within a frame when the heel drops, and a plain Hampel filter would clip it.
   During fast movement the Hampel window spans the motion itself and cannot see an outlier, so a
   spike pass first replaces any single sample that leaves BOTH neighbours by more than that floor.
3. Only SHORT gaps (<= 0.2 s) are filled, by linear interpolation in real time. Longer gaps stay unknown:
   inventing a whole lowering phase would invent the very onsets we measure.
4. Phone clips are often variable-rate, so when the timestamps are irregular the signal is resampled to a
   uniform grid for filtering and interpolated back: every result keeps the frames' real timestamps.
5. Zero-lag 4th-order Butterworth low-pass (``sosfiltfilt``), cut-off per movement: 6 Hz for squats and
   deadlifts (their content is below 3 Hz), 12 Hz for landings (contact is a sharp event), always capped at
   0.8 x Nyquist of the clip's frame rate. Zero lag matters: a causal filter would delay every onset.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray
from scipy.signal import butter, sosfiltfilt

from kneefix.motion.types import LandmarkSeries, Movement

FloatArray = NDArray[np.float64]

VISIBILITY_MIN = 0.5
MAX_GAP_S = 0.2
HAMPEL_WINDOW = 7
HAMPEL_SIGMAS = 3.0
HAMPEL_FLOOR_LEGS = 0.05  # never call a jump smaller than 5% of leg length an outlier
CUTOFF_HZ: dict[str, float] = {"squat": 6.0, "deadlift": 6.0, "single-leg-squat": 6.0, "landing": 12.0}
NYQUIST_FRACTION = 0.8
IRREGULAR_TOLERANCE = 0.05  # steps differing from the median step by more than 5% count as irregular


def choose_cutoff(movement: Movement, fps: float) -> float:
    """The low-pass cut-off for this movement, capped below the clip's Nyquist frequency (0 = no filter)."""
    if fps <= 0:
        return 0.0
    cutoff = min(CUTOFF_HZ[movement], NYQUIST_FRACTION * fps / 2.0)
    return cutoff if cutoff >= 1.0 else 0.0


def _running_nanmedian(values: FloatArray, window: int) -> FloatArray:
    half = window // 2
    padded = np.pad(values, [(half, half)] + [(0, 0)] * (values.ndim - 1), mode="edge")
    windows = sliding_window_view(padded, window, axis=0)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows (no person) are expected
        result: FloatArray = np.nanmedian(windows, axis=-1)
    return result


def hampel(values: FloatArray, window: int = HAMPEL_WINDOW, floor: float = 0.0) -> FloatArray:
    """Replace samples further than 3 robust SDs from their window's median (NaN-aware, per column).

    ``floor`` is the smallest deviation ever called an outlier, so jitter in a still segment (where the
    MAD is ~0) and genuine quick reversals are left alone.
    """
    out = values.copy()
    if values.shape[0] < window:
        return out
    half = window // 2
    padded = np.pad(values, [(half, half)] + [(0, 0)] * (values.ndim - 1), mode="edge")
    windows = sliding_window_view(padded, window, axis=0)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows (no person) are expected
        median = np.nanmedian(windows, axis=-1)
        mad = 1.4826 * np.nanmedian(np.abs(windows - median[..., None]), axis=-1)
    limit = np.maximum(HAMPEL_SIGMAS * mad, floor)
    with np.errstate(invalid="ignore"):
        outlier = np.abs(values - median) > limit
    outlier &= np.isfinite(values) & np.isfinite(median)
    out[outlier] = median[outlier]
    return out


def remove_spikes(values: FloatArray, floor: float) -> FloatArray:
    """Replace one-sample spikes: a sample that jumps away from BOTH neighbours by more than ``floor``.

    The Hampel filter cannot see these during fast movement (its window then spans the whole motion,
    so its MAD is large); a real joint cannot leave and come back by that much within one frame.
    The sample becomes the mean of its neighbours.
    """
    out = values.copy()
    if values.shape[0] < 3 or floor <= 0:
        return out
    mid, before, after = values[1:-1], values[:-2], values[2:]
    with np.errstate(invalid="ignore"):
        up = (mid - before > floor) & (mid - after > floor)
        down = (before - mid > floor) & (after - mid > floor)
    deviation = np.abs(mid - (before + after) / 2.0)
    deviation = np.where(np.isfinite(deviation), deviation, 0.0)
    padded = np.pad(deviation, [(1, 1)] + [(0, 0)] * (values.ndim - 1))
    strongest = (deviation >= padded[:-2]) & (deviation >= padded[2:])  # not the spike's neighbours
    spike = (up | down) & strongest
    out[1:-1][spike] = ((before + after) / 2.0)[spike]
    return out


def fill_short_gaps(values: FloatArray, time_s: FloatArray, max_gap_s: float = MAX_GAP_S) -> FloatArray:
    """Linearly fill interior NaN runs spanning at most ``max_gap_s`` (per column); leave the rest."""
    out = values.copy()
    flat = out.reshape(out.shape[0], -1)
    for c in range(flat.shape[1]):
        column = flat[:, c]
        good = np.isfinite(column)
        if good.all() or good.sum() < 2:
            continue
        idx = np.flatnonzero(good)
        gaps = np.flatnonzero(np.diff(idx) > 1)
        for g in gaps:
            a, b = idx[g], idx[g + 1]
            if time_s[b] - time_s[a] <= max_gap_s + 1e-9:
                span = time_s[a + 1 : b]
                column[a + 1 : b] = np.interp(span, [time_s[a], time_s[b]], [column[a], column[b]])
    return out


def _lowpass_runs(values: FloatArray, fs: float, cutoff: float) -> FloatArray:
    """Butterworth low-pass on each finite run of each column; runs too short to filter are kept."""
    out = values.copy()
    if cutoff <= 0 or fs <= 0:
        return out
    sos = butter(4, cutoff / (fs / 2.0), btype="low", output="sos")
    flat = out.reshape(out.shape[0], -1)
    for c in range(flat.shape[1]):
        column = flat[:, c]
        good = np.isfinite(column)
        if not good.any():
            continue
        edges = np.flatnonzero(np.diff(np.concatenate(([0], good.astype(np.int8), [0]))))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            if stop - start < 6:
                continue
            segment = column[start:stop]
            column[start:stop] = sosfiltfilt(sos, segment, padlen=min(27, stop - start - 1))
    return out


def is_irregular(time_s: FloatArray) -> bool:
    """True when the frame steps vary by more than 5% (variable-rate phone clips, dropped frames)."""
    if time_s.shape[0] < 3:
        return False
    steps = np.diff(time_s)
    median = float(np.median(steps))
    return bool(median > 0 and np.max(np.abs(steps - median)) > IRREGULAR_TOLERANCE * median)


def _interp_nan(x_new: FloatArray, x_old: FloatArray, values: FloatArray, max_gap_s: float) -> FloatArray:
    """Interpolate columns to new times, keeping NaN where the old samples around a time are too far apart."""
    flat = values.reshape(values.shape[0], -1)
    out = np.full((x_new.shape[0], flat.shape[1]), np.nan)
    for c in range(flat.shape[1]):
        good = np.isfinite(flat[:, c])
        if good.sum() < 2:
            continue
        xs, ys = x_old[good], flat[good, c]
        column = np.interp(x_new, xs, ys, left=np.nan, right=np.nan)
        pos = np.clip(np.searchsorted(xs, x_new), 1, xs.shape[0] - 1)
        too_far = (xs[pos] - xs[pos - 1]) > max_gap_s + 1e-9
        exact = np.isclose(xs[pos - 1], x_new) | np.isclose(xs[pos], x_new)
        column[too_far & ~exact] = np.nan
        out[:, c] = column
    return out.reshape((x_new.shape[0], *values.shape[1:]))


def lowpass(values: FloatArray, time_s: FloatArray, cutoff: float) -> FloatArray:
    """Zero-lag low-pass in real time: resampled to a uniform grid first when the timestamps are irregular."""
    n = time_s.shape[0]
    if n < 6 or cutoff <= 0:
        return values.copy()
    span = float(time_s[-1] - time_s[0])
    if span <= 0:
        return values.copy()
    if not is_irregular(time_s):
        return _lowpass_runs(values, (n - 1) / span, cutoff)
    fs = 1.0 / float(np.median(np.diff(time_s)))
    grid = time_s[0] + np.arange(int(np.floor(span * fs)) + 1) / fs
    gap = max(MAX_GAP_S, 2.5 / fs)
    on_grid = _interp_nan(grid, time_s, values, gap)
    filtered = _lowpass_runs(on_grid, fs, min(cutoff, NYQUIST_FRACTION * fs / 2.0))
    back = _interp_nan(time_s, grid, filtered, gap)
    missing = ~np.isfinite(back) & np.isfinite(values)
    back[missing] = values[missing]  # the last samples past the grid's end keep their cleaned value
    return back


def body_scale(xy: FloatArray, series: LandmarkSeries) -> float:
    """The person's median hip-knee-ankle length in pixels: a scale that follows the person, not the frame."""
    lengths = []
    for hip, knee, ankle in ((23, 25, 27), (24, 26, 28)):
        thigh = np.linalg.norm(xy[:, knee] - xy[:, hip], axis=1)
        shank = np.linalg.norm(xy[:, ankle] - xy[:, knee], axis=1)
        lengths.append(thigh + shank)
    total = np.concatenate(lengths)
    total = total[np.isfinite(total)]
    if total.size:
        return float(np.median(total))
    return 0.25 * float(max(series.width, series.height, 1))


def clean_landmarks(series: LandmarkSeries, cutoff: float) -> FloatArray:
    """The cleaned, low-passed ``(N, 33, 2)`` landmarks at the series' own timestamps (NaN = unknown)."""
    xy = series.xy.astype(np.float64, copy=True)
    xy[series.visibility < VISIBILITY_MIN] = np.nan
    floor = HAMPEL_FLOOR_LEGS * body_scale(xy, series)
    xy = hampel(remove_spikes(xy, floor), floor=floor)
    xy = fill_short_gaps(xy, series.time_s)
    return lowpass(xy, series.time_s, cutoff)
