"""`run_experiment`: one experiment, start to end (or continued with `resume`), on an executor:
`"ray"` (Ray Tune trials on a private local Ray or the cluster at `address`) or `"local"` (in
this process, no Ray). The run order itself is `scalper_tune.pipeline.run_pipeline`; this module
wires it to Ray and to MLflow. Progress goes to the `scalper_tune.run` logger (and an optional
callback); nothing is printed here.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import Callable

from scalper_tune.config.experiment import LoadedExperiment, load_experiment
from scalper_tune.data.market import MarketData
from scalper_tune.errors import Interrupted, UsageError
from scalper_tune.pipeline import LocalExecutor, RunResult, check_inputs, open_folder, run_pipeline
from scalper_tune.tracking.pipeline_log import PipelineTracker, open_store

log = logging.getLogger("scalper_tune.run")
EXECUTORS = ("ray", "local")

__all__ = ["EXECUTORS", "RunResult", "run_experiment"]


class _Forward(logging.Handler):
    def __init__(self, callback: Callable[[str], None]):
        super().__init__(logging.INFO)
        self.callback = callback

    def emit(self, record: logging.LogRecord) -> None:
        self.callback(record.getMessage())


@contextlib.contextmanager
def _progress(callback: Callable[[str], None] | None):
    logger = logging.getLogger("scalper_tune")
    handler = _Forward(callback) if callback is not None else None
    old = logger.level
    if handler is not None:
        logger.addHandler(handler)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        if handler is not None:
            logger.removeHandler(handler)
            logger.setLevel(old)


def run_experiment(experiment: str | Path | LoadedExperiment, *, resume: str | bool | None = None,
                   address: str | None = None, verbose: bool = False,
                   progress: Callable[[str], None] | None = None,
                   market: MarketData | None = None, executor: str = "ray") -> RunResult:
    """Run (or, with `resume` = True or a run folder, continue) every phase of an experiment
    (a YAML path or a loaded experiment). `executor`: "ray" (Tune trials on a local Ray or the
    cluster at `address`) or "local" (this process, no Ray; `address` must be None).
    `progress` receives each progress line; they also go to the `scalper_tune.run` logger.
    `market`: the experiment's data when already loaded (else it is loaded here)."""
    if executor not in EXECUTORS:
        raise UsageError(f"executor {executor!r}: choose one of {', '.join(EXECUTORS)}.")
    if executor == "local" and address:
        raise UsageError(f"address {address}: the local executor runs without Ray; leave the "
                         "address out or use the ray executor.")
    loaded = (experiment if isinstance(experiment, LoadedExperiment)
              else load_experiment(experiment))
    exp = loaded.experiment
    with _progress(progress):
        started = time.perf_counter()
        folder, market = check_inputs(loaded, resume, market)
        if executor == "ray":
            from scalper_tune.tune.tuner import init_ray

            init_ray(address or exp.ray.address, verbose)
        store = open_store(exp)  # a busy store refuses the run before a folder exists
        folder = open_folder(loaded, folder, market)
        log.info(f"run folder {folder.path}")
        if executor == "ray":
            from scalper_tune.tune.tune_executor import TuneExecutor

            runner = TuneExecutor(exp.ray, folder.path / "tune", verbose)
        else:
            runner = LocalExecutor()
        try:
            tracker = PipelineTracker.for_run(folder, exp, market.content_hash(), store)
            return run_pipeline(loaded, market, folder, runner, tracker, started=started)
        except KeyboardInterrupt:
            flag = "" if executor == "ray" else " --executor local"
            raise Interrupted(f"interrupted; finished work is kept. Continue with: python -m "
                              f"scalper_tune run {loaded.path}{flag} --resume {folder.path}"
                              ) from None
