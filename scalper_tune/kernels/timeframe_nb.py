"""Causal alignment kernels: higher-timeframe bars and as-of joins between time axes."""

from __future__ import annotations

import numpy as np
from numba import njit


# higher-timeframe state: bars seen, current period, current period done, last close
HT_T, HT_CUR, HT_DONE, HT_LAST = 0, 1, 2, 3
HT_SIZE = 4


@njit(cache=True)
def htf_step_nb(st: np.ndarray, ts: int, close: float, period_ns: int, bar_ns: int) -> tuple:
    """Feed one base bar; returns (k, close_1, time_1, close_2, time_2): the k (0, 1 or 2)
    higher-timeframe bars completed by this bar, oldest first.

    A higher-timeframe bar [T, T + period) is complete at base bar t when bar t closes it
    (ts_t + bar_ns >= T + period) or, after a gap, at the first base bar of a later period."""
    b = ts // period_ns
    k = 0
    c1 = np.nan
    t1 = 0
    c2 = np.nan
    t2 = 0
    cur = np.int64(st[HT_CUR])
    if st[HT_T] > 0 and b != cur and st[HT_DONE] == 0.0:
        c1 = st[HT_LAST]
        t1 = cur * period_ns
        k = 1
    if st[HT_T] == 0 or b != cur:
        st[HT_CUR] = b
        st[HT_DONE] = 0.0
    st[HT_LAST] = close
    if st[HT_DONE] == 0.0 and ts + bar_ns >= (b + 1) * period_ns:
        if k == 0:
            c1 = close
            t1 = b * period_ns
        else:
            c2 = close
            t2 = b * period_ns
        k += 1
        st[HT_DONE] = 1.0
    st[HT_T] += 1.0
    return k, c1, t1, c2, t2


@njit(cache=True)
def htf_close_nb(ts: np.ndarray, close: np.ndarray, period_ns: int, bar_ns: int) -> tuple:
    """Higher-timeframe closes from base bars (ts = bar open time, ns), see `htf_step_nb`.
    Returns (htf_close, htf_open_time, count): count[t] = number of higher-timeframe bars complete
    at base bar t, so the latest one usable at t is index count[t] - 1 (never the forming bar)."""
    n = ts.shape[0]
    htf_close = np.empty(n + 1)
    htf_time = np.empty(n + 1, dtype=np.int64)
    count = np.zeros(n, dtype=np.int64)
    st = np.zeros(HT_SIZE)
    m = 0
    for t in range(n):
        k, c1, t1, c2, t2 = htf_step_nb(st, ts[t], close[t], period_ns, bar_ns)
        if k >= 1:
            htf_close[m] = c1
            htf_time[m] = t1
            m += 1
        if k == 2:
            htf_close[m] = c2
            htf_time[m] = t2
            m += 1
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
