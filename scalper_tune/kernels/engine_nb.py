"""The event-driven engine: one `step_nb` per bar (event) over an explicit state vector.

The backtest loops `step_nb` over every bar; the prefilter loops it over entry candidates and
open-position bars only (a flat bar without a signal changes nothing); the paper runner calls it
once per live event. Same step, same decisions and fills.

State vector (float64, slots `layout.S`): sleeve cash, the open position, the pending orders, and
running statistics so that summaries need no per-bar arrays: the power sums of the per-bar
returns (1st to 4th: Sharpe, skewness and kurtosis), the same first two sums per regime label of
the bar (N_REGIMES labels; a label outside [0, N_REGIMES) is not counted), the drawdown in $ and
as a fraction of the peak, and trade counts. A bar that is skipped while flat (the prefilter)
has return 0 and adds nothing to any sum, so the sums are exact; bar counts per regime come from
the labels outside the kernel. A closed trade is written to `trade` (slots `layout.T`) and `step_nb`
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

from scalper_tune.kernels.layout import C, N_REGIMES, N_STATE, N_TRADE, P, REG_SQ, REG_SUM, S, T
from scalper_tune.kernels.strategy_nb import (EXIT_NONE, EXIT_SESSION_CLOSE, EXIT_STOP_GAP,
                                              EXIT_TAKE_PROFIT, EXIT_TIME, entry_direction_nb,
                                              hold_limit_nb, intrabar_exit_nb, market_fill_nb,
                                              position_qty_nb, take_profit_level_nb)

__all__ = ["N_REGIMES", "N_STATE", "N_TRADE", "run_engine_nb", "step_nb"]


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
    s[S.cash] = capital
    s[S.pend_entry_bar] = -1.0
    s[S.pend_exit_bar] = -1.0
    s[S.entry_bar] = -1.0
    s[S.prev_eq] = capital
    s[S.peak] = capital
    s[S.equity] = capital
    s[S.worst_ret] = np.inf


@njit(cache=True)
def is_idle_nb(s: np.ndarray) -> bool:
    """Flat with no pending order: a bar without an entry signal changes nothing."""
    return s[S.dir] == 0.0 and s[S.pend_entry_bar] < 0.0


@njit(cache=True)
def _close_trade(s: np.ndarray, trade: np.ndarray, t: int, px: float, fee_rate: float,
                 reason: int, intrabar: bool) -> None:
    direction = s[S.dir]
    qty = s[S.qty]
    fee_out = qty * px * fee_rate * 1e-4
    gross = direction * qty * (px - s[S.entry_px])
    s[S.cash] += gross - fee_out
    pnl = gross - s[S.fee_in] - fee_out
    ret = pnl / (qty * s[S.entry_px])
    trade[T.entry_bar] = s[S.entry_bar]
    trade[T.exit_bar] = t
    trade[T.dir] = direction
    trade[T.entry_px] = s[S.entry_px]
    trade[T.exit_px] = px
    trade[T.qty] = qty
    trade[T.pnl] = pnl
    trade[T.ret] = ret
    trade[T.fees] = s[S.fee_in] + fee_out
    trade[T.reason] = reason
    trade[T.intrabar] = 1.0 if intrabar else 0.0
    s[S.trades] += 1.0
    s[S.fees] += s[S.fee_in] + fee_out
    if pnl > 0.0:
        s[S.wins] += 1.0
        s[S.gross_win] += pnl
    else:
        s[S.gross_loss] -= pnl
    s[S.sum_ret] += ret
    s[S.worst_ret] = min(s[S.worst_ret], ret)
    s[S.hold_bars] += t - s[S.entry_bar] + 1.0
    s[S.dir] = 0.0
    s[S.qty] = 0.0
    s[S.pend_exit_bar] = -1.0


@njit(cache=True)
def broker_step_nb(s: np.ndarray, trade: np.ndarray, t: int, open_: float, high: float,
                   low: float, hs_prev: float, bid_size_prev: float, ask_size_prev: float,
                   p: np.ndarray, c: np.ndarray) -> int:
    """The broker's part of bar t: pending market orders fill at its open, then the resting
    stop-loss and take-profit inside it (stop first). `hs_prev`, `*_size_prev` come from the book
    at the previous close. Returns 1 if a trade closed (described in `trade`), else 0."""
    closed = 0
    if s[S.pend_entry_bar] == t:
        direction = int(s[S.pend_dir])
        qty = s[S.pend_qty]
        size = ask_size_prev if direction == 1 else bid_size_prev
        px = market_fill_nb(open_, direction, hs_prev, qty, size, c)
        fee = qty * px * c[C.taker_fee_bps] * 1e-4
        s[S.cash] -= fee
        s[S.fee_in] = fee
        s[S.dir] = direction
        s[S.qty] = qty
        s[S.entry_px] = px
        s[S.entry_bar] = t
        s[S.stop] = px * (1.0 - direction * s[S.pend_stop])
        s[S.tp] = s[S.pend_tp]
        s[S.hold] = s[S.pend_hold]
        s[S.pend_entry_bar] = -1.0
    elif s[S.pend_exit_bar] == t and s[S.dir] != 0.0:
        direction = int(s[S.dir])
        size = bid_size_prev if direction == 1 else ask_size_prev
        px = market_fill_nb(open_, -direction, hs_prev, s[S.qty], size, c)
        _close_trade(s, trade, t, px, c[C.taker_fee_bps], EXIT_TIME, False)
        closed = 1
    if s[S.dir] != 0.0:
        direction = int(s[S.dir])
        code, ref = intrabar_exit_nb(direction, t > s[S.entry_bar], open_, high, low, s[S.stop],
                                     s[S.tp], hs_prev)
        if code == EXIT_TAKE_PROFIT:
            _close_trade(s, trade, t, ref, c[C.maker_fee_bps], code, True)
            closed = 1
        elif code != EXIT_NONE:
            size = bid_size_prev if direction == 1 else ask_size_prev
            px = market_fill_nb(ref, -direction, hs_prev, s[S.qty], size, c)
            _close_trade(s, trade, t, px, c[C.taker_fee_bps], code, code != EXIT_STOP_GAP)
            closed = 1
    return closed


@njit(cache=True)
def strategy_step_nb(s: np.ndarray, t: int, close: float, z: float, volz: float, imb: float,
                     allow: bool, mu: float, half_life: float, cross: float, left: float,
                     p: np.ndarray, c: np.ndarray) -> None:
    """The strategy's part of bar t, at its close: the time stop of an open position, or a new
    entry decision (an order filled by the broker at the open of bar t + 1 + latency); `left`:
    bars left in the session (see the module docstring)."""
    if s[S.dir] != 0.0:
        if s[S.pend_exit_bar] < 0.0 and t - s[S.entry_bar] + 1.0 >= s[S.hold]:
            s[S.pend_exit_bar] = t + 1 + c[C.latency]
    elif s[S.pend_entry_bar] < 0.0 and (left == 0.0 or left > p[P.no_entry_last_bars]):
        log_close = np.log(close)
        direction = entry_direction_nb(z, volz, imb, allow, mu, log_close, cross, p)
        if direction != 0:
            qty = position_qty_nb(s[S.cash], z, close, p)
            if qty > 0.0:
                s[S.pend_entry_bar] = t + 1 + c[C.latency]
                s[S.pend_dir] = direction
                s[S.pend_qty] = qty
                s[S.pend_tp] = take_profit_level_nb(mu, log_close, p)
                s[S.pend_hold] = hold_limit_nb(half_life, p)
                s[S.pend_stop] = p[P.stop_loss]  # the set that decides sets the stop


@njit(cache=True)
def session_close_nb(s: np.ndarray, trade: np.ndarray, t: int, close: float, hs: float,
                     bid_size: float, ask_size: float, left: float, p: np.ndarray,
                     c: np.ndarray) -> int:
    """flat_at_close on the session's last bar (left == 1): cancel a pending entry and close an
    open position at the close (see the module docstring). Returns 1 if a trade closed."""
    if left != 1.0 or p[P.flat_at_close] <= 0.0:
        return 0
    s[S.pend_entry_bar] = -1.0
    if s[S.dir] == 0.0:
        return 0
    direction = int(s[S.dir])
    size = bid_size if direction == 1 else ask_size
    px = market_fill_nb(close, -direction, hs, s[S.qty], size, c)
    _close_trade(s, trade, t, px, c[C.taker_fee_bps], EXIT_SESSION_CLOSE, True)  # stamped at the close
    return 1


@njit(cache=True)
def mark_nb(s: np.ndarray, close: float, regime: int) -> None:
    """Mark the sleeve to market at the close and update the running statistics (`regime`: the
    bar's label for the per-regime sums; -1 for none)."""
    equity = s[S.cash]
    if s[S.dir] != 0.0:
        equity += s[S.dir] * s[S.qty] * (close - s[S.entry_px])
        s[S.bars_in_pos] += 1.0
    r = equity / s[S.prev_eq] - 1.0 if s[S.prev_eq] > 0.0 else 0.0
    r2 = r * r
    s[S.sum_r] += r
    s[S.sum_r2] += r2
    s[S.sum_r3] += r2 * r
    s[S.sum_r4] += r2 * r2
    if 0 <= regime < N_REGIMES:
        s[REG_SUM + regime] += r
        s[REG_SQ + regime] += r2
    s[S.prev_eq] = equity
    s[S.equity] = equity
    if equity > s[S.peak]:
        s[S.peak] = equity
    if s[S.peak] - equity > s[S.max_dd]:
        s[S.max_dd] = s[S.peak] - equity
    if s[S.peak] > 0.0 and (s[S.peak] - equity) / s[S.peak] > s[S.max_dd_pct]:
        s[S.max_dd_pct] = (s[S.peak] - equity) / s[S.peak]


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


@njit(cache=True, nogil=True)  # nogil: symbols and parameter sets may run on threads
def run_engine_nb(x, pset: np.ndarray, P: np.ndarray, c: np.ndarray, capital: float) -> tuple:
    """Backtest one symbol bar by bar. `x`: its per-bar inputs, one bundle (engine/inputs.py
    `SymbolInputs`: open, high, low, close, hs, bid_size, ask_size, z, volz, imb, allow, mu,
    half_life, cross, regime, left). `P` holds parameter sets (rows); `pset[t]` is the set in
    force at bar t (chosen outside the kernel, like the entry mask: a switching strategy), and
    an open position keeps the exits its opening set gave it. `x.regime[t]`: the bar's label
    for the statistics (-1: none). Returns (trades [k x N_TRADE], equity per bar, in-position
    flag per bar, final state)."""
    n = x.close.shape[0]
    s = new_state_nb(capital)
    trade = np.zeros(N_TRADE)
    trades = np.zeros((n // 2 + 1, N_TRADE))
    equity = np.empty(n)
    in_pos = np.zeros(n, dtype=np.bool_)
    k = 0
    for t in range(n):
        tp = t - 1 if t > 0 else 0
        if step_nb(s, trade, t, x.open[t], x.high[t], x.low[t], x.close[t], x.hs[tp],
                   x.bid_size[tp], x.ask_size[tp], x.z[t], x.volz[t], x.imb[t], x.allow[t],
                   x.mu[t], x.half_life[t], x.cross[t], x.regime[t], x.left[t], x.hs[t],
                   x.bid_size[t], x.ask_size[t], P[pset[t]], c):
            trades[k] = trade
            k += 1
        equity[t] = s[S.equity]
        in_pos[t] = s[S.dir] != 0.0
    return trades[:k].copy(), equity, in_pos, s
