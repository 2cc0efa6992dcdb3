"""Phase 1's screen fold by fold, for walk-forward re-optimisation: every grid row on every
distinct train fold (a *block* of the step grid, robustness/segments.step_segments) once, then
each step's screen table assembled from the blocks its history holds.

A fold's prefilter results start flat and depend only on that fold's bars and causal features,
so a block screened once serves every step that trains on it; `step_screen` rebuilds exactly the
table `screen.screen_chunk` would compute on that step's folds (tested equal)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from scalper_tune.config.experiment import Experiment
from scalper_tune.engine import prefilter
from scalper_tune.workflow.evaluation import POOLED, fold_frame, judge
from scalper_tune.workflow.screen import PARAM_NAMES

SUMMARY = ("sharpe_mean", "trades", "total_pnl", "max_dd_pct") + POOLED


def screen_blocks(blocks: Sequence[prefilter.SharedArrays], block_ids: Sequence[int],
                  rows: pd.DataFrame, exp: Experiment, threads: int = 1,
                  device: str = "cpu") -> pd.DataFrame:
    """Every row of `rows` (grid rows with `combo_id`) on every block with the prefilter: per
    block j the summary columns `<name>@<j>` and the sleeve Sharpes `sa@<j>_<asset>`, keyed by
    `combo_id`."""
    params = rows[list(PARAM_NAMES)].reset_index(drop=True)
    cols: dict[str, np.ndarray] = {"combo_id": rows["combo_id"].to_numpy()}
    for j, shared in zip(block_ids, blocks):
        summary, states = prefilter.run(shared, params, exp.costs, exp.account, threads, device)
        sa = prefilter.sleeve_sharpes(states, np.diff(shared.start).astype(float),
                                      shared.asset_bars_per_year)
        for name in SUMMARY:
            cols[f"{name}@{j}"] = summary[name].to_numpy()
        for a in range(sa.shape[1]):
            cols[f"sa@{j}_{a}"] = sa[:, a]
    return pd.DataFrame(cols)


def step_screen(table: pd.DataFrame, block_ids: Sequence[int], exp: Experiment,
                bars_per_year: float) -> pd.DataFrame:
    """The screen of one step whose train folds are the blocks `block_ids` (in time order): the
    per-fold and pooled columns and the judged figures of `screen.screen_chunk` with those
    blocks as folds 0, 1, ..., keyed by `combo_id`."""
    summaries, sharpes = [], []
    for j in block_ids:
        summaries.append(pd.DataFrame({name: table[f"{name}@{j}"].to_numpy()
                                       for name in SUMMARY}))
        sa = [c for c in table.columns if c.startswith(f"sa@{j}_")]
        sharpes.append(table[sorted(sa, key=lambda c: int(c.rsplit("_", 1)[1]))]
                       .to_numpy(dtype=float))
    folds = fold_frame(summaries, sharpes)
    out = pd.concat([folds, judge(folds, exp, bars_per_year)], axis=1)
    out.insert(0, "combo_id", table["combo_id"].to_numpy())
    return out
