"""Causal rolling kernels: the value at t uses inputs at indices <= t only; O(n) in the length
and independent of the window (sliding Welford updates, resynchronised by an exact recompute
every `window` steps so rounding error cannot drift). Where the window is nearly constant
(std below `TINY` x |mean|), where sliding updates lose their relative accuracy, the step is
recomputed exactly (two-pass), so a flat window gives std 0, never rounding noise. Outputs are
NaN during warm-up and wherever the window holds a NaN input. Every kernel runs front to back, so results on x[:k] equal the
first k results on x, bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

TINY = 1e-4  # relative std below which a window is recomputed exactly


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
def _exact_mean_m2(x: np.ndarray, start: int, stop: int) -> tuple:
    n = stop - start
    anchor = x[start]  # shifted sum: a constant window has mean == anchor exactly, m2 == 0
    mean = 0.0
    for i in range(start, stop):
        mean += x[i] - anchor
    mean = anchor + mean / n
    m2 = 0.0
    for i in range(start, stop):
        d = x[i] - mean
        m2 += d * d
    return mean, m2


@njit(cache=True)
def rolling_mean_std_nb(x: np.ndarray, window: int) -> tuple:
    """Mean and sample std (ddof=1) of x[t-window+1 .. t]; NaN until `window` finite values."""
    n = x.shape[0]
    mean_out = np.full(n, np.nan)
    std_out = np.full(n, np.nan)
    nan_count = 0
    mean = 0.0
    m2 = 0.0
    since_sync = 0
    for t in range(n):
        v = x[t]
        if np.isnan(v):
            nan_count += 1
        if t >= window:
            old = x[t - window]
            if np.isnan(old):
                nan_count -= 1
        if nan_count > 0 or t < window - 1:
            since_sync = window  # force an exact recompute when the window is clean again
            continue
        since_sync += 1
        if since_sync >= window:
            mean, m2 = _exact_mean_m2(x, t - window + 1, t + 1)
            since_sync = 0
        else:
            old = x[t - window]
            # remove old (n: window -> window-1), then add v (back to window)
            d_old = old - mean
            mean_rm = mean - d_old / (window - 1)
            m2 -= d_old * (old - mean_rm)
            d_new = v - mean_rm
            mean = mean_rm + d_new / window
            m2 += d_new * (v - mean)
            if m2 < (window - 1) * (TINY * mean) ** 2:
                mean, m2 = _exact_mean_m2(x, t - window + 1, t + 1)
                since_sync = 0
        mean_out[t] = mean
        std_out[t] = np.sqrt(m2 / (window - 1)) if window > 1 else 0.0
    return mean_out, std_out


@njit(cache=True)
def zscore_nb(x: np.ndarray, mean: np.ndarray, std: np.ndarray, lag: int) -> np.ndarray:
    """(x_t - mean_{t-lag}) / std_{t-lag}: lag 0 scores against a window that includes t, lag 1
    against the trailing window that ends at t-1. NaN where std is 0 or NaN."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    for t in range(lag, n):
        s = std[t - lag]
        if s > 0.0:
            out[t] = (x[t] - mean[t - lag]) / s
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
def _exact_cov(x: np.ndarray, y: np.ndarray, start: int, stop: int) -> tuple:
    n = stop - start
    ax = x[start]
    ay = y[start]
    mx = 0.0
    my = 0.0
    for i in range(start, stop):
        mx += x[i] - ax
        my += y[i] - ay
    mx = ax + mx / n
    my = ay + my / n
    cxx = 0.0
    cyy = 0.0
    cxy = 0.0
    for i in range(start, stop):
        dx = x[i] - mx
        dy = y[i] - my
        cxx += dx * dx
        cyy += dy * dy
        cxy += dx * dy
    return mx, my, cxx, cyy, cxy


