"""The ML-edge gate: honest on a market without edge, permutation control, the command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.strategy_params import default_params
from scalper_tune.data import generate, write_dataset
from scalper_tune.data.market import MarketData, SymbolData
from scalper_tune.features.compute import compute_market
from scalper_tune.regime.ml_edge import ml_edge, summary

LOOSE = dict(default_params(), entry_z=1.5, vol_z_min=-0.5, imbalance_min=0.0, z_window=40)


def random_walk(assets=6, bars=60_000, seed=11) -> MarketData:
    """Pure random-walk prices (no mean reversion, no book): no strategy has an edge."""
    rng = np.random.default_rng(seed)
    series = {}
    for i in range(assets):
        r = rng.normal(0, 0.001, bars)
        close = 100 * np.exp(np.cumsum(r))
        open_ = np.concatenate(([100.0], close[:-1]))
        wick = np.abs(rng.normal(0, 0.0005, (2, bars)))
        series[f"RW{i}"] = SymbolData(
            f"RW{i}", ts=np.arange(bars, dtype=np.int64) * 60 * 10**9, open=open_,
            high=np.maximum(open_, close) * (1 + wick[0]), low=np.minimum(open_, close) * (1 - wick[1]),
            close=close, volume=np.ones(bars))
    return MarketData(bar_seconds=60, series=series, source="test")


@pytest.fixture(scope="module")
def walk():
    m = random_walk()
    return m, compute_market(m, FeatureSpec(baseline_window=200, z_windows=(40,)))


def test_no_edge_on_a_random_walk(walk):
    market, feats = walk
    edges, taken = ml_edge(market, feats, LOOSE, min_accuracy=0.55)
    for e in edges:
        assert e.signals > 200
        assert e.accuracy <= e.baseline + 0.05  # no skill beyond noise
    # chance alone may open an asset for a block now and then, but it does not make money
    blocks = [b for e in edges for b in e.blocks]
    assert sum(b.traded for b in blocks) <= 0.25 * len(blocks)


def test_permutation_control_falls_to_baseline():
    """On the synthetic market (which has some structure), refitting with shuffled training
    labels must give accuracy at the majority-class baseline: no leakage through the splits."""
    from scalper_tune.regime.ml_edge import _oos_predictions

    market = generate(SyntheticSpec(assets=4, bars=60_000))
    feats = compute_market(market, FeatureSpec(z_windows=(40,)))
    edges, _ = ml_edge(market, feats, LOOSE, min_accuracy=0.55, permutations=2)
    assert all(0 < e.p_value <= 1 for e in edges)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 5))
    y = (rng.random(3000) < 0.6).astype(np.int64)
    X[:, 0] += 2.0 * y  # a real, learnable signal
    start = np.arange(3000, dtype=np.int64)
    edges = np.arange(0, 3001, 600)
    real = _oos_predictions(X, y, start, start + 5, edges, 10, 0)
    shuffled = _oos_predictions(X, y, start, start + 5, edges, 10, 0,
                                rng=np.random.default_rng(1))
    ok = np.isfinite(real)
    baseline = max(y[ok].mean(), 1 - y[ok].mean())
    assert ((real[ok] >= 0.5) == y[ok]).mean() > baseline + 0.2  # the signal is found
    # with shuffled labels the skill is gone: accuracy falls to the baseline (a model fitted to
    # noise predicts at random, which scores at or below the majority-class rate)
    assert ((shuffled[ok] >= 0.5) == y[ok]).mean() <= baseline + 0.02


def test_report_keys_and_command(cli, tmp_path):
    write_dataset(generate(SyntheticSpec(assets=3, bars=40_000)), tmp_path / "ds")
    params = tmp_path / "p.yaml"
    import yaml

    params.write_text(yaml.safe_dump({"params": LOOSE}))
    result = cli("ml-edge", "--data", tmp_path / "ds", "--params", params, "--min-accuracy", "0.65",
                 "--json", "--no-cache")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    for key in ("account_value", "min_model_accuracy", "assets_traded", "total_trades",
                "win_rate", "avg_return_per_trade", "profit_factor", "total_pnl",
                "return_on_account", "max_drawdown", "worst_trade", "assets"):
        assert key in data
    assert {"symbol", "accuracy", "baseline", "lower_bound", "signals", "traded", "trades", "pnl",
            "avg_return", "blocks"} <= set(data["assets"][0])
    block = data["assets"][0]["blocks"][0]
    assert set(block) == {"start", "end", "traded", "accuracy_so_far", "known", "trades", "pnl"}
    assert block["start"].endswith("Z") and block["traded"] is False
    text = cli("ml-edge", "--data", tmp_path / "ds", "--params", params, "--no-cache")
    lines = text.out.splitlines()
    order = ["Account Value:", "Min Model Accuracy:", "Assets Traded:", "-----", "Total Trades:",
             "Win Rate:", "Avg Return/Trade:", "Profit Factor:", "-----", "TOTAL P&L:",
             "Return on Account:", "Max Drawdown (cum):", "Worst Trade:", "-----",
             "Top Assets by P&L:"]
    for want, line in zip(order, lines):
        assert line.startswith(want), (want, line)
    assert summary([], data_frame_empty(), 1000.0, 0.65)["total_trades"] == 0


def data_frame_empty():
    import pandas as pd

    return pd.DataFrame({"pnl": pd.Series(dtype=float), "return": pd.Series(dtype=float)})


def test_command_on_real_binance_data(cli, tmp_path):
    import yaml

    from tests.conftest import SPOT_5M

    params = tmp_path / "p.yaml"
    params.write_text(yaml.safe_dump({"params": LOOSE}))
    result = cli("ml-edge", "--data", SPOT_5M, "--params", params, "--json", "--feature-cache",
                 tmp_path / "fc")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert len(data["assets"]) == 3
    assert all(a["signals"] > 200 and a["lower_bound"] < a["accuracy"] for a in data["assets"])


def _blocks(edges):
    """Blocks per symbol as plain tuples (NaN as None, so equal blocks compare equal)."""
    import dataclasses
    import math

    def plain(b):
        return tuple(None if isinstance(v, float) and math.isnan(v) else v
                     for v in dataclasses.astuple(b))

    return {e.symbol: tuple(plain(b) for b in e.blocks) for e in edges}


@pytest.fixture(scope="module")
def gated():
    """A market, its features, and the same market cut after 60 % of its bars."""
    from scalper_tune.features.feature_audit import truncate

    market = generate(SyntheticSpec(assets=3, bars=40_000))
    feats = compute_market(market, FeatureSpec(z_windows=(40,)))
    cut = int(market["SYN01"].ts[24_000])
    part = truncate(market, cut)
    return market, feats, part, compute_market(part, FeatureSpec(z_windows=(40,))), cut


def test_verdicts_walk_forward_and_prefix_invariant(gated):
    """Each block's verdict uses only trades known before it: the blocks that end before a cut
    are identical with the data truncated at the cut."""
    market, feats, part, part_feats, cut = gated
    full, _ = ml_edge(market, feats, LOOSE, min_accuracy=0.5, block_days=2)
    short, _ = ml_edge(part, part_feats, LOOSE, min_accuracy=0.5, block_days=2)
    assert any(b.traded for e in full for b in e.blocks)  # the check is not vacuous
    for symbol, blocks in _blocks(full).items():
        assert not blocks[0][2] and not blocks[1][2]  # (traded) no verdict without evidence
        before = [b for b in blocks if b[1] <= cut]  # (end)
        assert len(before) >= 5
        assert _blocks(short)[symbol][:len(before)] == tuple(before)


def test_gate_mask_prefix_invariant(gated):
    from scalper_tune.regime.ml_edge import gate_mask

    market, feats, part, part_feats, cut = gated
    masks, edges = gate_mask(market, feats, LOOSE, min_accuracy=0.5, block_days=2)
    short, _ = gate_mask(part, part_feats, LOOSE, min_accuracy=0.5, block_days=2)
    first_verdict = edges[0].blocks[2].start
    for e in edges:
        m = masks[e.symbol]
        ts = market[e.symbol].ts
        assert not m[ts < first_verdict].any()  # closed until a verdict exists
        np.testing.assert_array_equal(short[e.symbol], m[:len(part[e.symbol])])
        traded = [b for b in e.blocks if b.traded]
        if traded:
            inside = (ts >= traded[0].start) & (ts < traded[0].end)
            assert 0.0 < m[inside].mean() < 1.0  # gated bar by bar inside a traded block


def test_report_pnl_only_from_trades_under_earlier_verdicts(gated):
    market, feats, _, _, _ = gated
    edges, taken = ml_edge(market, feats, LOOSE, min_accuracy=0.5, block_days=2)
    for e in edges:
        mine = taken[taken["symbol"] == e.symbol]
        assert len(mine) == e.trades == sum(b.trades for b in e.blocks)
        for t in mine["entry_time"]:
            ns = t.value
            block = next(b for b in e.blocks if b.start <= ns < b.end)
            assert block.traded  # taken only inside a block whose verdict said trade


def test_signal_rich_default_gives_hundreds_of_signals(synth_market):
    from scalper_tune.regime.ml_edge import SIGNAL_RICH
    from scalper_tune.engine.backtest import backtest

    feats = compute_market(synth_market, FeatureSpec(z_windows=(40,)))
    trades = backtest(synth_market, feats, SIGNAL_RICH).trades
    assert trades.groupby("symbol").size().min() >= 300


def test_permutation_flag_defaults_to_200_and_states_the_floor(cli, tmp_path):
    from scalper_tune.cli import build_parser

    args = build_parser().parse_args(["ml-edge", "--data", "x", "--permutation-test"])
    assert args.permutation_test == 200
    write_dataset(generate(SyntheticSpec(assets=2, bars=30_000)), tmp_path / "ds")
    result = cli("ml-edge", "--data", tmp_path / "ds", "--permutation-test", "3", "--no-cache",
                 "--block-days", "4")
    assert result.code == 0, result.err
    assert "cannot be below 1/(N+1) = 0.2500" in result.out
    assert "tests the model's skill, not the splits" in result.out
    assert "signal-rich" in result.out


def test_gate_mask_is_prefix_invariant_a_few_bars_into_every_traded_block(gated):
    """A block's model exists whether or not a trade follows in it: cut 3 bars into each traded
    block, the mask before the cut is the whole data's (a model fitted only for blocks with a
    later trade made the block's first bars depend on that trade)."""
    from scalper_tune.features.feature_audit import truncate
    from scalper_tune.regime.ml_edge import gate_mask

    market, feats, _, _, _ = gated
    masks, edges = gate_mask(market, feats, LOOSE, min_accuracy=0.5, block_days=2)
    starts = sorted({b.start for e in edges for b in e.blocks if b.traded})
    assert len(starts) >= 3
    for start in starts:
        ts = market["SYN01"].ts
        cut = int(ts[np.searchsorted(ts, start) + 3])
        part = truncate(market, cut)
        sliced = {s: {k: v[:len(part[s])] for k, v in feats[s].items()} for s in market.symbols}
        short, _ = gate_mask(part, sliced, LOOSE, min_accuracy=0.5, block_days=2)
        for s in market.symbols:
            np.testing.assert_array_equal(short[s], masks[s][:len(part[s])], err_msg=f"{s}")
