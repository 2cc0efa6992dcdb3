"""The kernels' vector layouts, each declared once as a field list.

- the sleeve state (`S`, N_STATE values): cash, the open position, pending orders, running
  statistics (engine_nb's docstring says what each holds);
- a closed trade (`T`, N_TRADE values; `TRADE_DTYPE` reads a trades matrix as records);
- the strategy parameters (`P`): in the order of the parameter list
  (config/strategy_params.PARAMS) without z_window, which picks the features, not a rule;
- the costs (`C`): the CostModel fields the kernels read (spread_mult scales the half-spread
  before the kernels).

Each slot set is a namedtuple whose fields hold their own positions (`S.cash == 0`); Numba reads
a global namedtuple as compile-time constants, on the CPU and in CUDA device functions alike,
so `s[S.cash]` costs what `s[0]` does. No module outside `kernels/` indexes these vectors by
number; `state_dict` shows a state by name for debugging.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from scalper_tune.config.strategy_params import PARAMS

N_REGIMES = 5  # regime labels 0..4 (calm, trending, volatile, toxic, crash)


def slots(name: str, fields: tuple[str, ...]):
    """A namedtuple instance whose fields hold their own positions."""
    return namedtuple(name, fields)(*range(len(fields)))


STATE_FIELDS = (
    "cash", "dir", "qty", "entry_px", "entry_bar", "stop", "tp", "hold", "fee_in",
    "pend_entry_bar", "pend_dir", "pend_qty", "pend_tp", "pend_hold", "pend_exit_bar",
    "prev_eq", "peak", "max_dd", "sum_r", "sum_r2", "trades", "wins", "gross_win", "gross_loss",
    "sum_ret", "worst_ret", "bars_in_pos", "hold_bars", "equity", "fees", "pend_stop",
    "sum_r3", "sum_r4", "max_dd_pct",
    *(f"reg_sum_{k}" for k in range(N_REGIMES)),  # sum of per-bar returns on bars labelled k
    *(f"reg_sq_{k}" for k in range(N_REGIMES)))  # sum of their squares
S = slots("StateSlots", STATE_FIELDS)
N_STATE = len(STATE_FIELDS)
REG_SUM = S.reg_sum_0  # REG_SUM + k: regime k's sum
REG_SQ = S.reg_sq_0  # REG_SQ + k: regime k's sum of squares

TRADE_FIELDS = ("entry_bar", "exit_bar", "dir", "entry_px", "exit_px", "qty", "pnl", "ret",
                "fees", "reason", "intrabar")
T = slots("TradeSlots", TRADE_FIELDS)
N_TRADE = len(TRADE_FIELDS)
TRADE_DTYPE = np.dtype([(name, np.float64) for name in TRADE_FIELDS])

PARAM_FIELDS = tuple(name for name in PARAMS if name != "z_window")
P = slots("ParamSlots", PARAM_FIELDS)
N_PARAMS = len(PARAM_FIELDS)

# the prefilter's per-bar inputs, one bundle: every asset's bars concatenated (asset a at
# [start[a], start[a + 1])); z, mu and half_life stacked by z-window (window row x bar)
PrefilterBars = namedtuple("PrefilterBars", ("open", "high", "low", "close", "volz", "imb",
                                             "allow", "cross", "regime", "left", "z", "mu",
                                             "half_life"))

COST_FIELDS = ("taker_fee_bps", "maker_fee_bps", "slippage_bps", "impact_bps", "latency")
C = slots("CostSlots", COST_FIELDS)
N_COSTS = len(COST_FIELDS)


def state_dict(state: np.ndarray) -> dict[str, float]:
    """A state vector by slot name (debugging)."""
    return {name: float(state[i]) for i, name in enumerate(STATE_FIELDS)}


def trade_records(trades: np.ndarray) -> np.ndarray:
    """A trades matrix (k x N_TRADE float64) as k records of TRADE_DTYPE (a view, no copy)."""
    return np.ascontiguousarray(trades, dtype=np.float64).view(TRADE_DTYPE).reshape(-1)
