"""Phase 2: the candidates (the best confirmed Phase 1 cells and refinement trials) scored on
train + validation with the event engine (full costs), then ranked by the robustness score.

Per candidate (`evaluate_candidate`): the train folds (per-fold figures and per-fold regime sums,
for the score and the PBO), one continuous backtest of the train segment and one of the
validation segment, and the seed's filters on validation. Across candidates (`score`): the
Deflated Sharpe Ratio with the number of trials N (grid + refinement + selection.prior_trials)
and the effective number (trials clustered by their per-fold, per-asset Sharpes), the
robustness, and the PBO of the rule that picks (the robustness score) by CSCV over the
candidates' train folds.

The DSR's statistic is the per-bar Sharpe of the sleeves' returns pooled over assets on the
train folds, measured by the prefilter for every trial and for each candidate alike (same
engine, same portfolio definition, same segment): `sr_train`, with its skewness, kurtosis and
`n_obs` from the same pooled returns. Its observations are counted as `n_obs_effective` = n_obs
x S_eff / S (`obs_share`): S sleeves whose returns correlate are worth S_eff independent ones
(robustness/overfitting.effective_sleeves, on the sleeves' close-to-close returns over the train
folds, the same for every candidate).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from scalper_tune.config.experiment import Experiment
from scalper_tune.config.pipeline_spec import FilterSpec, REGIMES
from scalper_tune.config.values import python_value
from scalper_tune.data.market import MarketData
from scalper_tune.engine.backtest import backtest
from scalper_tune.engine.regime_sets import Switching
from scalper_tune.kernels.layout import N_REGIMES
from scalper_tune.robustness.overfitting import (cluster_trials, effective_sleeves,
                                                 expected_max_sharpe, pbo_cscv,
                                                 probabilistic_sharpe, trials_sharpe_variance)
from scalper_tune.robustness.score import consistency, regime_sharpes, robustness
from scalper_tune.workflow.evaluation import engine_fold, fold_frame, judge
from scalper_tune.workflow.screen import PARAM_NAMES, row_params

PBO_RULE = ("robustness score (regime-weighted Sharpe, consistency and floor on the in-sample "
            "folds, the validation Sharpe; without the DSR and plateau parts, which read every "
            "train fold) picks; performance = mean fold Sharpe on the out-of-sample folds")
DSR_INPUTS = ("sr_train", "skew_train", "kurt_train", "n_obs")


def fingerprint(row: Mapping, folds: int) -> tuple:
    """Per-fold trades and P&L: two configurations with equal fingerprints trade alike on this
    data (e.g. cells differing only in imbalance_min on data without a book)."""
    return tuple((int(row[f"trades_f{k}"]), round(float(row[f"pnl_f{k}"]), 6))
                 for k in range(folds))


def select_candidates(phase1: pd.DataFrame, refine: pd.DataFrame, n: int,
                      folds: int) -> list[dict]:
    """The best `n` judged, confirmed Phase 1 cells (by the engine's train robustness) and the
    best `max(1, n // 4)` refinement trials that ran every fold (by their robustness), each
    strategy once (same parameters, or the same fingerprint)."""
    rows = []
    confirmed = phase1.loc[phase1["confirmed"] & np.isfinite(phase1["engine_robustness"])]
    confirmed = confirmed.sort_values(["engine_robustness", "combo_id"], ascending=[False, True])
    for _, r in confirmed.head(n).iterrows():
        rows.append(dict(row_params(r), source=f"phase1:{int(r['combo_id'])}",
                         plateau=float(r["plateau"]), fingerprint=fingerprint(r, folds),
                         **{k: float(r[k]) for k in DSR_INPUTS}))
    if not refine.empty:
        full = refine[(refine["folds_done"] == folds) & np.isfinite(refine["robustness"])]
        full = full.sort_values(["robustness", "trial_number"], ascending=[False, True])
        for _, r in full.head(max(1, n // 4)).iterrows():
            rows.append(dict(row_params(r), source=f"refine:{int(r['trial_number'])}",
                             plateau=float(r["plateau"]), fingerprint=fingerprint(r, folds),
                             **{k: float(r[k]) for k in DSR_INPUTS}))
    seen, out = set(), []
    for row in rows:
        keys = (tuple(row[k] for k in PARAM_NAMES), row["fingerprint"])
        if keys[0] in seen or keys[1] in seen:
            continue
        seen.update(keys)
        row.pop("fingerprint")
        out.append(row)
    return out


def segment_figures(market: MarketData, features, params: Mapping[str, object],
                    exp: Experiment, prefix: str, switching: Switching | None = None) -> dict:
    """One continuous event-engine backtest of a segment: `<prefix>_sharpe`, `_return`,
    `_max_dd_pct`, `_trades`, `_win_rate` (portfolio figures, full costs); with `switching`,
    of that regime switcher (`params` unused)."""
    m = backtest(market, features, params, exp.costs, exp.account, switching=switching).metrics
    return {f"{prefix}_sharpe": m.sharpe, f"{prefix}_return": m.return_on_account,
            f"{prefix}_max_dd_pct": m.max_drawdown_pct, f"{prefix}_trades": m.total_trades,
            f"{prefix}_win_rate": m.win_rate}


def passes_filters(figures: Mapping[str, float], f: FilterSpec, prefix: str,
                   min_trades: int | None = None) -> bool:
    """The seed's filters `f` on the figures `<prefix>_sharpe`, `_max_dd_pct`, `_trades`
    (`min_trades`: the segment's trade minimum, default f.min_trades)."""
    sharpe = figures[f"{prefix}_sharpe"]
    return bool(math.isfinite(sharpe) and sharpe > f.min_sharpe
                and abs(figures[f"{prefix}_max_dd_pct"]) < f.max_drawdown
                and figures[f"{prefix}_trades"] >= (f.min_trades if min_trades is None
                                                     else min_trades))


def evaluate_candidate(fold_data: Sequence[tuple[MarketData, dict]],
                       train: tuple[MarketData, dict], validation: tuple[MarketData, dict],
                       params: Mapping[str, object], exp: Experiment,
                       val_min_trades: int | None = None) -> dict:
    """The event-engine figures of one candidate (see the module docstring); the filters on
    validation ask for `val_min_trades` trades (filters.min_trades pro rata to the
    validation's length against the train's; default filters.min_trades)."""
    parts = [engine_fold(m, f, params, exp.costs, exp.account) for m, f in fold_data]
    table = fold_frame([p[0] for p in parts], [p[1] for p in parts])
    out = {c: python_value(table[c].iloc[0]) for c in table.columns
           if not c.startswith("sa_f") and not c.startswith("m") and c != "n_obs"}
    for k, (summary, _) in enumerate(parts):  # per-fold regime sums: the PBO's rule reads them
        for r in range(N_REGIMES):
            for kind in ("sum", "sq", "n"):
                out[f"reg_{kind}_{r}_f{k}"] = float(summary[f"reg_{kind}_{r}"].iloc[0])
    j = judge(table, exp, fold_data[0][0].bars_per_year()).iloc[0]
    out.update({c: python_value(j[c]) for c in ("trades", "consistency", "regime_weighted",
                                           "worst_regime", "floor")})
    out.update({f"regime_sharpe_{r}": float(j[f"regime_sharpe_{r}"]) for r in REGIMES})
    out.update(segment_figures(*train, params, exp, "train"))
    val = segment_figures(*validation, params, exp, "val")
    out.update(val)
    out["val_min_trades"] = exp.filters.min_trades if val_min_trades is None else val_min_trades
    out["passes_filters"] = passes_filters(val, exp.filters, "val", out["val_min_trades"])
    return out


def trial_statistics(trials: pd.DataFrame, seed: int) -> dict:
    """N, the effective N, and the variance of the trials' Sharpes (the DSR's inputs), from a
    table with every trial's `sr_train` and per-fold, per-asset Sharpes (`sa_f*` columns)."""
    fingerprint_cols = [c for c in trials.columns if c.startswith("sa_f")]
    k, labels, rows = cluster_trials(trials[fingerprint_cols].to_numpy(dtype=float), seed=seed)
    variance = trials_sharpe_variance(trials["sr_train"].to_numpy(dtype=float), labels, rows)
    return {"n_effective": int(k), "sr_variance": variance}


def sleeve_returns(fold_data: Sequence[tuple[MarketData, dict]]) -> np.ndarray:
    """(bars x symbols) close-to-close log returns over the folds (never across a fold's edge),
    aligned on the bars' times (NaN where a symbol has no bar)."""
    columns = {}
    for market, _ in fold_data:
        for s in market.symbols:
            d = market[s]
            if len(d) > 1:
                columns.setdefault(s, []).append(
                    pd.Series(np.diff(np.log(d.close)), index=d.ts[1:]))
    if not columns:
        return np.zeros((0, 0))
    frame = pd.concat({s: pd.concat(parts) for s, parts in columns.items()}, axis=1)
    return frame.to_numpy(dtype=float)


def observation_share(fold_data: Sequence[tuple[MarketData, dict]]) -> float:
    """S_eff / S: the share of the pooled sleeve-bars the DSR counts (see the module
    docstring)."""
    returns = sleeve_returns(fold_data)
    return effective_sleeves(returns) / returns.shape[1] if returns.shape[1] else 1.0


def score(table: pd.DataFrame, exp: Experiment, n_trials: int, n_effective: int,
          sr_variance: float, bars_per_year: float,
          obs_share: float = 1.0) -> tuple[pd.DataFrame, float]:
    """Add the DSR and the robustness to the evaluated candidates; rank them; returns (table,
    PBO of the selection rule). `obs_share`: S_eff / S (observation_share)."""
    out = table.copy()
    sr0 = expected_max_sharpe(sr_variance, n_effective)
    out["n_trials"], out["n_effective"] = n_trials, n_effective
    out["sr_variance"], out["sr0"] = sr_variance, sr0
    out["obs_share"] = obs_share
    out["n_obs_effective"] = np.floor(out["n_obs"].to_numpy(dtype=float) * obs_share)
    out["dsr"] = [probabilistic_sharpe(r.sr_train, sr0, int(r.n_obs_effective), r.skew_train,
                                       r.kurt_train)
                  if np.isfinite(r.sr_train) else np.nan for r in out.itertuples()]
    regimes = out[[f"regime_sharpe_{r}" for r in REGIMES]].to_numpy(dtype=float)
    out["robustness"] = robustness(regimes, out["consistency"].to_numpy(dtype=float),
                                   out["val_sharpe"], out["plateau"], out["dsr"], exp.robustness)
    pbo = selection_pbo(out, exp, bars_per_year)
    out["pbo"], out["pbo_rule"] = pbo, PBO_RULE
    out = out.sort_values(["robustness", "index"], ascending=[False, True], na_position="last")
    return out.reset_index(drop=True), pbo


MAX_PARTITIONS = 16  # CSCV's splits grow as C(S, S/2): 12,870 at 16, 601 million at 32


def selection_pbo(table: pd.DataFrame, exp: Experiment, bars_per_year: float) -> float:
    """PBO by CSCV over the candidates' train folds, with the robustness score as the rule (its
    fold parts recomputed on each split's in-sample folds); NaN with fewer than 2 candidates or
    2 folds. The CSCV partitions are the folds; more than MAX_PARTITIONS folds, or an odd
    number (a walk-forward's anchored history), are grouped into the largest even number of
    partitions up to MAX_PARTITIONS, adjacent folds together (a partition's performance: the
    mean of its folds' Sharpes)."""
    folds = sorted(int(c[8:]) for c in table.columns if c.startswith("sharpe_f")
                   and c[8:].isdigit())
    if len(table) < 2 or len(folds) < 2:
        return float("nan")
    n_parts = min(len(folds) - len(folds) % 2, MAX_PARTITIONS)
    groups = np.array_split(np.arange(len(folds)), n_parts)
    by_fold = table[[f"sharpe_f{k}" for k in folds]].to_numpy(dtype=float).T  # folds x cands
    perf = np.stack([by_fold[g].mean(axis=0) for g in groups])  # partitions x candidates
    trades = table[[f"trades_f{k}" for k in folds]].to_numpy(dtype=float)

    def stat(kind: str) -> np.ndarray:  # candidates x folds x regimes
        return np.stack([table[[f"reg_{kind}_{r}_f{k}" for r in range(N_REGIMES)]]
                         .to_numpy(dtype=float) for k in folds], axis=1)

    sums, squares, counts = stat("sum"), stat("sq"), stat("n")

    def rule(parts: np.ndarray) -> np.ndarray:
        mask = np.zeros(len(folds), dtype=bool)
        for g in np.flatnonzero(parts):
            mask[groups[g]] = True
        regimes = regime_sharpes(sums[:, mask].sum(axis=1), squares[:, mask].sum(axis=1),
                                 counts[:, mask].sum(axis=1), bars_per_year)
        needed = exp.filters.min_trades * mask.sum() / len(folds)
        cons = consistency(by_fold[mask].T, trades[:, mask].sum(axis=1), needed)
        # the DSR and the plateau are figures over every train fold (out-of-sample ones too):
        # left out of the rule (DSR 1, plateau 0), so the split's out-of-sample folds reach it
        # only through what it is judged on
        return robustness(regimes, cons, table["val_sharpe"], 0.0, 1.0, exp.robustness)

    value, _ = pbo_cscv(perf, rule=rule)
    return value
