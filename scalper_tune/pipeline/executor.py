"""The Executor seam: how the pipeline's phases get their work done.

The pipeline (Ray-free) describes each phase's work as either

- a `MapPhase`: independent jobs over shared data (Phase 1's grid chunks, Phase 2's candidates,
  Phase 3's finalists), each job `work(payload, job) -> report`; or
- a `SearchPhase`: the refinement, seeded TPE (Optuna) with one-bracket ASHA stopping over
  `trial(payload, config)`, a generator that yields one report per walk-forward fold;

and hands it to an `Executor`. Two implement the contract:

- `scalper_tune.pipeline.local.LocalExecutor`: in this process, no Ray (one machine; the
  inner loop of the tests);
- `scalper_tune.tune.tune_executor.TuneExecutor`: Ray Tune trials (clusters, retries, node loss,
  `Tuner.restore`).

Contract (every executor):
- `map` returns one report per job, in the jobs' order, each with `time_s` (seconds the job
  ran in this invocation; 0 for work restored or reused).
- `search` returns one `TrialRecord` per trial in the order the searcher proposed them; the
  searcher is seeded TPE starting from `start_point`, told each trial's last `metric`; trials
  run one at a time (TPE's next proposal depends on every finished trial) and ASHA stops a trial
  after a report whose `metric` falls below its rung's cutoff (Ray's rule, one bracket). With
  the same seed both executors propose and stop the same trials.
- Work functions store their own results under their work keys (`scalper_tune.store`), so an
  interrupted phase started again reuses what was done: the result is the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Protocol, Sequence

from scalper_tune.config.search_space import Range

Report = dict  # JSON-able figures a job or trial reports


@dataclass(frozen=True)
class MapPhase:
    """Independent jobs over shared data. `work(payload, job)` computes (or reads from the
    work store) one job and returns its report; `metric` is the report's headline figure
    (progress: best so far, `label`; "" shows none); `gpus` per job (Tune reserves them)."""

    name: str
    work: Callable[[Any, dict], Report]
    payload: Any
    jobs: Sequence[dict]
    metric: str
    label: str | None = None
    gpus: float = 0.0


@dataclass(frozen=True)
class Asha:
    """One-bracket ASHA: rungs at grace_period x reduction_factor^k steps, up to max_t;
    `time_attr`: the report key counting steps."""

    time_attr: str
    max_t: int
    grace_period: int
    reduction_factor: float


@dataclass(frozen=True)
class SearchPhase:
    """The refinement: `trials` configurations proposed by seeded TPE over `space` (ranges;
    z_window a choice among `windows`) plus the `fixed` parameters, the first one
    `start_point`; each runs `trial(payload, config)` (yields a report per step) until it ends
    or ASHA stops it. `study_path`: where the finished Optuna study is written (SQLite)."""

    name: str
    trial: Callable[[Any, dict], Iterator[Report]]
    payload: Any
    fixed: Mapping[str, object]
    space: Mapping[str, Range]
    windows: Sequence[int]
    start_point: Mapping[str, object]
    seed: int
    trials: int
    asha: Asha
    study_path: Path
    metric: str = "objective"
    label: str | None = None


@dataclass(frozen=True)
class TrialRecord:
    """One finished refinement trial: its number (0-based, in proposal order), an id unique in
    the run, its config (fixed + proposed parameters) and its last report."""

    number: int
    trial_id: str
    config: dict
    metrics: dict = field(default_factory=dict)


class Executor(Protocol):
    """Runs the pipeline's phases (see the module docstring for the contract)."""

    name: str

    def phase1_device(self, spec) -> tuple[str, float]:
        """("cpu" | "gpu", GPUs each Phase 1 job reserves) for `phase1.device`."""

    def at(self, folder: Path) -> "Executor":
        """The executor for a part of the run kept in `folder` (a walk-forward step)."""

    def job_threads(self, ray_spec) -> int:
        """Numba threads each job uses (results do not depend on it)."""

    def map(self, phase: MapPhase) -> list[Report]:
        """One report per job, in order."""

    def search(self, phase: SearchPhase) -> list[TrialRecord]:
        """One record per trial, in proposal order."""
