"""The scalper's decision and fill rules, shared by the event engine, the prefilter and the paper
broker (one definition, so every engine trades alike).

Parameters travel as a float64 vector of the slots `layout.P`, costs of `layout.C`.
Prices: OHLC are trade or mid prices; `hs` is the half-spread as a fraction of the price (0 without
a book), taken from the book at the previous bar's close, i.e. the book standing when the order
arrives. Directions: +1 long / buy, -1 short / sell.

Fill rules (documented in the README):
- a decision at the close of bar t fills at the open of bar t + 1 + latency, crossing the spread
  (buy at open x (1 + hs), sell at open x (1 - hs)) plus slippage and size impact, paying taker fee;
- the stop-loss is a resting stop: if a bar opens through it, it fills at that open (gap);
  otherwise, if the bar's range reaches it, it fills at the stop price crossed by the spread and
  slippage; taker fee;
- the take-profit (the OU target) is a resting limit at level T, filled at T with maker fee when the
  bar's range reaches T beyond the spread (a sell limit needs high >= T x (1 + hs));
- conservative ordering inside a bar: the stop is checked before the take-profit, so a bar that
  touches both counts as a loss;
- the time stop is decided at a close and fills like any market order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from scalper_tune.kernels.layout import C, P

SIDE_LONG, SIDE_SHORT, SIDE_BOTH = 1.0, -1.0, 0.0
EXIT_NONE, EXIT_TAKE_PROFIT, EXIT_STOP, EXIT_STOP_GAP, EXIT_TIME = 0, 1, 2, 3, 4
EXIT_SESSION_CLOSE = 5


@njit(cache=True)
def entry_direction_nb(z: float, volz: float, imb: float, allow: bool, mu: float,
                       log_close: float, cross: float, p: np.ndarray) -> int:
    """+1 / -1 to enter long / short at this close, 0 for no entry.

    Long when z <= -entry_z, short when z >= entry_z (as `side` allows); every timeframe's
    volatility z-score must be >= vol_z_min; when imbalance_min > 0 and a book exists, the
    imbalance must lean toward the reversion by at least imbalance_min; the entry mask must allow
    it; when cross_venue_z > 0, the other venue of the same asset must be calm (`cross`: |basis
    z-score| against it, +inf while it shows a liquidity gap, NaN without a second venue: never
    blocks) below cross_venue_z; and the OU fit must see the price stretched the same way (mean
    on the reversion side)."""
    if not (abs(z) >= p[P.entry_z]):
        return 0
    direction = 1 if z < 0.0 else -1
    side = p[P.side]
    if side != SIDE_BOTH and direction != int(side):
        return 0
    if not (volz >= p[P.vol_z_min]):
        return 0
    if p[P.imbalance_min] > 0.0 and not np.isnan(imb) and direction * imb < p[P.imbalance_min]:
        return 0
    if not allow:
        return 0
    if p[P.cross_venue_z] > 0.0 and cross >= p[P.cross_venue_z]:
        return 0
    if not np.isfinite(mu) or direction * (mu - log_close) <= 0.0:
        return 0
    return direction


@njit(cache=True)
def position_qty_nb(equity: float, z: float, price: float, p: np.ndarray) -> float:
    """Units to trade: notional = equity x min(max_position, base_position x |z| / entry_z)."""
    if equity <= 0.0 or price <= 0.0:
        return 0.0
    frac = min(p[P.max_position], p[P.base_position] * abs(z) / p[P.entry_z])
    return equity * frac / price


@njit(cache=True)
def take_profit_level_nb(mu: float, log_close: float, p: np.ndarray) -> float:
    """Price at which the deviation from the OU mean has shrunk to ou_exit_frac of today's."""
    return np.exp(mu + p[P.ou_exit_frac] * (log_close - mu))


@njit(cache=True)
def hold_limit_nb(half_life: float, p: np.ndarray) -> int:
    """Bars to hold before the time stop: hold_half_lives x the OU half-life, capped by max_hold."""
    cap = int(p[P.max_hold])
    if np.isfinite(half_life) and half_life > 0.0:
        return max(1, min(cap, int(np.ceil(p[P.hold_half_lives] * half_life))))
    return cap


@njit(cache=True)
def market_fill_nb(ref: float, side: int, hs: float, qty: float, size: float,
                   c: np.ndarray) -> float:
    """Fill price of a market order of `side` (+1 buy, -1 sell) at reference price `ref`:
    cross the half-spread, add slippage and size impact (impact_bps per 100 % of the displayed
    `size` on the side taken; none when the size is unknown)."""
    bps = c[C.slippage_bps]
    if c[C.impact_bps] > 0.0 and size > 0.0:
        bps += c[C.impact_bps] * qty / size
    return ref * (1.0 + side * (hs + bps * 1e-4))


@njit(cache=True)
def intrabar_exit_nb(direction: int, gap_allowed: bool, open_: float, high: float, low: float,
                     stop: float, tp: float, hs: float) -> tuple:
    """(exit code, reference price) of resting stop / take-profit orders inside one bar.
    The stop is checked first (conservative). `gap_allowed` is False on the entry bar, whose
    open is the entry fill itself."""
    if direction == 1:
        if gap_allowed and open_ <= stop:
            return EXIT_STOP_GAP, open_
        if low <= stop:
            return EXIT_STOP, stop
        if high >= tp * (1.0 + hs):
            return EXIT_TAKE_PROFIT, tp
    else:
        if gap_allowed and open_ >= stop:
            return EXIT_STOP_GAP, open_
        if high >= stop:
            return EXIT_STOP, stop
        if low <= tp * (1.0 - hs):
            return EXIT_TAKE_PROFIT, tp
    return EXIT_NONE, np.nan
