"""The refinement's searcher and scheduler: seeded Optuna TPE (its study saved with Tune's
snapshot) and ASHA whose rungs survive `Tuner.restore`; the search space in Tune's terms.

Resume (driver killed in the middle): Tune's snapshot holds the trials and the searcher, the
Optuna study included, taken together, so the study continues exactly where the snapshot was
(a study in a live database would run ahead of the snapshot). ASHA's rungs are not in it (Ray
issue 30838): `ResumableASHA` rebuilds them from the restored trials' results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import optuna
from ray import tune
from ray.tune.experiment import Trial
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.optuna import OptunaSearch

from scalper_tune.config.search_space import Range, load_search_space
from scalper_tune.config.strategy_params import PARAMS
from scalper_tune.pipeline.study import export_study as write_study
from scalper_tune.workflow.prepare import refine_windows


def tune_space(refine: Mapping[str, Range], windows: Sequence[int]) -> dict:
    """Refinement ranges as Tune domains (OptunaSearch converts them to Optuna distributions);
    z_window is a choice among `windows` (features are precomputed per window)."""
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


def search_space(path: str | Path) -> dict:
    """A search-space YAML's refinement ranges as a Tune `param_space` (public API). z_window
    takes the grid's windows plus log-spaced windows of its range, as in the pipeline."""
    space = load_search_space(path)
    return tune_space(space.refine, refine_windows(space))


class ResumableASHA(ASHAScheduler):
    """ASHA (one bracket) whose rungs survive `Tuner.restore`.

    Tune does not save a scheduler's state (Ray issue 30838): a restored experiment starts with
    empty rungs, so trials after the restore would be stopped differently than in an undisturbed
    run. Here a restored, finished trial replays its scores into the rungs from its last result,
    which carries `<metric>_at_<k>` for every step k it reported. Cutoffs depend only on the set
    of recorded values, so the rungs equal those of the undisturbed run at the snapshot.

    time_attr: the result key counting rungs (the pipeline's trainable reports `folds_done`);
    max_t: rungs in all; grace_period, reduction_factor: as ASHA."""

    def __init__(self, time_attr: str = "folds_done", max_t: int = 8, grace_period: int = 2,
                 reduction_factor: float = 2, metric: str | None = None, mode: str | None = None):
        super().__init__(time_attr=time_attr, max_t=max_t, grace_period=grace_period,
                         reduction_factor=reduction_factor, brackets=1, metric=metric, mode=mode)

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


def make_searcher(seed: int, start_point: dict, metric: str = "objective") -> OptunaSearch:
    """Seeded TPE, starting from `start_point`, its study in memory (saved with Tune's snapshot;
    `export_study` writes it to optuna.db when the phase is done)."""
    return OptunaSearch(metric=metric, mode="max", seed=seed, points_to_evaluate=[start_point],
                        study_name="refine", storage=optuna.storages.InMemoryStorage())


def export_study(tune_dir: Path, db_path: Path) -> int:
    """Copy the finished refinement's Optuna study (from Tune's final searcher snapshot in
    `tune_dir`) into the SQLite file `db_path`, atomically; returns its number of trials."""
    searcher = OptunaSearch()
    searcher.restore_from_dir(str(tune_dir))
    study = searcher._ot_study  # noqa: SLF001 - OptunaSearch keeps its study here (Ray 2.60)
    return write_study(study, db_path)
