"""Binance combined-stream recordings -> L1 bars.

Input lines: `<local receive time, ns> <json>`, the JSON being a combined-stream message
(`{"stream": "btcusdt@trade" | "btcusdt@bookTicker" | "btcusdt@depth@100ms", "data": {...}}`;
REST depth snapshots without a "stream" key are skipped). Bars are cut on the receiver's clock,
i.e. what a live system sees when it acts, so the bars are causal for that system.

Per bar [t, t + bar): OHLCV from the trades received in it; `bid, ask, bid_size, ask_size` are
the last bookTicker received before the bar's end (a quote stands until replaced). A bar without
trades gets open = high = low = close = the previous close and volume 0, as Binance's own klines
do. Bars run from the first bar with a trade to the last bar with any message. Depth diffs are
counted but not used for L1: without a snapshot per gap they cannot give a trustworthy book.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scalper_tune.errors import DataError

PERP_HINTS = ("usdm", "futures", "perp", "swap", "coinm")


@dataclass
class _Messages:
    trade_t: list[int] = field(default_factory=list)
    trade_p: list[float] = field(default_factory=list)
    trade_q: list[float] = field(default_factory=list)
    book_t: list[int] = field(default_factory=list)
    book: list[tuple[float, float, float, float]] = field(default_factory=list)
    last_t: int = 0
    depth: int = 0


def venue_of(path: Path) -> tuple[str, str]:
    """(venue, symbol suffix) from the file name: perpetual recordings get '-PERP'."""
    name = path.name.lower()
    if any(h in name for h in PERP_HINTS):
        return "binance-usdm", "-PERP"
    return "binance-spot", ""


def read_stream(path: Path) -> dict[str, _Messages]:
    """Parse one recording into per-symbol message lists (by the exchange symbol, e.g. BTCUSDT)."""
    by_symbol: dict[str, _Messages] = {}
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                line = line.strip()
                if not line:
                    continue
                _parse_line(line, lineno, path, by_symbol)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the recording ({type(exc).__name__}: {exc}). "
                        "Check that the file is complete.") from None
    if not by_symbol:
        raise DataError(f"{path}: no stream messages found. Expected lines "
                        "'<ns> {\"stream\": ..., \"data\": ...}'; check --format.")
    return by_symbol


def _parse_line(line: str, lineno: int, path: Path, by_symbol: dict[str, _Messages]) -> None:
    head, _, body = line.partition(" ")
    try:
        t = int(head)
        message = json.loads(body)
    except ValueError:
        raise DataError(f"{path}: line {lineno}: expected '<receive time ns> <json>', got "
                        f"{line[:60]!r}. Check --format.") from None
    stream = message.get("stream") if isinstance(message, dict) else None
    if not stream:
        return  # a REST snapshot or control message
    data = message.get("data") or {}
    symbol = stream.split("@")[0].upper()
    msgs = by_symbol.setdefault(symbol, _Messages())
    if t < msgs.last_t:
        raise DataError(f"{path}: line {lineno}: receive time goes backwards. "
                        "The recording is damaged or concatenated out of order.")
    msgs.last_t = t
    kind = stream.split("@")[1] if "@" in stream else ""
    try:
        if kind == "trade":
            msgs.trade_t.append(t)
            msgs.trade_p.append(float(data["p"]))
            msgs.trade_q.append(float(data["q"]))
        elif kind == "bookTicker":
            msgs.book_t.append(t)
            msgs.book.append((float(data["b"]), float(data["a"]), float(data["B"]), float(data["A"])))
        elif kind.startswith("depth"):
            msgs.depth += 1
    except (KeyError, TypeError, ValueError):
        raise DataError(f"{path}: line {lineno}: malformed {kind} message. "
                        "The recording is damaged.") from None


def to_bars(msgs: _Messages, bar_ns: int, origin: str) -> dict[str, np.ndarray]:
    """Aggregate one symbol's messages into bars of `bar_ns` nanoseconds."""
    if not msgs.trade_t:
        raise DataError(f"{origin}: no trades in the recording, so no prices for bars.")
    tt = np.asarray(msgs.trade_t, dtype=np.int64)
    tp = np.asarray(msgs.trade_p)
    tq = np.asarray(msgs.trade_q)
    first = tt[0] // bar_ns
    last = msgs.last_t // bar_ns
    ts = np.arange(first, last + 1, dtype=np.int64) * bar_ns
    n = ts.shape[0]
    idx = tt // bar_ns - first
    starts = np.flatnonzero(np.diff(idx, prepend=-1))
    bars_with_trades = idx[starts]
    close = np.full(n, np.nan)
    open_, high, low = close.copy(), close.copy(), close.copy()
    volume = np.zeros(n)
    ends = np.append(starts[1:], tt.shape[0]) - 1
    open_[bars_with_trades] = tp[starts]
    close[bars_with_trades] = tp[ends]
    high[bars_with_trades] = np.maximum.reduceat(tp, starts)
    low[bars_with_trades] = np.minimum.reduceat(tp, starts)
    volume[bars_with_trades] = np.add.reduceat(tq, starts)
    filled = _ffill(close)  # bars without trades: previous close, volume 0 (as Binance klines)
    for arr in (open_, high, low, close):
        gap = np.isnan(arr)
        arr[gap] = filled[gap]
    out = {"ts": ts, "open": open_, "high": high, "low": low, "close": close, "volume": volume}
    if msgs.book_t:
        bt = np.asarray(msgs.book_t, dtype=np.int64)
        book = np.asarray(msgs.book)
        pos = np.searchsorted(bt, ts + bar_ns, side="left") - 1
        have = pos >= 0
        for j, name in enumerate(("bid", "ask", "bid_size", "ask_size")):
            col = np.full(n, np.nan)
            col[have] = book[pos[have], j]
            out[name] = col
    return out


def _ffill(values: np.ndarray) -> np.ndarray:
    idx = np.where(np.isnan(values), 0, np.arange(values.shape[0]))
    np.maximum.accumulate(idx, out=idx)
    return values[idx]
