"""`LocalExecutor`: the pipeline's phases in this process, without Ray.

Jobs run one after another with the experiment's Numba threads (`ray.cpus_per_trial`, or every
core with `threads=0`); their results live in the run folder's work store as with Tune, so an
interrupted run continues with `--resume` where it stopped. The refinement is Optuna's TPE
(seeded exactly as Ray's `OptunaSearch` seeds it: same distributions, same enqueued start
point, the same values told) with the ASHA rule of Ray's `ASHAScheduler` (one bracket), so a
local run proposes and stops the same trials as a Tune run: tables and best_config.yaml are
identical (tests/pipeline/test_executors.py).
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import optuna

from scalper_tune.config.search_space import Range
from scalper_tune.config.strategy_params import PARAMS
from scalper_tune.pipeline.devices import check_device
from scalper_tune.pipeline.executor import Asha, MapPhase, Report, SearchPhase, TrialRecord
from scalper_tune.pipeline.study import export_study

log = logging.getLogger("scalper_tune.run")


class AshaRungs:
    """The stopping rule of Ray's ASHAScheduler with one bracket (`stop_last_trials`): rungs at
    grace_period x rf^k; a trial reaching a rung is stopped when its value is below the
    (1 - 1/rf) percentile of the values recorded there before it; a report at max_t ends it."""

    def __init__(self, asha: Asha):
        rf, min_t = asha.reduction_factor, asha.grace_period
        n = int(np.log(asha.max_t / min_t) / np.log(rf) + 1)
        self.rf, self.max_t = rf, asha.max_t
        self.rungs: list[tuple[float, dict]] = [(min_t * rf ** k, {}) for k in reversed(range(n))]

    def _record(self, trial: int, step: int, value: float) -> bool:
        """Record `value` at the highest rung `step` reached that has none of `trial`; True when
        it is below that rung's cutoff."""
        for milestone, recorded in self.rungs:
            if step < milestone or trial in recorded:
                continue
            below = bool(recorded) and value < np.nanpercentile(list(recorded.values()),
                                                                (1 - 1 / self.rf) * 100)
            recorded[trial] = value
            return below
        return False

    def on_result(self, trial: int, step: int, value: float) -> bool:
        """True: stop the trial after this report."""
        if step >= self.max_t:
            return True
        return self._record(trial, step, value)

    def on_complete(self, trial: int, step: int, value: float) -> None:
        self._record(trial, step, value)


def distributions(space: Mapping[str, Range], windows: Sequence[int]) -> dict:
    """Refinement ranges as Optuna distributions, as Ray's OptunaSearch converts the Tune
    domains of `tune.asha.tune_space` (integer ranges inclusive of `high`)."""
    out: dict = {}
    for name, rng in space.items():
        kind = PARAMS[name].kind
        if name == "z_window":
            out[name] = optuna.distributions.CategoricalDistribution(list(windows))
        elif kind == "choice":
            out[name] = optuna.distributions.CategoricalDistribution(list(rng.choices))
        elif kind == "int":
            out[name] = optuna.distributions.IntDistribution(int(rng.low), int(rng.high),
                                                             log=rng.log)
        else:
            out[name] = optuna.distributions.FloatDistribution(rng.low, rng.high, log=rng.log)
    return out


class LocalExecutor:
    """Runs every phase in this process (see the module docstring). `threads`: Numba threads
    for the kernels (0: the experiment's `ray.cpus_per_trial`)."""

    name = "local"

    def __init__(self, threads: int = 0):
        self.threads = threads
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # progress lines come from here

    def phase1_device(self, spec) -> tuple[str, float]:
        return ("gpu" if check_device(spec) else "cpu"), 0.0

    def at(self, folder: Path) -> "LocalExecutor":
        """The executor for a run folder's part (its work store is the folder's)."""
        return self

    def job_threads(self, ray_spec) -> int:
        return self.threads or default_threads()

    def map(self, phase: MapPhase) -> list[Report]:
        reports: list[Report] = []
        best, started = -math.inf, time.perf_counter()
        for i, job in enumerate(phase.jobs, start=1):
            t0 = time.perf_counter()
            report = dict(phase.work(phase.payload, job))
            report.setdefault("time_s", time.perf_counter() - t0)
            reports.append(report)
            value = report.get(phase.metric)
            if isinstance(value, (int, float)) and math.isfinite(value):
                best = max(best, float(value))
            _progress(phase.name, i, len(phase.jobs), phase.label, phase.metric, best, started)
        return reports

    def search(self, phase: SearchPhase) -> list[TrialRecord]:
        study = optuna.create_study(storage=optuna.storages.InMemoryStorage(),
                                    sampler=optuna.samplers.TPESampler(seed=phase.seed),
                                    pruner=optuna.pruners.NopPruner(), study_name="refine",
                                    direction="maximize")
        study.enqueue_trial(dict(phase.start_point))
        space = distributions(phase.space, phase.windows)
        rungs = AshaRungs(phase.asha)
        records: list[TrialRecord] = []
        best, started = -math.inf, time.perf_counter()
        for n in range(phase.trials):
            trial = study.ask(fixed_distributions=space)
            config = dict(phase.fixed, **trial.params)
            last: Report = {}
            t0 = time.perf_counter()
            for step, report in enumerate(phase.trial(phase.payload, config), start=1):
                last = report
                value = float(report[phase.metric])
                trial.report(value, step)
                if rungs.on_result(n, int(report[phase.asha.time_attr]), value):
                    break
            value = float(last[phase.metric])
            rungs.on_complete(n, int(last[phase.asha.time_attr]), value)
            study.tell(trial, value)
            records.append(TrialRecord(n, f"local_{n + 1:05d}", config,
                                       dict(last, time_s=time.perf_counter() - t0)))
            shown = last.get("robustness")
            if isinstance(shown, (int, float)) and math.isfinite(shown):
                best = max(best, float(shown))
            _progress(phase.name, n + 1, phase.trials, phase.label, "robustness", best, started)
        export_study(study, phase.study_path)
        return records


def default_threads() -> int:
    """Every core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _progress(phase: str, done: int, total: int, label: str | None, metric: str, best: float,
              started: float) -> None:
    """The Tune executor's progress line, for the local run (every tenth job and the last)."""
    if done != total and done % max(1, total // 10):
        return
    elapsed = time.perf_counter() - started
    eta = elapsed / done * (total - done)
    shown = label if label is not None else metric
    figure = ("" if shown == "" else f"best {shown} {best:.3f}, " if best > -math.inf
              else "none judged yet, ")
    log.info(f"  {phase}: {done}/{total} jobs, {figure}elapsed {elapsed:.0f} s, ETA {eta:.0f} s")
