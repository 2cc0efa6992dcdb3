"""The robustness score and the per-candidate robustness report (Phase 2).

Walk-forward consistency (the Phase 1 screen and the refinement objective):
    consistency = mean_f(Sharpe_f) - 0.5 x std_f(Sharpe_f)   over the in-sample folds f,
with Sharpe_f the mean per-asset annualised Sharpe of fold f (NaN below `min_trades` trades).

Robustness score (Phase 2, the final ranking):
    score = DSR x (0.4 x regime_weighted + 0.2 x consistency)
            + 0.2 x oos_sharpe + 0.2 x plateau
            - 0.2 x max(0, min_regime_sharpe - worst_regime_sharpe)
where regime_weighted is the weighted mean of the per-regime in-sample Sharpes (weights from the
YAML, regimes without enough bars skipped), consistency the walk-forward consistency above,
oos_sharpe the Sharpe on the held-back final segment, plateau the mean consistency of the
neighbouring grid cells, and DSR the Deflated Sharpe Ratio (a probability) with the true number of
configurations tried. The DSR shrinks only the in-sample parts, the ones inflated by selecting
the best of many trials: when the in-sample edge cannot be told from luck, the score rests on the
held-back segment and the neighbourhood.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from scalper_tune.config.pipeline_spec import REGIMES, RobustnessSpec

W_REGIME, W_CONSISTENCY, W_OOS, W_PLATEAU, W_FLOOR = 0.4, 0.2, 0.2, 0.2, 0.2


def consistency(fold_sharpes: np.ndarray, trades: np.ndarray, min_trades: int) -> np.ndarray:
    """mean - 0.5 std of the fold Sharpes per row; NaN where fewer than `min_trades` trades."""
    m = np.asarray(fold_sharpes, dtype=float)
    score = np.nanmean(m, axis=1) - 0.5 * np.nanstd(m, axis=1)
    return np.where(np.asarray(trades) >= min_trades, score, np.nan)


def regime_weighted(sharpes: Mapping[str, float], weights: Mapping[str, float]) -> float:
    num = den = 0.0
    for name in REGIMES:
        value, w = sharpes.get(name, float("nan")), weights.get(name, 0.0)
        if math.isfinite(value) and w > 0:
            num += w * value
            den += w
    return num / den if den > 0 else float("nan")


def robustness_score(regime_sharpes: Mapping[str, float], consistency_score: float,
                     oos_sharpe: float, plateau: float, dsr: float, spec: RobustnessSpec) -> float:
    """The formula in the module docstring (NaN parts count as 0, a NaN DSR as 0)."""
    part = lambda x: x if math.isfinite(x) else 0.0
    in_sample = (W_REGIME * part(regime_weighted(regime_sharpes, spec.regime_weights))
                 + W_CONSISTENCY * part(consistency_score))
    finite = [v for v in regime_sharpes.values() if math.isfinite(v)]
    worst = min(finite) if finite else 0.0
    return (part(dsr) * in_sample + W_OOS * part(oos_sharpe) + W_PLATEAU * part(plateau)
            - W_FLOOR * max(0.0, spec.min_regime_sharpe - worst))


def plateau_scores(table: pd.DataFrame, grid: Mapping[str, Sequence], rows: Sequence[dict],
                   score_col: str = "consistency") -> list[float]:
    """For each parameter set in `rows`, the mean score of its grid neighbours: the cells one
    step away along one axis from the grid cell nearest to it (NaN scores skipped)."""
    axes = list(grid)
    index = {tuple(r[a] for a in axes): s for r, s in
             zip(table[axes].to_dict("records"), table[score_col].to_numpy())}
    out = []
    for row in rows:
        cell = []
        for a in axes:
            values = list(grid[a])
            v = row[a]
            pos = values.index(v) if v in values else (
                int(np.argmin([abs(float(x) - float(v)) for x in values]))
                if not isinstance(v, str) else 0)
            cell.append(pos)
        neighbours = []
        for i, a in enumerate(axes):
            for step in (-1, 1):
                j = cell[i] + step
                if 0 <= j < len(grid[a]):
                    key = [grid[b][cell[k]] for k, b in enumerate(axes)]
                    key[i] = grid[a][j]
                    s = index.get(tuple(key), float("nan"))
                    if math.isfinite(s):
                        neighbours.append(s)
        out.append(float(np.mean(neighbours)) if neighbours else float("nan"))
    return out
