"""`TuneExecutor`: the pipeline's phases as Ray Tune experiments (pipeline/executor.py has the
contract). A map phase is a grid search over its jobs, one trial each; the refinement is
OptunaSearch (seeded TPE, one trial at a time) with `ResumableASHA`. The shared data travels
once through Ray's object store (`tune.with_parameters`); trials retry on failure
(FailureConfig) and an interrupted phase continues with `Tuner.restore` (tune/tuner.py)."""

from __future__ import annotations

from pathlib import Path

from ray import tune
from ray.tune import TuneConfig
from ray.tune.search import ConcurrencyLimiter

from scalper_tune.config.pipeline_spec import RaySpec
from scalper_tune.pipeline.executor import MapPhase, Report, SearchPhase, TrialRecord
from scalper_tune.tune.asha import ResumableASHA, export_study, make_searcher, tune_space
from scalper_tune.tune.gpu_trials import phase1_device
from scalper_tune.tune.tuner import run_phase


def map_trainable(config: dict, work=None, payload=None, jobs=None) -> None:
    """One job of a map phase (its position in the jobs: `config["job"]`)."""
    tune.report(work(payload, jobs[int(config["job"])]))


def search_trainable(config: dict, trial=None, payload=None) -> None:
    """One refinement trial: a Tune report per step the trial yields."""
    for report in trial(payload, config):
        tune.report(report)


class TuneExecutor:
    """Runs each phase as a Tune experiment under `storage` (the run folder's `tune/`), with
    the experiment's `ray` settings (trials at once, CPUs per trial, retries)."""

    name = "ray"

    def __init__(self, ray_spec: RaySpec, storage: Path, verbose: bool = False):
        self.ray_spec, self.storage, self.verbose = ray_spec, Path(storage), verbose

    def phase1_device(self, spec) -> tuple[str, float]:
        return phase1_device(spec)

    def at(self, folder: Path) -> "TuneExecutor":
        """The executor for a part of the run (a walk-forward step) in `folder`: its Tune
        experiments under `folder/tune`."""
        return TuneExecutor(self.ray_spec, Path(folder) / "tune", self.verbose)

    def job_threads(self, ray_spec: RaySpec) -> int:
        return ray_spec.cpus_per_trial

    def _run(self, name, trainable, param_space, total, metric, make_config, label, gpus=0.0):
        spec = self.ray_spec
        return run_phase(name, trainable, param_space, self.storage, make_config,
                         spec.cpus_per_trial, spec.max_failures, total, metric, self.verbose,
                         label=label, gpus_per_trial=gpus)

    def map(self, phase: MapPhase) -> list[Report]:
        jobs = list(phase.jobs)
        trainable = tune.with_parameters(map_trainable, work=phase.work, payload=phase.payload,
                                         jobs=jobs)

        def make_config() -> TuneConfig:
            return TuneConfig(metric=phase.metric, mode="max", reuse_actors=True,
                              max_concurrent_trials=self.ray_spec.max_concurrent)

        grid = self._run(phase.name, trainable,
                         {"job": tune.grid_search(list(range(len(jobs))))}, len(jobs),
                         phase.metric, make_config, phase.label, phase.gpus)
        reports: list = [None] * len(jobs)
        for result in grid:
            metrics = dict(result.metrics)
            metrics.pop("config", None)
            reports[int(result.config["job"])] = dict(metrics, time_s=metrics["time_total_s"])
        return reports

    def search(self, phase: SearchPhase) -> list[TrialRecord]:
        asha = phase.asha

        def make_config() -> TuneConfig:
            return TuneConfig(
                metric=phase.metric, mode="max",
                # one trial at a time: TPE's next suggestion depends on every finished trial
                search_alg=ConcurrencyLimiter(make_searcher(phase.seed, dict(phase.start_point),
                                                            phase.metric), max_concurrent=1),
                scheduler=ResumableASHA(time_attr=asha.time_attr, max_t=asha.max_t,
                                        grace_period=asha.grace_period,
                                        reduction_factor=asha.reduction_factor),
                num_samples=phase.trials, reuse_actors=True)

        param_space = dict(phase.fixed, **tune_space(phase.space, phase.windows))
        trainable = tune.with_parameters(search_trainable, trial=phase.trial,
                                         payload=phase.payload)
        grid = self._run(phase.name, trainable, param_space, phase.trials, "robustness",
                         make_config, phase.label)
        export_study(self.storage / phase.name, phase.study_path)
        records = []
        for result in grid:
            m = dict(result.metrics)
            m.pop("config", None)
            number = int(str(m["experiment_tag"]).split("_")[0]) - 1
            records.append(TrialRecord(number, str(m["trial_id"]), dict(result.config),
                                       dict(m, time_s=m["time_total_s"])))
        return sorted(records, key=lambda r: r.number)
