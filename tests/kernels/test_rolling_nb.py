"""Rolling and alignment kernels against slow, obviously-correct references, and their prefix
invariance (results on x[:k] equal the first k results on x, bit for bit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.lib.stride_tricks import sliding_window_view as windows

from scalper_tune.kernels.rolling_nb import (atr_nb, log_returns_nb, ou_fit_nb, rolling_comoments_nb,
                                             rolling_corr_nb, rolling_mean_std_nb, zscore_nb)
from scalper_tune.kernels.timeframe_nb import asof_count_nb, broadcast_nb, htf_close_nb

RTOL = 1e-9


def _walk(n, seed=0, level=100.0, nan_at=()):
    x = level * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.01, n)))
    for i in nan_at:
        x[i] = np.nan
    return x


def _ref_mean_std(x, w):
    mean = np.full(len(x), np.nan)
    std = np.full(len(x), np.nan)
    if len(x) >= w:
        win = windows(x, w)
        mean[w - 1:] = win.mean(axis=1)
        std[w - 1:] = win.std(axis=1, ddof=1)
    return mean, std


@pytest.mark.parametrize("w", [2, 3, 20, 97])
@pytest.mark.parametrize("level", [1.0, 1e4])
def test_rolling_mean_std_matches_numpy(w, level):
    x = _walk(3000, seed=w, level=level, nan_at=(500, 501, 1800))
    mean, std = rolling_mean_std_nb(x, w)
    ref_mean, ref_std = _ref_mean_std(x, w)
    np.testing.assert_allclose(mean, ref_mean, rtol=RTOL)
    np.testing.assert_allclose(std, ref_std, rtol=RTOL)
    # pandas agrees too (the other obvious reference)
    np.testing.assert_allclose(std, pd.Series(x).rolling(w).std().to_numpy(), rtol=1e-7)


def test_rolling_no_drift_on_long_series():
    x = _walk(200_000, seed=3, level=5e4)
    mean, std = rolling_mean_std_nb(x, 7)
    ref_mean, ref_std = _ref_mean_std(x, 7)
    np.testing.assert_allclose(std[-1000:], ref_std[-1000:], rtol=RTOL)
    np.testing.assert_allclose(mean[-1000:], ref_mean[-1000:], rtol=RTOL)


def test_zscore_lags():
    x = _walk(500, seed=1)
    mean, std = rolling_mean_std_nb(x, 30)
    z0 = zscore_nb(x, mean, std, 0)
    z1 = zscore_nb(x, mean, std, 1)
    ref_mean, ref_std = _ref_mean_std(x, 30)
    ref0 = (x - ref_mean) / ref_std
    ref1 = np.full(len(x), np.nan)
    ref1[1:] = (x[1:] - ref_mean[:-1]) / ref_std[:-1]
    np.testing.assert_allclose(z0, ref0, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(z1, ref1, rtol=RTOL, atol=1e-12)


def test_log_returns():
    x = _walk(100)
    r = log_returns_nb(x)
    assert np.isnan(r[0])
    np.testing.assert_allclose(r[1:], np.diff(np.log(x)), rtol=RTOL)


def test_atr_matches_wilder_reference():
    rng = np.random.default_rng(5)
    close = _walk(400, seed=5)
    high = close * (1 + rng.uniform(0, 0.01, 400))
    low = close * (1 - rng.uniform(0, 0.01, 400))
    tr = [high[0] - low[0]] + [max(high[t] - low[t], abs(high[t] - close[t - 1]),
                                   abs(low[t] - close[t - 1])) for t in range(1, 400)]
    ref = [np.nan] * 13 + [np.mean(tr[:14])]
    for t in range(14, 400):
        ref.append(ref[-1] + (tr[t] - ref[-1]) / 14)
    np.testing.assert_allclose(atr_nb(high, low, close, 14), ref, rtol=RTOL)


@pytest.mark.parametrize("w", [5, 40])
def test_ou_fit_matches_least_squares(w):
    rng = np.random.default_rng(w)
    x = np.zeros(600)
    for t in range(1, 600):
        x[t] = 0.9 * x[t - 1] + rng.normal()
    x += 4.0
    mu, half, sigma = ou_fit_nb(x, w)
    assert np.isnan(mu[:w]).all()
    for t in range(w, 600):
        prev, cur = x[t - w:t], x[t - w + 1:t + 1]
        dp, dc = prev - prev.mean(), cur - cur.mean()  # two-pass least squares
        b = (dp @ dc) / (dp @ dp)
        a = cur.mean() - b * prev.mean()
        # sanity: the same line as numpy's least squares
        np.testing.assert_allclose(np.polyfit(prev, cur, 1), [b, a], rtol=1e-6)
        resid = cur - a - b * prev
        np.testing.assert_allclose(sigma[t], np.sqrt(resid @ resid / (w - 2)), rtol=RTOL)
        if b < 1:
            np.testing.assert_allclose(mu[t], a / (1 - b), rtol=RTOL)
        if 0 < b < 1:
            np.testing.assert_allclose(half[t], -np.log(2) / np.log(b), rtol=RTOL)


def test_rolling_corr_and_comoments():
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=300), rng.normal(size=300)
    y += 0.5 * x
    corr = rolling_corr_nb(x, y, 25)
    ref = np.full(300, np.nan)
    ref[24:] = [np.corrcoef(x[t - 24:t + 1], y[t - 24:t + 1])[0, 1] for t in range(24, 300)]
    np.testing.assert_allclose(corr, ref, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(corr, pd.Series(x).rolling(25).corr(pd.Series(y)), rtol=1e-7)
    _, _, cxx, _, cxy = rolling_comoments_nb(x, y, 25)
    t = 200
    np.testing.assert_allclose(cxy[t], np.cov(x[t - 24:t + 1], y[t - 24:t + 1])[0, 1] * 24, rtol=RTOL)
    np.testing.assert_allclose(cxx[t], np.var(x[t - 24:t + 1]) * 25, rtol=RTOL)


def test_htf_close_uses_complete_bars_only():
    bar = 60 * 10**9
    ts = np.arange(20, dtype=np.int64) * bar
    ts = np.delete(ts, [8, 9])  # the second 5-bar period [5, 10) loses its last two bars
    close = np.arange(len(ts), dtype=float) + 1.0
    htf, htf_time, count = htf_close_nb(ts, close, 5 * bar, bar)
    # period [0,5) closes at the bar opening at 4; [5,10) is known complete at 10 (after the gap)
    frame = pd.Series(close, index=pd.to_datetime(ts)).resample("5min").last()
    np.testing.assert_array_equal(htf, frame.to_numpy()[: len(htf)])
    minute = ts // bar
    expected = [0 if m < 4 else 1 if m < 10 else 2 if m < 14 else 3 if m < 19 else 4 for m in minute]
    np.testing.assert_array_equal(count, expected)
    np.testing.assert_array_equal(htf_time, np.arange(len(htf)) * 5 * bar)


def test_broadcast_and_asof():
    a = np.array([0, 10, 20, 30], dtype=np.int64)
    b = np.array([5, 10, 25], dtype=np.int64)
    count = asof_count_nb(a, b)
    np.testing.assert_array_equal(count, np.searchsorted(b, a, side="right"))
    np.testing.assert_array_equal(broadcast_nb(np.array([1.0, 2.0, 3.0]), count),
                                  [np.nan, 2.0, 2.0, 3.0])


values = arrays(np.float64, st.integers(2, 80),
                elements=st.one_of(st.floats(0.5, 2.0), st.just(np.nan)))


def _same(a, b):
    np.testing.assert_array_equal(a, b)  # NaN == NaN here; exact bits otherwise


@settings(max_examples=60, deadline=None)
@given(values, st.integers(0, 80), st.integers(2, 12))
def test_prefix_invariance_of_every_kernel(x, k, w):
    k = min(k, len(x))
    y = x[::-1].copy()
    high, low = x * 1.01, x * 0.99
    _same(log_returns_nb(x[:k]), log_returns_nb(x)[:k])
    for a, b in zip(rolling_mean_std_nb(x[:k], w), rolling_mean_std_nb(x, w)):
        _same(a, b[:k])
    mean, std = rolling_mean_std_nb(x, w)
    _same(zscore_nb(x[:k], mean[:k], std[:k], 1), zscore_nb(x, mean, std, 1)[:k])
    _same(atr_nb(high[:k], low[:k], x[:k], w), atr_nb(high, low, x, w)[:k])
    for a, b in zip(ou_fit_nb(x[:k], max(w, 3)), ou_fit_nb(x, max(w, 3))):
        _same(a, b[:k])
    for a, b in zip(rolling_comoments_nb(x[:k], y[:k], w), rolling_comoments_nb(x, y, w)):
        _same(a, b[:k])
    _same(rolling_corr_nb(x[:k], y[:k], w), rolling_corr_nb(x, y, w)[:k])
    ts = np.cumsum(np.full(len(x), 60, dtype=np.int64)) * 10**9
    h_k, _, c_k = htf_close_nb(ts[:k], x[:k], 300 * 10**9, 60 * 10**9)
    h, _, c = htf_close_nb(ts, x, 300 * 10**9, 60 * 10**9)
    _same(c_k, c[:k])
    _same(h_k, h[: len(h_k)])
    _same(broadcast_nb(h_k, c_k), broadcast_nb(h, c)[:k])
    _same(asof_count_nb(ts[:k], ts[::2]), asof_count_nb(ts, ts[::2])[:k])


def test_flat_window_gives_exact_zero_std():
    x = np.concatenate([_walk(50, level=30_000.0), np.full(40, 30_123.45), _walk(50, seed=2)])
    mean, std = rolling_mean_std_nb(x, 20)
    assert np.all(std[69:90] == 0.0)
    assert np.all(np.isnan(zscore_nb(x, mean, std, 0)[69:90]))  # never a huge fake z-score
    _, half, sigma = ou_fit_nb(np.log(x), 20)
    assert np.all(np.isnan(half[70:90]))
