"""Running one phase as a Ray Tune experiment: Tuner set-up, restore after a driver failure, and a
one-line progress report per finished trial instead of Tune's table (on the `scalper_tune.run`
logger, which the CLI prints)."""

from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Callable

import ray
from ray import cloudpickle, tune
from ray.exceptions import NodeDiedError, RayActorError
from ray.tune import Callback, FailureConfig, RunConfig, TuneConfig, Tuner

from scalper_tune.errors import ScalperTuneError
from scalper_tune.tune.ray_connect import init_ray as connect

# Tune snapshots the experiment (trials + searcher state) at most this often (seconds); the
# default (at least 10 s) would lose every trial of a short phase to a driver kill.
CHECKPOINT_PERIOD_S = "2"
log = logging.getLogger("scalper_tune.run")


class ProgressLine(Callback):
    """Logs `phase: done/total trials, best judged <label> so far, ETA` as trials finish (the
    best of `metric` where it is a finite number: "none judged yet" until one is). Its count
    survives Tuner.restore (get_state/set_state)."""

    def __init__(self, phase: str, total: int, metric: str, label: str | None = None):
        self.phase, self.total, self.metric = phase, total, metric
        self.label = metric if label is None else label  # "": no best figure shown
        self.done = 0
        self.best = float("-inf")
        self.started = time.perf_counter()

    def setup(self, **info):
        self.started = time.perf_counter()

    def get_state(self) -> dict:
        return {"done": self.done, "best": self.best}

    def set_state(self, state: dict) -> None:
        self.done, self.best = int(state["done"]), float(state["best"])

    def on_trial_recover(self, iteration, trials, trial, **info):
        """A trial failed (its node or worker died) and Tune retries it."""
        log.info(f"  {self.phase}: a trial failed ({_first_line(trial)}); Tune retries it "
                 f"(failure {trial.run_metadata.num_failures} of {trial.max_failures} allowed)")

    def on_trial_complete(self, iteration, trials, trial, **info):
        self.done += 1
        value = (trial.last_result or {}).get(self.metric)
        if isinstance(value, (int, float)) and math.isfinite(value) and value > self.best:
            self.best = float(value)
        elapsed = time.perf_counter() - self.started
        eta = elapsed / self.done * max(0, self.total - self.done)
        best = ("" if self.label == "" else f"best {self.label} {self.best:.3f}, "
                if self.best > float("-inf") else "none judged yet, ")
        log.info(f"  {self.phase}: {self.done}/{self.total} trials, {best}"
                 f"elapsed {elapsed:.0f} s, ETA {eta:.0f} s")


def _first_line(trial) -> str:
    path = trial.error_file
    try:
        lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
        return lines[-1][:200] if lines else "no message"
    except (OSError, TypeError):
        return "no message"


def init_ray(address: str | None, verbose: bool) -> str:
    """Tune's settings for this project (see below), then join the cluster at `address` (or
    $RAY_ADDRESS), else start a private local Ray (tune/ray_connect.py); once per process.
    A new local instance is always started, never the leftovers of a killed earlier run, which
    a plain `ray.init()` would join. Returns the GCS address."""
    os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", CHECKPOINT_PERIOD_S)
    # Ctrl-C raises KeyboardInterrupt at once. Tune's own handler would end the phase
    # "gracefully" and report trials it never ran as terminated (Ray 2.60).
    os.environ.setdefault("TUNE_DISABLE_SIGINT_HANDLER", "1")
    # MLflow is the record: no CSV/JSON/TensorBoard files per trial (and no TensorBoard
    # "NaN or Inf found in input tensor" lines on stderr)
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    if not verbose:
        os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # no per-phase tables; ProgressLine instead
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        # Tuner.restore lists the trials that had not run yet as "failed to fetch metrics"
        logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
        # a failed trial's traceback (retried, or reported by run_phase) and a damaged
        # snapshot's (handled by run_phase): one line each from ProgressLine/run_phase instead
        logging.getLogger("ray.tune.execution.tune_controller").setLevel(logging.CRITICAL)
    return connect(address, verbose)


