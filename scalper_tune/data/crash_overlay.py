"""A 2022-style crash laid over real data, for the stress test of data that has no crash of its
own: from `start`, every symbol falls `fall` (default 60 %) along a smooth path over `days`
(default 5) days, with its bar-to-bar moves and intrabar ranges scaled by `vol_mult` (x4), the
spread widened by `spread_mult` (x10) and the displayed depth thinned by `depth_mult` (x0.1)
during the fall; afterwards prices continue from the crashed level with the data's own moves.
Bars before `start` are untouched, so causal features before it are unchanged."""

from __future__ import annotations

import numpy as np

from scalper_tune.data.market import MarketData, SymbolData

FALL, DAYS, VOL_MULT, SPREAD_MULT, DEPTH_MULT = 0.6, 5.0, 4.0, 10.0, 0.1


def _overlay(data: SymbolData, a: int, b: int, fall: float, vol_mult: float, spread_mult: float,
             depth_mult: float) -> SymbolData:
    n = len(data)
    close = data.close
    r = np.zeros(n)
    r[1:] = np.diff(np.log(close))
    shift = np.zeros(n)  # added to ln(price) of each bar
    steps = b - a
    if steps > 0:
        drift = np.log(1.0 - fall) / steps
        extra = (vol_mult - 1.0) * r[a:b] + drift
        shift[a:b] = np.cumsum(extra)
        shift[b:] = shift[b - 1]
    inside = np.zeros(n, dtype=bool)
    inside[a:b] = True
    factor = np.exp(shift)
    new_close = close * factor
    # intrabar: the open keeps its gap to the previous close; high/low their distance from the
    # bar's body, scaled by vol_mult inside the fall
    scale = np.where(inside, vol_mult, 1.0)
    prev = np.concatenate(([data.open[0] / close[0]], close[:-1]))
    new_prev = np.concatenate(([new_close[0] * data.open[0] / close[0]], new_close[:-1]))
    new_open = new_prev * np.exp(scale * np.log(data.open / prev))
    body_hi = np.maximum(new_open, new_close)
    body_lo = np.minimum(new_open, new_close)
    old_hi = np.maximum(data.open, close)
    old_lo = np.minimum(data.open, close)
    new_high = body_hi * np.exp(scale * np.log(data.high / old_hi))
    new_low = body_lo * np.exp(scale * np.log(data.low / old_lo))
    cols = dict(ts=data.ts, open=new_open, high=new_high, low=new_low, close=new_close,
                volume=data.volume * np.where(inside, 3.0, 1.0))
    if data.has_book:
        mid = (data.bid + data.ask) / 2
        half = (data.ask - data.bid) / 2 / mid * np.where(inside, spread_mult, 1.0)
        depth = np.where(inside, depth_mult, 1.0)
        cols.update(bid=new_close * (1 - half), ask=new_close * (1 + half),
                    bid_size=data.bid_size * depth, ask_size=data.ask_size * depth)
    return SymbolData(symbol=data.symbol, regime=data.regime, **cols)


def crash_overlay(market: MarketData, start_ns: int, *, fall: float = FALL, days: float = DAYS,
                  vol_mult: float = VOL_MULT, spread_mult: float = SPREAD_MULT,
                  depth_mult: float = DEPTH_MULT, max_bars: int | None = None) -> MarketData:
    """The market with the crash overlay from `start_ns` (see the module docstring); the fall
    lasts `days`, or `max_bars` bars if fewer."""
    bars = int(days * 86_400 / market.bar_seconds)
    if max_bars is not None:
        bars = min(bars, max_bars)
    series = {}
    for s in market.symbols:
        a = int(np.searchsorted(market[s].ts, start_ns))
        series[s] = _overlay(market[s], a, min(len(market[s]), a + max(bars, 1)), fall, vol_mult,
                             spread_mult, depth_mult)
    info = dict(market.info, crash_overlay={"start_ns": int(start_ns), "fall": fall,
                                            "days": days, "vol_mult": vol_mult,
                                            "spread_mult": spread_mult, "depth_mult": depth_mult})
    return MarketData(bar_seconds=market.bar_seconds, series=series, source=market.source,
                      symbol_meta=market.symbol_meta, info=info)
