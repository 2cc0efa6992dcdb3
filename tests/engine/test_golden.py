"""Golden tests: tiny hand-computed cases (3-10 bars) for every exit reason, the fill rules and
every metric."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scalper_tune.config.costs import CostModel
from scalper_tune.config.strategy_params import default_params
from scalper_tune.data.market import MarketData, SymbolData
from scalper_tune.engine.backtest import backtest

NO_COSTS = CostModel(taker_fee_bps=0, maker_fee_bps=0, slippage_bps=0, impact_bps=0)
FEES = CostModel(taker_fee_bps=10, maker_fee_bps=0, slippage_bps=0, impact_bps=0)
BAR = 60 * 10**9


def case(bars, z, mu, *, half_life=None, book=None, volz=5.0, imb=np.nan):
    """One symbol 'X' from (open, high, low, close) rows, with the features the engine reads."""
    o, h, lo, c = (np.array(col, dtype=float) for col in zip(*bars))
    n = len(c)
    extra = {}
    if book is not None:
        hs = np.array(book, dtype=float)  # half-spread fraction per bar
        extra = {"bid": c * (1 - hs), "ask": c * (1 + hs), "bid_size": np.full(n, 1e9),
                 "ask_size": np.full(n, 1e9)}
    data = SymbolData("X", ts=np.arange(n, dtype=np.int64) * BAR, open=o, high=h, low=lo, close=c,
                      volume=np.ones(n), **extra)
    market = MarketData(bar_seconds=60, series={"X": data}, source="test")
    full = lambda v: np.full(n, v, dtype=float) if np.isscalar(v) else np.array(v, dtype=float)
    feats = {"price_z_w40": full(z), "vol_z_min": full(volz), "imbalance": full(imb),
             "ou_mu_w40": np.log(full(mu)), "ou_half_life_w40": full(np.nan if half_life is None
                                                                     else half_life)}
    return market, {"X": feats}


def params(**over):
    p = default_params()
    p.update({"z_window": 40, "entry_z": 2.0, "vol_z_min": 1.0, "imbalance_min": 0.0,
              "ou_exit_frac": 0.0, "stop_loss": 0.01, "side": "both", "max_hold": 100,
              "hold_half_lives": 2.0, "base_position": 0.5, "max_position": 1.0})
    p.update(over)
    return p


NAN = np.nan


def test_take_profit_long_with_fees():
    # bar 0: z = -3 -> long; qty = 1000 x min(1, 0.5 x 3 / 2) / close 100 = 7.5
    # bar 1: fill at open 100, taker fee 7.5 x 100 x 10 bps = 0.75; stop 99, target exp(mu) = 101
    # bar 2: high 101.2 reaches 101 -> take profit at 101, maker fee 0
    market, feats = case([(100, 100.2, 99.8, 100), (100, 100.5, 99.5, 100.3),
                          (100.2, 101.2, 100, 101.1), (101, 101, 101, 101)],
                         z=[-3, NAN, NAN, NAN], mu=101)
    r = backtest(market, feats, params(), FEES, account=1000)
    t = r.trades.iloc[0]
    assert len(r.trades) == 1 and t.side == "long" and t.exit_reason == "take_profit"
    assert t.qty == pytest.approx(7.5) and t.entry_price == 100
    assert t.exit_price == pytest.approx(101)  # exp(ln 101)
    assert t.fees == pytest.approx(0.75) and t.pnl == pytest.approx(6.75)
    assert t["return"] == pytest.approx(6.75 / 750)
    assert t.entry_time.value == 1 * BAR and t.exit_time.value == 3 * BAR  # intrabar: bar close
    np.testing.assert_allclose(r.equity.to_numpy(), [1000, 999.25 + 7.5 * 0.3, 1006.75, 1006.75])


def test_stop_gap_short_fills_at_open():
    # short at bar 0 (z = +2.5, mu below the close); fill 100 at bar 1, stop 101;
    # bar 2 opens at 102 above the stop -> stop_loss_gap at 102
    market, feats = case([(100, 100, 100, 100), (100, 100.5, 99.6, 100.2), (102, 103, 101.5, 102.5)],
                         z=[2.5, NAN, NAN], mu=99)
    r = backtest(market, feats, params(), NO_COSTS, account=1000)
    t = r.trades.iloc[0]
    qty = 1000 * 0.5 * 2.5 / 2 / 100
    assert t.side == "short" and t.exit_reason == "stop_loss_gap" and t.exit_price == 102
    assert t.pnl == pytest.approx(-qty * 2) and t.exit_time.value == 2 * BAR  # at the open


def test_stop_inside_bar_and_stop_before_take_profit():
    # long fill 100 (stop 99, target 101); bar 2 touches both 98.9 and 101.5: the stop wins
    market, feats = case([(100, 100, 100, 100), (100, 100.4, 99.5, 100), (100, 101.5, 98.9, 100)],
                         z=[-2, NAN, NAN], mu=101)
    r = backtest(market, feats, params(), NO_COSTS, account=1000)
    t = r.trades.iloc[0]
    assert t.exit_reason == "stop_loss" and t.exit_price == pytest.approx(99.0)
    assert t.pnl == pytest.approx(5.0 * (99 - 100))


def test_time_stop_from_half_life_then_market_exit_next_open():
    # half-life 1.2 bars x hold_half_lives 2 -> ceil(2.4) = 3 bars held; entry at bar 1, so the
    # close of bar 3 decides the exit, filled at the open of bar 4
    bars = [(100, 100, 100, 100)] + [(100, 100.3, 99.7, 100)] * 3 + [(100.1, 100.2, 100, 100.1)] * 2
    market, feats = case(bars, z=[-2] + [NAN] * 5, mu=102, half_life=1.2)
    r = backtest(market, feats, params(), NO_COSTS, account=1000)
    t = r.trades.iloc[0]
    assert t.exit_reason == "time_stop" and t.exit_price == 100.1
    assert t.entry_time.value == BAR and t.exit_time.value == 4 * BAR


def test_max_hold_caps_the_time_stop():
    bars = [(100, 100, 100, 100)] + [(100, 100.3, 99.7, 100)] * 5
    market, feats = case(bars, z=[-2] + [NAN] * 5, mu=102, half_life=50)
    r = backtest(market, feats, params(max_hold=2), NO_COSTS, account=1000)
    assert r.trades.iloc[0].exit_reason == "time_stop"
    assert r.trades.iloc[0].exit_time.value == 3 * BAR  # held bars 1-2, exit at open of 3


def test_latency_delays_the_fill():
    market, feats = case([(100, 100, 100, 100), (100, 100, 100, 100), (100.5, 100.6, 100.4, 100.5),
                          (100.5, 102, 100.5, 101)], z=[-2, NAN, NAN, NAN], mu=101.5)
    r = backtest(market, feats, params(), CostModel(taker_fee_bps=0, maker_fee_bps=0,
                                                    slippage_bps=0, impact_bps=0, latency=1))
    t = r.trades.iloc[0]
    assert t.entry_time.value == 2 * BAR and t.entry_price == 100.5  # t + 1 + latency


def test_spread_crossing_and_slippage_from_previous_book():
    # half-spread 10 bps at bar 0's close: buy at 100 x (1 + 0.001 + 2 bps slippage)
    costs = CostModel(taker_fee_bps=0, maker_fee_bps=0, slippage_bps=2, impact_bps=0)
    market, feats = case([(100, 100, 100, 100), (100, 100.2, 99.8, 100), (100, 100, 100, 100)],
                         z=[-2, NAN, NAN], mu=105, book=[0.001, 0.002, 0.002])
    r = backtest(market, feats, params(), costs)
    assert r.trades.empty
    assert r.metrics.open_pnl == pytest.approx(5.0 * (100 - 100 * 1.0012))


def test_open_position_at_end_is_marked_not_a_trade():
    market, feats = case([(100, 100, 100, 100), (100, 100.5, 99.5, 100), (100, 100.5, 99.5, 100.5)],
                         z=[-2, NAN, NAN], mu=103)
    r = backtest(market, feats, params(), NO_COSTS, account=1000)
    assert r.trades.empty and r.metrics.total_trades == 0
    assert r.metrics.open_pnl == pytest.approx(5.0 * 0.5)
    assert r.runs["X"].open_position["side"] == "long"


def test_filters_block_entries():
    rows = [(100, 100, 100, 100), (100, 101.5, 99.5, 100), (100, 100, 100, 100)]
    base = dict(z=[-2, NAN, NAN], mu=101)
    for over, kw in [({"side": "short"}, {}), ({"vol_z_min": 6.0}, {}),
                     ({"imbalance_min": 0.2}, {"imb": -0.1}), ({"entry_z": 2.5}, {})]:
        market, feats = case(rows, **base, **kw)
        assert backtest(market, feats, params(**over), NO_COSTS).trades.empty, over
    market, feats = case(rows, z=[-2, NAN, NAN], mu=99)  # OU mean on the wrong side
    assert backtest(market, feats, params(), NO_COSTS).trades.empty
    market, feats = case(rows, **base, imb=0.3)  # imbalance leans toward the reversion: enters
    assert len(backtest(market, feats, params(imbalance_min=0.2), NO_COSTS).trades) == 1


def test_every_metric_on_a_three_trade_case():
    # three long trades of qty 5 (z = -2 -> notional 500 at 100), no costs:
    # A: 100 -> 101 take profit (+5); B: 100 -> 99 stop (-5); C: 100 -> 102 take profit (+10)
    bars = [(100, 100, 100, 100),  # 0 signal
            (100, 100.5, 99.5, 100),  # 1 fill A
            (100, 101.2, 100, 100),  # 2 A exits at 101 (TP), signal at close
            (100, 100.5, 99.8, 100),  # 3 fill B
            (99.5, 99.6, 98.9, 99.2),  # 4 B stops at 99, signal at close
            (99.2, 99.3, 99.1, 99.2),  # 5 fill C at 99.2 ... target 102
            (100, 102.5, 100, 102)]  # 6 C exits at 102
    z = [-2, NAN, -2, NAN, -2, NAN, NAN]
    mu = [101, 101, 101, 101, 102, 102, 102]
    market, feats = case(bars, z=z, mu=mu)
    r = backtest(market, feats, params(), NO_COSTS, account=1000)
    m = r.metrics
    t = r.trades
    assert list(t.exit_reason) == ["take_profit", "stop_loss", "take_profit"]
    q1, q2 = 5.0, 1005 * 0.5 / 100  # sizing from the sleeve's cash at the signal
    q3 = (1005 - q2) * 0.5 / 99.2
    expected_pnl = [q1 * 1, q2 * -1, q3 * (102 - 99.2)]
    np.testing.assert_allclose(t.pnl, expected_pnl)
    assert m.total_trades == 3 and m.assets_traded == 1
    assert m.win_rate == pytest.approx(2 / 3)
    np.testing.assert_allclose(m.avg_return_per_trade, np.mean([0.01, -0.01, 2.8 / 99.2]))
    assert m.profit_factor == pytest.approx((expected_pnl[0] + expected_pnl[2]) / -expected_pnl[1])
    assert m.total_pnl == pytest.approx(sum(expected_pnl))
    assert m.return_on_account == pytest.approx(sum(expected_pnl) / 1000)
    assert m.worst_trade == pytest.approx(-0.01)
    eq = r.equity.to_numpy()
    expected_eq = [1000, 1000, 1005, 1005, 1005 + expected_pnl[1], 1005 + expected_pnl[1],
                   1000 + sum(expected_pnl)]
    np.testing.assert_allclose(eq, expected_eq)
    assert m.max_drawdown == pytest.approx(expected_pnl[1])  # from the 1005 peak
    assert m.max_drawdown_pct == pytest.approx(expected_pnl[1] / 1005)
    per_bar = np.diff(eq) / eq[:-1]
    bpy = 365.25 * 86400 / 60
    assert m.sharpe == pytest.approx(per_bar.mean() / per_bar.std(ddof=1) * math.sqrt(bpy))
    assert m.sortino == pytest.approx(per_bar.mean() / np.sqrt(np.mean(np.minimum(per_bar, 0) ** 2))
                                      * math.sqrt(bpy))
    with np.errstate(over="ignore"):
        annual = np.float64(eq[-1] / 1000) ** (bpy / 7) - 1  # 7 minutes annualise to inf
    assert m.annual_return == annual and m.calmar == annual
    assert m.exposure == pytest.approx(3 / 7)  # open at the close of bars 1, 3, 5
    assert m.avg_holding_bars == pytest.approx((2 + 2 + 2) / 3)
    assert m.avg_holding_seconds == pytest.approx(120)
    assert m.total_fees == 0 and m.final_equity == pytest.approx(eq[-1]) and m.bars == 7
    assert m.per_asset[0].trades == 3 and m.per_asset[0].pnl == pytest.approx(sum(expected_pnl))
