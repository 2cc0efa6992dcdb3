"""The cross-venue block: where an asset trades on a second venue, a liquidity gap or a basis
dislocation there blocks entries (`cross_venue_z`), by hand, on a two-venue market, and through
the causality audit."""

from __future__ import annotations

import math

import numpy as np
import yaml

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.strategy_params import default_params
from scalper_tune.data import generate, write_dataset
from scalper_tune.engine.backtest import backtest
from scalper_tune.engine.inputs import cross_signal, param_vector
from scalper_tune.features.compute import compute_market
from scalper_tune.kernels.strategy_nb import entry_direction_nb

LOOSE = dict(default_params(), entry_z=1.5, vol_z_min=-0.5, imbalance_min=0.0, z_window=40)


def test_entry_rule_by_hand():
    p = param_vector(dict(LOOSE, cross_venue_z=2.0))
    off = param_vector(dict(LOOSE, cross_venue_z=0.0))
    # a long signal: z below -entry_z, OU mean above the price
    args = (-2.0, 0.0, 0.0, True, math.log(101.0), math.log(100.0))
    assert entry_direction_nb(*args, 1.0, p) == 1  # the other venue is calm
    assert entry_direction_nb(*args, 2.5, p) == 0  # basis dislocated
    assert entry_direction_nb(*args, math.inf, p) == 0  # liquidity gap there
    assert entry_direction_nb(*args, math.nan, p) == 1  # no second venue: never blocks
    assert entry_direction_nb(*args, math.inf, off) == 1  # 0 switches the block off


def test_cross_signal_from_features():
    feats = {"basis_z": np.array([0.5, -3.0, 1.0, np.nan]),
             "other_gap": np.array([0.0, 0.0, 1.0, 0.0])}
    np.testing.assert_array_equal(cross_signal(feats, 4), [0.5, 3.0, np.inf, np.nan])
    assert np.isnan(cross_signal({}, 3)).all()


def test_block_on_a_two_venue_market():
    market = generate(SyntheticSpec(assets=2, bars=40_000, venues=2))
    feats = compute_market(market, FeatureSpec(z_windows=(40,)))
    assert {"basis_z", "other_gap"} <= set(feats["SYN01"])
    free = backtest(market, feats, dict(LOOSE, cross_venue_z=0.0)).trades
    blocked = backtest(market, feats, dict(LOOSE, cross_venue_z=2.0)).trades
    assert 0 < len(blocked) < len(free)
    for trades, expect_calm in ((blocked, True), (free, False)):
        calm = []
        for symbol, entry in zip(trades["symbol"], trades["_entry_bar"]):
            f = feats[symbol]
            t = int(entry) - 1  # the decision bar: one before the entry fill
            calm.append(abs(f["basis_z"][t]) < 2.0 and f["other_gap"][t] == 0.0)
        if expect_calm:
            assert all(calm)  # every entry taken while the other venue was calm
        else:
            assert not all(calm)  # without the block some entries met a dislocation or gap


def test_audit_passes_with_the_block_on(cli, tmp_path):
    write_dataset(generate(SyntheticSpec(assets=1, bars=12_000, venues=2)), tmp_path / "ds")
    (tmp_path / "p.yaml").write_text(yaml.safe_dump({"params": dict(LOOSE, cross_venue_z=2.0)}))
    result = cli("audit", "--data", tmp_path / "ds", "--cuts", "4", "--params", tmp_path / "p.yaml")
    assert result.code == 0, result.out + result.err
    assert "other_gap" in result.out and "basis_z" in result.out
    line = next(line for line in result.out.splitlines() if line.startswith("engine trades"))
    assert line.split()[2] == "4" and line.split()[3] == "0"
