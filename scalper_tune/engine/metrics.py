"""Backtest metrics: the seed's report plus risk-adjusted figures and a per-asset breakdown.

Returns are fractions (0.05 = 5 %), money in account currency ($), times in bars and seconds.
Sharpe and Sortino use per-bar returns of the total equity curve, annualised with
sqrt(bars per year) of the symbols' trading calendar (data/calendars.py: 365.25 days of bars for
24/7 crypto, 252 regular sessions for XNYS stocks). A portfolio mixing calendars has no one bar
clock: its Sharpe and Sortino use daily equity returns (UTC days), annualised with sqrt(days the
portfolio trades a year: 365.25 when a 24/7 symbol is in it). Per-asset Sharpe ratios use each
sleeve's per-bar returns on the asset's own calendar.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from scalper_tune.data.calendars import days_per_year
from scalper_tune.data.market import MarketData

SECONDS_PER_YEAR = 365.25 * 86400  # 24/7 bars (data/calendars.py has every calendar's)


@dataclass(frozen=True)
class AssetMetrics:
    symbol: str
    trades: int
    win_rate: float
    pnl: float
    avg_return: float
    worst_trade: float
    exposure: float
    sharpe: float = float("nan")  # per-bar sleeve returns, annualised on the asset's calendar


@dataclass(frozen=True)
class Metrics:
    account_value: float  # starting account, $
    final_equity: float  # marked to market, $
    assets_traded: int  # symbols with at least one closed trade
    total_trades: int
    win_rate: float
    avg_return_per_trade: float
    profit_factor: float  # gross profit / gross loss of closed trades
    total_pnl: float  # closed trades, net of fees, $
    open_pnl: float  # marked-to-market P&L of positions still open at the end, $
    return_on_account: float  # total_pnl / account_value
    max_drawdown: float  # largest peak-to-trough fall of the equity curve, $ (<= 0)
    max_drawdown_pct: float  # the same as a fraction of the peak (<= 0)
    worst_trade: float  # lowest trade return
    sharpe: float
    sortino: float
    calmar: float  # annualised return / |max_drawdown_pct|
    annual_return: float
    exposure: float  # share of bars with an open position, averaged over symbols
    avg_holding_bars: float
    avg_holding_seconds: float
    total_fees: float
    bars: int
    per_asset: tuple[AssetMetrics, ...]
    bars_per_year: float = SECONDS_PER_YEAR / 60  # of the union bar axis (its calendars)
    sharpe_basis: str = "bars"  # "bars" (per-bar returns) or "daily" (mixed calendars)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["per_asset"] = [asdict(a) for a in self.per_asset]
        return out


def _safe(x: float) -> float:
    return float(x) if math.isfinite(x) else (float("nan") if math.isnan(x) else float(x))


def profit_factor(pnl: np.ndarray) -> float:
    win = pnl[pnl > 0].sum()
    loss = -pnl[pnl <= 0].sum()
    if len(pnl) == 0:
        return float("nan")
    return float(win / loss) if loss > 0 else float("inf") if win > 0 else float("nan")


def sharpe_sortino(returns: np.ndarray, bars_per_year: float) -> tuple[float, float]:
    """Annualised Sharpe and Sortino of per-bar returns (0 risk-free rate)."""
    if returns.shape[0] < 2:
        return float("nan"), float("nan")
    mean = returns.mean()
    std = returns.std(ddof=1)
    downside = np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2))
    scale = math.sqrt(bars_per_year)
    sharpe = mean / std * scale if std > 0 else float("nan")
    sortino = mean / downside * scale if downside > 0 else float("nan")
    return float(sharpe), float(sortino)


def drawdown(equity: np.ndarray) -> tuple[float, float]:
    """(max drawdown in $, as a fraction of the running peak), both <= 0."""
    if equity.shape[0] == 0:
        return 0.0, 0.0
    peak = np.maximum.accumulate(equity)
    dd = equity - peak
    return float(dd.min()), float((dd / peak).min())


def compute_metrics(trades: pd.DataFrame, equity: pd.Series, runs: Mapping, market: MarketData,
                    account: float) -> Metrics:
    """Every metric of a backtest (see `Metrics`)."""
    pnl = trades["pnl"].to_numpy(dtype=float)
    rets = trades["return"].to_numpy(dtype=float)
    eq = equity.to_numpy()
    bars_per_year = market.bars_per_year()
    per_bar = eq[1:] / eq[:-1] - 1.0 if eq.shape[0] > 1 else np.zeros(0)
    basis = "daily" if len(market.calendars()) > 1 else "bars"
    if basis == "daily":
        daily = equity.resample("1D").last().dropna().to_numpy()
        cals = market.calendars()
        days = days_per_year("24/7" if "24/7" in cals else cals[0])
        sharpe, sortino = sharpe_sortino(daily[1:] / daily[:-1] - 1.0 if daily.shape[0] > 1
                                         else np.zeros(0), days)
    else:
        sharpe, sortino = sharpe_sortino(per_bar, bars_per_year)
    dd, dd_pct = drawdown(eq)
    final = float(eq[-1]) if eq.shape[0] else account
    years = eq.shape[0] / bars_per_year
    with np.errstate(over="ignore"):  # a few bars annualise to inf: reported, not an error
        annual = (float(np.float64(final / account) ** (1 / years)) - 1
                  if years > 0 and final > 0 else float("nan"))
    calmar = annual / abs(dd_pct) if dd_pct < 0 else float("nan")
    held = (trades["_exit_bar"] - trades["_entry_bar"] + 1).to_numpy(dtype=float)
    per_asset = []
    for symbol, run in runs.items():
        sel = (trades["symbol"] == symbol).to_numpy()
        p, r = pnl[sel], rets[sel]
        e = np.asarray(run.equity, dtype=float)
        own, _ = sharpe_sortino(e[1:] / e[:-1] - 1.0 if e.shape[0] > 1 else np.zeros(0),
                                market.bars_per_year(symbol))
        per_asset.append(AssetMetrics(
            symbol=symbol, trades=int(sel.sum()),
            win_rate=float((p > 0).mean()) if sel.any() else float("nan"),
            pnl=float(p.sum()), avg_return=float(r.mean()) if sel.any() else float("nan"),
            worst_trade=float(r.min()) if sel.any() else float("nan"),
            exposure=float(run.in_position.mean()) if run.in_position.shape[0] else 0.0,
            sharpe=own))
    total_pnl = float(pnl.sum())
    return Metrics(
        account_value=float(account), final_equity=final,
        assets_traded=sum(1 for a in per_asset if a.trades > 0), total_trades=int(len(pnl)),
        win_rate=float((pnl > 0).mean()) if len(pnl) else float("nan"),
        avg_return_per_trade=float(rets.mean()) if len(rets) else float("nan"),
        profit_factor=profit_factor(pnl), total_pnl=total_pnl,
        open_pnl=final - account - total_pnl, return_on_account=total_pnl / account,
        max_drawdown=dd, max_drawdown_pct=dd_pct,
        worst_trade=float(rets.min()) if len(rets) else float("nan"),
        sharpe=sharpe, sortino=sortino, calmar=_safe(calmar), annual_return=_safe(annual),
        exposure=float(np.mean([a.exposure for a in per_asset])) if per_asset else 0.0,
        avg_holding_bars=float(held.mean()) if len(held) else float("nan"),
        avg_holding_seconds=float(held.mean() * market.bar_seconds) if len(held) else float("nan"),
        total_fees=float(trades["fees"].sum()), bars=int(eq.shape[0]), per_asset=tuple(per_asset),
        bars_per_year=float(bars_per_year), sharpe_basis=basis)
