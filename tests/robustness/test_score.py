"""The robustness score, walk-forward consistency, plateau and segments, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.pipeline_spec import RobustnessSpec, WalkForwardSpec
from scalper_tune.data import generate
from scalper_tune.robustness.score import (consistency, plateau_scores, regime_weighted,
                                           robustness_score)
from scalper_tune.robustness.segments import make_segments


def test_consistency_by_hand():
    m = np.array([[1.0, 3.0], [2.0, 2.0]])
    np.testing.assert_allclose(consistency(m, np.array([50, 5]), 10), [2.0 - 0.5 * 1.0, np.nan])


def test_robustness_formula_by_hand():
    spec = RobustnessSpec(regime_weights={"calm": 1.0, "volatile": 3.0}, min_regime_sharpe=-1.0)
    regimes = {"calm": 2.0, "volatile": 4.0, "trending": -3.0, "toxic": float("nan"),
               "crash": float("nan")}
    assert regime_weighted(regimes, spec.regime_weights) == pytest.approx((2 + 12) / 4)
    score = robustness_score(regimes, consistency_score=1.0, oos_sharpe=2.0, plateau=0.5,
                             dsr=0.5, spec=spec)
    expected = 0.5 * (0.4 * 3.5 + 0.2 * 1.0) + 0.2 * 2.0 + 0.2 * 0.5 - 0.2 * (-1 - -3)
    assert score == pytest.approx(expected)
    # with no evidence beyond luck (DSR 0) only the held-back and neighbourhood parts remain
    assert robustness_score(regimes, 1.0, 2.0, 0.5, 0.0, spec) == pytest.approx(0.4 + 0.1 - 0.4)


def test_plateau_is_the_mean_of_grid_neighbours():
    grid = {"a": [1, 2, 3], "b": ["x", "y"]}
    rows = [{"a": a, "b": b} for a in grid["a"] for b in grid["b"]]
    table = pd.DataFrame(rows)
    table["consistency"] = [1.0, 2.0, 3.0, 4.0, 5.0, np.nan]
    # (2, x): neighbours (1, x)=1, (3, x)=5, (2, y)=4
    assert plateau_scores(table, grid, [{"a": 2, "b": "x"}]) == [pytest.approx(10 / 3)]
    # off-grid values snap to the nearest cell: a=2.9 -> (3, y): neighbours (2, y)=4, (3, x)=5
    assert plateau_scores(table, grid, [{"a": 2.9, "b": "y"}]) == [pytest.approx(4.5)]


def test_segments_cover_in_sample_then_holdout():
    market = generate(SyntheticSpec(assets=2, bars=10_000))
    seg = make_segments(market, WalkForwardSpec(folds=4, holdout=0.2))
    ts = market["SYN01"].ts
    assert seg.fold_edges[0] == ts[0] and seg.fold_edges[-1] == ts[8000]
    assert len(seg.folds) == 4 and seg.end == ts[-1] + 1
    sizes = [np.searchsorted(ts, b) - np.searchsorted(ts, a) for a, b in seg.folds]
    assert sizes == [2000] * 4
