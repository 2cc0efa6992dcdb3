"""Causal alignment kernels: higher-timeframe bars and as-of joins between time axes."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def htf_close_nb(ts: np.ndarray, close: np.ndarray, period_ns: int, bar_ns: int) -> tuple:
    """Higher-timeframe closes from base bars (ts = bar open time, ns).

    A higher-timeframe bar [T, T + period) is complete at base bar t when bar t closes it
    (ts_t + bar_ns >= T + period) or, after a gap, at the first base bar of a later period.
    Returns (htf_close, htf_open_time, count): count[t] = number of higher-timeframe bars complete
    at base bar t, so the latest one usable at t is index count[t] - 1 (never the forming bar).
    """
    n = ts.shape[0]
    htf_close = np.empty(n)
    htf_time = np.empty(n, dtype=np.int64)
    count = np.zeros(n, dtype=np.int64)
    m = 0
    cur = np.int64(0)
    done = True
    last_close = np.nan
    for t in range(n):
        b = ts[t] // period_ns
        if t > 0 and b != cur and not done:
            htf_close[m] = last_close
            htf_time[m] = cur * period_ns
            m += 1
        if t == 0 or b != cur:
            cur = b
            done = False
        last_close = close[t]
        if not done and ts[t] + bar_ns >= (b + 1) * period_ns:
            htf_close[m] = close[t]
            htf_time[m] = b * period_ns
            m += 1
            done = True
        count[t] = m
    return htf_close[:m], htf_time[:m], count


@njit(cache=True)
def broadcast_nb(values: np.ndarray, count: np.ndarray) -> np.ndarray:
    """out[t] = values[count[t] - 1] (NaN when count[t] == 0): a higher-timeframe or other-axis
    series seen from the base axis."""
    n = count.shape[0]
    out = np.full(n, np.nan)
    for t in range(n):
        if count[t] > 0:
            out[t] = values[count[t] - 1]
    return out


@njit(cache=True)
def asof_count_nb(ts: np.ndarray, other_ts: np.ndarray) -> np.ndarray:
    """count[t] = number of `other_ts` bars with open time <= ts[t] (both sorted): the other
    axis's latest bar usable at t is count[t] - 1, since both bars close together or earlier."""
    n = ts.shape[0]
    out = np.zeros(n, dtype=np.int64)
    j = 0
    m = other_ts.shape[0]
    for t in range(n):
        while j < m and other_ts[j] <= ts[t]:
            j += 1
        out[t] = j
    return out
