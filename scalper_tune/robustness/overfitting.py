"""Overfitting statistics.

- Deflated Sharpe Ratio (Bailey & López de Prado, 2014): the probability that the true Sharpe of
  the selected strategy exceeds the expected maximum Sharpe of `n_trials` unskilled trials.
- Probability of Backtest Overfitting by Combinatorially Symmetric Cross-Validation (Bailey,
  Borwein, López de Prado & Zhu, 2017): how often the configuration a selection rule picks on
  the in-sample partitions ranks below the median out of sample.
- The effective number of sleeves: the DSR's statistic pools every sleeve's per-bar returns,
  and sleeves that move together (spot and perpetual of one asset correlate about 0.8) are not
  independent observations; the participation ratio of their return correlation matrix's
  eigenvalues, (sum l)^2 / sum l^2, is how many independent sleeves they are worth (1 for
  identical sleeves, S for uncorrelated ones), and the DSR counts n_obs x S_eff / S
  observations (duplicating sleeves leaves it unchanged).
- The effective number of independent trials (López de Prado, "A Practical Solution to the
  Multiple-Testing Crisis in Financial Research", 2019): trials clustered by the correlation of
  their per-fold results; the number of clusters is the number of truly different experiments.
"""

from __future__ import annotations

import itertools
import math
from typing import Callable

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_samples

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


