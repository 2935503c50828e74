"""Cleaning must remove pose-model glitches without moving or flattening real movement."""

from __future__ import annotations

import numpy as np

from kneefix.motion.smoothing import (
    choose_cutoff,
    fill_short_gaps,
    hampel,
    is_irregular,
    lowpass,
    remove_spikes,
)


def test_cutoff_per_movement_and_capped_below_nyquist() -> None:
    assert choose_cutoff("squat", 30.0) == 6.0
    assert choose_cutoff("deadlift", 60.0) == 6.0
    assert choose_cutoff("landing", 60.0) == 12.0
    assert choose_cutoff("landing", 25.0) == 0.8 * 12.5  # 12 Hz would be too close to Nyquist
    assert choose_cutoff("squat", 0.0) == 0.0


def test_hampel_replaces_a_glitch_but_keeps_a_smooth_signal() -> None:
    t = np.arange(60) / 30.0
    x = (100 * np.sin(2 * np.pi * 0.5 * t))[:, None]
    glitched = x.copy()
    glitched[15] += 80.0  # at the slow top of the wave, where a window's spread is small
    cleaned = hampel(glitched, floor=5.0)
    assert abs(cleaned[15, 0] - x[15, 0]) < 10.0
    np.testing.assert_allclose(hampel(x, floor=5.0), x)


def test_spike_during_fast_motion_is_removed_but_a_real_reversal_is_kept() -> None:
    falling = np.array([849.0, 866.0, 953.0, 913.0, 944.0, 979.0, 1000.0, 1000.0])[:, None]
    cleaned = remove_spikes(falling, floor=18.0)
    assert cleaned[2, 0] == (866.0 + 913.0) / 2
    np.testing.assert_array_equal(np.delete(cleaned, 2), np.delete(falling, 2))
    reversal = np.array([376.0, 386.0, 395.0, 396.0, 385.0, 383.0, 383.0])[:, None]
    np.testing.assert_array_equal(remove_spikes(reversal, floor=18.0), reversal)


def test_only_short_gaps_are_filled() -> None:
    t = np.arange(30) / 30.0
    x = t.copy()[:, None] * 10
    x[5:8] = np.nan  # 0.13 s gap: filled
    x[12:22] = np.nan  # 0.37 s gap: left unknown
    filled = fill_short_gaps(x, t)
    np.testing.assert_allclose(filled[5:8, 0], t[5:8] * 10)
    assert np.isnan(filled[12:22]).all()


def test_lowpass_is_zero_lag_and_leaves_gaps_unknown() -> None:
    t = np.arange(300) / 30.0
    rng = np.random.default_rng(0)
    clean = 50 * np.sin(2 * np.pi * 0.5 * t)
    noisy = (clean + rng.normal(0, 3, t.shape))[:, None]
    noisy[100:120] = np.nan
    out = lowpass(noisy, t, 6.0)[:, 0]
    assert np.isnan(out[100:120]).all()
    good = np.isfinite(out)
    assert np.std(out[good] - clean[good]) < 0.75 * 3.0
    # zero lag: a noise-free slow wave comes through unshifted (a causal filter would lag ~50 ms,
    # an error of ~8 units here)
    through = lowpass(clean[:, None], t, 6.0)[:, 0]
    assert np.max(np.abs(through[15:-15] - clean[15:-15])) < 0.5


def test_irregular_timestamps_are_filtered_on_a_uniform_grid() -> None:
    rng = np.random.default_rng(1)
    t = np.cumsum(rng.uniform(0.025, 0.045, 300))
    assert is_irregular(t)
    assert not is_irregular(np.arange(100) / 30.0)
    clean = 40 * np.sin(2 * np.pi * 0.7 * t)
    out = lowpass((clean + rng.normal(0, 2, t.shape))[:, None], t, 6.0)[:, 0]
    assert out.shape == t.shape
    assert np.std(out[10:-10] - clean[10:-10]) < 1.5
