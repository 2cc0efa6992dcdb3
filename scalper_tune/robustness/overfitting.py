"""Overfitting statistics.

- Deflated Sharpe Ratio (Bailey & López de Prado, 2014): the probability that the true Sharpe of
  the selected strategy exceeds the expected maximum Sharpe of `n_trials` unskilled trials.
- Probability of Backtest Overfitting by Combinatorially Symmetric Cross-Validation (Bailey,
  Borwein, López de Prado & Zhu, 2017): how often the in-sample best configuration ranks below
  the median out of sample.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.stats import norm

EULER_GAMMA = 0.5772156649015329


def expected_max_sharpe(sr_variance: float, n_trials: int) -> float:
    """SR0: the expected maximum of `n_trials` Sharpe estimates with variance `sr_variance` and
    zero mean: sqrt(V) ((1 - g) Z^-1(1 - 1/N) + g Z^-1(1 - 1/(N e)))."""
    if n_trials < 2:
        return 0.0
    n = float(n_trials)
    return math.sqrt(sr_variance) * ((1 - EULER_GAMMA) * norm.ppf(1 - 1 / n)
                                     + EULER_GAMMA * norm.ppf(1 - 1 / (n * math.e)))


def probabilistic_sharpe(sr: float, benchmark: float, n_obs: int, skew: float,
                         kurtosis: float) -> float:
    """PSR: P(true SR > benchmark) for a per-observation Sharpe `sr` over `n_obs` returns with
    the given skewness and (non-excess) kurtosis."""
    if n_obs < 2:
        return float("nan")
    denom = 1 - skew * sr + (kurtosis - 1) / 4 * sr * sr
    if denom <= 0:
        return float("nan")
    return float(norm.cdf((sr - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(denom)))


def deflated_sharpe(returns: np.ndarray, n_trials: int, sr_variance: float) -> float:
    """DSR of a strategy's per-period `returns`, selected among `n_trials` configurations whose
    per-period Sharpe estimates have variance `sr_variance`."""
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    if r.shape[0] < 3 or r.std(ddof=1) == 0:
        return float("nan")
    sr = r.mean() / r.std(ddof=1)
    d = r - r.mean()
    m2 = np.mean(d ** 2)
    skew = float(np.mean(d ** 3) / m2 ** 1.5)
    kurt = float(np.mean(d ** 4) / m2 ** 2)
    return probabilistic_sharpe(sr, expected_max_sharpe(sr_variance, n_trials), r.shape[0],
                                skew, kurt)


def pbo_cscv(performance: np.ndarray) -> tuple[float, np.ndarray]:
    """PBO of a (partitions S x configurations N) performance matrix by CSCV.

    For every choice of S/2 partitions as in-sample (the rest out-of-sample) the configuration
    with the best in-sample mean is located in the out-of-sample ranking; its relative rank w
    gives the logit ln(w / (1 - w)). PBO is the share of logits <= 0. Returns (PBO, logits)."""
    m = np.asarray(performance, dtype=float)
    s, n = m.shape
    if s < 2 or s % 2 or n < 2:
        raise ValueError("CSCV needs an even number of partitions and at least 2 configurations")
    m = np.where(np.isfinite(m), m, -np.inf)
    logits = []
    for chosen in itertools.combinations(range(s), s // 2):
        mask = np.zeros(s, dtype=bool)
        mask[list(chosen)] = True
        is_perf = m[mask].mean(axis=0)
        oos_perf = m[~mask].mean(axis=0)
        best = int(np.argmax(is_perf))
        # rank of the IS-best configuration out of sample (1 = worst, n = best), ties averaged
        below = np.sum(oos_perf < oos_perf[best])
        equal = np.sum(oos_perf == oos_perf[best])
        rank = below + (equal + 1) / 2
        w = rank / (n + 1)
        logits.append(math.log(w / (1 - w)))
    logits = np.array(logits)
    return float(np.mean(logits <= 0)), logits
