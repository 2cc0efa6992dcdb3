"""Causal rolling kernels: the value at t uses inputs at indices <= t only; O(n) in the length and
independent of the window (sliding Welford updates, resynchronised by an exact recompute every
`window` steps so rounding error cannot drift). Where the window is nearly constant (std below
`TINY` x |mean|), where sliding updates lose their relative accuracy, the step is recomputed
exactly (two-pass), so a flat window gives std 0, never rounding noise. Outputs are NaN during
warm-up and wherever the window holds a NaN input.

Each rolling statistic is a *step* over an explicit state vector and a ring buffer of the window
(`*_step_nb`); the batch kernels (`*_nb` over arrays) are loops over those steps. The live runner
calls the same steps one event at a time, so batch and live values are identical bit for bit, and
results on x[:k] equal the first k results on x.
"""

from __future__ import annotations

import numpy as np
from numba import njit

TINY = 1e-4  # relative std below which a window is recomputed exactly

# mean/std state: values seen, NaNs in window, mean, m2, steps since the last exact recompute
MS_T, MS_NAN, MS_MEAN, MS_M2, MS_SYNC = 0, 1, 2, 3, 4
MS_SIZE = 5
# co-moment state: values seen, NaN pairs in window, mx, my, cxx, cyy, cxy, since sync
CM_T, CM_NAN, CM_MX, CM_MY, CM_CXX, CM_CYY, CM_CXY, CM_SYNC = 0, 1, 2, 3, 4, 5, 6, 7
CM_SIZE = 8


@njit(cache=True)
def log_returns_nb(close: np.ndarray) -> np.ndarray:
    """r_t = ln(close_t / close_{t-1}); r_0 = NaN."""
    n = close.shape[0]
    out = np.empty(n)
    if n == 0:
        return out
    out[0] = np.nan
    for t in range(1, n):
        out[t] = np.log(close[t] / close[t - 1])
    return out


@njit(cache=True)
def log_nb(x: np.ndarray) -> np.ndarray:
    """Natural log, element by element, with the same scalar routine the online steps use (a
    vectorised library log may round differently in the last bit)."""
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = np.log(x[i])
    return out


@njit(cache=True)
def _ring_mean_m2(ring: np.ndarray, newest: int) -> tuple:
    """Exact two-pass mean and m2 of a full ring, oldest value first (anchor-shifted sum: a
    constant window has mean == anchor exactly and m2 == 0). The ring is read as two contiguous
    runs, [newest+1, w) then [0, newest]."""
    w = ring.shape[0]
    anchor = ring[(newest + 1) % w]
    mean = 0.0
    for i in range(newest + 1, w):
        mean += ring[i] - anchor
    for i in range(0, newest + 1):
        mean += ring[i] - anchor
    mean = anchor + mean / w
    m2 = 0.0
    for i in range(newest + 1, w):
        d = ring[i] - mean
        m2 += d * d
    for i in range(0, newest + 1):
        d = ring[i] - mean
        m2 += d * d
    return mean, m2


@njit(cache=True)
def mean_std_step_nb(st: np.ndarray, ring: np.ndarray, v: float) -> tuple:
    """Feed one value; returns (mean, sample std) of the last len(ring) values (NaN in warm-up or
    while the window holds a NaN). `st` has MS_SIZE slots, zero at the start; `ring` any values."""
    w = ring.shape[0]
    t = int(st[MS_T])
    pos = t % w
    old = ring[pos]
    if np.isnan(v):
        st[MS_NAN] += 1.0
    if t >= w and np.isnan(old):
        st[MS_NAN] -= 1.0
    ring[pos] = v
    st[MS_T] = t + 1
    if st[MS_NAN] > 0.0 or t < w - 1:
        st[MS_SYNC] = w  # recompute exactly once the window is clean again
        return np.nan, np.nan
    st[MS_SYNC] += 1.0
    mean = st[MS_MEAN]
    m2 = st[MS_M2]
    if st[MS_SYNC] >= w:
        mean, m2 = _ring_mean_m2(ring, pos)
        st[MS_SYNC] = 0.0
    else:
        # remove old (n: w -> w-1), then add v (back to w)
        d_old = old - mean
        mean_rm = mean - d_old / (w - 1)
        m2 -= d_old * (old - mean_rm)
        d_new = v - mean_rm
        mean = mean_rm + d_new / w
        m2 += d_new * (v - mean)
        if m2 < (w - 1) * (TINY * mean) ** 2:
            mean, m2 = _ring_mean_m2(ring, pos)
            st[MS_SYNC] = 0.0
    st[MS_MEAN] = mean
    st[MS_M2] = m2
    return mean, (np.sqrt(m2 / (w - 1)) if w > 1 else 0.0)


