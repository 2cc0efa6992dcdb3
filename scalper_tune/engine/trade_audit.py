"""The engine's part of the causality audit: trades closed before a cut must not change when the
data after the cut is removed (and a position open at the cut must have the same entry)."""

from __future__ import annotations

from typing import Mapping

import pandas as pd

from scalper_tune.config.costs import CostModel
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.data.market import MarketData
from scalper_tune.engine.backtest import backtest
from scalper_tune.features.compute import compute_market
from scalper_tune.features.feature_audit import AuditRow, prefixes

KEY = ["symbol", "side", "entry_time", "exit_time", "entry_price", "exit_price", "qty", "pnl"]


def audit_trades(market: MarketData, spec: FeatureSpec, params: Mapping[str, object],
                 costs: CostModel = CostModel(), cuts: int = 20, seed: int = 7) -> AuditRow:
    """One audit row, 'engine trades': at each cut, the backtest on the truncated data must
    reproduce every full-data trade that closed before the cut, exactly."""
    full = backtest(market, compute_market(market, spec), params, costs).trades
    checked = violations = 0
    first: int | None = None
    compared: list[int] = []
    for cut, part in prefixes(market, cuts, seed):
        checked += 1
        pre = backtest(part, compute_market(part, spec), params, costs).trades
        closed = full[full["exit_time"] < pd.Timestamp(int(cut), tz="UTC")]
        compared.append(len(closed))
        intrabar_late = pre["exit_time"] >= pd.Timestamp(int(cut), tz="UTC")
        a = closed[KEY].reset_index(drop=True)
        b = pre.loc[~intrabar_late, KEY].reset_index(drop=True)
        if a.shape != b.shape or not a.equals(b):
            violations += 1
            merged = a.merge(b, how="outer", indicator=True)
            odd = merged[merged["_merge"] != "both"]
            t = int(odd["entry_time"].min().value) if len(odd) else int(cut)
            first = t if first is None else min(first, t)
    detail = f"{sum(compared)} trades compared ({', '.join(map(str, compared))} per cut)"
    return AuditRow("engine trades", checked, violations, first, detail)
