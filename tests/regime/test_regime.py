"""Regime classifier: estimator contract, purged splits, walk-forward accuracy on the synthetic
ground truth, and the entry mask."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils.estimator_checks import parametrize_with_checks

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.data import generate
from scalper_tune.features.compute import compute_market
from scalper_tune.regime.classifier import RegimeClassifier
from scalper_tune.regime.splits import equal_edges, fixed_edges, purged_walk_forward
from scalper_tune.regime.walkforward import future_labels, walk_forward_regimes


@parametrize_with_checks([RegimeClassifier(max_iter=10)])
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)


@settings(max_examples=40, deadline=None)
@given(st.integers(50, 400), st.integers(2, 6), st.integers(0, 20), st.integers(0, 2**31 - 1))
def test_purged_splits_never_overlap(n, splits, embargo, seed):
    rng = np.random.default_rng(seed)
    start = np.sort(rng.integers(0, n, 60))
    end = start + rng.integers(0, 30, 60)
    for edges in (equal_edges(0, n, splits), fixed_edges(0, n, max(2, n // (splits + 1)))):
        for train, test, first, stop in purged_walk_forward(start, end, edges, embargo):
            assert (end[train] < first - embargo).all()  # no training label reaches the block
            assert (start[test] >= first).all() and (start[test] < stop).all()
            assert not set(train) & set(test)


def test_future_labels_only_look_forward_within_horizon():
    m = generate(SyntheticSpec(assets=1, bars=3000))
    f = compute_market(m, FeatureSpec(z_windows=(40,)))["SYN01"]
    labels = future_labels(m["SYN01"].close, f)
    assert (labels[-61:] == -1).all() and set(np.unique(labels)) <= {-1, 0, 1, 2, 3}


@pytest.fixture(scope="module")
def report():
    m = generate(SyntheticSpec(assets=6, bars=80_000))
    f = compute_market(m, FeatureSpec(z_windows=(40,)))
    return m, walk_forward_regimes(m, f, n_splits=3)


def test_walk_forward_accuracy_on_synthetic_ground_truth(report):
    market, r = report
    assert r.supervised
    assert r.balanced_accuracy >= 0.70
    assert r.recall["toxic"] >= 0.70
    n = len(market["SYN01"])
    first_block = n // 4
    pred = r.predictions["SYN01"]
    assert (pred[:first_block] == -1).all() and (pred[first_block:] >= 0).all()


def test_fixed_blocks_are_prefix_invariant():
    """With fixed blocks (the pipeline's schedule) every prediction before a cut is the same
    on the data truncated at the cut: no block depends on how much data follows."""
    from scalper_tune.features.feature_audit import truncate

    market = generate(SyntheticSpec(assets=2, bars=30_000))
    spec = FeatureSpec(z_windows=(40,))
    r = walk_forward_regimes(market, compute_market(market, spec), block_days=4)
    cut = int(market["SYN01"].ts[19_000])  # inside a block
    part = truncate(market, cut)
    r2 = walk_forward_regimes(part, compute_market(part, spec), block_days=4)
    for s in market.symbols:
        k = len(part[s])
        assert (r.predictions[s][:k] >= 0).sum() > 10_000
        np.testing.assert_array_equal(r2.predictions[s], r.predictions[s][:k])
