"""Binance combined-stream recordings -> L1 bars.

Input lines: `<local receive time, ns> <json>`, the JSON being a combined-stream message
(`{"stream": "btcusdt@trade" | "btcusdt@bookTicker" | "btcusdt@depth@100ms", "data": {...}}`;
REST depth snapshots without a "stream" key are skipped). Bars are cut on the receiver's clock,
i.e. what a live system sees when it acts, so the bars are causal for that system.

Bars come from `data.bar_builder.BarBuilder` (the live feed's bar builder, its clock the
recorded receive times): per bar [t, t + bar) OHLCV from the trades received in it, the last
bookTicker before the bar's end for the book, the previous close and volume 0 for a bar without
trades; bars run from the first bar with a trade to the last bar with any message. Depth diffs
move the clock but are not used for L1: without a snapshot per gap they cannot give a
trustworthy book.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

from scalper_tune.data.bar_builder import Bar, BarBuilder, bars_to_columns
from scalper_tune.errors import DataError

PERP_HINTS = ("usdm", "futures", "perp", "swap", "coinm")


@dataclass
class _Symbol:
    """One symbol's bar builder and the bars it closed."""

    builder: BarBuilder
    bars: list[Bar] = field(default_factory=list)
    book: bool = False
    trades: int = 0


def venue_of(path: Path) -> tuple[str, str]:
    """(venue, symbol suffix) from the file name: perpetual recordings get '-PERP'."""
    name = path.name.lower()
    if any(h in name for h in PERP_HINTS):
        return "binance-usdm", "-PERP"
    return "binance-spot", ""


def read_stream(path: Path, bar_ns: int) -> dict[str, dict[str, np.ndarray]]:
    """Bars of `bar_ns` per symbol (by the exchange symbol, e.g. BTCUSDT) from one recording."""
    by_symbol: dict[str, _Symbol] = {}
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                line = line.strip()
                if not line:
                    continue
                _parse_line(line, lineno, path, by_symbol, bar_ns)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the recording ({type(exc).__name__}: {exc}). "
                        "Check that the file is complete.") from None
    if not by_symbol:
        raise DataError(f"{path}: no stream messages found. Expected lines "
                        "'<ns> {\"stream\": ..., \"data\": ...}'; check --format.")
    out = {}
    for symbol, sym in by_symbol.items():
        sym.bars += sym.builder.flush()
        if not sym.trades:
            raise DataError(f"{path} [{symbol}]: no trades in the recording, so no prices for "
                            "bars.")
        out[symbol] = bars_to_columns(sym.bars, sym.book)
    return out


def parse_message(message: object) -> tuple[str, str, Mapping] | None:
    """(symbol, kind, data) of a combined-stream message (kind: 'trade', 'bookTicker',
    'depth@100ms', ...), or None for a message without a stream (a REST snapshot, a control
    reply)."""
    stream = message.get("stream") if isinstance(message, dict) else None
    if not stream or not isinstance(stream, str):
        return None
    data = message.get("data")
    symbol, _, kind = stream.partition("@")
    return symbol.upper(), kind, data if isinstance(data, dict) else {}


def feed(builder: BarBuilder, t: int, kind: str, data: Mapping) -> tuple[list[Bar], str]:
    """One message into a symbol's builder: (closed bars, what it was: 'trade', 'book' or
    'other'). A trade or quote with missing or non-numeric fields raises KeyError, TypeError
    or ValueError before the builder changes."""
    if kind == "trade":
        price, qty = float(data["p"]), float(data["q"])
        return builder.on_trade(t, price, qty), "trade"
    if kind == "bookTicker":
        quote = (float(data["b"]), float(data["a"]), float(data["B"]), float(data["A"]))
        return builder.on_book(t, *quote), "book"
    return builder.on_message(t), "other"


def _parse_line(line: str, lineno: int, path: Path, by_symbol: dict[str, _Symbol],
                bar_ns: int) -> None:
    head, _, body = line.partition(" ")
    try:
        t = int(head)
        message = json.loads(body)
    except ValueError:
        raise DataError(f"{path}: line {lineno}: expected '<receive time ns> <json>', got "
                        f"{line[:60]!r}. Check --format.") from None
    parsed = parse_message(message)
    if parsed is None:
        return  # a REST snapshot or control message
    symbol, kind, data = parsed
    sym = by_symbol.setdefault(symbol, _Symbol(BarBuilder(bar_ns)))
    if t < sym.builder.last_t:
        raise DataError(f"{path}: line {lineno}: receive time goes backwards. "
                        "The recording is damaged or concatenated out of order.")
    try:
        bars, what = feed(sym.builder, t, kind, data)
    except (KeyError, TypeError, ValueError):
        raise DataError(f"{path}: line {lineno}: malformed {kind} message. "
                        "The recording is damaged.") from None
    sym.bars += bars
    sym.trades += what == "trade"
    sym.book |= what == "book"
