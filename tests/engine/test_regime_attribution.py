"""Per-regime statistics book each bar's return (close t-1 to close t) under the label of bar
t-1, the regime known when the position was held, not under the label of bar t, which reads the
very move it would be credited with (issue 28 item 1)."""

from __future__ import annotations

import numpy as np

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.strategy_params import default_params
from scalper_tune.config.costs import CostModel
from scalper_tune.data import generate
from scalper_tune.engine.backtest import run_symbol
from scalper_tune.engine.inputs import REGIME_LABEL, regime_labels
from scalper_tune.features.compute import compute_market
from scalper_tune.kernels.layout import N_REGIMES, REG_SQ, REG_SUM


def test_a_bars_return_goes_to_the_label_before_it():
    labels = {REGIME_LABEL: np.array([0.0, 3.0, np.nan, 1.0, 2.0])}
    assert regime_labels(labels, 5).tolist() == [-1, 0, 3, -1, 1]
    assert regime_labels({}, 3).tolist() == [-1, -1, -1]


def test_the_engines_regime_sums_use_the_label_held():
    market = generate(SyntheticSpec(assets=1, bars=12_000, seed=3))
    features = compute_market(market, FeatureSpec(z_windows=(40,)))["SYN01"]
    rng = np.random.default_rng(0)
    label = rng.integers(0, N_REGIMES, size=len(market["SYN01"])).astype(float)
    features = dict(features, **{REGIME_LABEL: label})
    params = dict(default_params(), entry_z=1.5, vol_z_min=0.0)
    capital = 1000.0
    run = run_symbol(market, "SYN01", features, params, CostModel(), capital)
    equity = np.concatenate([[capital], run.equity])
    r = equity[1:] / equity[:-1] - 1.0
    assert np.count_nonzero(r) > 100  # it traded
    held = np.concatenate([[-1], label[:-1]]).astype(int)
    for k in range(N_REGIMES):
        assert np.isclose(run.state[REG_SUM + k], r[held == k].sum(), rtol=1e-9, atol=1e-12)
        assert np.isclose(run.state[REG_SQ + k], (r[held == k] ** 2).sum(), rtol=1e-9,
                          atol=1e-14)
