"""ML-edge gating by meta-labelling (the seed's `backtest_ml_edge.py --min-accuracy 0.65`), walk
forward all the way.

For each trade the primary strategy takes (the event engine, ungated), a classifier predicts from
features known at the entry decision whether the trade will be profitable. Time is cut into
fixed blocks (`block_days` from the data's first bar; block 0 only trains): block k is predicted
by a model fitted on trades closed before block k's start minus the embargo (purged). The
verdict for block k ("trade this asset") uses only trades whose labels were known before block k
starts: their out-of-sample predictions must reach `min_accuracy` and beat the majority-class
rate of the same trades, with at least MIN_OOS_TRADES of them. Within a traded block a trade is
taken when its predicted probability of profit reaches `threshold`. The report's P&L covers only
trades taken under verdicts made before them. Nothing about block k depends on data after it, so
a truncated dataset gives the same blocks up to the cut (prefix-invariant).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd
from scipy.stats import binomtest
from sklearn.ensemble import HistGradientBoostingClassifier

from scalper_tune.features import Features
from scalper_tune.config.costs import CostModel
from scalper_tune.config.strategy_params import default_params
from scalper_tune.data.market import MarketData
from scalper_tune.engine.backtest import backtest, trades_frame
from scalper_tune.regime.classifier import informative_columns
from scalper_tune.regime.features import regime_matrix
from scalper_tune.regime.splits import fixed_edges, purged_walk_forward

MIN_OOS_TRADES = 20
BLOCK_DAYS = 7.0
EMBARGO_BARS = 60
# The primary strategy when none is given: loose enough to give the model hundreds of
# samples per asset (>= 300 on the default synthetic market), documented in the README.
SIGNAL_RICH = dict(default_params(), z_window=40, entry_z=1.5, vol_z_min=-0.5,
                   imbalance_min=0.0)


@dataclass(frozen=True)
class Block:
    """One block of one asset: its time span (ns), the verdict made before it from the trades
    known then, and the trades the gate took in it."""

    start: int
    end: int
    traded: bool
    accuracy_so_far: float
    known: int  # trades with known labels behind the verdict
    trades: int
    pnl: float


@dataclass(frozen=True)
class AssetEdge:
    symbol: str
    accuracy: float  # over every out-of-sample prediction (reported, not used to choose)
    baseline: float
    lower_bound: float
    signals: int  # trades of the primary strategy (meta-labelling samples)
    oos: int  # of which predicted out of sample
    traded: bool  # the verdict for the time after the data (all labels known)
    trades: int  # trades the gate took, each under a verdict made before it
    pnl: float
    avg_return: float
    p_value: float = float("nan")
    blocks: tuple[Block, ...] = ()


def signal_features(market: MarketData, symbol: str, feats: Mapping[str, np.ndarray],
                    z_window: int, decision_bars: np.ndarray, sides: np.ndarray,
                    regime_rows: np.ndarray | None = None) -> np.ndarray:
    """Features at each decision bar: the regime inputs (`regime_rows`: those rows of
    `regime_matrix` when already computed) plus the signal's own z-score, OU half-life,
    imbalance toward the trade, and the side."""
    base = (regime_matrix(market[symbol], feats, market.bar_seconds)[decision_bars]
            if regime_rows is None else regime_rows)
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
                     edges: np.ndarray, embargo: int, seed: int,
                     rng: np.random.Generator | None = None,
                     models: list | None = None) -> np.ndarray:
    """P(profit) out of sample per sample (NaN where no block predicts it). With `rng`,
    training labels are shuffled (the permutation control). With `models`, each block's (start,
    stop, used columns, fitted model) is appended to it, for every block with training samples
    (whether or not a trade follows in it: the gate applies it from the block's first bar)."""
    proba = np.full(y.shape[0], np.nan)
    for train, test, a, b in purged_walk_forward(start, end, edges, embargo,
                                                 need_test=models is None):
        y_train = y[train] if rng is None else rng.permutation(y[train])
        fitted = _fit(X[train], y_train, seed)
        if test.size:
            proba[test] = fitted.proba(X[test])
        if models is not None and fitted.model is not None:
            models.append((a, b, fitted.columns, fitted.model))
    return proba


@dataclass(frozen=True)
class FittedGate:
    """One block's meta-labelling model: the boosting model over `columns` (a bool mask of the
    signal features), or, where the training labels hold one class, that constant P(profit)."""

    model: HistGradientBoostingClassifier | None
    columns: np.ndarray
    constant: float = float("nan")

    def proba(self, X: np.ndarray) -> np.ndarray:
        """P(profit) for each row of signal features."""
        if self.model is None:
            return np.full(X.shape[0], self.constant)
        return self.model.predict_proba(X[:, self.columns])[:, 1]


def _fit(X: np.ndarray, y: np.ndarray, seed: int) -> FittedGate:
    if np.unique(y).shape[0] < 2:
        return FittedGate(None, np.ones(X.shape[1], dtype=bool), float(y.mean()))
    cols = informative_columns(X)
    return FittedGate(_model(seed).fit(X[:, cols], y), cols)


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
    edges: np.ndarray


def market_edges(market: MarketData, block_days: float) -> np.ndarray:
    t0 = int(min(market[s].ts[0] for s in market.symbols))
    stop = int(max(market[s].ts[-1] for s in market.symbols)) + market.bar_ns
    return fixed_edges(t0, stop, int(block_days * 86_400 * 1e9))


def _samples(market: MarketData, features: Features,
             params: Mapping[str, object], costs: CostModel, account: float,
             block_days: float) -> _Samples | None:
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
    return _Samples(trades=trades, order=order, X=np.vstack([p[1] for p in parts]),
                    y=(trades["pnl"].to_numpy()[order] > 0).astype(np.int64),
                    start=np.concatenate([p[2] for p in parts]),
                    end=np.concatenate([p[3] for p in parts]),
                    edges=market_edges(market, block_days))


def _predict(s: _Samples, embargo_ns: int, seed: int, rng: np.random.Generator | None = None,
             models: list | None = None) -> np.ndarray:
    """Out-of-sample P(profit) per trade row."""
    proba = np.full(len(s.trades), np.nan)
    proba[s.order] = _oos_predictions(s.X, s.y, s.start, s.end, s.edges, embargo_ns, seed,
                                      rng=rng, models=models)
    return proba


def verdict(correct: np.ndarray, y: np.ndarray, min_accuracy: float) -> tuple[bool, float]:
    """(trade?, accuracy) from out-of-sample hits and labels of the trades known so far."""
    if correct.shape[0] < MIN_OOS_TRADES:
        return False, float("nan")
    accuracy = float(correct.mean())
    baseline = float(max(y.mean(), 1 - y.mean()))
    return accuracy >= min_accuracy and accuracy > baseline, accuracy


def _judge(market: MarketData, s: _Samples, proba: np.ndarray, shuffled: list,
           min_accuracy: float, threshold: float,
           embargo_ns: int) -> tuple[list[AssetEdge], pd.DataFrame]:
    """Per asset: the verdict of every block from the trades known before it, the trades the
    gate took, and the summary figures; the taken trades."""
    trades = s.trades
    y_all = (trades["pnl"].to_numpy() > 0).astype(np.int64)
    start = np.full(len(trades), 0, dtype=np.int64)
    end = np.full(len(trades), 0, dtype=np.int64)
    start[s.order], end[s.order] = s.start, s.end
    hit = (proba >= 0.5) == y_all
    edges, taken = [], []
    for symbol in market.symbols:
        mine = (trades["symbol"] == symbol).to_numpy()
        oos = mine & np.isfinite(proba)
        blocks, take = [], np.zeros(len(trades), dtype=bool)
        for a, b in zip(s.edges[:-1], s.edges[1:]):
            known = oos & (end < a - embargo_ns)
            ok, acc = verdict(hit[known], y_all[known], min_accuracy)
            inside = oos & (start >= a) & (start < b)
            took = inside & (proba >= threshold) if ok else np.zeros(len(trades), dtype=bool)
            take |= took
            blocks.append(Block(int(a), int(b), ok, acc, int(known.sum()), int(took.sum()),
                                float(trades["pnl"].to_numpy()[took].sum())))
        n_oos = int(oos.sum())
        traded, _ = verdict(hit[oos], y_all[oos], min_accuracy)
        if n_oos:
            correct = int(hit[oos].sum())
            accuracy = correct / n_oos
            baseline = float(max(y_all[oos].mean(), 1 - y_all[oos].mean()))
            lower = float(binomtest(correct, n_oos).proportion_ci(0.95).low)
        else:
            accuracy = baseline = lower = float("nan")
        p_value = float("nan")
        if shuffled and n_oos:
            accs = [float(((p[oos] >= 0.5) == y_all[oos]).mean()) for p in shuffled]
            p_value = (1 + sum(a >= accuracy for a in accs)) / (1 + len(accs))
        chosen = trades[take]
        taken.append(chosen)
        edges.append(AssetEdge(symbol, accuracy, baseline, lower, int(mine.sum()), n_oos,
                               traded, int(take.sum()), float(chosen["pnl"].sum()),
                               float(chosen["return"].mean()) if len(chosen) else np.nan,
                               p_value, tuple(blocks)))
    frame = (pd.concat(taken, ignore_index=True).sort_values("exit_time").reset_index(drop=True)
             if taken else trades.iloc[0:0])
    return edges, frame


def _no_trades(market: MarketData, edges: np.ndarray) -> list[AssetEdge]:
    blocks = tuple(Block(int(a), int(b), False, float("nan"), 0, 0, 0.0)
                   for a, b in zip(edges[:-1], edges[1:]))
    return [AssetEdge(s, np.nan, np.nan, np.nan, 0, 0, False, 0, 0.0, np.nan, np.nan, blocks)
            for s in market.symbols]


def ml_edge(market: MarketData, features: Features,
            params: Mapping[str, object], costs: CostModel = CostModel(), account: float = 1000.0,
            min_accuracy: float = 0.65, threshold: float = 0.5, block_days: float = BLOCK_DAYS,
            embargo: int = EMBARGO_BARS, permutations: int = 0,
            seed: int = 7) -> tuple[list[AssetEdge], pd.DataFrame]:
    """Per-asset edge figures and the trades the gate takes (see the module docstring).

    The model is fitted on the trades of all assets pooled (a structural edge is shared), with
    purging on the time axis; accuracy, baseline and the verdicts are per asset."""
    s = _samples(market, features, params, costs, account, block_days)
    if s is None:
        return _no_trades(market, market_edges(market, block_days)), trades_frame(market, {})
    embargo_ns = embargo * market.bar_ns
    proba = _predict(s, embargo_ns, seed)
    rng = np.random.default_rng(seed)
    shuffled = [_predict(s, embargo_ns, seed, rng=rng) for _ in range(permutations)]
    return _judge(market, s, proba, shuffled, min_accuracy, threshold, embargo_ns)


def summary(edges: list[AssetEdge], taken: pd.DataFrame, account: float, min_accuracy: float,
            permutations: int = 0) -> dict:
    """The seed's report as one mapping (fractions, not percent; times ISO 8601 UTC)."""
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
        "permutations": permutations,
        "min_p_value": 1.0 / (permutations + 1) if permutations else None,
        "assets": [{"symbol": e.symbol, "accuracy": _n(e.accuracy), "baseline": _n(e.baseline),
                    "lower_bound": _n(e.lower_bound), "signals": e.signals, "traded": e.traded,
                    "trades": e.trades, "pnl": e.pnl, "avg_return": _n(e.avg_return),
                    "p_value": _n(e.p_value),
                    "blocks": [{"start": _iso(b.start), "end": _iso(b.end), "traded": b.traded,
                                "accuracy_so_far": _n(b.accuracy_so_far), "known": b.known,
                                "trades": b.trades, "pnl": b.pnl} for b in e.blocks]}
                   for e in edges],
    }


