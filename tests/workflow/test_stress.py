"""Stress scenarios: the `stress` command on synthetic and real data, the crash overlay by hand,
and the crash market of synthetic data being one the selection never saw."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.data import generate, write_dataset
from scalper_tune.data.crash_overlay import crash_overlay
from scalper_tune.data.market import MarketData, SymbolData
from scalper_tune.workflow.stress import CRASH_SEED_OFFSET, Window, crash_window
from tests.conftest import ROOT, SPOT_5M

PARAMS = ROOT / "examples" / "params.yaml"


@pytest.fixture(scope="module")
def synth_ds(tmp_path_factory):
    out = tmp_path_factory.mktemp("stress") / "ds"
    write_dataset(generate(SyntheticSpec(assets=3, bars=30_000)), out)
    return out


def test_stress_command_on_synthetic_data(cli, synth_ds, tmp_path):
    result = cli("stress", "--params", PARAMS, "--data", synth_ds, "--json", "--feature-cache",
                 tmp_path / "fc")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    names = [r["scenario"] for r in data["scenarios"]]
    assert names[:5] == ["base", "crash_2022", "fees_x2", "spreads_x3", "latency_plus2"]
    assert names[5].startswith("without_SYN") and len(names) == 6
    for row in data["scenarios"]:
        assert set(row) == {"scenario", "sharpe", "return", "max_dd_pct", "trades", "passed",
                            "reason"}
        assert "Sharpe" in row["reason"] and "drawdown" in row["reason"]
    table = cli("stress", "--params", PARAMS, "--data", synth_ds, "--feature-cache",
                tmp_path / "fc")
    assert table.code == 0 and "crash_2022" in table.out and "verdict" in table.out
    assert ("passes every scenario" in table.out) or ("fails:" in table.out)


def test_stress_command_on_real_data_uses_the_overlay(cli, tmp_path):
    result = cli("stress", "--params", PARAMS, "--data", SPOT_5M, "--json", "--from",
                 "2024-03-01T00:00:00Z", "--feature-cache", tmp_path / "fc")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["window"]["start"].startswith("2024-03-01")
    crash = next(r for r in data["scenarios"] if r["scenario"] == "crash_2022")
    base = next(r for r in data["scenarios"] if r["scenario"] == "base")
    assert crash != base


def test_stress_command_bad_input(cli, synth_ds, tmp_path):
    (tmp_path / "p.yaml").write_text("params: {z_window: 40}\n")
    bad = cli("stress", "--params", tmp_path / "p.yaml", "--data", synth_ds)
    assert bad.code == 2 and "missing entry_z" in bad.err
    when = cli("stress", "--data", synth_ds, "--from", "yesterday-ish")
    assert when.code == 2 and "--from yesterday-ish" in when.err


def _flat_market(n: int = 4000) -> MarketData:
    ts = np.arange(n, dtype=np.int64) * 60 * 10**9
    close = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.001, n)))
    data = SymbolData(symbol="X", ts=ts, open=close, high=close * 1.001, low=close * 0.999,
                      close=close, volume=np.ones(n), bid=close * 0.9999, ask=close * 1.0001,
                      bid_size=np.full(n, 5.0), ask_size=np.full(n, 5.0))
    return MarketData(bar_seconds=60, series={"X": data}, source="binance")


def test_crash_overlay_by_hand():
    market = _flat_market()
    start = int(market["X"].ts[1000])
    crashed = crash_overlay(market, start, fall=0.6, days=1)  # 1,440 one-minute bars
    a, b = market["X"], crashed["X"]
    np.testing.assert_array_equal(a.close[:1000], b.close[:1000])  # the past is untouched
    end = 1000 + 1440
    # -60 % along the path, on top of the data's own moves scaled x4
    fall = b.close[end - 1] / b.close[999] / (a.close[end - 1] / a.close[999]) ** 4
    assert fall == pytest.approx(0.4, rel=1e-9)
    ra, rb = np.diff(np.log(a.close)), np.diff(np.log(b.close))
    inside = slice(1000, end - 1)
    assert np.std(rb[inside]) == pytest.approx(4 * np.std(ra[inside]), rel=0.05)
    spread_a = (a.ask - a.bid) / a.close
    spread_b = (b.ask - b.bid) / b.close
    assert spread_b[1500] == pytest.approx(10 * spread_a[1500], rel=1e-6)
    assert b.bid_size[1500] == pytest.approx(0.5) and b.bid_size[end + 5] == 5.0
    # after the fall prices go on from the crashed level with the data's own moves
    np.testing.assert_allclose(rb[end:], ra[end:], atol=1e-12)
    assert np.all(b.high >= np.maximum(b.open, b.close)) and np.all(
        b.low <= np.minimum(b.open, b.close))


def test_synthetic_crash_market_is_not_the_tuned_one():
    market = generate(SyntheticSpec(assets=2, bars=20_000, seed=7, crash="2022"))
    spec = FeatureSpec(baseline_window=100, z_windows=(40,))
    window = crash_window(market, Window(market, {}, 0, 0), spec, ())
    assert window.market.info["spec"]["seed"] == 7 + CRASH_SEED_OFFSET
    assert window.market.info["spec"]["crash_at"] == 0.5
    assert not np.array_equal(window.market["SYN01"].close, market["SYN01"].close)
