"""Running one phase as a Ray Tune experiment: Tuner set-up, restore, and a one-line progress
report per phase instead of Tune's table."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Callable

import ray
from ray import tune
from ray.tune import Callback, FailureConfig, RunConfig, TuneConfig, Tuner

from scalper_tune.errors import ScalperTuneError


class ProgressLine(Callback):
    """Prints `phase: done/total trials, best so far, ETA` as trials finish."""

    def __init__(self, phase: str, total: int, metric: str, label: str | None = None):
        self.phase, self.total, self.metric = phase, total, metric
        self.label = label or metric
        self.done = 0
        self.best = float("-inf")
        self.started = time.perf_counter()

    def on_trial_complete(self, iteration, trials, trial, **info):
        self.done += 1
        value = (trial.last_result or {}).get(self.metric)
        if isinstance(value, (int, float)) and value > self.best:
            self.best = float(value)
        elapsed = time.perf_counter() - self.started
        eta = elapsed / self.done * max(0, self.total - self.done)
        best = f"{self.best:.3f}" if self.best > float("-inf") else "-"
        print(f"  {self.phase}: {self.done}/{self.total} trials, best {self.label} {best}, "
              f"elapsed {elapsed:.0f} s, ETA {eta:.0f} s", file=sys.stdout, flush=True)


def init_ray(address: str | None, verbose: bool) -> None:
    """Connect to `address` (an existing cluster) or start a local Ray once per process."""
    if not verbose:
        os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # no per-phase tables; ProgressLine instead
        os.environ.setdefault("RAY_TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "0")
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
    if ray.is_initialized():
        return
    kwargs = dict(include_dashboard=False, log_to_driver=verbose, configure_logging=verbose)
    if address:
        ray.init(address=address, **kwargs)
    else:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a private, local-only instance
        ray.init(**kwargs)


def run_phase(name: str, trainable: Callable, param_space: dict, storage: Path,
              tune_config: TuneConfig, cpus_per_trial: int, max_failures: int, total: int,
              metric: str, verbose: bool, label: str | None = None):
    """Fit (or, when an unfinished experiment of this name exists under `storage`, restore and
    continue) one phase; returns the ResultGrid."""
    wrapped = tune.with_resources(trainable, {"cpu": cpus_per_trial})
    path = storage / name
    progress = ProgressLine(name, total, metric, label=label)
    if Tuner.can_restore(str(path)):
        print(f"  {name}: continuing the interrupted Tune experiment {path}", flush=True)
        tuner = Tuner.restore(str(path), trainable=wrapped, resume_unfinished=True,
                              restart_errored=True)
    else:
        tuner = Tuner(wrapped, param_space=param_space, tune_config=tune_config,
                      run_config=RunConfig(name=name, storage_path=str(storage),
                                           failure_config=FailureConfig(max_failures=max_failures),
                                           callbacks=[progress], verbose=2 if verbose else 0))
    grid = tuner.fit()
    finished = grid.num_terminated
    if grid.num_errors:
        raise ScalperTuneError(f"{name}: {grid.num_errors} trial(s) failed after {max_failures} "
                               f"retries (first error: {grid.errors[0]!r}). Fix the cause, then "
                               "continue with --resume.")
    if finished < total:
        # Tune stops gracefully on Ctrl-C and returns what it has: never use a partial phase
        raise KeyboardInterrupt
    return grid
