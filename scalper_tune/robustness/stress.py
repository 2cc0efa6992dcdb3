"""Phase 3: stress scenarios for the finalists, each with a pass/fail verdict and its reason.

Scenarios: the 2022-style crash (the synthetic market regenerated with crash episodes: a ~65 %
drawdown over months, volatility x4, spreads x10, one asset collapsing ~99 %; synthetic data
only), fees x fee_mult, spreads x spread_mult, latency + latency_add events, and the best asset
(highest P&L in the base run) removed. Every scenario runs the event engine on all the data.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Mapping

from scalper_tune.config.costs import CostModel
from scalper_tune.config.pipeline_spec import StressSpec
from scalper_tune.data import load_subset
from scalper_tune.data.market import MarketData
from scalper_tune.engine.backtest import backtest

Features = Mapping[str, Mapping]


def verdict(sharpe: float, dd_pct: float, spec: StressSpec) -> tuple[bool, str]:
    ok_sharpe = math.isfinite(sharpe) and sharpe >= spec.min_sharpe
    ok_dd = abs(dd_pct) <= spec.max_drawdown
    reason = (f"Sharpe {sharpe:.2f} {'>=' if ok_sharpe else '<'} {spec.min_sharpe:g}, drawdown "
              f"{abs(dd_pct) * 100:.1f}% {'<=' if ok_dd else '>'} {spec.max_drawdown * 100:.0f}%")
    return ok_sharpe and ok_dd, reason


def run_stress(market: MarketData, features: Features, params: Mapping[str, object],
               costs: CostModel, account: float, spec: StressSpec,
               crash: Callable[[], tuple[MarketData, Features]] | None) -> list[dict]:
    """One row per scenario: name, sharpe, return, drawdown, trades, passed, reason."""
    base = backtest(market, features, params, costs, account)
    scenarios: list[tuple[str, MarketData, Features, CostModel]] = [
        ("base", market, features, costs)]
    if crash is not None:
        crash_market, crash_features = crash()
        scenarios.append(("crash_2022", crash_market, crash_features, costs))
    scenarios.append((f"fees_x{spec.fee_mult:g}", market, features, dataclasses.replace(
        costs, taker_fee_bps=costs.taker_fee_bps * spec.fee_mult,
        maker_fee_bps=costs.maker_fee_bps * spec.fee_mult)))
    scenarios.append((f"spreads_x{spec.spread_mult:g}", market, features,
                      dataclasses.replace(costs, spread_mult=costs.spread_mult * spec.spread_mult)))
    scenarios.append((f"latency_plus{spec.latency_add}", market, features,
                      dataclasses.replace(costs, latency=costs.latency + spec.latency_add)))
    if len(market.symbols) > 1:
        best = max(base.metrics.per_asset, key=lambda a: a.pnl).symbol
        rest = [s for s in market.symbols if s != best]
        scenarios.append((f"without_{best}", load_subset(market, rest, "stress"),
                          {s: features[s] for s in rest}, costs))
    rows = []
    for name, m, f, c in scenarios:
        result = base if name == "base" else backtest(m, f, params, c, account)
        mt = result.metrics
        passed, reason = verdict(mt.sharpe, mt.max_drawdown_pct, spec)
        rows.append({"scenario": name, "sharpe": mt.sharpe, "return": mt.return_on_account,
                     "max_dd_pct": mt.max_drawdown_pct, "trades": mt.total_trades,
                     "passed": passed, "reason": reason})
    return rows
