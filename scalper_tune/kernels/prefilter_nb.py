"""The vectorized prefilter: many parameter combinations over shared arrays, in parallel.

It runs the engine's own `step_nb`, but only on bars where something can happen: entry
candidates (precomputed per distinct (window, entry_z, vol_z_min): bars whose |z| and volatility
z-score pass those thresholds and the entry mask allows) and bars with an open position or pending
order. Flat bars without
a candidate change nothing, so skipping them is exact. Its simplified cost model: one constant
half-spread per asset (its median) and no size impact. It returns per-combination, per-asset
summaries (the state's statistics), never per-bar arrays.

Multi-asset inputs are concatenated: asset a occupies [start[a], start[a + 1]) of every per-bar
array; window-dependent arrays are stacked (n_windows x total bars); candidates are CSR lists per
(candidate group, asset) of bar indices relative to the asset's start.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from scalper_tune.kernels.engine_nb import N_STATE, N_TRADE, is_idle_nb, new_state_nb, step_nb


def job_loop(s: np.ndarray, trade: np.ndarray, a0: int, n: int, open_: np.ndarray,
             high: np.ndarray, low: np.ndarray, close: np.ndarray, hs: float, volz: np.ndarray,
             imb: np.ndarray, allow: np.ndarray, cross: np.ndarray, regime: np.ndarray,
             left: np.ndarray, z: np.ndarray, mu: np.ndarray, half_life: np.ndarray, w: int,
             cand_idx: np.ndarray, lo: int, hi: int, p: np.ndarray, c: np.ndarray) -> None:
    """One (combination, asset) job on state `s`: the step over the asset's entry candidates
    cand_idx[lo:hi] and every bar with an open position or pending order. Plain Python compiled
    twice: `job_nb` for the CPU, a CUDA device function in prefilter_cuda.py (one loop)."""
    t = 0
    ci = lo
    while t < n:
        if is_idle_nb(s):
            while ci < hi and cand_idx[ci] < t:
                ci += 1
            if ci >= hi:
                break
            t = cand_idx[ci]
        g = a0 + t
        step_nb(s, trade, t, open_[g], high[g], low[g], close[g], hs, np.nan, np.nan, z[w, g],
                volz[g], imb[g], allow[g], mu[w, g], half_life[w, g], cross[g], regime[g],
                left[g], hs, np.nan, np.nan, p, c)
        t += 1


job_nb = njit(cache=True)(job_loop)


def job_layout(job: int, n_assets: int, start: np.ndarray, window_of: np.ndarray,
               group_of: np.ndarray, cand_ptr: np.ndarray) -> tuple:
    """Job number -> (combination k, asset a, window row w, asset's first bar a0, its bars n,
    its candidates cand_idx[lo:hi]). Plain Python compiled twice, like `job_loop`."""
    k = job // n_assets
    a = job - k * n_assets
    g = group_of[k]
    a0 = start[a]
    return (k, a, window_of[k], a0, start[a + 1] - a0, cand_ptr[g * n_assets + a],
            cand_ptr[g * n_assets + a + 1])


job_layout_nb = njit(cache=True)(job_layout)


@njit(cache=True, parallel=True)
def run_prefilter_nb(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,
                     start: np.ndarray, hs: np.ndarray, volz: np.ndarray, imb: np.ndarray,
                     allow: np.ndarray, cross: np.ndarray, regime: np.ndarray,
                     left: np.ndarray, z: np.ndarray, mu: np.ndarray,
                     half_life: np.ndarray,
                     cand_ptr: np.ndarray, cand_idx: np.ndarray, window_of: np.ndarray,
                     group_of: np.ndarray, params: np.ndarray, c: np.ndarray,
                     capital: float) -> np.ndarray:
    """Final states (n_combos x n_assets x N_STATE) of every combination on every asset.

    cross: the other venue's state for the cross-venue block (see strategy_nb); regime: each
    bar's label for the per-regime statistics (-1: none); left: bars left in the bar's session
    (engine_nb; 0 for 24/7 symbols);
    params: n_combos x N_PARAMS; window_of[k]: row of z/mu/half_life for combination k;
    group_of[k]: its candidate group g; cand_ptr[g * n_assets + a] .. cand_ptr[g * n_assets + a
    + 1] indexes cand_idx."""
    n_combos = params.shape[0]
    n_assets = start.shape[0] - 1
    out = np.empty((n_combos, n_assets, N_STATE))
    for job in prange(n_combos * n_assets):
        k, a, w, a0, n, lo, hi = job_layout_nb(job, n_assets, start, window_of, group_of,
                                               cand_ptr)
        st = new_state_nb(capital)
        trade = np.zeros(N_TRADE)
        job_nb(st, trade, a0, n, open_, high, low, close, hs[a], volz, imb, allow, cross,
               regime, left, z, mu, half_life, w, cand_idx, lo, hi, params[k], c)
        out[k, a] = st
    return out
