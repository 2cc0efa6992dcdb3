"""ML-edge gating by meta-labelling (the seed's `backtest_ml_edge.py --min-accuracy 0.65`).

For each trade the primary strategy takes (the event engine, ungated), a classifier predicts from
features known at the entry decision whether the trade will be profitable. Accuracy is measured
per asset out of sample with purged, embargoed walk-forward splits: a trade trains a fold only if
it was closed (its label known) before the fold's first bar minus the embargo. An asset is traded
only when its out-of-sample accuracy reaches `min_accuracy` and beats the majority-class baseline;
within a traded asset, a trade is taken only when the predicted probability of profit reaches
`threshold`. The report covers the out-of-sample trades the gate takes, with the P&L each had in
the ungated backtest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd
from scipy.stats import binomtest
from sklearn.ensemble import HistGradientBoostingClassifier

from scalper_tune.config.costs import CostModel
from scalper_tune.data.market import MarketData
from scalper_tune.engine.backtest import backtest, trades_frame
from scalper_tune.regime.classifier import informative_columns
from scalper_tune.regime.features import regime_matrix
from scalper_tune.regime.splits import purged_walk_forward

MIN_OOS_TRADES = 20


@dataclass(frozen=True)
class AssetEdge:
    symbol: str
    accuracy: float
    baseline: float
    lower_bound: float
    signals: int  # trades of the primary strategy (meta-labelling samples)
    oos: int  # of which predicted out of sample
    traded: bool
    trades: int  # out-of-sample trades the gate takes
    pnl: float
    avg_return: float
    p_value: float = float("nan")


def signal_features(market: MarketData, symbol: str, feats: Mapping[str, np.ndarray],
                    z_window: int, decision_bars: np.ndarray, sides: np.ndarray) -> np.ndarray:
    """Features at each decision bar: the regime inputs plus the signal's own z-score, OU
    half-life, imbalance toward the trade, and the side."""
    base = regime_matrix(market[symbol], feats, market.bar_seconds)[decision_bars]
    z = np.asarray(feats[f"price_z_w{z_window}"])[decision_bars]
    half = np.asarray(feats[f"ou_half_life_w{z_window}"])[decision_bars]
    imb = np.asarray(feats["imbalance"])[decision_bars] * sides
    with np.errstate(divide="ignore", invalid="ignore"):
        extra = np.column_stack([np.abs(z), np.log(half), imb, sides,
                                 np.asarray(feats["vol_z_min"])[decision_bars]])
    X = np.column_stack([base, extra])
    X[~np.isfinite(X)] = np.nan
    return X


def _model(seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.05, max_leaf_nodes=15,
                                          min_samples_leaf=20, random_state=seed)


def _oos_predictions(X: np.ndarray, y: np.ndarray, start: np.ndarray, end: np.ndarray,
                     span: int, n_splits: int, embargo: int, seed: int, origin: int,
                     rng: np.random.Generator | None = None,
                     models: list | None = None) -> np.ndarray:
    """P(profit) out of sample per sample (NaN where no fold predicts it). With `rng`, training
    labels are shuffled (the permutation control). With `models`, each fold's (first bar of its
    test block, used columns, fitted model) is appended to it."""
    proba = np.full(y.shape[0], np.nan)
    for train, test, first in purged_walk_forward(start, end, span, n_splits, embargo, origin):
        y_train = y[train] if rng is None else rng.permutation(y[train])
        if np.unique(y_train).shape[0] < 2:
            proba[test] = float(y_train.mean())
            continue
        cols = informative_columns(X[train])
        model = _model(seed).fit(X[train][:, cols], y_train)
        proba[test] = model.predict_proba(X[test][:, cols])[:, 1]
        if models is not None:
            models.append((first, cols, model))
    return proba


@dataclass(frozen=True)
class _Samples:
    """The primary strategy's trades as meta-labelling samples, pooled over symbols: `order`
    maps sample rows to trade rows; start/end are decision and label times (ns)."""

    trades: pd.DataFrame
    order: np.ndarray
    X: np.ndarray
    y: np.ndarray
    start: np.ndarray
    end: np.ndarray
    t0: int
    span: int


def _samples(market: MarketData, features: Mapping[str, Mapping[str, np.ndarray]],
             params: Mapping[str, object], costs: CostModel, account: float) -> _Samples | None:
    """Backtest the primary strategy once and describe each of its trades at its decision bar."""
    trades = backtest(market, features, params, costs, account).trades.reset_index(drop=True)
    if trades.empty:
        return None
    parts = []
    for symbol in market.symbols:
        sel = np.flatnonzero((trades["symbol"] == symbol).to_numpy())
        if sel.size == 0:
            continue
        t = trades.iloc[sel]
        decision = np.maximum(t["_entry_bar"].to_numpy() - 1 - costs.latency, 0).astype(np.int64)
        sides = np.where(t["side"] == "long", 1.0, -1.0)
        X = signal_features(market, symbol, features[symbol], int(params["z_window"]), decision,
                            sides)
        ts = market[symbol].ts
        parts.append((sel, X, ts[decision], ts[t["_exit_bar"].to_numpy()] + market.bar_ns))
    order = np.concatenate([p[0] for p in parts])
    t0 = int(min(market[s].ts[0] for s in market.symbols))
    span = int(max(market[s].ts[-1] for s in market.symbols)) - t0 + 1
    return _Samples(trades=trades, order=order, X=np.vstack([p[1] for p in parts]),
                    y=(trades["pnl"].to_numpy()[order] > 0).astype(np.int64),
                    start=np.concatenate([p[2] for p in parts]),
                    end=np.concatenate([p[3] for p in parts]), t0=t0, span=span)


def _predict(s: _Samples, n_splits: int, embargo_ns: int, seed: int,
             rng: np.random.Generator | None = None, models: list | None = None) -> np.ndarray:
    """Out-of-sample P(profit) per trade row."""
    proba = np.full(len(s.trades), np.nan)
    proba[s.order] = _oos_predictions(s.X, s.y, s.start, s.end, s.span, n_splits, embargo_ns,
                                      seed, s.t0, rng=rng, models=models)
    return proba


def _judge(market: MarketData, trades: pd.DataFrame, proba: np.ndarray, shuffled: list,
           min_accuracy: float, threshold: float) -> tuple[list[AssetEdge], pd.DataFrame]:
    """Per-asset accuracy, baseline, lower bound, p-value and verdict; the trades the gate takes."""
    y_all = (trades["pnl"].to_numpy() > 0).astype(np.int64)
    edges, taken = [], []
    for symbol in market.symbols:
        mask = (trades["symbol"] == symbol).to_numpy()
        oos = mask & np.isfinite(proba)
        n_oos = int(oos.sum())
        if n_oos < MIN_OOS_TRADES:
            edges.append(AssetEdge(symbol, np.nan, np.nan, np.nan, int(mask.sum()), n_oos, False,
                                   0, 0.0, np.nan))
            continue
        correct = int(((proba[oos] >= 0.5) == y_all[oos]).sum())
        accuracy = correct / n_oos
        baseline = float(max(y_all[oos].mean(), 1 - y_all[oos].mean()))
        lower = float(binomtest(correct, n_oos).proportion_ci(0.95).low)
        p_value = np.nan
        if shuffled:
            accs = [float(((p[oos] >= 0.5) == y_all[oos]).mean()) for p in shuffled]
            p_value = (1 + sum(a >= accuracy for a in accs)) / (1 + len(accs))
        traded = accuracy >= min_accuracy and accuracy > baseline
        take = oos & (proba >= threshold) if traded else np.zeros(len(trades), dtype=bool)
        chosen = trades[take]
        taken.append(chosen)
        edges.append(AssetEdge(symbol, accuracy, baseline, lower, int(mask.sum()), n_oos, traded,
                               int(take.sum()), float(chosen["pnl"].sum()),
                               float(chosen["return"].mean()) if len(chosen) else np.nan,
                               float(p_value)))
    frame = (pd.concat(taken, ignore_index=True).sort_values("exit_time").reset_index(drop=True)
             if taken else trades.iloc[0:0])
    return edges, frame


def _no_trades(market: MarketData) -> list[AssetEdge]:
    return [AssetEdge(s, np.nan, np.nan, np.nan, 0, 0, False, 0, 0.0, np.nan)
            for s in market.symbols]


def ml_edge(market: MarketData, features: Mapping[str, Mapping[str, np.ndarray]],
            params: Mapping[str, object], costs: CostModel = CostModel(), account: float = 1000.0,
            min_accuracy: float = 0.65, threshold: float = 0.5, n_splits: int = 5,
            embargo: int = 60, permutations: int = 0, seed: int = 7) -> tuple[list[AssetEdge],
                                                                             pd.DataFrame]:
    """Per-asset edge figures and the trades the gate takes (see the module docstring).

    The model is fitted on the trades of all assets pooled (a structural edge is shared), with
    purging on the time axis; accuracy, baseline and the gate are judged per asset."""
    s = _samples(market, features, params, costs, account)
    if s is None:
        return _no_trades(market), trades_frame(market, {})
    embargo_ns = embargo * market.bar_ns
    proba = _predict(s, n_splits, embargo_ns, seed)
    rng = np.random.default_rng(seed)
    shuffled = [_predict(s, n_splits, embargo_ns, seed, rng=rng) for _ in range(permutations)]
    return _judge(market, s.trades, proba, shuffled, min_accuracy, threshold)


def summary(edges: list[AssetEdge], taken: pd.DataFrame, account: float,
            min_accuracy: float) -> dict:
    """The seed's report as one mapping (fractions, not percent)."""
    pnl = taken["pnl"].to_numpy(dtype=float)
    rets = taken["return"].to_numpy(dtype=float)
    cum = np.cumsum(pnl)
    dd = float((cum - np.maximum.accumulate(np.concatenate(([0.0], cum)))[1:]).min()) \
        if pnl.size else 0.0
    win, loss = pnl[pnl > 0].sum(), -pnl[pnl <= 0].sum()
    return {
        "account_value": account, "min_model_accuracy": min_accuracy,
        "assets_traded": sum(e.traded for e in edges), "total_trades": int(pnl.size),
        "win_rate": float((pnl > 0).mean()) if pnl.size else None,
        "avg_return_per_trade": float(rets.mean()) if rets.size else None,
        "profit_factor": float(win / loss) if loss > 0 else None,
        "total_pnl": float(pnl.sum()), "return_on_account": float(pnl.sum() / account),
        "max_drawdown": min(dd, 0.0), "worst_trade": float(rets.min()) if rets.size else None,
        "assets": [{"symbol": e.symbol, "accuracy": _n(e.accuracy), "baseline": _n(e.baseline),
                    "lower_bound": _n(e.lower_bound), "signals": e.signals, "traded": e.traded,
                    "trades": e.trades, "pnl": e.pnl, "avg_return": _n(e.avg_return),
                    "p_value": _n(e.p_value)} for e in edges],
    }


