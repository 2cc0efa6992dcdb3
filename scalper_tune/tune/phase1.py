"""Phase 1, the screen: the grid is enumerated into chunks and `tune.grid_search` runs over chunk
ids; each trial evaluates its chunk with the prefilter on every asset and every in-sample fold in
one Numba call per fold, and writes its per-combination table atomically, keyed by a hash of
(chunk, parameters, data, costs, code version) so that a re-run trial reuses it.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from ray import tune

from scalper_tune.config.costs import CostModel
from scalper_tune.config.strategy_params import default_params
from scalper_tune.engine import prefilter
from scalper_tune.robustness.score import consistency
from scalper_tune.tune.keys import atomic_parquet

GRID_KEYS_ORDER = ("z_window", "entry_z", "vol_z_min", "imbalance_min", "ou_exit_frac",
                   "stop_loss", "side")


def enumerate_grid(grid: Mapping[str, Sequence]) -> pd.DataFrame:
    """Every combination (complete parameter sets, defaults for the rest), with a stable
    `combo_id` in the grid's order."""
    keys = list(grid)
    rows = [dict(default_params(), **dict(zip(keys, values)))
            for values in itertools.product(*(grid[k] for k in keys))]
    table = pd.DataFrame(rows)
    table.insert(0, "combo_id", np.arange(len(table), dtype=np.int64))
    return table


def evaluate_chunk(folds: Sequence[prefilter.SharedArrays], rows: pd.DataFrame, costs: CostModel,
                   account: float, threads: int, min_trades: int) -> pd.DataFrame:
    """Per-combination, per-fold prefilter metrics of `rows`, plus the consistency score."""
    out = pd.DataFrame({"combo_id": rows["combo_id"].to_numpy()})
    sharpes, trades = [], []
    for f, shared in enumerate(folds):
        summary, _ = prefilter.run(shared, rows.reset_index(drop=True), costs, account, threads)
        out[f"sharpe_f{f}"] = summary["sharpe_mean"].to_numpy()
        out[f"pnl_f{f}"] = summary["total_pnl"].to_numpy()
        out[f"trades_f{f}"] = summary["trades"].to_numpy()
        sharpes.append(summary["sharpe_mean"].to_numpy())
        trades.append(summary["trades"].to_numpy())
    m = np.column_stack(sharpes)
    out["trades"] = np.sum(trades, axis=0)
    out["total_pnl"] = out[[f"pnl_f{f}" for f in range(len(folds))]].sum(axis=1)
    out["sharpe_mean"] = np.nanmean(m, axis=1)
    out["sharpe_worst_fold"] = np.nanmin(m, axis=1)
    out["consistency"] = consistency(m, out["trades"].to_numpy(), min_trades)
    return out


def phase1_trainable(config: dict, folds=None, combos=None, costs=None, account=1000.0,
                     threads=1, chunk_size=1024, out_dir="", key="", min_trades=30,
                     attempt="") -> None:
    """One chunk of the grid (a Tune trial). `attempt` names the driver invocation, so a resumed
    run can tell its own work from the trials Tune restored."""
    from scalper_tune.kernels.threads import set_threads

    set_threads(threads)
    chunk = int(config["chunk"])
    rows = combos.iloc[chunk * chunk_size:(chunk + 1) * chunk_size]
    path = Path(out_dir) / f"chunk_{chunk:05d}_{key}.parquet"
    started = time.perf_counter()
    reused = path.is_file()
    if reused:
        table = pd.read_parquet(path)
    else:
        table = evaluate_chunk(folds, rows, costs, account, threads, min_trades)
        atomic_parquet(table, path)
    kernel_s = 0.0 if reused else time.perf_counter() - started
    bars = sum(f.bars for f in folds)
    best = table["consistency"].max()
    tune.report({"chunk": chunk, "best_score": float(best) if np.isfinite(best) else -1e9,
                 "kernel_s": kernel_s, "bar_evals": 0 if reused else bars * len(rows),
                 "reused": reused, "attempt": attempt})
