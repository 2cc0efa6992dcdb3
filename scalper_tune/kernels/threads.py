"""Numba's thread count (Ray sets OMP_NUM_THREADS for a trial, but Numba ignores it)."""

from __future__ import annotations

import numba


def set_threads(n: int) -> int:
    """Use `n` threads for parallel kernels (clamped to what Numba has); returns the count used."""
    n = max(1, min(int(n), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(n)
    return n
