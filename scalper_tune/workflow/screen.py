"""Phase 1, the screen: every grid combination on every train fold with the prefilter, judged by
the train robustness (see robustness/score.py), then the event engine (full costs) confirms the
best `phase1.keep_top`.

The grid is evaluated in chunks (`screen_chunk`, one Tune trial each in the pipeline);
`finish_screen` adds what needs the whole grid: the plateau (the neighbours' train robustness),
the train robustness with it, and the seed's filters on train."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from scalper_tune.config.experiment import Experiment
from scalper_tune.config.strategy_params import PARAMS, default_params
from scalper_tune.config.values import python_value
from scalper_tune.data.market import MarketData
from scalper_tune.engine import prefilter
from scalper_tune.robustness.score import W_PLATEAU, plateau_scores
from scalper_tune.workflow.evaluation import engine_folds, judge, passes_train, prefilter_folds

PARAM_NAMES = tuple(PARAMS)


def enumerate_grid(grid: Mapping[str, Sequence]) -> pd.DataFrame:
    """Every combination (complete parameter sets, defaults for the rest), with a stable
    `combo_id` in the grid's order."""
    keys = list(grid)
    rows = [dict(default_params(), **dict(zip(keys, values)))
            for values in itertools.product(*(grid[k] for k in keys))]
    table = pd.DataFrame(rows)
    table.insert(0, "combo_id", np.arange(len(table), dtype=np.int64))
    return table


def chunk_members(n_combos: int, chunk: int, chunk_size: int) -> np.ndarray:
    """Row positions (ascending) of chunk `chunk` among `n_combos` grid rows: a slice of a
    fixed shuffle of the grid (seed 0, the same in every process), so that chunks mix the
    grid's keys alike and take about the same time. Contiguous slices of the grid's order differ
    several-fold (the slowest one holds the other trial slots idle), and a stride would repeat
    the period of the grid's inner keys."""
    order = np.random.default_rng(0).permutation(n_combos)
    return np.sort(order[chunk * chunk_size:(chunk + 1) * chunk_size])


def screen_chunk(folds: Sequence[prefilter.SharedArrays], rows: pd.DataFrame, exp: Experiment,
                 threads: int = 1, device: str = "cpu") -> pd.DataFrame:
    """One chunk of the grid: per-fold columns, pooled sums and the judged figures per row
    (columns of workflow/evaluation.py), keyed by `combo_id`; `device`: the kernel's."""
    params = rows[list(PARAM_NAMES)].reset_index(drop=True)
    table = prefilter_folds(folds, params, exp.costs, exp.account, threads, device)
    judged = judge(table, exp, folds[0].bars_per_year())
    out = pd.concat([table, judged], axis=1)
    out.insert(0, "combo_id", rows["combo_id"].to_numpy())
    return out


def finish_screen(table: pd.DataFrame, grid: Mapping[str, Sequence],
                  exp: Experiment) -> pd.DataFrame:
    """Plateau (the mean train robustness, without plateau, of the grid neighbours), the train
    robustness with it (`robustness_train`), `judged` and the seed's filters on train
    (`passes_train`)."""
    out = table.copy()
    out["plateau"] = plateau_scores(out, grid, out[list(grid)].to_dict("records"),
                                    "robustness_raw")
    out["robustness_train"] = out["robustness_raw"] + W_PLATEAU * out["plateau"].fillna(0.0)
    out["judged"] = np.isfinite(out["robustness_train"].to_numpy())
    out["passes_train"] = passes_train(out, exp.filters)
    return out


def confirm(fold_data: Sequence[tuple[MarketData, dict]], table: pd.DataFrame,
            exp: Experiment, engine: Callable | None = None, threads: int = 1) -> pd.DataFrame:
    """The event engine (full costs) on the train folds for the best `phase1.keep_top` judged
    rows: `engine_robustness` (same formula and plateau), `engine_consistency`, `engine_trades`,
    `confirmed`; `score` is the engine's figure where confirmed, else the screen's. `engine`:
    what runs a parameter set on the folds (default `evaluation.engine_folds`; walk-forward
    passes one that reuses the folds other steps ran); `threads`: parameter sets run at once
    (results do not depend on it)."""
    out = table.copy()
    out["engine_robustness"] = np.nan
    out["engine_consistency"] = np.nan
    out["engine_trades"] = np.nan
    out["confirmed"] = False
    judged = out.loc[out["judged"]]
    top = judged.sort_values(["robustness_train", "combo_id"],
                             ascending=[False, True]).head(exp.phase1.keep_top).index
    bars_per_year = fold_data[0][0].bars_per_year()
    run = engine or engine_folds
    sets = [{k: python_value(out.at[i, k]) for k in PARAM_NAMES} for i in top]
    with ThreadPoolExecutor(max(1, threads)) as pool:  # the engine kernel releases the GIL
        rows = list(pool.map(lambda p: run(fold_data, p, exp.costs, exp.account), sets))
    for i, row in zip(top, rows):
        j = judge(row, exp, bars_per_year).iloc[0]
        out.at[i, "engine_robustness"] = (j["robustness_raw"]
                                          + W_PLATEAU * _finite(out.at[i, "plateau"]))
        out.at[i, "engine_consistency"] = j["consistency"]
        out.at[i, "engine_trades"] = j["trades"]
        out.at[i, "confirmed"] = True
    out["score"] = out["engine_robustness"].where(out["confirmed"], out["robustness_train"])
    return out


def _finite(x) -> float:
    return float(x) if np.isfinite(x) else 0.0


def row_params(row) -> dict:
    """The complete parameter set of a table row (Python values)."""
    return {k: python_value(row[k]) for k in PARAM_NAMES}
