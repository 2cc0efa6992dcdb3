"""Refinement: Optuna TPE (seeded, study stored in the run folder) with ASHA. One Tune trial per
configuration; its rungs are the walk-forward folds, reported one by one with `tune.report` in a
seeded random order (so early stopping does not favour the start of the data). The objective is
the walk-forward consistency (mean - 0.5 std of the fold Sharpes), the robustness score's
time-stability component; Phase 2 then scores the winners in full.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from ray import tune

from scalper_tune.config.search_space import Range
from scalper_tune.config.strategy_params import PARAMS, default_params
from scalper_tune.engine import prefilter

FAIL_SCORE = -100.0  # reported for configurations without trades (ASHA needs a number)


def refine_windows(rng: Range | None, grid_windows: Sequence[int]) -> list[int]:
    """The z_windows refinement may use: the grid's, plus 6 log-spaced windows of the range
    (features are precomputed per window, so z_window is refined over this set)."""
    out = set(int(w) for w in grid_windows)
    if rng is not None and rng.low is not None:
        out |= {int(round(x)) for x in np.geomspace(rng.low, rng.high, 6)}
    return sorted(out)


def tune_space(refine: Mapping[str, Range], windows: Sequence[int]) -> dict:
    """The search space in Tune's terms (OptunaSearch converts it to Optuna distributions)."""
    space = {}
    for name, rng in refine.items():
        spec = PARAMS[name]
        if name == "z_window":
            space[name] = tune.choice(list(windows))
        elif spec.kind == "choice":
            space[name] = tune.choice(list(rng.choices))
        elif spec.kind == "int":
            space[name] = (tune.lograndint if rng.log else tune.randint)(int(rng.low),
                                                                        int(rng.high) + 1)
        else:
            space[name] = (tune.loguniform if rng.log else tune.uniform)(rng.low, rng.high)
    return space


def fold_order(n_folds: int, seed: int) -> list[int]:
    return [int(i) for i in np.random.default_rng(seed).permutation(n_folds)]


def refine_trainable(config: dict, folds=None, order=None, costs=None, account=1000.0,
                     threads=1, min_trades=30) -> None:
    """Evaluate one configuration fold by fold, reporting the running consistency."""
    from scalper_tune.kernels.threads import set_threads

    set_threads(threads)
    params = dict(default_params(), **config)
    row = pd.DataFrame([params])
    sharpes, trades = [], 0
    for i, f in enumerate(order):
        summary, _ = prefilter.run(folds[f], row, costs, account, threads)
        sharpes.append(float(summary["sharpe_mean"].iloc[0]))
        trades += int(summary["trades"].iloc[0])
        m = np.array(sharpes)
        score = float(np.nanmean(m) - 0.5 * np.nanstd(m)) if np.isfinite(m).any() else FAIL_SCORE
        needed = min_trades * (i + 1) / len(order)
        if trades < needed or not math.isfinite(score):
            score = FAIL_SCORE
        tune.report({"score": score, "folds_done": i + 1, "trades": trades,
                     **{f"sharpe_f{f}": s for f, s in zip(order, sharpes)}})
