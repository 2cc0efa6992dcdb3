"""Realised-behaviour labels on session data (stocks without a regime column): no label window
crosses a session's end, the purge uses the label's true last bar, so the walk-forward's
predictions before a cut a few bars after a block edge equal those of the whole data (before the
fix, labels of the last session hour read the next session's first hour, inside the block being
predicted)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.data import generate
from scalper_tune.data.market import MarketData
from scalper_tune.features.compute import compute_market
from scalper_tune.regime.walkforward import (FUTURE_HORIZON, block_schedule, future_labels,
                                             walk_forward_regimes)

SPEC = FeatureSpec(z_windows=(40,))
BLOCK_DAYS = 3


@pytest.fixture(scope="module")
def stocks() -> MarketData:
    m = generate(SyntheticSpec(assets=2, bars=6_000, calendar="XNYS", seed=4))
    return dataclasses.replace(m, series={s: dataclasses.replace(m[s], regime=None)
                                          for s in m.symbols}, stored_hash=None)


def cut(market: MarketData, stop_ns: int) -> MarketData:
    return dataclasses.replace(market, series={s: market[s].head(int(np.searchsorted(
        market[s].ts, stop_ns))) for s in market.symbols}, stored_hash=None)


def test_no_label_reads_across_a_session_end(stocks):
    s = stocks.symbols[0]
    data = stocks[s]
    f = compute_market(stocks, SPEC)[s]
    labels = future_labels(data.close, f, data.ts, stocks.bar_ns)
    h = FUTURE_HORIZON
    has = np.flatnonzero(labels[: len(data) - h - 1] >= 0)
    assert has.size > 1000
    assert ((data.ts[has + h + 1] - data.ts[has]) == (h + 1) * stocks.bar_ns).all()
    gap = np.flatnonzero(np.diff(data.ts) > stocks.bar_ns)  # last bar of each session
    assert gap.size >= 5 and (labels[gap] == -1).all()
    index_only = future_labels(data.close, f)  # the old labels: read across the night
    assert (index_only[gap] >= 0).any()


@pytest.fixture(scope="module")
def whole(stocks):
    features = compute_market(stocks, SPEC)
    return features, walk_forward_regimes(stocks, features, block_days=BLOCK_DAYS,
                                          n_splits=None)


@pytest.mark.parametrize("bars_after_edge", [5, 30])
def test_predictions_before_a_cut_after_a_block_edge_do_not_change(stocks, whole,
                                                                   bars_after_edge):
    features, report = whole
    ts = stocks[stocks.symbols[0]].ts
    edge = block_schedule(stocks, BLOCK_DAYS)[3]
    first = int(np.searchsorted(ts, edge))  # the block's first bar
    part = cut(stocks, int(ts[first + bars_after_edge]))
    sliced = {s: {k: v[: len(part[s])] for k, v in features[s].items()}
              for s in stocks.symbols}  # features are causal (their own prefix tests)
    short = walk_forward_regimes(part, sliced, block_days=BLOCK_DAYS, n_splits=None)
    checked = 0
    for s in stocks.symbols:
        k = len(part[s])
        np.testing.assert_array_equal(short.predictions[s], report.predictions[s][:k])
        checked += int((short.predictions[s] >= 0).sum())
    assert checked > 1000
