"""The `backtest` command: metrics table, JSON keys, trades file, parameter files."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from scalper_tune.config import SyntheticSpec
from scalper_tune.data import generate, write_dataset
from scalper_tune.engine.backtest import TRADE_COLUMNS
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bt") / "ds"
    write_dataset(generate(SyntheticSpec(assets=3, bars=30_000)), folder)
    return folder


def test_table_json_and_trades(cli, dataset, tmp_path):
    out = tmp_path / "trades.csv"
    table = cli("backtest", "--data", dataset, "--params", ROOT / "examples" / "params.yaml",
                "--trades-out", out, "--feature-cache", tmp_path / "fc")
    assert table.code == 0, table.err
    for label in ("Account Value:", "Assets Traded:", "Total Trades:", "Win Rate:",
                  "Avg Return/Trade:", "Profit Factor:", "TOTAL P&L:", "Return on Account:",
                  "Max Drawdown (cum):", "Worst Trade:", "Sharpe (annual):", "Sortino (annual):",
                  "Calmar:", "Exposure:", "Avg Holding:"):
        assert label in table.out
    trades = pd.read_csv(out)
    assert tuple(trades.columns) == TRADE_COLUMNS and len(trades) > 0
    assert trades["entry_time"].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$").all()
    assert set(trades["exit_reason"]) <= {"take_profit", "stop_loss", "stop_loss_gap", "time_stop"}
    result = cli("backtest", "--data", dataset, "--json", "--feature-cache", tmp_path / "fc")
    data = json.loads(result.out)
    assert data["total_trades"] == len(trades)  # the defaults equal examples/params.yaml
    assert data["total_pnl"] == pytest.approx(trades["pnl"].sum())
    assert {"sharpe", "sortino", "calmar", "exposure", "per_asset", "max_drawdown"} <= set(data)
    assert len(data["per_asset"]) == 3


def test_prefilter_engine_option(cli, dataset, tmp_path):
    result = cli("backtest", "--data", dataset, "--engine", "prefilter", "--json",
                 "--feature-cache", tmp_path / "fc")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["trades"] > 0 and "sharpe_mean" in data
    bad = cli("backtest", "--data", dataset, "--engine", "prefilter", "--trades-out", tmp_path / "x")
    assert bad.code == 2 and "--engine event" in bad.err


@pytest.mark.parametrize("text,expected", [
    ("params: {z_window: 40}\n", "params: missing entry_z"),
    ("params: []\n", "required mapping"),
    ("parms: {}\n", "did you mean 'params'"),
    ("params: {z_window: 40, entry_z: -1, vol_z_min: 1, imbalance_min: 0, ou_exit_frac: 0.2, "
     "stop_loss: 0.01, side: both, max_hold: 10, hold_half_lives: 2, base_position: 0.5, "
     "max_position: 1}\n", "entry_z: must be between"),
    ("params: {z_window: 40, entry_z: 2, vol_z_min: 1, imbalance_min: 0, ou_exit_frac: 0.2, "
     "stop_loss: 0.01, side: both, max_hold: 10, hold_half_lives: 2, base_position: 0.5, "
     "max_position: 1, entry_zz: 3}\n", "entry_zz: unknown parameter; did you mean 'entry_z'"),
])
def test_bad_params_file_exit_2(cli, dataset, tmp_path, text, expected):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    result = cli("backtest", "--data", dataset, "--params", path)
    assert result.code == 2 and expected in result.err and "p.yaml" in result.err


def test_unknown_symbol_and_missing_data(cli, dataset, tmp_path):
    assert cli("backtest", "--data", dataset, "--symbols", "NOPE").code == 3
    assert cli("backtest", "--data", tmp_path / "none").code == 3