@njit(cache=True)
def rolling_comoments_nb(x: np.ndarray, y: np.ndarray, window: int) -> tuple:
    """Rolling means and co-moments (sums of centred products) of pairs (x_i, y_i) over the last
    `window` indices: returns mx, my, cxx, cyy, cxy arrays; NaN where the window has a NaN."""
    n = x.shape[0]
    mx_o = np.full(n, np.nan)
    my_o = np.full(n, np.nan)
    cxx_o = np.full(n, np.nan)
    cyy_o = np.full(n, np.nan)
    cxy_o = np.full(n, np.nan)
    nan_count = 0
    mx = my = cxx = cyy = cxy = 0.0
    since_sync = 0
    w = window
    for t in range(n):
        if np.isnan(x[t]) or np.isnan(y[t]):
            nan_count += 1
        if t >= w and (np.isnan(x[t - w]) or np.isnan(y[t - w])):
            nan_count -= 1
        if nan_count > 0 or t < w - 1:
            since_sync = w
            continue
        since_sync += 1
        if since_sync >= w:
            mx, my, cxx, cyy, cxy = _exact_cov(x, y, t - w + 1, t + 1)
            since_sync = 0
        else:
            ox = x[t - w]
            oy = y[t - w]
            # remove (ox, oy)
            dx = ox - mx
            dy = oy - my
            mx_r = mx - dx / (w - 1)
            my_r = my - dy / (w - 1)
            cxx -= dx * (ox - mx_r)
            cyy -= dy * (oy - my_r)
            cxy -= dx * (oy - my_r)
            # add (x_t, y_t)
            vx = x[t]
            vy = y[t]
            dx = vx - mx_r
            dy = vy - my_r
            mx = mx_r + dx / w
            my = my_r + dy / w
            cxx += dx * (vx - mx)
            cyy += dy * (vy - my)
            cxy += dx * (vy - my)
            if cxx < w * (TINY * mx) ** 2 or cyy < w * (TINY * my) ** 2:
                mx, my, cxx, cyy, cxy = _exact_cov(x, y, t - w + 1, t + 1)
                since_sync = 0
        mx_o[t] = mx
        my_o[t] = my
        cxx_o[t] = cxx
        cyy_o[t] = cyy
        cxy_o[t] = cxy
    return mx_o, my_o, cxx_o, cyy_o, cxy_o


@njit(cache=True)
def ou_fit_nb(x: np.ndarray, window: int) -> tuple:
    """Rolling Ornstein-Uhlenbeck fit by AR(1) least squares x_s = a + b x_{s-1} + e on the
    `window` pairs ending at t (uses x[t-window .. t]).

    Returns (mu, half_life, sigma): mu = a / (1 - b) (same units as x), half-life in bars
    = -ln 2 / ln b for 0 < b < 1 (inf when b >= 1, NaN when b <= 0), sigma = residual std per
    bar (ddof=2). NaN during warm-up (t < window) and where the window has a NaN."""
    n = x.shape[0]
    mu = np.full(n, np.nan)
    half = np.full(n, np.nan)
    sigma = np.full(n, np.nan)
    if n < 2:
        return mu, half, sigma
    prev = np.empty(n)
    prev[0] = np.nan
    prev[1:] = x[:-1]
    mx, my, cxx, cyy, cxy = rolling_comoments_nb(prev, x, window)
    for t in range(n):
        if np.isnan(cxx[t]) or cxx[t] <= 0.0:
            continue
        b = cxy[t] / cxx[t]
        a = my[t] - b * mx[t]
        rss = cyy[t] - b * cxy[t]
        if rss < 0.0:
            rss = 0.0
        sigma[t] = np.sqrt(rss / (window - 2)) if window > 2 else np.nan
        if b < 1.0:
            mu[t] = a / (1.0 - b)
        if 0.0 < b < 1.0:
            half[t] = -np.log(2.0) / np.log(b)
        elif b >= 1.0:
            half[t] = np.inf
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
