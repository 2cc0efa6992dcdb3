"""Paper-replay parity: the live runner (one event at a time, rolling feature state, the same
strategy step, a paper broker) trades exactly like the backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.strategy_params import default_params
from scalper_tune.data import generate, import_files, write_dataset
from scalper_tune.data.market import MarketData, SymbolData
from scalper_tune.engine.backtest import backtest
from scalper_tune.features.compute import compute_symbol
from scalper_tune.kernels.online_nb import O_HALF, O_IMB, O_MU, O_VOLZ, O_Z
from scalper_tune.live.runner import LiveRunner, OnlineFeatures, paper_replay, replay

SPEC = FeatureSpec()


def _online(market: MarketData, symbol: str, spec: FeatureSpec, w: int) -> np.ndarray:
    feats = OnlineFeatures(spec, w, market.bar_seconds)
    rows = [feats.update(e).copy() for e in replay(market) if e.symbol == symbol]
    return np.array(rows)


@pytest.mark.parametrize("gaps", [False, True])
def test_online_features_equal_batch_bit_for_bit(gaps):
    market = generate(SyntheticSpec(assets=1, bars=6000, seed=3))
    d = market["SYN01"]
    if gaps:  # holes that complete two higher-timeframe bars in one step, and no book
        keep = np.ones(len(d), dtype=bool)
        keep[[7, 8, 9, 10, 11, 12, 13, 29, 44, 300, 301, 302, 303, 304, 305, 306, 307]] = False
        cols = {k: v[keep] for k, v in d.columns().items()
                if k not in ("bid", "ask", "bid_size", "ask_size")}
        d = SymbolData("SYN01", **cols)
        market = MarketData(bar_seconds=60, series={"SYN01": d}, source="t")
    spec = FeatureSpec(vol_window=10, baseline_window=40, timeframes=(1, 5, 15), z_windows=(20,))
    batch = compute_symbol(d, spec, 60)
    online = _online(market, "SYN01", spec, 20)
    for col, name in ((O_Z, "price_z_w20"), (O_VOLZ, "vol_z_min"), (O_IMB, "imbalance"),
                      (O_MU, "ou_mu_w20"), (O_HALF, "ou_half_life_w20")):
        np.testing.assert_array_equal(online[:, col], batch[name], err_msg=name)
    assert np.isfinite(online[:, O_VOLZ]).sum() > 1000


def _assert_parity(market: MarketData, params: dict) -> pd.DataFrame:
    spec = FeatureSpec(z_windows=(int(params["z_window"]),))
    features = {s: compute_symbol(market[s], spec, market.bar_seconds, market.calendar(s))
                for s in market.symbols}
    expected = backtest(market, features, params)
    trades, equity, metrics = paper_replay(market, params, spec=spec)
    pd.testing.assert_frame_equal(trades, expected.trades)
    np.testing.assert_array_equal(equity.to_numpy(), expected.equity.to_numpy())
    assert metrics == expected.metrics
    return trades


def test_parity_on_synthetic_default():
    market = generate(SyntheticSpec(bars=30_000))  # the default market shape, 11 assets
    trades = _assert_parity(market, default_params())
    assert len(trades) > 50 and trades["symbol"].nunique() == 11
    assert set(trades["exit_reason"]) >= {"take_profit", "stop_loss", "time_stop"}


def test_online_features_of_stock_sessions_equal_batch_bit_for_bit():
    """The overnight rule online: sessions, holidays and an early close, every timeframe."""
    market = generate(SyntheticSpec(assets=1, bars=9_000, calendar="XNYS", seed=2,
                                    start="2024-11-20T00:00:00Z"))
    spec = FeatureSpec(vol_window=10, baseline_window=40, timeframes=(1, 5, 15), z_windows=(20,))
    batch = compute_symbol(market["STK01"], spec, 60, "XNYS")
    plain = compute_symbol(market["STK01"], spec, 60)
    runner = LiveRunner(("STK01",), 60, dict(default_params(), z_window=20), spec=spec,
                        calendars={"STK01": "XNYS"})
    rows = []
    for event in replay(market):
        runner.on_event(event)
        rows.append(runner.sleeves["STK01"].features[20].out.copy())
    online = np.array(rows)
    for col, name in ((O_Z, "price_z_w20"), (O_VOLZ, "vol_z_min"), (O_MU, "ou_mu_w20")):
        np.testing.assert_array_equal(online[:, col], batch[name], err_msg=name)
    assert not np.array_equal(batch["vol_z_min"], plain["vol_z_min"], equal_nan=True)


def test_parity_on_synthetic_stocks_with_session_closes():
    market = generate(SyntheticSpec(assets=3, bars=20_000, calendar="XNYS", seed=4))
    params = dict(default_params(), max_hold=600, hold_half_lives=50.0)
    trades = _assert_parity(market, params)
    assert "session_close" in set(trades["exit_reason"]) and len(trades) > 10


def test_parity_on_real_binance_5m():
    from tests.conftest import SPOT_5M

    market = import_files([str(SPOT_5M)]).market
    params = dict(default_params(), entry_z=2.5, vol_z_min=0.5, z_window=80)
    trades = _assert_parity(market, params)
    assert len(trades) > 30 and trades["symbol"].nunique() == 3


def test_paper_and_backtest_commands_write_identical_files(cli, tmp_path):
    write_dataset(generate(SyntheticSpec(assets=3, bars=20_000)), tmp_path / "ds")
    a = cli("backtest", "--data", tmp_path / "ds", "--trades-out", tmp_path / "bt.csv",
            "--no-cache")
    b = cli("paper", "--data", tmp_path / "ds", "--trades-out", tmp_path / "paper.csv")
    assert a.code == 0 and b.code == 0, a.err + b.err
    assert (tmp_path / "bt.csv").read_bytes() == (tmp_path / "paper.csv").read_bytes()
    assert len((tmp_path / "bt.csv").read_text().splitlines()) > 5
    assert a.out.split("wrote")[0] == b.out.split("wrote")[0]  # same metrics table
