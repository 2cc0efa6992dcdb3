"""Walk-forward regime classification: out-of-sample predictions for every bar after the first
block, each from a model trained only on earlier, purged data, and the accuracy report.

Labels: the recorded ground truth where the data has it (the synthetic market); otherwise labels
from realised future behaviour (`future_labels`), which exist only inside training folds and are
purged by the time of the last bar they read (never past a session's end: a label whose window
crosses a gap is dropped), so no test bar's future leaks into training.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, recall_score

from scalper_tune.features import Features
from scalper_tune.config.pipeline_spec import REGIMES
from scalper_tune.data.market import MarketData
from scalper_tune.regime.classifier import RegimeClassifier
from scalper_tune.regime.features import regime_matrix
from scalper_tune.regime.splits import equal_edges, fixed_edges, purged_walk_forward

FUTURE_HORIZON = 60  # bars of realised behaviour behind a label on unlabelled data


def future_labels(close: np.ndarray, feats: Mapping[str, np.ndarray],
                  ts: np.ndarray | None = None, bar_ns: int = 0) -> np.ndarray:
    """Regime from the next FUTURE_HORIZON bars (training only): toxic if a jump above 6 x the
    current volatility happens, volatile if realised volatility exceeds 1.5 x current, trending if
    the move exceeds 2 x volatility x sqrt(horizon), else calm. The last bars have no label (-1),
    nor has a bar whose window crosses a gap in `ts` (bars `bar_ns` apart; a session's close to
    the next open, a missing bar): its window would read another session, and the overnight
    move would count as a one-bar jump."""
    h = FUTURE_HORIZON
    n = close.shape[0]
    vol = np.asarray(feats["vol_tf1"])
    r = np.asarray(feats["log_return"])
    labels = np.full(n, -1, dtype=np.int64)
    if n <= h + 1:
        return labels
    windows = np.lib.stride_tricks.sliding_window_view(r[1:], h)[: n - h - 1]
    realised = windows.std(axis=1)
    jump = np.abs(windows).max(axis=1)
    move = np.abs(np.log(close[h:n - 1] / close[: n - h - 1]))
    v = vol[: n - h - 1]
    with np.errstate(invalid="ignore"):
        lab = np.where(move > 2 * v * np.sqrt(h), 1, 0)
        lab = np.where(realised > 1.5 * v, 2, lab)
        lab = np.where(jump > 6 * v, 3, lab)
    ok = np.isfinite(v)
    if ts is not None and bar_ns > 0:  # the window [i, i + h + 1] must be gap-free
        t = np.asarray(ts, dtype=np.int64)
        ok &= (t[h + 1:n] - t[: n - h - 1]) == (h + 1) * bar_ns
    labels[: n - h - 1] = np.where(ok, lab, -1)
    return labels


def label_ends(ts: np.ndarray, horizon: int) -> np.ndarray:
    """The time (ns) of the last bar each bar's label reads: bar i + horizon by index (the last
    bar where the data ends sooner); a purge by ts + horizon x bar would miss a label that
    reads past a gap."""
    t = np.asarray(ts, dtype=np.int64)
    return t[np.minimum(np.arange(t.shape[0]) + horizon, t.shape[0] - 1)]


@dataclass(frozen=True)
class RegimeReport:
    """Out-of-sample predictions per symbol (-1 where none) and accuracy figures."""

    predictions: Mapping[str, np.ndarray]
    probabilities: Mapping[str, np.ndarray]
    balanced_accuracy: float
    recall: Mapping[str, float]
    confusion: np.ndarray
    labels: tuple[int, ...]
    supervised: bool
    per_fold: list[float] = field(default_factory=list)
    truth: Mapping[str, np.ndarray] = field(default_factory=dict)  # labels (-1: none)
    majority: Mapping[str, np.ndarray] = field(default_factory=dict)  # training majority class


def block_schedule(market: MarketData, block_days: float | None = None,
                   n_splits: int | None = None) -> np.ndarray:
    """Block edges (ns) over the market's time axis: fixed blocks of `block_days` from its first
    bar (prefix-invariant: the pipeline and the gates), or `n_splits` + 1 equal blocks of the
    data at hand (evaluations)."""
    t0 = int(min(market[s].ts[0] for s in market.symbols))
    stop = int(max(market[s].ts[-1] for s in market.symbols)) + market.bar_ns
    if block_days is not None:
        return fixed_edges(t0, stop, int(block_days * 86_400 * 1e9))
    return equal_edges(t0, stop - t0, int(n_splits or 4))


@dataclass(frozen=True)
class _Pool:
    """Every symbol's bars on one time axis (regime inputs, labels, bar times, owner symbol
    and bar index); labels from realised behaviour reach `horizon` bars ahead."""

    X: np.ndarray
    y: np.ndarray
    ts: np.ndarray
    end: np.ndarray  # the time of the last bar each label reads (label_ends)
    owner: np.ndarray
    index: np.ndarray
    supervised: bool
    horizon: int
    y_by_symbol: Mapping[str, np.ndarray]


def _pooled(market: MarketData, features: Features,
            columns: list[int] | None = None) -> _Pool:
    symbols = market.symbols
    X = {s: regime_matrix(market[s], features[s], market.bar_seconds) for s in symbols}
    if columns is not None:
        X = {s: x[:, columns] for s, x in X.items()}
    supervised = all(market[s].regime is not None for s in symbols)
    if supervised:
        y = {s: market[s].regime.astype(np.int64) for s in symbols}
    else:
        y = {s: future_labels(market[s].close, features[s], market[s].ts, market.bar_ns)
             for s in symbols}
    horizon = 0 if supervised else FUTURE_HORIZON
    return _Pool(X=np.vstack([X[s] for s in symbols]),
                 y=np.concatenate([y[s] for s in symbols]),
                 ts=np.concatenate([market[s].ts for s in symbols]),
                 end=np.concatenate([label_ends(market[s].ts, horizon) for s in symbols]),
                 owner=np.concatenate([np.full(len(market[s]), i)
                                       for i, s in enumerate(symbols)]),
                 index=np.concatenate([np.arange(len(market[s])) for s in symbols]),
                 supervised=supervised, horizon=horizon, y_by_symbol=y)


def _regime_model(seed: int) -> RegimeClassifier:
    return RegimeClassifier(max_iter=40, learning_rate=0.25, max_leaf_nodes=15, random_state=seed)


@dataclass(frozen=True)
class NextBlockModel:
    """The classifier walk-forward would use for the block after the data: fitted on every
    (subsampled) bar whose label ends before that block's start minus the embargo."""

    model: RegimeClassifier
    block_start: int  # ns: where the block after the data starts (the first edge >= its end)
    rows: int  # training rows


