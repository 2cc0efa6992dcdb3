"""Restore machinery of a phase: ASHA rungs rebuilt from restored trials, and a phase whose Tune
snapshot was torn by a kill starting again instead of failing."""

from __future__ import annotations

import numpy as np
import pytest
from ray import tune
from ray.tune import TuneConfig
from ray.tune.experiment import Trial
from ray.tune.schedulers import ASHAScheduler, TrialScheduler

from scalper_tune.tune.asha import ResumableASHA
from scalper_tune.tune.tuner import init_ray, run_phase

MAX_T = 8


def _scores(n_trials: int, seed: int = 3) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    return [list(np.cumsum(rng.normal(0, 1, MAX_T))) for _ in range(n_trials)]


def _run(scheduler, trial: Trial, scores: list[float]) -> list[str]:
    """Feed one trial's reports through the scheduler the way Tune does; returns the actions."""
    scheduler.on_trial_add(None, trial)
    actions, last = [], {}
    for step, value in enumerate(scores, start=1):
        last = {"folds_done": step, "score": value,
                **{f"score_at_{k}": v for k, v in enumerate(scores[:step], start=1)}}
        action = scheduler.on_trial_result(None, trial, last)
        actions.append(action)
        if action == TrialScheduler.STOP:
            break
    scheduler.on_trial_complete(None, trial, last)
    trial.run_metadata.last_result = last
    trial.set_status(Trial.TERMINATED)
    return actions


def _asha(cls):
    scheduler = cls(time_attr="folds_done", max_t=MAX_T, grace_period=1, reduction_factor=2)
    scheduler.set_search_properties("score", "max")
    return scheduler


def _rungs(scheduler) -> list:
    return [(m, sorted(r.values())) for m, r in scheduler._brackets[0]._rungs]


def test_restored_trials_rebuild_the_rungs_and_later_decisions():
    scores = _scores(12)
    original = _asha(ResumableASHA)
    trials = [Trial("__fake", stub=True, trial_id=f"t{i}") for i in range(12)]
    expected = [_run(original, t, s) for t, s in zip(trials, scores)]
    assert any(TrialScheduler.STOP in a for a in expected)  # ASHA did stop some

    # restore after trial 7: Tune adds the finished trials back, with their last results
    restored, plain = _asha(ResumableASHA), _asha(ASHAScheduler)
    for t in trials[:8]:
        restored.on_trial_add(None, t)
        plain.on_trial_add(None, t)
    partial = _asha(ResumableASHA)
    for t, s in zip([Trial("__fake", stub=True, trial_id=f"p{i}") for i in range(8)], scores):
        _run(partial, t, s)
    assert _rungs(restored) == _rungs(partial)
    assert all(not r for _, r in _rungs(plain))  # Tune's own ASHA forgets (Ray issue 30838)

    # the trials after the restore are stopped exactly as in the undisturbed run
    fresh = [Trial("__fake", stub=True, trial_id=f"n{i}") for i in range(8, 12)]
    assert [_run(restored, t, s) for t, s in zip(fresh, scores[8:])] == expected[8:]
    assert [_run(plain, t, s) for t, s in zip(fresh, scores[8:])] != expected[8:]


@pytest.mark.slow
@pytest.mark.parametrize("torn", ["experiment_state-*.json", "callback-states-*.pkl"])
def test_a_torn_snapshot_starts_the_phase_again(tmp_path, ray_session, run_log, torn):
    init_ray(None, verbose=False)

    def trainable(config):  # nested: pickled by value, whatever the workers' folder
        tune.report({"value": config["x"] * 2})

    def phase():
        return run_phase("toy", trainable, {"x": tune.grid_search([1, 2, 3])}, tmp_path,
                         lambda: TuneConfig(metric="value", mode="max"), 1, 0, 3, "value",
                         verbose=False)

    phase()
    files = list((tmp_path / "toy").glob(torn))
    assert files
    for file in files:  # a kill in the middle of Tune's copy
        file.write_bytes(file.read_bytes()[:40])
    grid = phase()
    out = "\n".join(run_log)
    assert "cannot continue Tune's experiment" in out
    assert "toy.interrupted-1" in out
    assert (tmp_path / "toy.interrupted-1").is_dir()
    assert sorted(r.metrics["value"] for r in grid) == [2, 4, 6]
