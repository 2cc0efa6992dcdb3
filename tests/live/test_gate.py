"""The bundle's entry gate online: the saved models are the ones walk-forward fits for the block
after the data, and the live gate, fed the bars of that block one at a time, gives the labels
and entry permissions the batch pipeline gives on the longer data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.costs import CostModel
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.pipeline_spec import REGIMES, RegimeSpec
from scalper_tune.config.strategy_params import default_params
from scalper_tune.data import generate
from scalper_tune.data.market import MarketData, SymbolData
from scalper_tune.errors import ConfigError
from scalper_tune.features.compute import compute_market
from scalper_tune.live.gate import OnlineGate
from scalper_tune.live.runner import replay
from scalper_tune.regime import ml_edge
from scalper_tune.regime.features import regime_matrix
from scalper_tune.regime.ml_edge import SIGNAL_RICH, bar_gate, gate_mask, next_block_gate
from scalper_tune.regime.walkforward import next_block_model, walk_forward_regimes
from scalper_tune.strategy import GateModels, Strategy, load_models, save_models

SPEC = FeatureSpec(z_windows=(40,), baseline_window=200)
DAY = 1440  # one-minute bars
NEXT = 90  # bars of the block after the prefix fed to the live gate


@pytest.fixture(scope="module")
def both():
    """A market, its prefix ending exactly at a 1-day block edge, and their features."""
    full = generate(SyntheticSpec(assets=2, bars=4 * DAY + 400, seed=5))
    prefix = MarketData(bar_seconds=60, source="t", series={
        s: SymbolData(s, **{k: v[: 4 * DAY] for k, v in full[s].columns().items()})
        for s in full.symbols})
    return full, prefix, compute_market(full, SPEC), compute_market(prefix, SPEC)


def _strategy(regime: RegimeSpec) -> Strategy:
    return Strategy(path=Path("."), params=default_params(), costs=CostModel(), account=1000.0,
                    features=SPEC, regime=regime, seed=7, bar_seconds=60,
                    symbols=("SYN01", "SYN02"), data_hash="", meta={})


def test_the_saved_classifier_is_walk_forwards_model_of_the_next_block(both, tmp_path):
    full, prefix, f_full, f_prefix = both
    nxt = next_block_model(prefix, f_prefix, block_days=1.0, seed=7)
    assert nxt.block_start == int(prefix["SYN01"].ts[0]) + 4 * DAY * 60 * 10**9
    report = walk_forward_regimes(full, f_full, n_splits=None, seed=7, block_days=1.0)
    # saved with skops and loaded back (hash checked), it predicts the same
    section = save_models(tmp_path, GateModels(regime=nxt))
    models = load_models(section, tmp_path, "strategy.yaml")
    regime = RegimeSpec(classifier=True, filter=True, block=("toxic", "volatile"), block_days=1.0)
    gate = OnlineGate(_strategy(regime), models, full.symbols, window=10 * DAY)
    labels = {s: [] for s in full.symbols}
    allowed = {s: [] for s in full.symbols}
    for event in replay(full):
        t = np.searchsorted(full[event.symbol].ts, event.ts)
        if t < 4 * DAY:
            gate.warm(event.symbol, event)
        elif t < 4 * DAY + NEXT:
            allow, label, pset = gate.on_bar(event.symbol, event)
            labels[event.symbol].append(label)
            allowed[event.symbol].append(allow)
            assert pset == 0
    blocked = [REGIMES.index("toxic"), REGIMES.index("volatile")]
    seen = set()
    for s in full.symbols:
        want = report.predictions[s][4 * DAY: 4 * DAY + NEXT]
        np.testing.assert_array_equal(labels[s], want)
        np.testing.assert_array_equal(allowed[s], ~np.isin(want, blocked))
        seen |= set(want.tolist())
    assert len(seen) >= 2  # the stretch is not one constant label


@pytest.mark.parametrize("every_verdict_trades", [False, True])
def test_the_saved_ml_gate_opens_the_bars_walk_forward_opens(both, monkeypatch,
                                                             every_verdict_trades):
    """Verdicts as computed (on this market without an edge no asset clears its baseline), and
    with every verdict forced to "trade" so that the bar-level model decisions are compared."""
    if every_verdict_trades:
        monkeypatch.setattr(ml_edge, "verdict", lambda correct, y, m: (True, 1.0))
    full, prefix, f_full, f_prefix = both
    kw = dict(min_accuracy=0.0, threshold=0.5, block_days=1.0, seed=7)
    nxt = next_block_gate(prefix, f_prefix, SIGNAL_RICH, **kw)
    masks, edges = gate_mask(full, f_full, SIGNAL_RICH, **kw)
    assert nxt is not None and nxt.samples > 0
    rows = np.arange(4 * DAY, len(full["SYN01"]))
    opened = 0
    for s in full.symbols:
        (block,) = [b for b in next(e for e in edges if e.symbol == s).blocks
                    if b.start == nxt.block_start]
        assert block.traded == (s in nxt.traded) == every_verdict_trades
        got = bar_gate(nxt, full, s, f_full[s], rows)
        np.testing.assert_array_equal(got, masks[s][rows])
        opened += int(got.sum())
    if every_verdict_trades:  # a real gate: opens some bars, not all
        assert 0 < opened < 2 * rows.size


def test_a_damaged_or_foreign_model_file_is_refused(both, tmp_path):
    _, prefix, _, f_prefix = both
    section = save_models(tmp_path, GateModels(regime=next_block_model(prefix, f_prefix, 1.0)))
    path = tmp_path / section["regime_classifier"]["file"]
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ConfigError, match="does not match its SHA-256"):
        load_models(section, tmp_path, "strategy.yaml")
    path.unlink()
    with pytest.raises(ConfigError, match="model file of models.regime_classifier is missing"):
        load_models(section, tmp_path, "strategy.yaml")


def test_dataset_symbol_names_match_the_exchanges():
    from scalper_tune.data.market import exchange_name

    assert exchange_name("BTC_USDT") == exchange_name("btc-usdt") == "BTCUSDT"


@pytest.fixture(scope="module")
def mid_block():
    """A market and its prefix ending 200 bars before a 1-day block edge (inside a block)."""
    full = generate(SyntheticSpec(assets=2, bars=5 * DAY + 100, seed=5))
    cut = 5 * DAY - 200
    prefix = MarketData(bar_seconds=60, source="t", series={
        s: SymbolData(s, **{k: v[:cut] for k, v in full[s].columns().items()})
        for s in full.symbols})
    return full, prefix, compute_market(full, SPEC), compute_market(prefix, SPEC), cut


def test_data_ending_inside_a_block_gets_that_blocks_model_for_the_rest_of_it(mid_block,
                                                                               tmp_path):
    """Walk-forward labels the rest of the block that holds the data's end with that block's
    model; the bundle holds it beside the next block's, and the live gate switches at the edge
    (the next block's model alone labelled some of those bars otherwise)."""
    full, prefix, f_full, f_prefix, cut = mid_block
    nxt = next_block_model(prefix, f_prefix, block_days=1.0, seed=7)
    now = next_block_model(prefix, f_prefix, block_days=1.0, seed=7, block=-2)
    assert now.block_start < int(prefix["SYN01"].ts[-1]) < nxt.block_start
    section = save_models(tmp_path, GateModels(regime=nxt, regime_current=now))
    assert set(section) == {"regime_classifier", "regime_classifier_current"}
    models = load_models(section, tmp_path, "strategy.yaml")
    regime = RegimeSpec(classifier=True, filter=False, block_days=1.0)
    gate = OnlineGate(_strategy(regime), models, full.symbols, window=10 * DAY)
    labels = {s: [] for s in full.symbols}
    for event in replay(full):
        t = np.searchsorted(full[event.symbol].ts, event.ts)
        if t < cut:
            gate.warm(event.symbol, event)
        elif t < 5 * DAY + 30:
            labels[event.symbol].append(gate.on_bar(event.symbol, event)[1])
    report = walk_forward_regimes(full, f_full, n_splits=None, seed=7, block_days=1.0)
    differs = False
    for s in full.symbols:
        rest = slice(cut, 5 * DAY)  # the rest of the block: walk-forward's own model
        np.testing.assert_array_equal(labels[s][: 5 * DAY - cut], report.predictions[s][rest])
        X = regime_matrix(full[s], f_full[s], 60)
        np.testing.assert_array_equal(labels[s][5 * DAY - cut:],  # then the next block's
                                      nxt.model.predict(X[5 * DAY: 5 * DAY + 30]))
        differs |= bool((nxt.model.predict(X[rest]) != report.predictions[s][rest]).any())
    assert differs  # the next block's model alone would not have matched walk-forward


def test_the_current_blocks_ml_gate_opens_what_walk_forward_opens(mid_block, monkeypatch):
    monkeypatch.setattr(ml_edge, "verdict", lambda correct, y, m: (True, 1.0))
    full, prefix, f_full, f_prefix, cut = mid_block
    kw = dict(min_accuracy=0.0, threshold=0.5, block_days=1.0, seed=7)
    now = next_block_gate(prefix, f_prefix, SIGNAL_RICH, block=-2, **kw)
    masks, _ = gate_mask(full, f_full, SIGNAL_RICH, **kw)
    assert now is not None and now.samples > 0
    models = GateModels(gate=next_block_gate(prefix, f_prefix, SIGNAL_RICH, **kw),
                        gate_current=now)
    rows = np.arange(cut, 5 * DAY)
    for s in full.symbols:
        assert models.gate_at(int(full[s].ts[rows[-1]])) is now
        assert models.gate_at(int(full[s].ts[5 * DAY])) is models.gate
        np.testing.assert_array_equal(bar_gate(now, full, s, f_full[s], rows), masks[s][rows])
