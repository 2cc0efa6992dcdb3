"""Walk-forward evaluation of parameter sets on the train folds, with either engine, and what
the robustness score reads from it.

Per fold k the table has `sharpe_f{k}` (mean per-asset annualised Sharpe), `trades_f{k}`,
`pnl_f{k}` ($), `dd_f{k}` (worst sleeve drawdown, fraction of its peak) and `sa_f{k}_{j}`
(asset j's Sharpe: the trials' fingerprints for the effective number of trials); pooled over
the folds: the power sums `m1`..`m4` of the sleeves' per-bar returns over `n_obs` bars, and per
regime label k `reg_sum_k`, `reg_sq_k` over `reg_n_k` bars. `judge` adds the figures derived
from them (see the column list in `JUDGED`)."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from scalper_tune.config.costs import CostModel
from scalper_tune.config.experiment import Experiment
from scalper_tune.config.pipeline_spec import FilterSpec, REGIMES
from scalper_tune.data.market import MarketData
from scalper_tune.engine import prefilter
from scalper_tune.engine.backtest import run_symbol
from scalper_tune.kernels.layout import N_REGIMES
from scalper_tune.robustness.overfitting import moments
from scalper_tune.robustness.score import (consistency, floor_penalty, regime_sharpes,
                                           regime_weighted, train_robustness)

POOLED = (("m1", "m2", "m3", "m4", "n_obs")
          + tuple(f"reg_{kind}_{k}" for k in range(N_REGIMES) for kind in ("sum", "sq", "n")))
JUDGED = ("trades", "total_pnl", "sharpe_mean", "consistency",
          *(f"regime_sharpe_{r}" for r in REGIMES), "regime_weighted", "worst_regime", "floor",
          "sr_train", "skew_train", "kurt_train", "sharpe_train", "max_dd_train",
          "robustness_raw")


def fold_frame(summaries: Sequence[pd.DataFrame], asset_sharpes: Sequence[np.ndarray],
               fold_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Per-fold and pooled columns from one summary (and asset Sharpes) per fold (`fold_ids`:
    the folds' numbers, default 0, 1, ...)."""
    cols = {}
    ids = range(len(summaries)) if fold_ids is None else fold_ids
    for k, summary, sa in zip(ids, summaries, asset_sharpes):
        cols[f"sharpe_f{k}"] = summary["sharpe_mean"].to_numpy()
        cols[f"trades_f{k}"] = summary["trades"].to_numpy()
        cols[f"pnl_f{k}"] = summary["total_pnl"].to_numpy()
        cols[f"dd_f{k}"] = summary["max_dd_pct"].to_numpy()
        for j in range(sa.shape[1]):
            cols[f"sa_f{k}_{j}"] = sa[:, j]
    for name in POOLED:
        cols[name] = np.sum([s[name].to_numpy(dtype=float) for s in summaries], axis=0)
    return pd.DataFrame(cols)


def prefilter_folds(folds: Sequence[prefilter.SharedArrays], rows: pd.DataFrame, costs: CostModel,
                    account: float, threads: int = 1, device: str = "cpu") -> pd.DataFrame:
    """Every row of `rows` (complete parameter sets) on every fold with the prefilter (on the
    CPU, or the GPU with device "gpu")."""
    summaries, sharpes = [], []
    for shared in folds:
        summary, states = prefilter.run(shared, rows.reset_index(drop=True), costs, account,
                                        threads, device)
        summaries.append(summary)
        sharpes.append(prefilter.sleeve_sharpes(states, np.diff(shared.start).astype(float),
                                      shared.asset_bars_per_year))
    return fold_frame(summaries, sharpes)


def engine_fold(market: MarketData, features, params: Mapping[str, object], costs: CostModel,
                account: float) -> tuple[pd.DataFrame, np.ndarray]:
    """One fold with the event engine (full costs): (summary row, asset Sharpes 1 x assets)."""
    capital = account / len(market.symbols)
    states = np.stack([run_symbol(market, s, features[s], params, costs, capital).state
                       for s in market.symbols])[None]
    lengths = np.array([len(market[s]) for s in market.symbols], dtype=float)
    bars = np.array([prefilter.regime_counts(_labels(features[s], len(market[s])))
                     for s in market.symbols])
    per_asset = np.array([market.bars_per_year(s) for s in market.symbols])
    summary = prefilter.summarize(states, lengths, capital, account, per_asset, bars)
    return summary, prefilter.sleeve_sharpes(states, lengths, per_asset)


