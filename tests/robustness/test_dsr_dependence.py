"""The DSR counts correlated sleeves as what they are worth: the effective number of sleeves is 1
for identical sleeves and S for independent ones, and duplicating every sleeve of a market (each
copy trading exactly as its original) leaves the DSR unchanged (counting every sleeve-bar as an
independent observation raised it)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.costs import CostModel
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.strategy_params import default_params
from scalper_tune.data import generate
from scalper_tune.data.market import MarketData
from scalper_tune.features.compute import compute_market
from scalper_tune.robustness.overfitting import (effective_sleeves, moments,
                                                 probabilistic_sharpe)
from scalper_tune.workflow.candidates import observation_share
from scalper_tune.workflow.evaluation import engine_fold

PARAMS = dict(default_params(), entry_z=1.5, vol_z_min=-0.5)


def test_effective_sleeves_counts_independent_ones():
    r = np.random.default_rng(0).normal(size=(20_000, 4))
    assert effective_sleeves(r) == pytest.approx(4, abs=0.05)
    assert effective_sleeves(np.c_[r, r]) == pytest.approx(effective_sleeves(r), rel=1e-9)
    assert effective_sleeves(np.c_[r[:, :1], r[:, :1], r[:, :1]]) == pytest.approx(1.0)
    pair = np.c_[r[:, 0], 0.8 * r[:, 0] + 0.6 * r[:, 1]]  # correlation 0.8: worth ~1.2
    assert 1.1 < effective_sleeves(pair) < 1.3
    gaps = r.copy()
    gaps[:500, 0] = np.nan  # a sleeve with missing bars still counts
    assert effective_sleeves(gaps) == pytest.approx(4, abs=0.05)


def doubled(market: MarketData) -> MarketData:
    series = dict(market.series)
    for s in market.symbols:
        series[s + "_COPY"] = dataclasses.replace(market[s], symbol=s + "_COPY")
    return dataclasses.replace(market, series=series, symbol_meta={}, stored_hash=None)


def dsr(market: MarketData, obs_share: float) -> float:
    """The DSR of PARAMS on `market` (each sleeve trading 5,000 $) against a benchmark Sharpe
    of -0.005 a bar (a DSR away from 0 and 1, where a change shows)."""
    features = compute_market(market, FeatureSpec())
    account = 5_000.0 * len(market.symbols)
    summary, _ = engine_fold(market, features, PARAMS, CostModel(), account)
    sums = [float(summary[c].iloc[0]) for c in ("m1", "m2", "m3", "m4", "n_obs")]
    sr, skew, kurt = (float(x) for x in moments(*sums))
    return probabilistic_sharpe(sr, -0.005, int(sums[4] * obs_share), skew, kurt)


def test_duplicating_every_sleeve_leaves_the_dsr_unchanged():
    market = generate(SyntheticSpec(assets=2, bars=12_000, seed=5))
    twice = doubled(market)
    share, share2 = observation_share([(market, {})]), observation_share([(twice, {})])
    assert share2 == pytest.approx(share / 2, rel=1e-9)
    before, after = dsr(market, share), dsr(twice, share2)
    assert 0.0 < before < 1.0
    assert after == pytest.approx(before, abs=1e-5)  # up to whole observations
    assert abs(dsr(twice, 1.0) - dsr(market, 1.0)) > 1e-3  # every sleeve-bar counted: it moved