def next_block_model(market: MarketData, features: Features,
                     block_days: float, seed: int = 0, embargo: int = 60,
                     subsample: int = 10, block: int = -1) -> NextBlockModel | None:
    """The deployable regime classifier of a run (see NextBlockModel); None without a
    labelled training bar. Same model settings, sampling and purging as
    `walk_forward_regimes` with fixed blocks of `block_days`. `block`: the edge whose block it
    is for (-1: the block after the data; -2: the block holding the data's end, whose model
    walk-forward applies to the rest of that block)."""
    return block_models(market, features, block_days, seed, embargo, subsample, (block,))[0]


def block_models(market: MarketData, features: Features, block_days: float, seed: int = 0,
                 embargo: int = 60, subsample: int = 10, blocks: tuple[int, ...] = (-1, -2)
                 ) -> tuple[NextBlockModel | None, ...]:
    """`next_block_model` for each edge of `blocks`, from one pool of regime inputs."""
    pool = _pooled(market, features)
    edges = block_schedule(market, block_days)
    out = []
    for block in blocks:
        if len(edges) < 1 - block:  # block -2 needs a block before the data's last
            out.append(None)
            continue
        start = int(edges[block])
        train = np.flatnonzero((pool.index % subsample == 0) & (pool.y >= 0)
                               & (pool.end < start - embargo * market.bar_ns))
        out.append(None if train.size == 0 else NextBlockModel(
            _regime_model(seed).fit(pool.X[train], pool.y[train]), start, int(train.size)))
    return tuple(out)


def walk_forward_regimes(market: MarketData, features: Features,
                         n_splits: int | None = 4, embargo: int = 60, subsample: int = 10,
                         seed: int = 0, columns: list[int] | None = None,
                         keep_truth: bool = False,
                         block_days: float | None = None) -> RegimeReport:
    """Fit on all symbols' earlier bars (every `subsample`-th bar of each symbol, to bound the
    cost), predict the next block, block by block (`block_schedule`: fixed blocks of
    `block_days`, else `n_splits` + 1 equal blocks; the first only trains). `columns`: use only
    these inputs (a baseline); `keep_truth`: also return the labels (realised-behaviour labels on
    unlabelled data are reported for evaluation only, never used to predict) and each block's
    training majority class."""
    symbols = market.symbols
    pool = _pooled(market, features, columns)
    X_all, y_all, ts, owner, index = pool.X, pool.y, pool.ts, pool.owner, pool.index
    supervised, y = pool.supervised, pool.y_by_symbol
    bar_ns = market.bar_ns
    edges = block_schedule(market, block_days, n_splits)
    preds = {s: np.full(len(market[s]), -1, dtype=np.int64) for s in symbols}
    majority = {s: np.full(len(market[s]), -1, dtype=np.int64) for s in symbols}
    probs = {s: np.full((len(market[s]), len(REGIMES)), np.nan) for s in symbols}
    truth, guess, per_fold = [], [], []
    sampled = index % subsample == 0
    for train, test, _, _ in purged_walk_forward(ts, pool.end, edges, embargo * bar_ns):
        tr = train[sampled[train] & (y_all[train] >= 0)]
        if tr.size == 0:
            continue
        model = _regime_model(seed).fit(X_all[tr], y_all[tr])
        common = int(np.bincount(y_all[tr]).argmax())
        p = model.predict_proba(X_all[test])
        guessed = model.classes_[np.argmax(p, axis=1)]
        for i, s in enumerate(symbols):
            mine = owner[test] == i
            rows = index[test][mine]
            preds[s][rows] = guessed[mine]
            probs[s][np.ix_(rows, model.classes_)] = p[mine]
            majority[s][rows] = common
        if supervised:
            t, g = y_all[test], guessed
            with warnings.catch_warnings():  # a block may lack a regime its model predicts
                warnings.simplefilter("ignore", UserWarning)
                per_fold.append(float(balanced_accuracy_score(t, g)))
            truth.append(t)
            guess.append(g)
    kept = ({s: y[s] for s in symbols}, majority) if keep_truth else ({}, {})
    if supervised and truth:
        t, g = np.concatenate(truth), np.concatenate(guess)
        labels = tuple(int(v) for v in np.unique(t))
        recalls = recall_score(t, g, labels=list(labels), average=None, zero_division=0)
        return RegimeReport(preds, probs, float(balanced_accuracy_score(t, g)),
                            {REGIMES[k]: float(r) for k, r in zip(labels, recalls)},
                            confusion_matrix(t, g, labels=list(labels)), labels, True, per_fold,
                            *kept)
    return RegimeReport(preds, probs, float("nan"), {}, np.zeros((0, 0)), (), False, per_fold,
                        *kept)