def _n(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def gate_mask(market: MarketData, features: Mapping[str, Mapping[str, np.ndarray]],
              params: Mapping[str, object], costs: CostModel = CostModel(),
              account: float = 1000.0, min_accuracy: float = 0.65, threshold: float = 0.5,
              n_splits: int = 5, embargo: int = 60, seed: int = 7) -> tuple[dict, list[AssetEdge]]:
    """The ML gate as a per-bar entry mask for the pipeline.

    The meta-model is fitted walk-forward (purged, embargoed) on the trades of `params`, the
    primary strategy; for every bar of a test block it predicts P(profit) of an entry there (side
    against the price z-score). An asset stays open only if its out-of-sample trade accuracy
    reaches `min_accuracy` and beats its baseline, and then only on bars whose probability reaches
    `threshold`. Bars of the first block, before any model exists, are not gated."""
    s = _samples(market, features, params, costs, account)
    masks = {sym: np.ones(len(market[sym]), dtype=bool) for sym in market.symbols}
    if s is None:
        return masks, _no_trades(market)
    models: list = []
    proba = _predict(s, n_splits, embargo * market.bar_ns, seed, models=models)
    edges, _ = _judge(market, s.trades, proba, [], min_accuracy, threshold)
    traded = {e.symbol: e.traded for e in edges}
    window = int(params["z_window"])
    t0, span = s.t0, s.span
    bar_x = {}
    for symbol in market.symbols:
        z = np.asarray(features[symbol][f"price_z_w{window}"])
        sides = np.where(z < 0, 1.0, -1.0)
        bar_x[symbol] = signal_features(market, symbol, features[symbol], window,
                                        np.arange(len(market[symbol])), sides)
    edges_ns = t0 + (np.arange(n_splits + 2, dtype=np.float64) / (n_splits + 1)
                     * span).astype(np.int64)  # the blocks of purged_walk_forward
    for symbol in market.symbols:
        if not traded[symbol]:  # no edge out of sample: closed after the first block
            masks[symbol][market[symbol].ts >= edges_ns[1]] = False
    for first, cols, model in models:  # the folds' own models, fitted once
        stop = edges_ns[np.searchsorted(edges_ns, first) + 1]
        for symbol in market.symbols:
            if not traded[symbol]:
                continue
            ts = market[symbol].ts
            lo, hi = np.searchsorted(ts, first), np.searchsorted(ts, stop)
            if hi > lo:
                proba = model.predict_proba(bar_x[symbol][lo:hi][:, cols])[:, 1]
                masks[symbol][lo:hi] = proba >= threshold
    return masks, edges