def moments(m1, m2, m3, m4, n) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(per-observation Sharpe, skewness, non-excess kurtosis) from the power sums m1..m4 of
    `n` observations (sample std with ddof=1 for the Sharpe; population moments for the
    shape, as `deflated_sharpe` computes them)."""
    m1, m2, m3, m4, n = (np.asarray(x, dtype=float) for x in (m1, m2, m3, m4, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = m1 / n
        c2 = m2 / n - mean ** 2
        c3 = m3 / n - 3 * mean * m2 / n + 2 * mean ** 3
        c4 = m4 / n - 4 * mean * m3 / n + 6 * mean ** 2 * m2 / n - 3 * mean ** 4
        sd = np.sqrt(c2 * n / (n - 1))
        sr = np.where(sd > 0, mean / sd, np.nan)
        skew = np.where(c2 > 0, c3 / c2 ** 1.5, np.nan)
        kurt = np.where(c2 > 0, c4 / c2 ** 2, np.nan)
    return sr, skew, kurt


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


def effective_sleeves(returns: np.ndarray) -> float:
    """The participation ratio of the correlation matrix of `returns` (bars x sleeves; NaN where
    a sleeve has no bar: pairwise-complete correlations): (sum l)^2 / sum l^2 over its
    eigenvalues l (clipped at 0), between 1 and the number of sleeves with variance."""
    x = np.asarray(returns, dtype=float)
    if x.ndim != 2 or x.shape[1] == 0:
        return 1.0
    corr = pd.DataFrame(x).corr(min_periods=3).to_numpy()
    keep = np.isfinite(np.diag(corr))
    corr = np.nan_to_num(corr[np.ix_(keep, keep)])  # no common bars: uncorrelated
    if corr.shape[0] < 2:
        return 1.0
    lam = np.clip(np.linalg.eigvalsh((corr + corr.T) / 2), 0.0, None)
    return float(lam.sum() ** 2 / (lam * lam).sum())


def pbo_cscv(performance: np.ndarray,
             rule: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[float, np.ndarray]:
    """PBO of a (partitions S x configurations N) performance matrix by CSCV.

    For every choice of S/2 partitions as in-sample (the rest out-of-sample) the configuration
    the selection `rule` picks on the in-sample partitions (`rule(mask)` -> a score per
    configuration, `mask` marking the in-sample partitions; default: the best in-sample mean
    performance) is located in the out-of-sample ranking by mean performance; its relative rank
    w gives the logit ln(w / (1 - w)). PBO is the share of logits <= 0. Returns (PBO, logits)."""
    m = np.asarray(performance, dtype=float)
    s, n = m.shape
    if s < 2 or s % 2 or n < 2:
        raise ValueError("CSCV needs an even number of partitions and at least 2 configurations")
    m = np.where(np.isfinite(m), m, -np.inf)
    logits = []
    for chosen in itertools.combinations(range(s), s // 2):
        mask = np.zeros(s, dtype=bool)
        mask[list(chosen)] = True
        is_perf = m[mask].mean(axis=0) if rule is None else np.asarray(rule(mask), dtype=float)
        oos_perf = m[~mask].mean(axis=0)
        best = int(np.argmax(np.where(np.isfinite(is_perf), is_perf, -np.inf)))
        # rank of the IS-best configuration out of sample (1 = worst, n = best), ties averaged
        below = np.sum(oos_perf < oos_perf[best])
        equal = np.sum(oos_perf == oos_perf[best])
        rank = below + (equal + 1) / 2
        w = rank / (n + 1)
        logits.append(math.log(w / (1 - w)))
    logits = np.array(logits)
    return float(np.mean(logits <= 0)), logits


def cluster_counts(distinct: int, rows: int) -> list[int]:
    """The k that `cluster_trials` tries: every k from 2 to 30, then steps of 25 % up to what
    the trials support (fewer than `distinct` standardised rows, at least MIN_PER_CLUSTER
    clustered rows a cluster on average)."""
    top = min(distinct - 1, rows // MIN_PER_CLUSTER)
    ks, k = list(range(2, min(30, top) + 1)), 30
    while True:
        k = int(math.ceil(k * 1.25))
        if k > top:
            return ks
        ks.append(k)


MIN_PER_CLUSTER = 4  # clustered rows a cluster holds on average at the largest k tried


def cluster_trials(fold_results: np.ndarray, seed: int = 0,
                   sample: int = 1500) -> tuple[int, np.ndarray, np.ndarray]:
    """The effective number of independent trials among the rows of `fold_results` (trials x
    folds, e.g. each trial's fold Sharpes), with the cluster of each clustered row.

    Each row is standardised across its folds, so the Euclidean distance of two rows is a
    function of their correlation; k-means clusters them for every k of `cluster_counts` (up
    to a quarter of the clustered rows, not a fixed cap) and the k with the best silhouette
    quality (mean / std of the silhouette scores, as in López de Prado's ONC algorithm) is the
    effective number. Rows with a non-finite value or without variation across folds are left
    out; at most `sample` rows (a seeded draw) are clustered. Returns (k >= 1, cluster label
    per clustered row, the clustered rows' indices)."""
    x = np.asarray(fold_results, dtype=float)
    rows = np.flatnonzero(np.isfinite(x).all(axis=1) & (np.nan_to_num(x).std(axis=1) > 0))
    rng = np.random.default_rng(seed)
    if rows.shape[0] > sample:
        rows = np.sort(rng.choice(rows, sample, replace=False))
    if rows.shape[0] < 3:
        return max(1, rows.shape[0]), np.arange(rows.shape[0]), rows
    z = x[rows]
    z = (z - z.mean(axis=1, keepdims=True)) / z.std(axis=1, keepdims=True)
    distinct = np.unique(np.round(z, 12), axis=0).shape[0]  # identical trials: one experiment
    best_k, best_q, best_labels = 1, -np.inf, np.zeros(rows.shape[0], dtype=np.int64)
    for k in cluster_counts(distinct, rows.shape[0]):
        labels = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(z)
        if np.unique(labels).shape[0] < 2:
            continue
        sil = silhouette_samples(z, labels)
        q = sil.mean() / sil.std() if sil.std() > 0 else -np.inf
        if q > best_q:
            best_k, best_q, best_labels = k, q, labels
    return best_k, best_labels, rows


def trials_sharpe_variance(sharpes: np.ndarray, labels: np.ndarray, rows: np.ndarray) -> float:
    """Variance of the clusters' mean Sharpe (the clustered trials' `sharpes[rows]` averaged
    per cluster): the spread of truly different experiments, for the DSR's expected maximum."""
    sr = np.asarray(sharpes, dtype=float)[rows]
    means = [float(np.nanmean(sr[labels == k])) for k in np.unique(labels)]
    means = [m for m in means if math.isfinite(m)]
    return float(np.var(means, ddof=1)) if len(means) > 1 else 0.0
