"""Purged, embargoed walk-forward splits (no training label overlaps a test block).

Samples are intervals [start, end] on an axis (bars, or nanoseconds when several symbols are
pooled by time): a regime label at bar t is the interval [t, t] (plus the labelling horizon for
labels from realised future behaviour); a meta-label of a trade is [decision, exit]. Block k is
[edges[k], edges[k + 1]); block 0 only trains. A sample trains for block k only if its interval
ends before the block's first point minus the embargo, so no training label's horizon reaches
into the test block or the `embargo` before it.

Two schedules: `fixed_edges` (blocks of a fixed length from the data's start: what happens in a
block never depends on how much data follows, so results are prefix-invariant; the pipeline and
the gates use it) and `equal_edges` (n_splits + 1 equal blocks of the data at hand: for
evaluations such as the `regimes` command).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np


def fixed_edges(origin: int, stop: int, block: int) -> np.ndarray:
    """origin, origin + block, ... up to the first edge >= stop (the last block may be short)."""
    n = max(1, int(np.ceil((stop - origin) / block)))
    return origin + np.arange(n + 1, dtype=np.int64) * int(block)


def equal_edges(origin: int, span: int, n_splits: int) -> np.ndarray:
    """n_splits + 1 equal blocks of [origin, origin + span)."""
    return origin + (np.arange(n_splits + 2, dtype=np.float64) / (n_splits + 1)
                     * span).astype(np.int64)


def purged_walk_forward(start: np.ndarray, end: np.ndarray, edges: np.ndarray,
                        embargo: int, need_test: bool = True
                        ) -> Iterator[tuple[np.ndarray, np.ndarray, int, int]]:
    """Yield (train indices, test indices, block start, block stop) for every block after the
    first that has training samples and (with `need_test`) test samples. Without `need_test` a
    block's model does not depend on whether a sample follows in it (a model applied bar by bar
    must exist from the block's first bar)."""
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    for k in range(1, len(edges) - 1):
        a, b = int(edges[k]), int(edges[k + 1])
        test = np.flatnonzero((start >= a) & (start < b))
        train = np.flatnonzero(end < a - embargo)
        if train.size and (test.size or not need_test):
            yield train, test, a, b