@njit(cache=True)
def rolling_mean_std_nb(x: np.ndarray, window: int) -> tuple:
    """Mean and sample std (ddof=1) of x[t-window+1 .. t]; NaN until `window` finite values."""
    n = x.shape[0]
    mean_out = np.empty(n)
    std_out = np.empty(n)
    st = np.zeros(MS_SIZE)
    ring = np.empty(window)
    for t in range(n):
        mean_out[t], std_out[t] = mean_std_step_nb(st, ring, x[t])
    return mean_out, std_out


@njit(cache=True)
def zscore_value_nb(x: float, mean: float, std: float) -> float:
    """(x - mean) / std, NaN where std is 0 or NaN."""
    return (x - mean) / std if std > 0.0 else np.nan


@njit(cache=True)
def zscore_nb(x: np.ndarray, mean: np.ndarray, std: np.ndarray, lag: int) -> np.ndarray:
    """(x_t - mean_{t-lag}) / std_{t-lag}: lag 0 scores against a window that includes t, lag 1
    against the trailing window that ends at t-1. NaN where std is 0 or NaN."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    for t in range(lag, n):
        out[t] = zscore_value_nb(x[t], mean[t - lag], std[t - lag])
    return out


@njit(cache=True)
def atr_nb(high: np.ndarray, low: np.ndarray, close: np.ndarray, window: int) -> np.ndarray:
    """Wilder's average true range: the first value (at t = window-1) is the mean of the first
    `window` true ranges, then atr_t = atr_{t-1} + (tr_t - atr_{t-1}) / window.
    tr_0 = high_0 - low_0; tr_t = max(high-low, |high-close_{t-1}|, |low-close_{t-1}|)."""
    n = high.shape[0]
    out = np.full(n, np.nan)
    acc = 0.0
    atr = 0.0
    for t in range(n):
        tr = high[t] - low[t]
        if t > 0:
            tr = max(tr, abs(high[t] - close[t - 1]), abs(low[t] - close[t - 1]))
        if t < window:
            acc += tr
            if t == window - 1:
                atr = acc / window
                out[t] = atr
        else:
            atr = atr + (tr - atr) / window
            out[t] = atr
    return out


@njit(cache=True)
def _ring_comoments(rx: np.ndarray, ry: np.ndarray, newest: int) -> tuple:
    w = rx.shape[0]
    first = (newest + 1) % w
    ax = rx[first]
    ay = ry[first]
    mx = 0.0
    my = 0.0
    for i in range(newest + 1, w):
        mx += rx[i] - ax
        my += ry[i] - ay
    for i in range(0, newest + 1):
        mx += rx[i] - ax
        my += ry[i] - ay
    mx = ax + mx / w
    my = ay + my / w
    cxx = 0.0
    cyy = 0.0
    cxy = 0.0
    for i in range(newest + 1, w):
        dx = rx[i] - mx
        dy = ry[i] - my
        cxx += dx * dx
        cyy += dy * dy
        cxy += dx * dy
    for i in range(0, newest + 1):
        dx = rx[i] - mx
        dy = ry[i] - my
        cxx += dx * dx
        cyy += dy * dy
        cxy += dx * dy
    return mx, my, cxx, cyy, cxy


@njit(cache=True)
def comoments_step_nb(st: np.ndarray, rx: np.ndarray, ry: np.ndarray, x: float, y: float) -> tuple:
    """Feed one pair; returns (mx, my, cxx, cyy, cxy): means and sums of centred products of the
    last len(rx) pairs (NaN in warm-up or while the window holds a NaN)."""
    w = rx.shape[0]
    t = int(st[CM_T])
    pos = t % w
    ox = rx[pos]
    oy = ry[pos]
    if np.isnan(x) or np.isnan(y):
        st[CM_NAN] += 1.0
    if t >= w and (np.isnan(ox) or np.isnan(oy)):
        st[CM_NAN] -= 1.0
    rx[pos] = x
    ry[pos] = y
    st[CM_T] = t + 1
    if st[CM_NAN] > 0.0 or t < w - 1:
        st[CM_SYNC] = w
        return np.nan, np.nan, np.nan, np.nan, np.nan
    st[CM_SYNC] += 1.0
    mx, my = st[CM_MX], st[CM_MY]
    cxx, cyy, cxy = st[CM_CXX], st[CM_CYY], st[CM_CXY]
    if st[CM_SYNC] >= w:
        mx, my, cxx, cyy, cxy = _ring_comoments(rx, ry, pos)
        st[CM_SYNC] = 0.0
    else:
        dx = ox - mx
        dy = oy - my
        mx_r = mx - dx / (w - 1)
        my_r = my - dy / (w - 1)
        cxx -= dx * (ox - mx_r)
        cyy -= dy * (oy - my_r)
        cxy -= dx * (oy - my_r)
        dx = x - mx_r
        dy = y - my_r
        mx = mx_r + dx / w
        my = my_r + dy / w
        cxx += dx * (x - mx)
        cyy += dy * (y - my)
        cxy += dx * (y - my)
        if cxx < w * (TINY * mx) ** 2 or cyy < w * (TINY * my) ** 2:
            mx, my, cxx, cyy, cxy = _ring_comoments(rx, ry, pos)
            st[CM_SYNC] = 0.0
    st[CM_MX], st[CM_MY] = mx, my
    st[CM_CXX], st[CM_CYY], st[CM_CXY] = cxx, cyy, cxy
    return mx, my, cxx, cyy, cxy


@njit(cache=True)
def rolling_comoments_nb(x: np.ndarray, y: np.ndarray, window: int) -> tuple:
    """Rolling means and co-moments (sums of centred products) of pairs (x_i, y_i) over the last
    `window` indices: returns mx, my, cxx, cyy, cxy arrays; NaN where the window has a NaN."""
    n = x.shape[0]
    mx = np.empty(n)
    my = np.empty(n)
    cxx = np.empty(n)
    cyy = np.empty(n)
    cxy = np.empty(n)
    st = np.zeros(CM_SIZE)
    rx = np.empty(window)
    ry = np.empty(window)
    for t in range(n):
        mx[t], my[t], cxx[t], cyy[t], cxy[t] = comoments_step_nb(st, rx, ry, x[t], y[t])
    return mx, my, cxx, cyy, cxy


@njit(cache=True)
def ou_from_comoments_nb(mx: float, my: float, cxx: float, cyy: float, cxy: float,
                         window: int) -> tuple:
    """(mu, half_life, sigma) of the AR(1) fit x_s = a + b x_{s-1} + e from rolling co-moments
    of the pairs (x_{s-1}, x_s); see `ou_fit_nb`."""
    if np.isnan(cxx) or cxx <= 0.0:
        return np.nan, np.nan, np.nan
    b = cxy / cxx
    a = my - b * mx
    rss = cyy - b * cxy
    if rss < 0.0:
        rss = 0.0
    sigma = np.sqrt(rss / (window - 2)) if window > 2 else np.nan
    mu = a / (1.0 - b) if b < 1.0 else np.nan
    if 0.0 < b < 1.0:
        half = -np.log(2.0) / np.log(b)
    elif b >= 1.0:
        half = np.inf
    else:
        half = np.nan
    return mu, half, sigma


@njit(cache=True)
def ou_fit_nb(x: np.ndarray, window: int) -> tuple:
    """Rolling Ornstein-Uhlenbeck fit by AR(1) least squares x_s = a + b x_{s-1} + e on the
    `window` pairs ending at t (uses x[t-window .. t]).

    Returns (mu, half_life, sigma): mu = a / (1 - b) (same units as x), half-life in bars
    = -ln 2 / ln b for 0 < b < 1 (inf when b >= 1, NaN when b <= 0), sigma = residual std per
    bar (ddof=2). NaN during warm-up (t < window) and where the window has a NaN."""
    n = x.shape[0]
    mu = np.empty(n)
    half = np.empty(n)
    sigma = np.empty(n)
    st = np.zeros(CM_SIZE)
    rx = np.empty(window)
    ry = np.empty(window)
    prev = np.nan
    for t in range(n):
        mx, my, cxx, cyy, cxy = comoments_step_nb(st, rx, ry, prev, x[t])
        mu[t], half[t], sigma[t] = ou_from_comoments_nb(mx, my, cxx, cyy, cxy, window)
        prev = x[t]
    return mu, half, sigma


@njit(cache=True)
def rolling_corr_nb(x: np.ndarray, y: np.ndarray, window: int) -> np.ndarray:
    """Rolling Pearson correlation of x and y over the last `window` indices."""
    _, _, cxx, cyy, cxy = rolling_comoments_nb(x, y, window)
    n = x.shape[0]
    out = np.full(n, np.nan)
    for t in range(n):
        d = cxx[t] * cyy[t]
        if d > 0.0:
            out[t] = cxy[t] / np.sqrt(d)
    return out


@njit(cache=True)
def rolling_max_nb(x: np.ndarray, window: int) -> np.ndarray:
    """Max of x[t-window+1 .. t] (fewer values at the start), O(n) with a monotonic deque."""
    n = x.shape[0]
    out = np.empty(n)
    dq = np.empty(n, dtype=np.int64)
    head = 0
    tail = 0
    for t in range(n):
        while tail > head and x[dq[tail - 1]] <= x[t]:
            tail -= 1
        dq[tail] = t
        tail += 1
        if dq[head] <= t - window:
            head += 1
        out[t] = x[dq[head]]
    return out
