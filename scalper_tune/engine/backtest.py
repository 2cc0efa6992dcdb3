"""The event-driven backtest: every symbol trades its own sleeve (account / number of symbols) bar
by bar through the engine kernel; results are a trades table, equity curves and metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from scalper_tune.features import Features
from scalper_tune.config.costs import CostModel
from scalper_tune.data.market import MarketData
from scalper_tune.engine.inputs import cost_vector, param_vector, symbol_inputs
from scalper_tune.engine.metrics import Metrics, compute_metrics
from scalper_tune.engine.regime_sets import Switching, switching_inputs
from scalper_tune.kernels.engine_nb import run_engine_nb
from scalper_tune.kernels.layout import S, T
from scalper_tune.kernels.strategy_nb import (EXIT_SESSION_CLOSE, EXIT_STOP, EXIT_STOP_GAP,
                                              EXIT_TAKE_PROFIT, EXIT_TIME)

EXIT_REASONS = {EXIT_TAKE_PROFIT: "take_profit", EXIT_STOP: "stop_loss",
                EXIT_STOP_GAP: "stop_loss_gap", EXIT_TIME: "time_stop",
                EXIT_SESSION_CLOSE: "session_close"}
TRADE_COLUMNS = ("symbol", "side", "entry_time", "exit_time", "entry_price", "exit_price", "qty",
                 "pnl", "return", "fees", "exit_reason")
DEFAULT_ACCOUNT = 1000.0


@dataclass(frozen=True)
class SymbolRun:
    """One symbol's raw engine output: trade rows (kernel layout), equity and exposure per bar,
    and the position still open at the end (marked to market, not a trade)."""

    trades: np.ndarray
    equity: np.ndarray
    in_position: np.ndarray
    open_position: dict | None
    state: np.ndarray  # the engine's final state vector (running statistics, see engine_nb)


@dataclass(frozen=True)
class BacktestResult:
    trades: pd.DataFrame
    equity: pd.Series  # total account equity (sum of sleeves) on the union time axis, $
    metrics: Metrics
    runs: Mapping[str, SymbolRun] = field(default_factory=dict)


def run_symbol(market: MarketData, symbol: str, features: Mapping[str, np.ndarray],
               params: Mapping[str, object], costs: CostModel, capital: float,
               allow: np.ndarray | None = None, switching: Switching | None = None) -> SymbolRun:
    """Backtest one symbol's sleeve (with `switching`: its per-regime sets; `params` unused)."""
    data = market[symbol]
    if switching is None:
        x = symbol_inputs(data, features, int(params["z_window"]), costs, allow)
        pset, P = np.zeros(len(data), dtype=np.int64), param_vector(params)[None, :]
    else:
        x, pset = switching_inputs(data, features, switching, costs, allow)
        P = switching.matrix()
    trades, equity, in_pos, state = run_engine_nb(x, pset, P, cost_vector(costs), capital)
    open_position = None
    if state[S.dir] != 0.0:
        open_position = {"side": "long" if state[S.dir] > 0 else "short",
                         "qty": float(state[S.qty]), "entry_price": float(state[S.entry_px]),
                         "entry_bar": int(state[S.entry_bar]),
                         "mark_price": float(data.close[-1])}
    return SymbolRun(trades=trades, equity=equity, in_position=in_pos, open_position=open_position,
                     state=state)


def trades_frame(market: MarketData, runs: Mapping[str, SymbolRun]) -> pd.DataFrame:
    """The trades table (columns TRADE_COLUMNS; times UTC, intrabar exits stamped at the bar's
    close, open-fill exits at the bar's open)."""
    frames = []
    for symbol, run in runs.items():
        t = run.trades
        if t.shape[0] == 0:
            continue
        ts = market[symbol].ts
        entry_bar = t[:, T.entry_bar].astype(np.int64)
        exit_bar = t[:, T.exit_bar].astype(np.int64)
        exit_ns = ts[exit_bar] + t[:, T.intrabar].astype(np.int64) * market.bar_ns
        frames.append(pd.DataFrame({
            "symbol": symbol,
            "side": np.where(t[:, T.dir] > 0, "long", "short"),
            "entry_time": pd.to_datetime(ts[entry_bar], utc=True),
            "exit_time": pd.to_datetime(exit_ns, utc=True),
            "entry_price": t[:, T.entry_px], "exit_price": t[:, T.exit_px], "qty": t[:, T.qty],
            "pnl": t[:, T.pnl], "return": t[:, T.ret], "fees": t[:, T.fees],
            "exit_reason": [EXIT_REASONS[int(r)] for r in t[:, T.reason]],
            "_entry_bar": entry_bar, "_exit_bar": exit_bar}))
    if not frames:
        empty = {c: pd.Series(dtype=float) for c in TRADE_COLUMNS}
        for c in ("symbol", "side", "exit_reason"):
            empty[c] = pd.Series(dtype="str")
        for c in ("entry_time", "exit_time"):
            empty[c] = pd.Series(dtype="datetime64[ns, UTC]")
        empty.update({"_entry_bar": pd.Series(dtype=np.int64), "_exit_bar": pd.Series(dtype=np.int64)})
        return pd.DataFrame(empty)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["entry_time", "symbol"], kind="stable").reset_index(drop=True)


def total_equity(market: MarketData, runs: Mapping[str, SymbolRun], capital: float) -> pd.Series:
    """Sum of the sleeves on the union of bar times; a sleeve holds its last value between its
    bars and its capital before its first bar."""
    times = np.unique(np.concatenate([market[s].ts for s in runs]))
    total = np.zeros(times.shape[0])
    for symbol, run in runs.items():
        idx = np.searchsorted(market[symbol].ts, times, side="right") - 1
        total += np.where(idx >= 0, run.equity[np.clip(idx, 0, None)], capital)
    return pd.Series(total, index=pd.to_datetime(times, utc=True), name="equity")


def backtest(market: MarketData, features: Features,
             params: Mapping[str, object], costs: CostModel = CostModel(),
             account: float = DEFAULT_ACCOUNT,
             allow: Mapping[str, np.ndarray] | None = None,
             switching: Switching | None = None) -> BacktestResult:
    """Backtest every symbol of `market` with `params` (a complete parameter mapping), or with
    the per-regime sets of `switching` (then `params` is not used)."""
    capital = account / len(market.symbols)
    runs = {s: run_symbol(market, s, features[s], params, costs, capital,
                          None if allow is None else allow.get(s), switching)
            for s in market.symbols}
    trades = trades_frame(market, runs)
    equity = total_equity(market, runs, capital)
    metrics = compute_metrics(trades, equity, runs, market, account)
    return BacktestResult(trades=trades, equity=equity, metrics=metrics, runs=runs)
