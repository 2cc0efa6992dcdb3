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

from scalper_tune.kernels.engine_nb import is_idle_nb, new_state_nb, step_nb
from scalper_tune.kernels.layout import N_STATE, N_TRADE


def job_loop(s: np.ndarray, trade: np.ndarray, a0: int, n: int, t: int, t_end: int, x,
             hs: np.ndarray, w: int, cand_idx: np.ndarray, ci: int, hi: int, p: np.ndarray,
             c: np.ndarray) -> tuple:
    """One (combination, asset) job on state `s`, from bar t up to (not including) t_end (`x`:
    the bars, a `layout.PrefilterBars`; `hs`: every bar's half-spread, charged as the event
    engine does: a fill in bar t at the book of bar t - 1, a session close at bar t's; `w`: the
    z-window row): the
    step over the asset's entry candidates cand_idx[ci:hi] and every bar with an open position
    or pending order. Returns (the bar to resume at, n when the job is done; the candidate
    cursor; the steps taken). Resuming at the returned bar and cursor with a later t_end is the
    same as one call to the later t_end, so a job can advance block by block (cache blocking).
    Plain Python compiled twice: `job_nb` for the CPU, a CUDA device function in
    prefilter_cuda.py (one loop)."""
    steps = 0
    while t < t_end:
        if is_idle_nb(s):
            while ci < hi and cand_idx[ci] < t:
                ci += 1
            if ci >= hi:
                return n, ci, steps  # flat and no candidate left: nothing more can happen
            t = cand_idx[ci]
            if t >= t_end:
                return t, ci, steps  # the next candidate lies in a later block
        g = a0 + t
        gp = g - 1 if t > 0 else g
        step_nb(s, trade, t, x.open[g], x.high[g], x.low[g], x.close[g], hs[gp], np.nan,
                np.nan, x.z[w, g], x.volz[g], x.imb[g], x.allow[g], x.mu[w, g],
                x.half_life[w, g], x.cross[g], x.regime[g], x.left[g], hs[g], np.nan, np.nan,
                p, c)
        steps += 1
        t += 1
    return t, ci, steps


job_nb = njit(cache=True)(job_loop)


def job_layout(job: int, n_assets: int, start: np.ndarray, window_of: np.ndarray,
               group_of: np.ndarray, cand_ptr: np.ndarray) -> tuple:
    """Job number (k * n_assets + a) -> (combination k, asset a, window row w, asset's first bar
    a0, its bars n, its candidates cand_idx[lo:hi]). Plain Python compiled twice, like
    `job_loop`."""
    k = job // n_assets
    a = job - k * n_assets
    g = group_of[k]
    a0 = start[a]
    return (k, a, window_of[k], a0, start[a + 1] - a0, cand_ptr[g * n_assets + a],
            cand_ptr[g * n_assets + a + 1])


job_layout_nb = njit(cache=True)(job_layout)


@njit(cache=True, parallel=True)
def run_prefilter_nb(x, start: np.ndarray, hs: np.ndarray, cand_ptr: np.ndarray,
                     cand_idx: np.ndarray, window_of: np.ndarray,
                     group_of: np.ndarray, params: np.ndarray, c: np.ndarray,
                     capital: float, jobs: np.ndarray, unit_ptr: np.ndarray,
                     lane_ptr: np.ndarray, block_bars: int) -> tuple:
    """Final states (n_combos x n_assets x N_STATE) of every combination on every asset, and
    the steps each job took (n_combos x n_assets: the work it did).

    x: the bars of every asset, one `layout.PrefilterBars` bundle (asset a at
    [start[a], start[a + 1])); hs: every bar's half-spread (same layout); x.cross: the other
    venue's state for the cross-venue block (see strategy_nb); regime: each
    bar's label for the per-regime statistics (-1: none); left: bars left in the bar's session
    (engine_nb; 0 for 24/7 symbols);
    params: n_combos x N_PARAMS; window_of[k]: row of z/mu/half_life for combination k;
    group_of[k]: its candidate group g; cand_ptr[g * n_assets + a] .. cand_ptr[g * n_assets + a
    + 1] indexes cand_idx.

    The work plan (engine/work_plan.py): lane l (one per thread, a balanced share of the work)
    runs units unit_ptr[lane_ptr[l]] .. ; unit u is the jobs jobs[unit_ptr[u]:unit_ptr[u + 1]]
    (job = k * n_assets + a), all on one asset and one candidate group. A unit's jobs advance
    together through blocks of `block_bars` bars, so each block of the asset's arrays is read
    from cache by all of them. Each lane owns its state and trade buffers; each job's final
    state is written once."""
    n_combos = params.shape[0]
    n_assets = start.shape[0] - 1
    out = np.empty((n_combos, n_assets, N_STATE))
    work = np.zeros((n_combos, n_assets), dtype=np.int64)
    width = 1
    for u in range(unit_ptr.shape[0] - 1):
        width = max(width, unit_ptr[u + 1] - unit_ptr[u])
    for lane in prange(lane_ptr.shape[0] - 1):
        fresh = new_state_nb(capital)
        st = np.empty((width, N_STATE))
        trade = np.empty((width, N_TRADE))
        combo = np.empty(width, dtype=np.int64)
        at = np.empty(width, dtype=np.int64)
        cursor = np.empty(width, dtype=np.int64)
        steps = np.zeros(width, dtype=np.int64)
        for u in range(lane_ptr[lane], lane_ptr[lane + 1]):
            j0 = unit_ptr[u]
            m = unit_ptr[u + 1] - j0
            _, a, w, a0, n, lo, hi = job_layout_nb(jobs[j0], n_assets, start, window_of,
                                                   group_of, cand_ptr)
            for i in range(m):
                combo[i] = jobs[j0 + i] // n_assets
                st[i] = fresh
                trade[i] = 0.0
                at[i] = 0
                cursor[i] = lo
                steps[i] = 0
            b = 0
            while b < n:
                b_end = min(n, b + block_bars)
                nxt = n
                for i in range(m):
                    if at[i] < b_end:
                        t, ci, s = job_nb(st[i], trade[i], a0, n, at[i], b_end, x, hs, w,
                                          cand_idx, cursor[i], hi, params[combo[i]], c)
                        at[i] = t
                        cursor[i] = ci
                        steps[i] += s
                    nxt = min(nxt, at[i])
                b = max(b_end, nxt)  # skip blocks where no job of the unit has anything to do
            for i in range(m):
                out[combo[i], a] = st[i]
                work[combo[i], a] = steps[i]
    return out, work
