"""Purged, embargoed walk-forward splits (no training label overlaps a test fold).

Samples are intervals [start, end] on a bar axis: a regime label at bar t is the interval [t, t]
(plus the labelling horizon for labels from realised future behaviour); a meta-label of a trade
is [decision bar, exit bar]. Test fold k covers the samples whose start lies in the k-th of
`n_splits + 1` equal blocks of the axis (block 0 only trains). A sample trains for fold k only if
its interval ends before the fold's first bar minus the embargo, so no training label's horizon
reaches into the test fold or the `embargo` bars before it.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np


def purged_walk_forward(start: np.ndarray, end: np.ndarray, n_bars: int, n_splits: int,
                        embargo: int, origin: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """Yield (train indices, test indices, test block's first bar) for each fold. The axis is
    [origin, origin + n_bars) (bars, or nanoseconds when samples of several symbols are pooled
    by time; `embargo` in the same unit)."""
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    edges = origin + (np.arange(n_splits + 2, dtype=np.float64) / (n_splits + 1)
                      * n_bars).astype(np.int64)
    for k in range(1, n_splits + 1):
        a, b = edges[k], edges[k + 1]
        test = np.flatnonzero((start >= a) & (start < b))
        train = np.flatnonzero(end < a - embargo)
        if test.size and train.size:
            yield train, test, int(a)
