"""Bars from a stream of trades and book quotes, cut on the receiver's clock: one code path for
`data import --format binance-stream` (a recording, its receive times as the clock) and a live
feed (the receiver's clock as messages arrive).

Per bar [t, t + bar): OHLCV from the trades received in it; `bid, ask, bid_size, ask_size` are
the last quote received before the bar's end (a quote stands until replaced). A bar without
trades gets open = high = low = close = the previous close and volume 0, as Binance's klines do.
Bars run from the first bar with a trade; a bar is closed (emitted) by the first message at or
after its end, or by `flush`. After `mark_gap` (a lost connection) the bar in progress is closed
marked `gap`, and the bars the gap spans are skipped, not invented.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NAN = float("nan")
BAR_FIELDS = ("ts", "open", "high", "low", "close", "volume", "bid", "ask", "bid_size",
              "ask_size")


@dataclass(frozen=True)
class Bar:
    """One closed bar (ts: open time, ns since the epoch); `gap`: the connection was lost while
    it was in progress (the bars after it, up to the next message, were skipped); `last_message_ns`: the receive time of the
    symbol's last message before the bar's end (staleness)."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    bid: float = NAN
    ask: float = NAN
    bid_size: float = NAN
    ask_size: float = NAN
    gap: bool = False
    last_message_ns: int = 0


class BarBuilder:
    """Bars of `bar_ns` nanoseconds for one symbol (see the module docstring). Each `on_*`
    method takes the message's receive time in ns (never decreasing) and returns the bars it
    closed, oldest first."""

    def __init__(self, bar_ns: int):
        if bar_ns <= 0:
            raise ValueError("bar_ns must be positive")
        self.bar_ns = bar_ns
        self.current: int | None = None  # bar index (ts // bar_ns) in progress
        self.ohlc = [NAN, NAN, NAN, NAN]
        self.volume = 0.0
        self.traded = False
        self.prev_close = NAN
        self.book = (NAN, NAN, NAN, NAN)
        self.last_t = -1
        self.gap = False

    def on_trade(self, t: int, price: float, qty: float) -> list[Bar]:
        out = self._advance(t)
        if self.current is None:
            self.current = t // self.bar_ns
        if self.traded:
            o, h, low, _ = self.ohlc
            self.ohlc = [o, max(h, price), min(low, price), price]
            self.volume += qty
        else:
            self.ohlc = [price, price, price, price]
            self.volume = qty
            self.traded = True
        return out

    def on_book(self, t: int, bid: float, ask: float, bid_size: float,
                ask_size: float) -> list[Bar]:
        out = self._advance(t)
        self.book = (bid, ask, bid_size, ask_size)
        return out

    def on_message(self, t: int) -> list[Bar]:
        """Any other message of the symbol (it moves the clock)."""
        return self._advance(t)

    def mark_gap(self) -> None:
        """The connection was lost: the bar in progress closes marked `gap` at the next message,
        and the bars between are not emitted."""
        self.gap = True

    def flush(self) -> list[Bar]:
        """Close the bar in progress (the end of a recording or a session)."""
        if self.current is None:
            return []
        bar = self._close()
        self.current = None
        return [bar]

    def _advance(self, t: int) -> list[Bar]:
        if t < self.last_t:
            raise ValueError(f"receive time goes backwards ({t} < {self.last_t})")
        out: list[Bar] = []
        k = t // self.bar_ns
        if self.current is not None and self.current < k:
            out.append(self._close())
            if self.gap:
                self.current = k
                self.gap = False
            else:
                self.current += 1
                while self.current < k:  # bars without messages: the previous close, volume 0
                    out.append(self._close())
                    self.current += 1
        self.last_t = t
        return out

    def _close(self) -> Bar:
        """Emit the bar in progress and start the next one from its close."""
        if not self.traded:
            c = self.prev_close
            self.ohlc = [c, c, c, c]
        o, h, low, c = self.ohlc
        bar = Bar(self.current * self.bar_ns, o, h, low, c, self.volume, *self.book,
                  gap=self.gap, last_message_ns=self.last_t)
        self.prev_close = c
        self.traded, self.volume = False, 0.0
        return bar


def bars_to_columns(bars: list[Bar], book: bool) -> dict[str, np.ndarray]:
    """Column arrays of a list of bars (the book columns only when `book`)."""
    names = BAR_FIELDS if book else BAR_FIELDS[:6]
    cols = {name: np.array([getattr(b, name) for b in bars],
                           dtype=np.int64 if name == "ts" else float) for name in names}
    return cols


def is_stale(bar: Bar, bar_ns: int, stale_after_ns: int) -> bool:
    """No message of the symbol for `stale_after_ns` before the bar's end."""
    return bar.ts + bar_ns - bar.last_message_ns >= stale_after_ns
