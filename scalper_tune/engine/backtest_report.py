"""Printing results: the seed's report layout for backtests, JSON with plain numbers, trades CSV."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import pandas as pd

from scalper_tune.config.values import json_safe
from scalper_tune.engine.backtest import TRADE_COLUMNS
from scalper_tune.engine.metrics import Metrics
from scalper_tune.errors import UsageError

RULE = "-" * 38


def _pct(x: float, signed: bool = False) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{x * 100:+.2f}%" if signed else f"{x * 100:.1f}%"


def _num(x: float, fmt: str = "{:.2f}") -> str:
    return fmt.format(x) if math.isfinite(x) else ("inf" if x == math.inf else "n/a")


def render_metrics(m: Metrics) -> str:
    """The seed's report, then the risk figures and the per-asset breakdown."""
    lines = [
        f"Account Value:        $ {m.account_value:,.0f}",
        f"Assets Traded:        {m.assets_traded}",
        RULE,
        f"Total Trades:         {m.total_trades}",
        f"Win Rate:             {_pct(m.win_rate)}",
        f"Avg Return/Trade:     {_pct(m.avg_return_per_trade, signed=True)}",
        f"Profit Factor:        {_num(m.profit_factor)}",
        RULE,
        f"TOTAL P&L:            $ {m.total_pnl:,.2f}",
        f"Return on Account:    {_pct(m.return_on_account, signed=True)}",
        f"Max Drawdown (cum):   $ {m.max_drawdown:,.2f} ({_pct(m.max_drawdown_pct, signed=True)})",
        f"Worst Trade:          {_pct(m.worst_trade, signed=True)}",
        RULE,
        f"Sharpe (annual):      {_num(m.sharpe)}",
        f"Sortino (annual):     {_num(m.sortino)}",
        f"Calmar:               {_num(m.calmar)}",
        f"Exposure:             {_pct(m.exposure)}",
        f"Avg Holding:          {_num(m.avg_holding_bars, '{:.1f}')} bars "
        f"({_num(m.avg_holding_seconds / 60, '{:.1f}')} min)",
        f"Fees Paid:            $ {m.total_fees:,.2f}",
        f"Open P&L (marked):    $ {m.open_pnl:,.2f}",
        RULE,
        f"{'symbol':<14}{'trades':>7}{'win':>8}{'pnl $':>11}{'avg ret':>10}{'exposure':>10}",
    ]
    for a in m.per_asset:
        lines.append(f"{a.symbol:<14}{a.trades:>7}{_pct(a.win_rate):>8}{a.pnl:>11.2f}"
                     f"{_pct(a.avg_return, signed=True):>10}{_pct(a.exposure):>10}")
    return "\n".join(lines)


def metrics_json(m: Metrics) -> str:
    return json.dumps(json_safe(m.to_dict()), indent=2)


def write_trades_csv(trades: pd.DataFrame, trades_out: str | Path) -> None:
    """The trades file `trades_out`: exactly TRADE_COLUMNS, times ISO 8601 UTC; written
    atomically."""
    path = Path(trades_out)
    out = trades.loc[:, list(TRADE_COLUMNS)].copy()
    for col in ("entry_time", "exit_time"):
        out[col] = pd.to_datetime(out[col], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", newline="") as handle:
            out.to_csv(handle, index=False)
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(f"trades_out {path}: cannot write ({exc.strerror}). "
                         "Choose a writable path.", param="trades_out") from None
