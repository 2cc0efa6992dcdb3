"""Refinement: Optuna TPE (seeded, study stored in the run folder) with ASHA. One Tune trial per
configuration; its rungs are the walk-forward folds, reported one by one with `tune.report` in a
seeded random order (so early stopping does not favour the start of the data). The objective is
the walk-forward consistency (mean - 0.5 std of the fold Sharpes), the robustness score's
time-stability component; Phase 2 then scores the winners in full.

Resume (driver killed in the middle): Tune's snapshot holds the trials and the searcher, the
Optuna study included, taken together, so the study continues exactly where the snapshot was
(a study in a live database would run ahead of the snapshot). ASHA's rungs are not in it (Ray
issue 30838): `ResumableASHA` rebuilds them from the restored trials' results. A trial that Tune
runs again reuses its per-fold results, stored under a hash of its parameters, the data, the
costs and the code version.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import optuna
import pandas as pd
from ray import tune
from ray.tune.experiment import Trial
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.optuna import OptunaSearch

from scalper_tune.config.search_space import Range
from scalper_tune.config.strategy_params import PARAMS, default_params
from scalper_tune.engine import prefilter
from scalper_tune.tune.keys import atomic_json, work_key

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
                     threads=1, min_trades=30, out_dir="", key="", attempt="") -> None:
    """Evaluate one configuration fold by fold, reporting the running consistency. Each report
    carries the score after every fold so far (`score_at_<k>`, for `ResumableASHA`) and how many
    folds came from stored work (`reused_folds`)."""
    from scalper_tune.kernels.threads import set_threads

    set_threads(threads)
    params = dict(default_params(), **config)
    row = pd.DataFrame([params])
    path = Path(out_dir) / f"refine_{work_key(key, params)}.json"
    stored = json.loads(path.read_text()) if path.is_file() else []
    reused = 0
    sharpes, trades, history = [], 0, {}
    for i, f in enumerate(order):
        if i < len(stored):
            sharpe, n = stored[i]
            reused += 1
        else:
            summary, _ = prefilter.run(folds[f], row, costs, account, threads)
            sharpe, n = float(summary["sharpe_mean"].iloc[0]), int(summary["trades"].iloc[0])
            stored.append([sharpe, n])
            atomic_json(stored, path)
        sharpes.append(sharpe)
        trades += n
        m = np.array(sharpes)
        score = float(np.nanmean(m) - 0.5 * np.nanstd(m)) if np.isfinite(m).any() else FAIL_SCORE
        needed = min_trades * (i + 1) / len(order)
        if trades < needed or not math.isfinite(score):
            score = FAIL_SCORE
        history[f"score_at_{i + 1}"] = score
        tune.report({"score": score, "folds_done": i + 1, "trades": trades,
                     "reused_folds": reused, "attempt": attempt, **history,
                     **{f"sharpe_f{f}": s for f, s in zip(order, sharpes)}})


class ResumableASHA(ASHAScheduler):
    """ASHA (one bracket) whose rungs survive `Tuner.restore`.

    Tune does not save a scheduler's state (Ray issue 30838): a restored experiment starts with
    empty rungs, so trials after the restore would be stopped differently than in an undisturbed
    run. Here a restored, finished trial replays its scores into the rungs from its last result,
    which carries `<metric>_at_<k>` for every step k it reported. Cutoffs depend only on the set
    of recorded values, so the rungs equal those of the undisturbed run at the snapshot."""

    def __init__(self, time_attr: str, max_t: int, grace_period: int, reduction_factor: float):
        super().__init__(time_attr=time_attr, max_t=max_t, grace_period=grace_period,
                         reduction_factor=reduction_factor, brackets=1)

    def on_trial_add(self, tune_controller, trial: Trial) -> None:
        # one bracket: no draw from NumPy's global random state (the base class draws one)
        if not self._metric or not self._metric_op:
            raise ValueError("ResumableASHA needs the metric and mode of TuneConfig")
        bracket = self._brackets[0]
        last = trial.last_result or {}
        if trial.status == Trial.TERMINATED and self._time_attr in last:
            for step in range(1, int(last[self._time_attr]) + 1):
                value = last.get(f"{self._metric}_at_{step}")
                if value is not None:
                    bracket.on_result(trial, step, self._metric_op * float(value))
            return
        self._trial_info[trial.trial_id] = bracket


def make_searcher(seed: int, start_point: dict) -> OptunaSearch:
    """Seeded TPE, starting from `start_point`, its study in memory (saved with Tune's snapshot;
    `export_study` writes it to optuna.db when the phase is done)."""
    return OptunaSearch(metric="score", mode="max", seed=seed, points_to_evaluate=[start_point],
                        study_name="refine", storage=optuna.storages.InMemoryStorage())


def export_study(tune_dir: Path, db_path: Path) -> int:
    """Copy the finished refinement's Optuna study (from Tune's final searcher snapshot in
    `tune_dir`) into the SQLite file `db_path`, atomically; returns its number of trials."""
    searcher = OptunaSearch()
    searcher.restore_from_dir(str(tune_dir))
    study = searcher._ot_study  # noqa: SLF001 - OptunaSearch keeps its study here (Ray 2.60)
    tmp = db_path.with_name(f".{db_path.name}.tmp")
    tmp.unlink(missing_ok=True)
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp}")
    optuna.create_study(storage=storage, study_name="refine",
                        direction=study.direction).add_trials(study.trials)
    storage.engine.dispose()
    tmp.replace(db_path)
    return len(study.trials)
