"""`data inspect`: a per-symbol summary of a canonical dataset."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalper_tune.data.calendars import session_bars
from scalper_tune.data.market import BOOK, MarketData
from scalper_tune.data.validate import format_ts


@dataclass(frozen=True)
class SymbolSummary:
    symbol: str
    rows: int
    first: str
    last: str
    bar_seconds: int
    gaps: int
    largest_gap_bars: int
    book: str
    regimes: bool
    calendar: str = "24/7"


def summarize(market: MarketData) -> list[SymbolSummary]:
    """Rows, first/last bar time, bar size, gaps (missing-bar runs; inside sessions for a session
    calendar), book columns and calendar per symbol."""
    out = []
    for symbol in market.symbols:
        data = market[symbol]
        steps = np.diff(data.ts) // market.bar_ns
        if market.calendar(symbol) != "24/7":  # nights, weekends and holidays are no gaps
            session = session_bars(market.calendar(symbol), data.ts, market.bar_ns).session
            steps = np.where(session[1:] == session[:-1], steps, 1)
        gaps = int((steps > 1).sum())
        largest = int(steps.max() - 1) if gaps else 0
        book = ", ".join(b for b in BOOK if getattr(data, b) is not None) or "none"
        out.append(SymbolSummary(symbol=symbol, rows=len(data), first=format_ts(data.ts[0]),
                                 last=format_ts(data.ts[-1]), bar_seconds=market.bar_seconds,
                                 gaps=gaps, largest_gap_bars=largest, book=book,
                                 regimes=data.regime is not None,
                                 calendar=market.calendar(symbol)))
    return out


def render(market: MarketData, folder: str) -> str:
    """The table `data inspect` prints."""
    rows = summarize(market)
    head = ("symbol", "rows", "first", "last", "bar_s", "gaps", "max_gap_bars", "book", "regime",
            "calendar")
    table = [head] + [(r.symbol, str(r.rows), r.first[:19], r.last[:19], str(r.bar_seconds),
                       str(r.gaps), str(r.largest_gap_bars), r.book, "yes" if r.regimes else "no",
                       r.calendar)
                      for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(head))]
    lines = [f"{folder}: {len(rows)} symbol(s), source {market.source}, bar {market.bar_seconds} s"]
    for line in table:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
    return "\n".join(lines)
