"""The effective number of trials reaches what the trials support: 45 planted groups of trials
(12 numbers each, as 3 assets x 4 folds give) are found as 36 to 56, within a step of the grid
of k (a fixed cap of 30 clusters said 30), and the k tried stop below a quarter of the rows and
the distinct rows."""

from __future__ import annotations

import numpy as np

from scalper_tune.robustness.overfitting import cluster_counts, cluster_trials


def test_planted_groups_beyond_thirty_are_found():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(45, 12))
    trials = centres[rng.integers(0, 45, 900)] + 0.2 * rng.normal(size=(900, 12))
    k, labels, rows = cluster_trials(trials, seed=0)
    assert 36 <= k <= 56  # within a grid step (25 %)
    assert rows.shape[0] == 900 and np.unique(labels).shape[0] == k


def test_the_counts_tried_stay_within_what_the_rows_support():
    assert cluster_counts(10, 1500) == list(range(2, 10))
    ks = cluster_counts(1500, 1500)
    assert ks[:29] == list(range(2, 31)) and ks[-1] <= 1500 // 4 and ks[29] == 38
    assert cluster_counts(1500, 40) == list(range(2, 11))