def _labels(features, n: int) -> np.ndarray:
    from scalper_tune.engine.inputs import regime_labels

    return regime_labels(features, n)


def engine_folds(fold_data: Sequence[tuple[MarketData, dict]], params: Mapping[str, object],
                 costs: CostModel, account: float) -> pd.DataFrame:
    """One parameter set on every fold with the event engine: one row."""
    parts = [engine_fold(m, f, params, costs, account) for m, f in fold_data]
    return fold_frame([p[0] for p in parts], [p[1] for p in parts])


def fold_ids(table: pd.DataFrame) -> list[int]:
    """The folds that have columns in `table`."""
    return sorted(int(c[8:]) for c in table.columns if c.startswith("sharpe_f") and c[8:].isdigit())


def judge(table: pd.DataFrame, exp: Experiment, bars_per_year: float,
          folds: Sequence[int] | None = None, min_trades: float | None = None) -> pd.DataFrame:
    """The figures the robustness score reads (columns JUDGED), from the per-fold and pooled
    columns (`folds`: the folds evaluated so far, default all; `min_trades`: the trades that
    make a row judgeable, default filters.min_trades). `robustness_raw` is the train
    robustness without the plateau term (added once the neighbourhood is known)."""
    folds = fold_ids(table) if folds is None else list(folds)
    fs = table[[f"sharpe_f{k}" for k in folds]].to_numpy(dtype=float)
    trades = table[[f"trades_f{k}" for k in folds]].to_numpy(dtype=float).sum(axis=1)
    out = pd.DataFrame(index=table.index)
    out["trades"] = trades.astype(np.int64)
    out["total_pnl"] = table[[f"pnl_f{k}" for k in folds]].to_numpy(dtype=float).sum(axis=1)
    with np.errstate(invalid="ignore"):
        out["sharpe_mean"] = np.where(np.isfinite(fs).any(axis=1),
                                      np.nanmean(np.where(np.isfinite(fs), fs, np.nan), axis=1)
                                      if fs.size else np.nan, np.nan)
    cons = consistency(fs, trades, exp.filters.min_trades if min_trades is None else min_trades)
    out["consistency"] = cons
    reg = regime_sharpes(table[[f"reg_sum_{k}" for k in range(N_REGIMES)]].to_numpy(),
                         table[[f"reg_sq_{k}" for k in range(N_REGIMES)]].to_numpy(),
                         table[[f"reg_n_{k}" for k in range(N_REGIMES)]].to_numpy(), bars_per_year)
    for i, name in enumerate(REGIMES):
        out[f"regime_sharpe_{name}"] = reg[:, i]
    out["regime_weighted"] = regime_weighted(reg, exp.robustness.regime_weights)
    finite = np.isfinite(reg).any(axis=1)
    out["worst_regime"] = np.where(finite, np.nanmin(np.where(np.isfinite(reg), reg, np.inf),
                                                     axis=1), np.nan)
    out["floor"] = floor_penalty(reg, exp.robustness.min_regime_sharpe)
    sr, skew, kurt = moments(*(table[c].to_numpy(dtype=float) for c in ("m1", "m2", "m3", "m4",
                                                                         "n_obs")))
    out["sr_train"], out["skew_train"], out["kurt_train"] = sr, skew, kurt
    out["sharpe_train"] = sr * math.sqrt(bars_per_year)
    dd = table[[f"dd_f{k}" for k in folds]].to_numpy(dtype=float)
    out["max_dd_train"] = dd.max(axis=1) if dd.shape[1] else np.nan  # no fold done: not judged
    out["robustness_raw"] = train_robustness(reg, cons, 0.0, exp.robustness)
    return out


def passes_train(judged: pd.DataFrame, f: FilterSpec) -> np.ndarray:
    """The seed's screen `f` on train (pooled sleeve Sharpe, worst sleeve drawdown, trades)."""
    return (np.isfinite(judged["consistency"].to_numpy())
            & (judged["sharpe_train"].to_numpy() > f.min_sharpe)
            & (judged["max_dd_train"].to_numpy() < f.max_drawdown)
            & (judged["trades"].to_numpy() >= f.min_trades))
