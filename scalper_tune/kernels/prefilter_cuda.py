"""The prefilter on a GPU: `numba.cuda`, one thread per (combination, asset).

Each thread runs exactly the CPU prefilter's loop (`prefilter_nb.job_loop`): the engine's own
`step_nb` (a `numba.jit` function, compiled as a device function when a kernel calls it) over
the asset's entry candidates and the bars with an open position or a pending order, its state
and trade vectors in thread-local arrays. Same inputs, same step, same summary columns; on a real
GPU floating-point results may differ from the CPU in the last bits (log and division are
correctly rounded on both, fused multiply-adds may not be), so the equality tests allow 1e-9
relative on P&L and Sharpe and demand identical trade counts.

Without a GPU, `NUMBA_ENABLE_CUDASIM=1` runs the kernel in numba's CUDA simulator (Python
threads, slow): the tests use it on tiny data. `available()` says whether a GPU (or the
simulator) is there.
"""

from __future__ import annotations

import warnings

import numpy as np

if not hasattr(np, "row_stack"):  # numba-cuda <= 0.2x imports np.row_stack (removed in numpy 2.5)
    np.row_stack = np.vstack

with warnings.catch_warnings():  # numba's built-in CUDA target warns that numba-cuda replaces it
    warnings.simplefilter("ignore")
    from numba import cuda, float64

from scalper_tune.kernels.engine_nb import reset_state_nb
from scalper_tune.kernels.layout import N_COSTS, N_PARAMS, N_STATE, N_TRADE, PrefilterBars
from scalper_tune.kernels.prefilter_nb import job_layout, job_loop

THREADS_PER_BLOCK = 64
_job = cuda.jit(device=True)(job_loop)  # the CPU prefilter's loop, as a device function
_layout = cuda.jit(device=True)(job_layout)


def available() -> bool:
    """A CUDA GPU (or the CUDA simulator) is usable from this process."""
    try:
        return bool(cuda.is_available())
    except Exception:  # a driver that fails to initialise counts as none
        return False


def simulated() -> bool:
    """The kernel runs in numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1), not on a GPU."""
    from numba import config

    return bool(getattr(config, "ENABLE_CUDASIM", 0))


@cuda.jit
def _prefilter_kernel(open_, high, low, close, start, hs, volz, imb, allow, cross, regime, left,
                      z, mu, half_life, cand_ptr, cand_idx, window_of, group_of, params, c,
                      capital, out, work):
    job = cuda.grid(1)
    n_assets = start.shape[0] - 1
    if job >= params.shape[0] * n_assets:
        return
    k, a, w, a0, n, lo, hi = _layout(job, n_assets, start, window_of, group_of, cand_ptr)
    s = cuda.local.array(N_STATE, float64)
    trade = cuda.local.array(N_TRADE, float64)
    reset_state_nb(s, capital)
    p = cuda.local.array(N_PARAMS, float64)  # the combination's parameters and the costs,
    for i in range(N_PARAMS):                 # thread-local (also: plain arrays for the step
        p[i] = params[k, i]                   # under the simulator)
    cc = cuda.local.array(N_COSTS, float64)
    for i in range(N_COSTS):
        cc[i] = c[i]
    x = PrefilterBars(open_, high, low, close, volz, imb, allow, cross, regime, left, z, mu,
                      half_life)  # the CPU loop's bundle, built on the device
    t, ci, steps = _job(s, trade, a0, n, 0, n, x, hs, w, cand_idx, lo, hi, p, cc)
    work[k, a] = steps
    for i in range(N_STATE):
        out[k, a, i] = s[i]


def run_prefilter_cuda(x: PrefilterBars, start: np.ndarray, hs: np.ndarray,
                       cand_ptr: np.ndarray, cand_idx: np.ndarray, window_of: np.ndarray,
                       group_of: np.ndarray, params: np.ndarray, c: np.ndarray,
                       capital: float) -> tuple[np.ndarray, np.ndarray]:
    """`prefilter_nb.run_prefilter_nb` on the GPU: the same arguments but the work plan (one
    thread per job: the GPU's scheduler balances them), the same final states
    (n_combos x n_assets x N_STATE) and steps per job (n_combos x n_assets), on the host."""
    n_combos, n_assets = params.shape[0], start.shape[0] - 1
    jobs = n_combos * n_assets
    out = cuda.device_array((n_combos, n_assets, N_STATE), dtype=np.float64)
    work = cuda.device_array((n_combos, n_assets), dtype=np.int64)
    if jobs == 0:
        return out.copy_to_host(), work.copy_to_host()
    arrays = [cuda.to_device(np.ascontiguousarray(a)) for a in (
        x.open, x.high, x.low, x.close, start, hs, x.volz, x.imb, x.allow, x.cross, x.regime,
        x.left, x.z, x.mu, x.half_life, cand_ptr, cand_idx, window_of, group_of, params, c)]
    blocks = (jobs + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK
    _prefilter_kernel[blocks, THREADS_PER_BLOCK](*arrays, float(capital), out, work)
    cuda.synchronize()
    return out.copy_to_host(), work.copy_to_host()
