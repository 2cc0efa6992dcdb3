"""The robustness score: what ranks, refines and chooses configurations.

Its parts (all annualised Sharpes of per-bar sleeve returns):
- regime_weighted: the weighted mean of the per-regime Sharpes (weights from the YAML's
  `robustness.regime_weights`; regimes with fewer than MIN_REGIME_BARS bars are skipped), from
  the returns pooled over assets and over the folds evaluated;
- consistency: mean - 0.5 x std of the fold Sharpes (fold Sharpe = mean per-asset Sharpe of
  the fold);
- floor: max(0, min_regime_sharpe - worst regime Sharpe), a penalty;
- plateau: the mean train robustness of the neighbouring grid cells (where known, else 0);
- val_sharpe: the Sharpe on the validation segment (event engine, full costs);
- dsr: the Deflated Sharpe Ratio of the train returns (a probability).

Train robustness (Phase 1 screen and the refinement objective; train folds only):
    0.4 x regime_weighted + 0.2 x consistency + 0.2 x plateau - 0.2 x floor
Robustness (Phase 2, the ranking of candidates; train + validation):
    dsr x (0.4 x regime_weighted + 0.2 x consistency) + 0.2 x val_sharpe + 0.2 x plateau
    - 0.2 x floor
The DSR shrinks only the in-sample parts, the ones inflated by picking the best of many trials.
A configuration with fewer than `filters.min_trades` trades over the folds evaluated, or with
no fold Sharpe, cannot be judged: its score is NaN (never a sentinel number). Other missing
parts (no regime with enough bars, no neighbourhood) count as 0.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from scalper_tune.config.pipeline_spec import REGIMES, RobustnessSpec

W_REGIME, W_CONSISTENCY, W_VALIDATION, W_PLATEAU, W_FLOOR = 0.4, 0.2, 0.2, 0.2, 0.2
MIN_REGIME_BARS = 500  # pooled bars a regime needs before its Sharpe is judged


def annualise(bars_per_year: float) -> float:
    """sqrt(bars a year): the factor from a per-bar Sharpe to an annual one."""
    return math.sqrt(bars_per_year)


def consistency(fold_sharpes: np.ndarray, trades: np.ndarray, min_trades: int) -> np.ndarray:
    """mean - 0.5 std of the fold Sharpes per row; NaN where fewer than `min_trades` trades or
    no fold Sharpe."""
    m = np.asarray(fold_sharpes, dtype=float)
    finite = np.isfinite(m).any(axis=1)
    if m.shape[1] == 0:  # no fold done yet
        return np.full(m.shape[0], np.nan)
    with np.errstate(invalid="ignore"):
        score = np.nanmean(np.where(finite[:, None], m, 0.0), axis=1) - 0.5 * np.nanstd(
            np.where(finite[:, None], m, 0.0), axis=1)
    return np.where((np.asarray(trades) >= min_trades) & finite, score, np.nan)


def regime_sharpes(reg_sum: np.ndarray, reg_sq: np.ndarray, reg_n: np.ndarray,
                   bars_per_year: float) -> np.ndarray:
    """Annualised Sharpe per regime (N x R) from pooled sums of per-bar returns and their
    squares over `reg_n` bars (R, or N x R); NaN below MIN_REGIME_BARS bars or without variance."""
    s = np.asarray(reg_sum, dtype=float)
    q = np.asarray(reg_sq, dtype=float)
    n = np.broadcast_to(np.asarray(reg_n, dtype=float), s.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / n
        var = (q - n * mean * mean) / (n - 1)
        out = mean / np.sqrt(var) * annualise(bars_per_year)
    return np.where((n >= MIN_REGIME_BARS) & (var > 0), out, np.nan)


def regime_weights(weights: Mapping[str, float]) -> np.ndarray:
    return np.array([float(weights.get(name, 0.0)) for name in REGIMES])


def regime_weighted(sharpes: np.ndarray, weights: Mapping[str, float]) -> np.ndarray:
    """Weighted mean of the finite per-regime Sharpes per row (N x R -> N); NaN if none."""
    s = np.atleast_2d(np.asarray(sharpes, dtype=float))
    w = np.where(np.isfinite(s), regime_weights(weights)[None, :], 0.0)
    with np.errstate(invalid="ignore"):
        return np.where(w.sum(axis=1) > 0, np.nansum(w * np.nan_to_num(s), axis=1)
                        / w.sum(axis=1), np.nan)


def floor_penalty(sharpes: np.ndarray, min_regime_sharpe: float) -> np.ndarray:
    """max(0, min_regime_sharpe - worst finite regime Sharpe) per row (0 where none)."""
    s = np.atleast_2d(np.asarray(sharpes, dtype=float))
    worst = np.where(np.isfinite(s).any(axis=1), np.nanmin(np.where(np.isfinite(s), s, np.inf),
                                                            axis=1), np.nan)
    return np.where(np.isfinite(worst), np.maximum(0.0, min_regime_sharpe - worst), 0.0)


def _part(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.where(np.isfinite(x), x, 0.0)


def train_robustness(regimes: np.ndarray, consistency_score: np.ndarray, plateau,
                     spec: RobustnessSpec) -> np.ndarray:
    """The train robustness per row (see the module docstring); NaN where `consistency_score`
    is NaN (not judged)."""
    score = (W_REGIME * _part(regime_weighted(regimes, spec.regime_weights))
             + W_CONSISTENCY * _part(consistency_score) + W_PLATEAU * _part(plateau)
             - W_FLOOR * floor_penalty(regimes, spec.min_regime_sharpe))
    return np.where(np.isfinite(consistency_score), score, np.nan)


def robustness(regimes: np.ndarray, consistency_score: np.ndarray, val_sharpe, plateau, dsr,
               spec: RobustnessSpec) -> np.ndarray:
    """The Phase 2 robustness per row (see the module docstring); NaN where not judged."""
    in_sample = (W_REGIME * _part(regime_weighted(regimes, spec.regime_weights))
                 + W_CONSISTENCY * _part(consistency_score))
    score = (_part(dsr) * in_sample + W_VALIDATION * _part(val_sharpe) + W_PLATEAU * _part(plateau)
             - W_FLOOR * floor_penalty(regimes, spec.min_regime_sharpe))
    return np.where(np.isfinite(consistency_score), score, np.nan)


def plateau_scores(table: pd.DataFrame, grid: Mapping[str, Sequence], rows: Sequence[dict],
                   score_col: str) -> list[float]:
    """For each parameter set in `rows`, the mean `score_col` of its grid neighbours: the cells
    one step away along one axis from the grid cell nearest to it (NaN scores skipped; NaN when
    no neighbour is judged)."""
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
