"""The robustness score, walk-forward consistency, plateau, segments and the data check, by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.pipeline_spec import RobustnessSpec, WalkForwardSpec
from scalper_tune.data import generate
from scalper_tune.errors import DataError
from scalper_tune.robustness.data_check import MIN_FOLD_BARS, bars_needed, check_enough_data
from scalper_tune.robustness.score import (consistency, floor_penalty, plateau_scores,
                                           regime_sharpes, regime_weighted, robustness,
                                           train_robustness)
from scalper_tune.robustness.segments import make_segments, warmup_bars

NAN = float("nan")


def test_consistency_by_hand():
    m = np.array([[1.0, 3.0], [2.0, 2.0], [NAN, NAN]])
    np.testing.assert_allclose(consistency(m, np.array([50, 5, 50]), 10),
                               [2.0 - 0.5 * 1.0, NAN, NAN])


def test_regime_sharpes_from_sums_by_hand():
    r = np.array([0.01, -0.02, 0.03] * 200)  # 600 bars of one regime
    s, q = r.sum(), (r ** 2).sum()
    got = regime_sharpes(np.array([[s, 0.0]]), np.array([[q, 0.0]]), np.array([600, 10]), 525_960.0)
    expected = r.mean() / r.std(ddof=1) * math.sqrt(365.25 * 86400 / 60)
    assert got[0, 0] == pytest.approx(expected)
    assert np.isnan(got[0, 1])  # 10 bars: too few to judge


def test_robustness_formulas_by_hand():
    spec = RobustnessSpec(regime_weights={"calm": 1.0, "volatile": 3.0}, min_regime_sharpe=-1.0)
    # calm, trending, volatile, toxic, crash
    regimes = np.array([[2.0, -3.0, 4.0, NAN, NAN]])
    assert regime_weighted(regimes, spec.regime_weights)[0] == pytest.approx((2 + 12) / 4)
    assert floor_penalty(regimes, -1.0)[0] == pytest.approx(2.0)
    score = robustness(regimes, np.array([1.0]), np.array([2.0]), np.array([0.5]),
                       np.array([0.5]), spec)[0]
    expected = 0.5 * (0.4 * 3.5 + 0.2 * 1.0) + 0.2 * 2.0 + 0.2 * 0.5 - 0.2 * 2.0
    assert score == pytest.approx(expected)
    # no evidence beyond luck (DSR 0): only validation, neighbourhood and floor remain
    assert robustness(regimes, np.array([1.0]), np.array([2.0]), np.array([0.5]),
                      np.array([0.0]), spec)[0] == pytest.approx(0.4 + 0.1 - 0.4)
    train = train_robustness(regimes, np.array([1.0]), np.array([0.5]), spec)[0]
    assert train == pytest.approx(0.4 * 3.5 + 0.2 * 1.0 + 0.2 * 0.5 - 0.2 * 2.0)
    # not judged (no consistency): NaN, never a number
    assert np.isnan(robustness(regimes, np.array([NAN]), np.array([2.0]), np.array([0.5]),
                               np.array([0.5]), spec)[0])
    assert np.isnan(train_robustness(regimes, np.array([NAN]), 0.0, spec)[0])


def test_plateau_is_the_mean_of_grid_neighbours():
    grid = {"a": [1, 2, 3], "b": ["x", "y"]}
    rows = [{"a": a, "b": b} for a in grid["a"] for b in grid["b"]]
    table = pd.DataFrame(rows)
    table["score"] = [1.0, 2.0, 3.0, 4.0, 5.0, np.nan]
    # (2, x): neighbours (1, x)=1, (3, x)=5, (2, y)=4
    assert plateau_scores(table, grid, [{"a": 2, "b": "x"}], "score") == [pytest.approx(10 / 3)]
    # off-grid values snap to the nearest cell: a=2.9 -> (3, y): neighbours (2, y)=4, (3, x)=5
    assert plateau_scores(table, grid, [{"a": 2.9, "b": "y"}], "score") == [pytest.approx(4.5)]


def test_segments_warmup_then_train_validation_test():
    market = generate(SyntheticSpec(assets=2, bars=12_000))
    spec = WalkForwardSpec(folds=4, validation=0.2, test=0.2)
    seg = make_segments(market, spec, warmup=2000)
    ts = market["SYN01"].ts
    assert seg.fold_edges[0] == ts[2000]  # after the warm-up
    sizes = [np.searchsorted(ts, b) - np.searchsorted(ts, a) for a, b in seg.folds]
    assert sizes == [1500] * 4  # 60 % of the 10,000 bars after it
    assert seg.validation == (int(ts[8000]), int(ts[10_000]))
    assert seg.test == (int(ts[10_000]), int(ts[-1]) + market.bar_ns)
    assert seg.iso()["test"]["start"] == "2022-01-07T22:40:00Z"


def test_warmup_is_where_every_feature_is_defined():
    from scalper_tune.features.compute import compute_market

    market = generate(SyntheticSpec(assets=1, bars=9000))
    spec = FeatureSpec()
    first = max(int(np.argmax(np.isfinite(v))) for v in compute_market(market, spec)["SYN01"].values())
    assert first <= warmup_bars(spec) <= first + 2 * max(spec.timeframes)


def test_data_check_names_the_numbers_and_the_fix():
    market = generate(SyntheticSpec(assets=1, bars=3000))
    wf = WalkForwardSpec(folds=8)
    with pytest.raises(DataError) as err:
        check_enough_data(market, wf, FeatureSpec(baseline_window=30))
    text = str(err.value)
    needed = bars_needed(wf, warmup_bars(FeatureSpec(baseline_window=30)))
    assert "1 symbol x 3,000 bars" in text and f"{needed:,} bars" in text
    assert "walk_forward.folds" in text and "Give more data" in text
    assert needed >= 8 * MIN_FOLD_BARS / 0.6
    ok = generate(SyntheticSpec(assets=1, bars=needed))
    assert check_enough_data(ok, wf, FeatureSpec(baseline_window=30)) == warmup_bars(
        FeatureSpec(baseline_window=30))
