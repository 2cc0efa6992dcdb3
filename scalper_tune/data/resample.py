"""Resampling of canonical bars to a coarser bar size (OHLCV by the usual rules, book: last)."""

from __future__ import annotations

import numpy as np

from scalper_tune.data.market import BOOK


def resample(columns: dict[str, np.ndarray], bar_ns: int) -> dict[str, np.ndarray]:
    """Bucket sorted bars by `ts // bar_ns`: open first, high max, low min, close last, volume sum,
    book columns and regime last. Buckets are labelled by their open time."""
    ts = columns["ts"]
    bucket = ts // bar_ns
    starts = np.flatnonzero(np.diff(bucket, prepend=bucket[0] - 1))
    ends = np.append(starts[1:], ts.shape[0]) - 1
    out = {"ts": bucket[starts] * bar_ns,
           "open": columns["open"][starts],
           "high": np.maximum.reduceat(columns["high"], starts),
           "low": np.minimum.reduceat(columns["low"], starts),
           "close": columns["close"][ends],
           "volume": np.add.reduceat(columns["volume"], starts)}
    for name in BOOK + ("regime",):
        if name in columns:
            out[name] = columns[name][ends]
    return out
