"""Sessions in the strategy and its numbers: flat_at_close and no_entry_last_bars on a hand-built
two-session market (event engine and prefilter alike), the overnight rule of the volatility
features (and their prefix invariance on session data), and a mixed-calendar portfolio's Sharpe
on daily equity with per-asset Sharpe ratios on each asset's own calendar."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.costs import CostModel
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.strategy_params import default_params
from scalper_tune.data import generate
from scalper_tune.data.calendars import session_bars
from scalper_tune.data.market import MarketData, SymbolData
from scalper_tune.engine import prefilter
from scalper_tune.engine.backtest import backtest
from scalper_tune.features.compute import SESSION_LEFT, compute_market, compute_symbol

MIN = 60 * 10**9
W = 40
DAY1 = int(pd.Timestamp("2024-03-11T13:30Z").value)  # a Monday open (EDT)
DAY2 = int(pd.Timestamp("2024-03-12T13:30Z").value)


def _two_sessions(signals: list[int]) -> tuple[MarketData, dict]:
    """20 bars: the last 10 of Monday's session and the first 10 of Tuesday's. A long entry
    signal (z = -3) on the bars in `signals`; prices flat so that no stop or target fires."""
    ts = np.concatenate([DAY1 + (380 + np.arange(10)) * MIN, DAY2 + np.arange(10) * MIN])
    n = ts.shape[0]
    close = np.full(n, 100.0)
    close[10:] = 101.0  # an overnight gap up
    data = SymbolData("STK", ts, close, close + 0.01, close - 0.01, close, np.full(n, 1e3))
    market = MarketData(bar_seconds=60, series={"STK": data}, source="t",
                        symbol_meta={"STK": {"calendar": "XNYS"}})
    z = np.zeros(n)
    z[signals] = -3.0
    feats = {f"price_z_w{W}": z, "vol_z_min": np.full(n, 5.0), "imbalance": np.full(n, np.nan),
             f"ou_mu_w{W}": np.log(close) + 0.5, f"ou_half_life_w{W}": np.full(n, 1e6),
             SESSION_LEFT: session_bars("XNYS", ts, MIN).bars_left.astype(float)}
    return market, {"STK": feats}


PARAMS = dict(default_params(), z_window=W, entry_z=2.0, vol_z_min=0.0, imbalance_min=0.0,
              stop_loss=0.5, max_hold=1000, hold_half_lives=100.0, side="long")


def _both(market, features, params) -> tuple[pd.DataFrame, pd.Series]:
    """Trades of the event engine, and the prefilter's summary row, on the same case."""
    costs = CostModel()
    result = backtest(market, features, params, costs, 1000.0)
    shared = prefilter.prepare(market, features, [W])
    summary, _ = prefilter.run(shared, pd.DataFrame([params]), costs, 1000.0)
    return result.trades, summary.iloc[0]


def test_flat_at_close_closes_at_the_sessions_last_close():
    market, features = _two_sessions([2])
    assert list(features["STK"][SESSION_LEFT][:10]) == list(range(10, 0, -1))
    trades, row = _both(market, features, PARAMS)
    (trade,) = trades.itertuples()
    assert trade.exit_reason == "session_close"
    assert trade.exit_time == pd.Timestamp("2024-03-11T20:00Z")  # 16:00 New York
    assert trade.exit_price < 100.0 and trade.exit_price > 99.9  # the close, less the spread
    assert row["trades"] == 1 and row["total_pnl"] == pytest.approx(trade.pnl, rel=1e-12)
    # without it the position is held through the night and takes the gap
    held, row = _both(market, features, dict(PARAMS, flat_at_close=False))
    assert held.empty and row["trades"] == 0  # still open at the end of the data


def test_no_entry_in_the_last_bars_of_a_session():
    # signals with 3 and 2 bars left: blocked by no_entry_last_bars = 3
    market, features = _two_sessions([7, 8])
    trades, row = _both(market, features, dict(PARAMS, no_entry_last_bars=3))
    assert trades.empty and row["trades"] == 0
    # with 4 bars left it enters (filled at the next open) and is closed at the close
    market, features = _two_sessions([6])
    trades, row = _both(market, features, dict(PARAMS, no_entry_last_bars=3))
    assert len(trades) == 1 == row["trades"]
    assert trades["entry_time"].iloc[0] == pd.Timestamp("2024-03-11T19:57Z")
    assert trades["exit_reason"].iloc[0] == "session_close"


def test_volatility_ignores_the_overnight_return_and_stays_causal():
    market = generate(SyntheticSpec(assets=1, bars=4000, calendar="XNYS", seed=4))
    d = market["STK01"]
    spec = FeatureSpec(vol_window=20, baseline_window=50, timeframes=(1, 5), z_windows=(20,))
    placed = session_bars("XNYS", d.ts, MIN)
    f = compute_symbol(d, spec, 60, "XNYS")
    plain = compute_symbol(d, spec, 60)  # as if 24/7: the gap counts as a one-minute return
    first = np.flatnonzero(placed.first)[1:]
    r = np.log(d.close[1:] / d.close[:-1])
    r_gapless = r.copy()
    r_gapless[first - 1] = 0.0
    t = first[3] + 5  # a bar whose 20-bar window holds an overnight return
    assert f["vol_tf1"][t] == pytest.approx(np.std(r_gapless[t - 20:t], ddof=1), rel=1e-9)
    assert plain["vol_tf1"][t] == pytest.approx(np.std(r[t - 20:t], ddof=1), rel=1e-9)
    assert f["vol_tf1"][t] != plain["vol_tf1"][t]
    # prefix invariance on session data, every feature including session_left
    for k in (first[5] - 1, first[5], first[5] + 7, 2999):
        head = compute_symbol(d.head(k), spec, 60, "XNYS")
        for name, values in head.items():
            np.testing.assert_array_equal(values, f[name][:k], err_msg=f"{name} at {k}")


def test_a_mixed_calendar_portfolio_uses_daily_equity_and_per_asset_calendars():
    market = generate(SyntheticSpec(assets=1, bars=14_400, stocks=1, seed=5))
    assert market.calendars() == ("24/7", "XNYS")
    spec = FeatureSpec(baseline_window=100, z_windows=(40,))
    features = compute_market(market, spec)
    params = dict(default_params(), z_window=40, entry_z=1.5, vol_z_min=-1.0)
    m = backtest(market, features, params).metrics
    result = backtest(market, features, params)
    assert m.sharpe_basis == "daily" and m.bars_per_year == pytest.approx(525_960)
    daily = result.equity.resample("1D").last().dropna().to_numpy()
    rets = daily[1:] / daily[:-1] - 1
    assert m.sharpe == pytest.approx(rets.mean() / rets.std(ddof=1) * math.sqrt(365.25))
    for asset in m.per_asset:
        e = result.runs[asset.symbol].equity
        own = e[1:] / e[:-1] - 1
        scale = 525_960 if asset.symbol.startswith("SYN") else 98_280
        assert asset.sharpe == pytest.approx(own.mean() / own.std(ddof=1) * math.sqrt(scale))
