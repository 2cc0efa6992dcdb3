"""Canonical in-memory market data: one `SymbolData` (NumPy columns on one time axis) per symbol.

Conventions: `ts` is the bar's *open* time in int64 nanoseconds since the epoch (UTC), strictly
increasing; a bar's values are known at `ts + bar_ns`. Prices are float64 in quote currency,
sizes and volume in base units. The optional L1 book (`bid, ask, bid_size, ask_size`) holds the
book at the bar's close; `regime` is the synthetic market's ground truth (int8).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

OHLCV = ("open", "high", "low", "close", "volume")
BOOK = ("bid", "ask", "bid_size", "ask_size")
REGIME_NAMES = ("calm", "trending", "volatile", "toxic", "crash")
NS_PER_SECOND = 1_000_000_000


def exchange_name(symbol: str) -> str:
    """A symbol as an exchange's stream names it: BTC_USDT, BTC-USDT, btc/usdt -> BTCUSDT."""
    return "".join(c for c in symbol.upper() if c.isalnum())


@dataclass(frozen=True, eq=False)
class SymbolData:
    """The columns of one symbol. Book columns are None when the source has no book."""

    symbol: str
    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    bid: np.ndarray | None = None
    ask: np.ndarray | None = None
    bid_size: np.ndarray | None = None
    ask_size: np.ndarray | None = None
    regime: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @property
    def has_book(self) -> bool:
        return self.bid is not None

    def columns(self) -> dict[str, np.ndarray]:
        """All present columns by canonical name, in canonical order."""
        out = {"ts": self.ts}
        for name in OHLCV + BOOK + ("regime",):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    def book_or_nan(self, name: str) -> np.ndarray:
        """A book column, or an all-NaN array when the source has no book (for kernels)."""
        value = getattr(self, name)
        return value if value is not None else np.full(len(self), np.nan)

    def head(self, k: int) -> "SymbolData":
        """The first `k` bars (a prefix; used by causality checks)."""
        cols = {n: a[:k] for n, a in self.columns().items()}
        return SymbolData(symbol=self.symbol, **cols)


@dataclass(frozen=True, eq=False)
class MarketData:
    """A dataset: symbols sharing one bar size.

    `symbol_meta` holds per-symbol facts such as `{"asset": "BTCUSDT", "venue": "binance-spot"}`;
    `info` holds source details (generator parameters, crash windows, importer and files).
    """

    bar_seconds: int
    series: Mapping[str, SymbolData]
    source: str
    symbol_meta: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    info: Mapping[str, object] = field(default_factory=dict)
    stored_hash: str | None = None  # the hash recorded in dataset.json, trusted when present

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self.series)

    @property
    def bar_ns(self) -> int:
        return self.bar_seconds * NS_PER_SECOND

    def __getitem__(self, symbol: str) -> SymbolData:
        return self.series[symbol]

    def calendar(self, symbol: str) -> str:
        """The symbol's trading calendar (`symbol_meta.<symbol>.calendar`; default 24/7)."""
        return str(self.symbol_meta.get(symbol, {}).get("calendar", "24/7"))

    def calendars(self) -> tuple[str, ...]:
        """The distinct calendars of the symbols, in symbol order."""
        return tuple(dict.fromkeys(self.calendar(s) for s in self.symbols))

    def bars_per_year(self, symbol: str | None = None) -> float:
        """Bars a year of `symbol`'s calendar; without one, of the union time axis of all
        symbols (24/7 when any symbol trades 24/7, else their session calendar's)."""
        from scalper_tune.data.calendars import bars_per_year

        if symbol is not None:
            return bars_per_year(self.calendar(symbol), self.bar_seconds)
        cals = self.calendars()
        cal = "24/7" if "24/7" in cals or not cals else cals[0]
        return bars_per_year(cal, self.bar_seconds)

    def content_hash(self) -> str:
        """SHA-256 over symbols, column names and column bytes: identical data, identical hash.
        A dataset read from disk reports the hash in its dataset.json (`load_dataset(verify=True)`
        recomputes and compares)."""
        return self.stored_hash or self.compute_hash()

    def compute_hash(self) -> str:
        """The content hash, always recomputed from the arrays."""
        digest = hashlib.sha256()
        digest.update(f"bar_seconds={self.bar_seconds}".encode())
        for symbol in sorted(self.series):
            digest.update(f"\0symbol={symbol}".encode())
            for name, values in self.series[symbol].columns().items():
                digest.update(f"\0{name}:{values.dtype.str}:".encode())
                digest.update(np.ascontiguousarray(values).tobytes())
        return digest.hexdigest()
