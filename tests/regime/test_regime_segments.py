"""The classifier's in-run accuracy per segment: the pooled figure mixes train, validation and
test blocks, so each segment's balanced accuracy (and its baselines') is reported over the
scored bars inside it, and equals the score recomputed on those bars."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.data import generate
from scalper_tune.features.compute import compute_market
from scalper_tune.regime.walkforward import walk_forward_regimes
from scalper_tune.workflow.entry_gate import regime_note
from scalper_tune.workflow.regime_eval import evaluate_regimes


def test_accuracy_is_reported_per_segment():
    market = generate(SyntheticSpec(assets=2, bars=30_000, seed=3))
    features = compute_market(market, FeatureSpec(z_windows=(40,)))
    report = walk_forward_regimes(market, features, n_splits=None, keep_truth=True,
                                  block_days=5)
    ts = market[market.symbols[0]].ts
    cuts = [int(ts[0]), int(ts[15_000]), int(ts[22_000]), int(ts[-1]) + 1]
    segments = {"train": (cuts[0], cuts[1]), "validation": (cuts[1], cuts[2]),
                "test": (cuts[2], cuts[3])}
    ev = evaluate_regimes(market, features, n_splits=None, block_days=5, full=report,
                          segments=segments)
    assert sum(f["bars"] for f in ev.by_segment.values()) == ev.bars
    for name, (a, b) in segments.items():
        truth, guess = [], []
        for s in market.symbols:
            t = market[s].ts
            ok = (report.predictions[s] >= 0) & (report.truth[s] >= 0) & (t >= a) & (t < b)
            truth.append(report.truth[s][ok])
            guess.append(report.predictions[s][ok])
        t, g = np.concatenate(truth), np.concatenate(guess)
        assert ev.by_segment[name]["bars"] == t.size > 0
        assert ev.by_segment[name]["classifier"] == balanced_accuracy_score(t, g)
        assert 0 <= ev.by_segment[name]["majority"] <= 1
    assert "by segment: train" in regime_note(ev)
    assert set(ev.to_dict()["by_segment"]) == {"train", "validation", "test"}