def run_phase(name: str, trainable: Callable, param_space: dict, storage: Path,
              make_config: Callable[[], TuneConfig], cpus_per_trial: int, max_failures: int,
              total: int, metric: str, verbose: bool, label: str | None = None,
              gpus_per_trial: float = 0.0):
    """Fit one phase, or (when an unfinished Tune experiment of this name exists under `storage`)
    restore it with `Tuner.restore` and continue; returns the ResultGrid.

    When Tune cannot continue (its snapshot torn by a kill, or trials it gave up on because their
    node died), the experiment is moved aside and the phase starts again: trials reuse their
    stored work, so the result is the same. `make_config` builds a fresh TuneConfig (with a
    fresh searcher) for each start."""
    resources = {"cpu": cpus_per_trial}
    if gpus_per_trial > 0:
        resources["gpu"] = gpus_per_trial  # Ray places the trial on a node with a free GPU share
    wrapped = tune.with_resources(trainable, resources)
    path = storage / name
    if path.exists():
        damage = (_snapshot_damage(path) if Tuner.can_restore(str(path))
                  else "no readable experiment state")
        if damage:
            _start_again(path, name, damage)
        else:
            log.info(f"  {name}: continuing the interrupted Tune experiment {path}")
            try:
                grid = Tuner.restore(str(path), trainable=wrapped, resume_unfinished=True,
                                     restart_errored=True).fit()
            except (KeyboardInterrupt, ScalperTuneError):
                raise
            except Exception as exc:  # noqa: BLE001 - any damage in Tune's snapshot
                _start_again(path, name, f"cannot restore: {type(exc).__name__}")
            else:
                lost = _lost_to_nodes(grid)
                if not lost:
                    return _checked(grid, name, total, metric, max_failures)
                _start_again(path, name, lost)
    for restart in range(max_failures + 1):
        progress = ProgressLine(name, total, metric, label=label)
        tuner = Tuner(wrapped, param_space=param_space, tune_config=make_config(),
                      run_config=RunConfig(name=name, storage_path=str(storage),
                                           failure_config=FailureConfig(max_failures=max_failures),
                                           callbacks=[progress], verbose=2 if verbose else 0))
        grid = tuner.fit()
        lost = _lost_to_nodes(grid)
        if restart == max_failures or not lost:
            break
        _start_again(path, name, lost)
    return _checked(grid, name, total, metric, max_failures)


def last_results(grid) -> "pd.DataFrame":
    """One row per trial: its last reported metrics and its config as `config/<key>` columns
    (from the trials themselves; Tune's per-trial log files are off)."""
    import pandas as pd

    rows = []
    for result in grid:
        row = dict(result.metrics or {})
        row.pop("config", None)
        row.update({f"config/{k}": v for k, v in (result.config or {}).items()})
        rows.append(row)
    return pd.DataFrame(rows)


def _lost_to_nodes(grid) -> str | None:
    """'N trial(s) lost with their node' when every failed trial of `grid` died with its worker
    or node, else None. Tune gives up on a trial whose reused actor sat on a dying node: a second
    failure event for the same dead actor errors the requeued trial, whatever max_failures
    allows (Ray 2.60). Started again, the phase repeats the same trials with their stored work,
    so the result is the one an undisturbed run gives."""
    lost = [e for e in grid.errors if isinstance(e, (RayActorError, NodeDiedError))]
    if not lost or len(lost) < len(grid.errors):
        return None
    return f"{len(lost)} trial(s) lost with their node: {type(lost[0]).__name__}"


def _start_again(path: Path, name: str, why: str) -> None:
    """Set Tune's experiment aside (kept for inspection) so the phase starts afresh."""
    aside = _move_aside(path)
    log.info(f"  {name}: cannot continue Tune's experiment ({why}); kept as {aside.name}, "
             "starting the phase again (stored trial work is reused)")


def _checked(grid, name: str, total: int, metric: str, max_failures: int):
    """The ResultGrid of a finished phase: every trial reported, none failed."""
    if grid.num_errors:
        raise ScalperTuneError(f"{name}: {grid.num_errors} trial(s) failed after {max_failures} "
                               f"retries (first error: {grid.errors[0]!r}). Fix the cause, then "
                               "continue with --resume.")
    reported = sum(1 for r in grid if r.metrics and metric in r.metrics)
    if reported < total:  # never use a partial phase
        raise ScalperTuneError(f"{name}: Tune ended with {total - reported} of {total} trials "
                               "unfinished. Continue with --resume.")
    return grid


def _snapshot_damage(path: Path) -> str | None:
    """Why Tune's snapshot in `path` cannot be read (a file torn by a kill during Tune's copy),
    or None. Tune itself would log the damage and silently start an empty experiment."""
    for file in sorted(path.iterdir()):
        if file.suffix not in (".json", ".pkl") or not file.is_file():
            continue
        data = file.read_bytes()
        try:
            json.loads(data)
            continue
        except ValueError:
            pass
        try:  # some of Tune's ".json" state files are pickles
            cloudpickle.loads(data)
        except Exception as exc:  # noqa: BLE001 - any unreadable file
            return f"{file.name}: {type(exc).__name__}"
    return None


def _move_aside(path: Path) -> Path:
    for n in range(1, 1000):
        aside = path.with_name(f"{path.name}.interrupted-{n}")
        if not aside.exists():
            path.rename(aside)
            return aside
    raise ScalperTuneError(f"{path}: too many interrupted copies beside it; delete them.")
