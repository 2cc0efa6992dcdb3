"""The refinement objective: the train robustness of one configuration, fold by fold.

Folds are evaluated in a seeded random order (so early stopping does not favour the start of
the data); after each fold the robustness over the folds done so far is known, which is what a
scheduler (ASHA) stops on. A configuration is judged only once it has made
`filters.min_trades` x (folds done / folds) trades; until then its robustness is NaN and the
reason says why.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from scalper_tune.config.experiment import Experiment
from scalper_tune.engine import prefilter
from scalper_tune.robustness.score import W_PLATEAU, plateau_scores
from scalper_tune.workflow.evaluation import POOLED, judge, prefilter_folds

FoldResult = dict  # one fold's figures (JSON-able): see evaluate_fold


def fold_order(n_folds: int, seed: int) -> list[int]:
    """The seeded order in which a trial visits the folds."""
    return [int(i) for i in np.random.default_rng(seed).permutation(n_folds)]


def evaluate_fold(shared: prefilter.SharedArrays, params: Mapping[str, object],
                  exp: Experiment, threads: int = 1) -> FoldResult:
    """One configuration on one fold (prefilter): the summary figures and asset Sharpes."""
    frame = prefilter_folds([shared], pd.DataFrame([dict(params)]), exp.costs, exp.account,
                            threads)
    row = frame.iloc[0]
    n_assets = len(shared.symbols)
    return {"sharpe": _f(row["sharpe_f0"]), "trades": int(row["trades_f0"]),
            "pnl": float(row["pnl_f0"]), "dd": float(row["dd_f0"]),
            "assets": [_f(row[f"sa_f0_{j}"]) for j in range(n_assets)],
            "pooled": {c: float(row[c]) for c in POOLED}}


def _f(x) -> float:
    x = float(x)
    return x if math.isfinite(x) else float("nan")


def as_table(results: Mapping[int, FoldResult]) -> pd.DataFrame:
    """Fold results (by fold number) as one row of the evaluation table."""
    cols: dict = {}
    for k, r in results.items():
        cols[f"sharpe_f{k}"] = [r["sharpe"]]
        cols[f"trades_f{k}"] = [r["trades"]]
        cols[f"pnl_f{k}"] = [r["pnl"]]
        cols[f"dd_f{k}"] = [r["dd"]]
        for j, v in enumerate(r["assets"]):
            cols[f"sa_f{k}_{j}"] = [v]
    for name in POOLED:
        cols[name] = [sum(r["pooled"][name] for r in results.values())]
    return pd.DataFrame(cols)


def plateau_of(params: Mapping[str, object], phase1: pd.DataFrame | None,
               grid: Mapping[str, Sequence]) -> float:
    """The plateau of a refinement trial: the mean train robustness of the grid neighbours of
    its nearest grid cell (NaN without a Phase 1 table)."""
    if phase1 is None or phase1.empty:
        return float("nan")
    return plateau_scores(phase1, grid, [dict(params)], "robustness_raw")[0]


def objective(results: Mapping[int, FoldResult], n_folds: int, exp: Experiment,
              bars_per_year: float, plateau: float) -> dict:
    """The train robustness over the folds in `results` (with the plateau term), its parts, and
    `reason` (why it cannot be judged, or "")."""
    needed = exp.filters.min_trades * len(results) / n_folds
    j = judge(as_table(results), exp, bars_per_year, min_trades=needed).iloc[0]
    reason = ""
    if j["trades"] < needed:
        reason = (f"too few trades ({int(j['trades'])} < {math.ceil(needed)} after "
                  f"{len(results)} of {n_folds} folds)")
    elif not math.isfinite(j["consistency"]):
        reason = "no fold Sharpe"
    robust = (float(j["robustness_raw"]) + W_PLATEAU * (plateau if math.isfinite(plateau) else 0.0)
              if not reason else float("nan"))
    return {"robustness": robust, "consistency": float(j["consistency"]),
            "trades": int(j["trades"]), "sr_train": float(j["sr_train"]),
            "regime_weighted": float(j["regime_weighted"]), "plateau": plateau,
            "reason": reason}
