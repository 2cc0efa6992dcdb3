"""Validation of one symbol's columns before they become canonical data.

Every refusal is a `DataError` naming the origin (file), the row (1-based, in file order) with its
time, the reason and the fix. Nothing is repaired silently: `sort=True` and `drop_duplicates=True`
repair explicitly and return a note with the count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalper_tune.data.market import BOOK, NS_PER_SECOND, OHLCV
from scalper_tune.errors import DataError


@dataclass(frozen=True)
class Validated:
    """Clean columns, the inferred bar size in seconds, the number of gaps, and repair notes."""

    columns: dict[str, np.ndarray]
    bar_seconds: int
    gaps: int
    notes: tuple[str, ...]


def format_ts(ts_ns: int) -> str:
    """ISO 8601 UTC text for an int64 ns timestamp."""
    text = str(np.datetime64(int(ts_ns), "ns")).replace("T", " ")
    if int(ts_ns) % NS_PER_SECOND == 0:
        text = text[:19]
    return text + " UTC"


def _fail(origin: str, row: int, ts: np.ndarray, reason: str, fix: str) -> DataError:
    when = f" (time {format_ts(ts[row])})" if 0 <= row < ts.shape[0] else ""
    return DataError(f"{origin}: row {row + 1}{when}: {reason}. {fix}")


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def validate_columns(
    columns: dict[str, np.ndarray],
    *,
    origin: str,
    sort: bool = False,
    drop_duplicates: bool = False,
) -> Validated:
    """Check one symbol's columns (`ts` int64 ns, OHLCV float64, optional book/regime)."""
    missing = [c for c in ("ts",) + OHLCV if c not in columns]
    if missing:
        raise DataError(f"{origin}: missing column(s) {', '.join(missing)}. "
                        "Every file needs a time column and open, high, low, close, volume.")
    cols = {k: np.asarray(v) for k, v in columns.items()}
    ts = cols["ts"].astype(np.int64, copy=False)
    cols["ts"] = ts
    n = ts.shape[0]
    if n == 0:
        raise DataError(f"{origin}: the file has no data rows. Check that it is the right file.")
    notes: list[str] = []

    for name in OHLCV:
        values = cols[name].astype(np.float64, copy=False)
        cols[name] = values
        bad = ~np.isfinite(values)
        if name != "volume" and bad.any():
            raise _fail(origin, _first(bad), ts, f"{name} is NaN or infinite",
                        "Remove or repair that row in the source file; bars are never filled in.")
        if name == "volume" and (bad | (values < 0)).any():
            raise _fail(origin, _first(bad | (values < 0)), ts, "volume is NaN, infinite or negative",
                        "Repair that row in the source file.")
    for name in ("open", "high", "low", "close"):
        bad = cols[name] <= 0
        if bad.any():
            row = _first(bad)
            raise _fail(origin, row, ts, f"non-positive price: {name}={cols[name][row]:g}",
                        "Prices must be > 0; repair or drop that row in the source file.")
    o, h, lo, c = cols["open"], cols["high"], cols["low"], cols["close"]
    bad = h < lo
    if bad.any():
        row = _first(bad)
        raise _fail(origin, row, ts, f"high < low ({h[row]:g} < {lo[row]:g})",
                    "The row is corrupt; repair it in the source file.")
    for name, values in (("open", o), ("close", c)):
        bad = (values < lo) | (values > h)
        if bad.any():
            row = _first(bad)
            raise _fail(origin, row, ts,
                        f"{name}={values[row]:g} outside [low, high] = [{lo[row]:g}, {h[row]:g}]",
                        "The row is corrupt; repair it in the source file.")
    _check_book(cols, origin, ts)

    diffs = np.diff(ts)
    if (diffs < 0).any():
        if not sort:
            row = _first(diffs < 0) + 1
            raise _fail(origin, row, ts, "timestamps are not sorted (earlier than the row before)",
                        "Sort the file, or pass --sort to sort it on import.")
        order = np.argsort(ts, kind="stable")
        cols = {k: v[order] for k, v in cols.items()}
        ts = cols["ts"]
        notes.append(f"{origin}: sorted {int((diffs < 0).sum())} out-of-order row(s) (--sort)")
        diffs = np.diff(ts)
    if (diffs == 0).any():
        if not drop_duplicates:
            row = _first(diffs == 0) + 1
            raise _fail(origin, row, ts, "duplicate timestamp (same time as the row before)",
                        "Remove the duplicate, or pass --drop-duplicates to keep the first of each.")
        keep = np.concatenate(([True], diffs != 0))
        cols = {k: v[keep] for k, v in cols.items()}
        ts = cols["ts"]
        notes.append(f"{origin}: dropped {int((~keep).sum())} duplicate row(s) (--drop-duplicates)")
        diffs = np.diff(ts)

    bar_ns, gaps = infer_bar(diffs, origin, ts)
    return Validated(columns=cols, bar_seconds=bar_ns // NS_PER_SECOND, gaps=gaps,
                     notes=tuple(notes))


def infer_bar(diffs: np.ndarray, origin: str, ts: np.ndarray) -> tuple[int, int]:
    """The bar size (the most common step, ns) and the gap count; refuse mixed bar sizes."""
    if diffs.shape[0] == 0:
        raise DataError(f"{origin}: only one row; at least two bars are needed to know the bar size.")
    steps, counts = np.unique(diffs, return_counts=True)
    bar_ns = int(steps[np.argmax(counts)])
    if bar_ns % NS_PER_SECOND:
        raise DataError(f"{origin}: the bar size {bar_ns / NS_PER_SECOND:g} s is not a whole "
                        "number of seconds. Resample with --bar.")
    odd = diffs % bar_ns != 0
    if odd.any():
        row = _first(odd) + 1
        raise _fail(origin, row, ts,
                    f"mixed bar sizes: a step of {diffs[row - 1] / NS_PER_SECOND:g} s in data whose "
                    f"bar is {bar_ns / NS_PER_SECOND:g} s",
                    "Import each bar size separately, or resample to a common size with --bar.")
    return bar_ns, int((diffs > bar_ns).sum())


def _check_book(cols: dict[str, np.ndarray], origin: str, ts: np.ndarray) -> None:
    present = [b for b in BOOK if b in cols]
    if not present:
        return
    if len(present) != len(BOOK):
        lacking = ", ".join(b for b in BOOK if b not in cols)
        raise DataError(f"{origin}: incomplete book: missing {lacking}. "
                        "Provide all of bid, ask, bid_size, ask_size, or none.")
    for b in BOOK:
        cols[b] = cols[b].astype(np.float64, copy=False)
    bid, ask = cols["bid"], cols["ask"]
    both = np.isfinite(bid) & np.isfinite(ask)
    bad = both & ((bid <= 0) | (bid >= ask))
    if bad.any():
        row = _first(bad)
        raise _fail(origin, row, ts, f"crossed or invalid book (bid={bid[row]:g}, ask={ask[row]:g})",
                    "Need 0 < bid < ask; repair that row.")
    for b in ("bid_size", "ask_size"):
        bad = cols[b] < 0
        if bad.any():
            raise _fail(origin, _first(bad), ts, f"negative {b}", "Repair that row.")
