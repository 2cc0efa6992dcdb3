"""The event-driven engine: one `step_nb` per bar (event) over an explicit state vector.

The backtest loops `step_nb` over every bar; the prefilter loops it over entry candidates and
open-position bars only (a flat bar without a signal changes nothing); the paper runner calls it
once per live event. Same step, same decisions and fills.

State vector (float64, indices S_*): sleeve cash, the open position, the pending orders, and
running statistics so that summaries need no per-bar arrays: the power sums of the per-bar
returns (1st to 4th: Sharpe, skewness and kurtosis), the same first two sums per regime label of
the bar (N_REGIMES labels; a label outside [0, N_REGIMES) is not counted), the drawdown in $ and
as a fraction of the peak, and trade counts. A bar that is skipped while flat (the prefilter)
has return 0 and adds nothing to any sum, so the sums are exact; bar counts per regime come from
the labels outside the kernel. A closed trade is written to `trade` (indices T_*) and `step_nb`
returns 1.

Sessions (stocks): `left` is the number of bars left in the bar's trading session including
itself (1 on the session's last bar), 0 for a 24/7 symbol, -1 for a bar outside the regular
session (extended hours). No entry is decided where left is -1 or 1 <= left <= no_entry_last_bars;
with flat_at_close, the session's last bar cancels a pending entry and closes an open position at
its close (a market-on-close order: the close crossed by the bar's half-spread, taker fee; exit
reason session_close), so no scalp is held through the overnight gap.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from scalper_tune.kernels.strategy_nb import (C_LATENCY, C_MAKER, C_TAKER, EXIT_NONE,
                                              EXIT_SESSION_CLOSE, EXIT_STOP_GAP, EXIT_TAKE_PROFIT,
                                              EXIT_TIME, P_FLAT_CLOSE, P_NO_ENTRY_LAST, P_STOP,
                                              entry_direction_nb, hold_limit_nb,
                                              intrabar_exit_nb, market_fill_nb, position_qty_nb,
                                              take_profit_level_nb)

(S_CASH, S_DIR, S_QTY, S_ENTRY_PX, S_ENTRY_BAR, S_STOP, S_TP, S_HOLD, S_FEE_IN,
 S_PEND_ENTRY_BAR, S_PEND_DIR, S_PEND_QTY, S_PEND_TP, S_PEND_HOLD, S_PEND_EXIT_BAR,
 S_PREV_EQ, S_PEAK, S_MAX_DD, S_SUM_R, S_SUM_R2, S_TRADES, S_WINS, S_GROSS_WIN, S_GROSS_LOSS,
 S_SUM_RET, S_WORST_RET, S_BARS_IN_POS, S_HOLD_BARS, S_EQUITY, S_FEES, S_PEND_STOP,
 S_SUM_R3, S_SUM_R4, S_MAX_DD_PCT) = range(34)
N_REGIMES = 5  # regime labels 0..4 (calm, trending, volatile, toxic, crash)
S_REG_SUM = 34  # S_REG_SUM + k: sum of per-bar returns on bars labelled k
S_REG_SQ = S_REG_SUM + N_REGIMES  # S_REG_SQ + k: sum of their squares
N_STATE = S_REG_SQ + N_REGIMES
(T_ENTRY_BAR, T_EXIT_BAR, T_DIR, T_ENTRY_PX, T_EXIT_PX, T_QTY, T_PNL, T_RET, T_FEES, T_REASON,
 T_INTRABAR) = range(11)
N_TRADE = 11


@njit(cache=True)
def new_state_nb(capital: float) -> np.ndarray:
    """A flat sleeve holding `capital` in cash."""
    s = np.empty(N_STATE)
    reset_state_nb(s, capital)
    return s


@njit(cache=True)
def reset_state_nb(s: np.ndarray, capital: float) -> None:
    """Make `s` (N_STATE values) a flat sleeve holding `capital` (no allocation: the GPU
    kernel's per-thread state is a local array)."""
    for i in range(N_STATE):
        s[i] = 0.0
    s[S_CASH] = capital
    s[S_PEND_ENTRY_BAR] = -1.0
    s[S_PEND_EXIT_BAR] = -1.0
    s[S_ENTRY_BAR] = -1.0
    s[S_PREV_EQ] = capital
    s[S_PEAK] = capital
    s[S_EQUITY] = capital
    s[S_WORST_RET] = np.inf


@njit(cache=True)
def is_idle_nb(s: np.ndarray) -> bool:
    """Flat with no pending order: a bar without an entry signal changes nothing."""
    return s[S_DIR] == 0.0 and s[S_PEND_ENTRY_BAR] < 0.0


@njit(cache=True)
def _close_trade(s: np.ndarray, trade: np.ndarray, t: int, px: float, fee_rate: float,
                 reason: int, intrabar: bool) -> None:
    direction = s[S_DIR]
    qty = s[S_QTY]
    fee_out = qty * px * fee_rate * 1e-4
    gross = direction * qty * (px - s[S_ENTRY_PX])
    s[S_CASH] += gross - fee_out
    pnl = gross - s[S_FEE_IN] - fee_out
    ret = pnl / (qty * s[S_ENTRY_PX])
    trade[T_ENTRY_BAR] = s[S_ENTRY_BAR]
    trade[T_EXIT_BAR] = t
    trade[T_DIR] = direction
    trade[T_ENTRY_PX] = s[S_ENTRY_PX]
    trade[T_EXIT_PX] = px
    trade[T_QTY] = qty
    trade[T_PNL] = pnl
    trade[T_RET] = ret
    trade[T_FEES] = s[S_FEE_IN] + fee_out
    trade[T_REASON] = reason
    trade[T_INTRABAR] = 1.0 if intrabar else 0.0
    s[S_TRADES] += 1.0
    s[S_FEES] += s[S_FEE_IN] + fee_out
    if pnl > 0.0:
        s[S_WINS] += 1.0
        s[S_GROSS_WIN] += pnl
    else:
        s[S_GROSS_LOSS] -= pnl
    s[S_SUM_RET] += ret
    s[S_WORST_RET] = min(s[S_WORST_RET], ret)
    s[S_HOLD_BARS] += t - s[S_ENTRY_BAR] + 1.0
    s[S_DIR] = 0.0
    s[S_QTY] = 0.0
    s[S_PEND_EXIT_BAR] = -1.0


@njit(cache=True)
def broker_step_nb(s: np.ndarray, trade: np.ndarray, t: int, open_: float, high: float,
                   low: float, hs_prev: float, bid_size_prev: float, ask_size_prev: float,
                   p: np.ndarray, c: np.ndarray) -> int:
    """The broker's part of bar t: pending market orders fill at its open, then the resting
    stop-loss and take-profit inside it (stop first). `hs_prev`, `*_size_prev` come from the book
    at the previous close. Returns 1 if a trade closed (described in `trade`), else 0."""
    closed = 0
    if s[S_PEND_ENTRY_BAR] == t:
        direction = int(s[S_PEND_DIR])
        qty = s[S_PEND_QTY]
        size = ask_size_prev if direction == 1 else bid_size_prev
        px = market_fill_nb(open_, direction, hs_prev, qty, size, c)
        fee = qty * px * c[C_TAKER] * 1e-4
        s[S_CASH] -= fee
        s[S_FEE_IN] = fee
        s[S_DIR] = direction
        s[S_QTY] = qty
        s[S_ENTRY_PX] = px
        s[S_ENTRY_BAR] = t
        s[S_STOP] = px * (1.0 - direction * s[S_PEND_STOP])
        s[S_TP] = s[S_PEND_TP]
        s[S_HOLD] = s[S_PEND_HOLD]
        s[S_PEND_ENTRY_BAR] = -1.0
    elif s[S_PEND_EXIT_BAR] == t and s[S_DIR] != 0.0:
        direction = int(s[S_DIR])
        size = bid_size_prev if direction == 1 else ask_size_prev
        px = market_fill_nb(open_, -direction, hs_prev, s[S_QTY], size, c)
        _close_trade(s, trade, t, px, c[C_TAKER], EXIT_TIME, False)
        closed = 1
    if s[S_DIR] != 0.0:
        direction = int(s[S_DIR])
        code, ref = intrabar_exit_nb(direction, t > s[S_ENTRY_BAR], open_, high, low, s[S_STOP],
                                     s[S_TP], hs_prev)
        if code == EXIT_TAKE_PROFIT:
            _close_trade(s, trade, t, ref, c[C_MAKER], code, True)
            closed = 1
        elif code != EXIT_NONE:
            size = bid_size_prev if direction == 1 else ask_size_prev
            px = market_fill_nb(ref, -direction, hs_prev, s[S_QTY], size, c)
            _close_trade(s, trade, t, px, c[C_TAKER], code, code != EXIT_STOP_GAP)
            closed = 1
    return closed


@njit(cache=True)
def strategy_step_nb(s: np.ndarray, t: int, close: float, z: float, volz: float, imb: float,
                     allow: bool, mu: float, half_life: float, cross: float, left: float,
                     p: np.ndarray, c: np.ndarray) -> None:
    """The strategy's part of bar t, at its close: the time stop of an open position, or a new
    entry decision (an order filled by the broker at the open of bar t + 1 + latency); `left`:
    bars left in the session (see the module docstring)."""
    if s[S_DIR] != 0.0:
        if s[S_PEND_EXIT_BAR] < 0.0 and t - s[S_ENTRY_BAR] + 1.0 >= s[S_HOLD]:
            s[S_PEND_EXIT_BAR] = t + 1 + c[C_LATENCY]
    elif s[S_PEND_ENTRY_BAR] < 0.0 and (left == 0.0 or left > p[P_NO_ENTRY_LAST]):
        log_close = np.log(close)
        direction = entry_direction_nb(z, volz, imb, allow, mu, log_close, cross, p)
        if direction != 0:
            qty = position_qty_nb(s[S_CASH], z, close, p)
            if qty > 0.0:
                s[S_PEND_ENTRY_BAR] = t + 1 + c[C_LATENCY]
                s[S_PEND_DIR] = direction
                s[S_PEND_QTY] = qty
                s[S_PEND_TP] = take_profit_level_nb(mu, log_close, p)
                s[S_PEND_HOLD] = hold_limit_nb(half_life, p)
                s[S_PEND_STOP] = p[P_STOP]  # the set that decides sets the stop


@njit(cache=True)
def session_close_nb(s: np.ndarray, trade: np.ndarray, t: int, close: float, hs: float,
                     bid_size: float, ask_size: float, left: float, p: np.ndarray,
                     c: np.ndarray) -> int:
    """flat_at_close on the session's last bar (left == 1): cancel a pending entry and close an
    open position at the close (see the module docstring). Returns 1 if a trade closed."""
    if left != 1.0 or p[P_FLAT_CLOSE] <= 0.0:
        return 0
    s[S_PEND_ENTRY_BAR] = -1.0
    if s[S_DIR] == 0.0:
        return 0
    direction = int(s[S_DIR])
    size = bid_size if direction == 1 else ask_size
    px = market_fill_nb(close, -direction, hs, s[S_QTY], size, c)
    _close_trade(s, trade, t, px, c[C_TAKER], EXIT_SESSION_CLOSE, True)  # stamped at the close
    return 1


@njit(cache=True)
def mark_nb(s: np.ndarray, close: float, regime: int) -> None:
    """Mark the sleeve to market at the close and update the running statistics (`regime`: the
    bar's label for the per-regime sums; -1 for none)."""
    equity = s[S_CASH]
    if s[S_DIR] != 0.0:
        equity += s[S_DIR] * s[S_QTY] * (close - s[S_ENTRY_PX])
        s[S_BARS_IN_POS] += 1.0
    r = equity / s[S_PREV_EQ] - 1.0 if s[S_PREV_EQ] > 0.0 else 0.0
    r2 = r * r
    s[S_SUM_R] += r
    s[S_SUM_R2] += r2
    s[S_SUM_R3] += r2 * r
    s[S_SUM_R4] += r2 * r2
    if 0 <= regime < N_REGIMES:
        s[S_REG_SUM + regime] += r
        s[S_REG_SQ + regime] += r2
    s[S_PREV_EQ] = equity
    s[S_EQUITY] = equity
    if equity > s[S_PEAK]:
        s[S_PEAK] = equity
    if s[S_PEAK] - equity > s[S_MAX_DD]:
        s[S_MAX_DD] = s[S_PEAK] - equity
    if s[S_PEAK] > 0.0 and (s[S_PEAK] - equity) / s[S_PEAK] > s[S_MAX_DD_PCT]:
        s[S_MAX_DD_PCT] = (s[S_PEAK] - equity) / s[S_PEAK]


@njit(cache=True)
def step_nb(s: np.ndarray, trade: np.ndarray, t: int, open_: float, high: float, low: float,
            close: float, hs_prev: float, bid_size_prev: float, ask_size_prev: float, z: float,
            volz: float, imb: float, allow: bool, mu: float, half_life: float, cross: float,
            regime: int, left: float, hs_now: float, bid_size_now: float, ask_size_now: float,
            p: np.ndarray, c: np.ndarray) -> int:
    """One whole bar: the broker's fills, the strategy's decision at the close (with parameter
    vector `p`: the set in force at this bar), the session close (`left`, with the book at this
    close: `*_now`), the mark (`regime`: the bar's label for the statistics). Returns 1 if a
    trade closed in this bar (then described in `trade`; at most one can), else 0."""
    closed = broker_step_nb(s, trade, t, open_, high, low, hs_prev, bid_size_prev, ask_size_prev,
                            p, c)
    strategy_step_nb(s, t, close, z, volz, imb, allow, mu, half_life, cross, left, p, c)
    if session_close_nb(s, trade, t, close, hs_now, bid_size_now, ask_size_now, left, p, c):
        closed = 1
    mark_nb(s, close, regime)
    return closed


@njit(cache=True)
def run_engine_nb(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,
                  hs: np.ndarray, bid_size: np.ndarray, ask_size: np.ndarray, z: np.ndarray,
                  volz: np.ndarray, imb: np.ndarray, allow: np.ndarray, mu: np.ndarray,
                  half_life: np.ndarray, cross: np.ndarray, regime: np.ndarray,
                  left: np.ndarray, pset: np.ndarray, P: np.ndarray, c: np.ndarray,
                  capital: float) -> tuple:
    """Backtest one symbol bar by bar. `P` holds parameter sets (rows); `pset[t]` is the set in
    force at bar t (chosen outside the kernel, like the entry mask: a switching strategy), and
    an open position keeps the exits its opening set gave it. `regime[t]`: the bar's label for
    the statistics (-1: none). Returns (trades [k x N_TRADE], equity per bar, in-position flag
    per bar, final state)."""
    n = close.shape[0]
    s = new_state_nb(capital)
    trade = np.zeros(N_TRADE)
    trades = np.zeros((n // 2 + 1, N_TRADE))
    equity = np.empty(n)
    in_pos = np.zeros(n, dtype=np.bool_)
    k = 0
    for t in range(n):
        tp = t - 1 if t > 0 else 0
        if step_nb(s, trade, t, open_[t], high[t], low[t], close[t], hs[tp], bid_size[tp],
                   ask_size[tp], z[t], volz[t], imb[t], allow[t], mu[t], half_life[t],
                   cross[t], regime[t], left[t], hs[t], bid_size[t], ask_size[t], P[pset[t]], c):
            trades[k] = trade
            k += 1
        equity[t] = s[S_EQUITY]
        in_pos[t] = s[S_DIR] != 0.0
    return trades[:k].copy(), equity, in_pos, s