def _iso(ns: int) -> str:
    return np.datetime_as_string(np.datetime64(int(ns), "ns"), unit="s") + "Z"


def _n(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def gate_mask(market: MarketData, features: Features,
              params: Mapping[str, object], costs: CostModel = CostModel(),
              account: float = 1000.0, min_accuracy: float = 0.65, threshold: float = 0.5,
              block_days: float = BLOCK_DAYS, embargo: int = EMBARGO_BARS,
              seed: int = 7) -> tuple[dict, list[AssetEdge]]:
    """The ML gate as a per-bar entry mask for the pipeline: in block k an asset is open only
    where block k's verdict (from trades known before it) says trade, and there only on bars
    where block k's model gives an entry there (side against the price z-score) a probability
    of profit of at least `threshold`. Blocks without a verdict (the first two: no model, then
    no known out-of-sample trades) are closed: without evidence of an edge, no trading."""
    s = _samples(market, features, params, costs, account, block_days)
    masks = {sym: np.zeros(len(market[sym]), dtype=bool) for sym in market.symbols}
    if s is None:
        return masks, _no_trades(market, market_edges(market, block_days))
    embargo_ns = embargo * market.bar_ns
    models: list = []
    proba = _predict(s, embargo_ns, seed, models=models)
    edges, _ = _judge(market, s, proba, [], min_accuracy, threshold, embargo_ns)
    by_symbol = {e.symbol: e for e in edges}
    window = int(params["z_window"])
    for symbol in market.symbols:
        z = np.asarray(features[symbol][f"price_z_w{window}"])
        sides = np.where(z < 0, 1.0, -1.0)
        ts = market[symbol].ts
        verdicts = {b.start: b.traded for b in by_symbol[symbol].blocks}
        X = None
        for a, b, cols, model in models:
            if not verdicts.get(a, False):
                continue
            lo, hi = np.searchsorted(ts, a), np.searchsorted(ts, b)
            if hi <= lo:
                continue
            if X is None:
                X = signal_features(market, symbol, features[symbol], window,
                                    np.arange(len(ts)), sides)
            masks[symbol][lo:hi] = model.predict_proba(X[lo:hi][:, cols])[:, 1] >= threshold
    return masks, edges


@dataclass(frozen=True)
class NextBlockGate:
    """The ML gate walk-forward would apply in the block after the data: its model (fitted on
    every trade whose label is known before that block's start minus the embargo), the assets
    whose verdict (from those trades' out-of-sample predictions) says trade, and the settings
    that turn a bar into an entry permission."""

    fitted: FittedGate
    traded: tuple[str, ...]
    z_window: int
    threshold: float
    block_start: int  # ns
    samples: int  # training trades


def next_block_gate(market: MarketData, features: Features,
                    params: Mapping[str, object], costs: CostModel = CostModel(),
                    account: float = 1000.0, min_accuracy: float = 0.65, threshold: float = 0.5,
                    block_days: float = BLOCK_DAYS, embargo: int = EMBARGO_BARS,
                    seed: int = 7, block: int = -1) -> NextBlockGate | None:
    """The deployable gate of a run (see NextBlockGate); None when the primary strategy took
    no trade whose label is known before the block. `block`: the edge whose block it is for
    (-1: the block after the data; -2: the block holding the data's end)."""
    return block_gates(market, features, params, costs, account, min_accuracy, threshold,
                       block_days, embargo, seed, (block,))[0]


def block_gates(market: MarketData, features: Features, params: Mapping[str, object],
                costs: CostModel = CostModel(), account: float = 1000.0,
                min_accuracy: float = 0.65, threshold: float = 0.5,
                block_days: float = BLOCK_DAYS, embargo: int = EMBARGO_BARS, seed: int = 7,
                blocks: tuple[int, ...] = (-1, -2)) -> tuple[NextBlockGate | None, ...]:
    """`next_block_gate` for each edge of `blocks`, from one backtest of the primary strategy
    and one set of out-of-sample predictions."""
    s = _samples(market, features, params, costs, account, block_days)
    if s is None:
        return tuple(None for _ in blocks)
    embargo_ns = embargo * market.bar_ns
    proba = _predict(s, embargo_ns, seed)
    y_all = (s.trades["pnl"].to_numpy() > 0).astype(np.int64)
    end = np.zeros(len(s.trades), dtype=np.int64)
    end[s.order] = s.end
    hit = (proba >= 0.5) == y_all
    out = []
    for block in blocks:
        if len(s.edges) < 1 - block:  # block -2 needs a block before the data's last
            out.append(None)
            continue
        a = int(s.edges[block])
        train = s.end < a - embargo_ns
        if not train.any():
            out.append(None)
            continue
        traded = []
        for symbol in market.symbols:
            known = (s.trades["symbol"] == symbol).to_numpy() & np.isfinite(proba) & (
                end < a - embargo_ns)
            if verdict(hit[known], y_all[known], min_accuracy)[0]:
                traded.append(symbol)
        out.append(NextBlockGate(_fit(s.X[train], s.y[train], seed), tuple(traded),
                                 int(params["z_window"]), float(threshold), a,
                                 int(train.sum())))
    return tuple(out)


def bar_gate(gate: NextBlockGate, market: MarketData, symbol: str,
             features: Mapping[str, np.ndarray], bars: np.ndarray,
             regime_rows: np.ndarray | None = None) -> np.ndarray:
    """The gate's entry permission at `bars` of `symbol` (as `gate_mask` opens a traded block:
    P(profit) of an entry against the price z-score reaches the threshold); `regime_rows`: the
    regime inputs at `bars` when already computed."""
    if symbol not in gate.traded or gate.fitted.model is None:  # as gate_mask: no model, closed
        return np.zeros(bars.shape[0], dtype=bool)
    z = np.asarray(features[f"price_z_w{gate.z_window}"])[bars]
    X = signal_features(market, symbol, features, gate.z_window, bars, np.where(z < 0, 1.0, -1.0),
                        regime_rows)
    return gate.fitted.proba(X) >= gate.threshold
