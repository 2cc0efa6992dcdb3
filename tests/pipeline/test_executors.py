"""The Executor seam: the local executor runs the same pipeline as Ray Tune, without Ray.

- Its stopping rule is Ray's ASHA rule (compared with Ray's own scheduler, decision by
  decision, no Ray instance started).
- The smoke run on the local executor equals the Ray run: tables and best_config.yaml (slow:
  needs the Ray reference run).
- A local run continues after losing its later phases and reuses its stored work; the
  pipeline runs with a null tracker and writes no MLflow store.
"""

from __future__ import annotations

import logging
import shutil
import types

import numpy as np
import pandas as pd
import pytest

from scalper_tune.config import load_experiment
from scalper_tune.data import load
from scalper_tune.pipeline import (LocalExecutor, NullTracker, RunFolder, check_inputs,
                                   open_folder, run_pipeline)
from scalper_tune.pipeline.executor import Asha
from scalper_tune.pipeline.local import AshaRungs
from tests.conftest import ROOT, run_local

SMOKE = ROOT / "experiments" / "smoke.yaml"
TABLES = ("phase1", "refine", "phase2", "phase3", "test")


def assert_same_tables(run, reference) -> None:
    """Identical tables and best_config.yaml (trial ids name each executor's trials)."""
    for name in ("phase1.parquet", "best_config.yaml"):
        assert (run / name).read_bytes() == (reference / name).read_bytes(), name
    for name in TABLES:
        a, b = pd.read_parquet(run / f"{name}.parquet"), pd.read_parquet(reference /
                                                                         f"{name}.parquet")
        if name == "refine":
            a, b = a.drop(columns="trial_id"), b.drop(columns="trial_id")
        pd.testing.assert_frame_equal(a, b, obj=name)


@pytest.mark.parametrize("max_t,grace,rf", [(4, 1, 2), (4, 2, 2), (8, 1, 2), (8, 2, 3),
                                            (6, 1, 2.5), (1, 1, 2)])
def test_asha_rule_is_rays(max_t, grace, rf):
    """Decision by decision, AshaRungs stops what Ray's ASHAScheduler (one bracket) stops."""
    from ray.tune.schedulers import ASHAScheduler, TrialScheduler

    ray_asha = ASHAScheduler(time_attr="t", metric="v", mode="max", max_t=max_t,
                             grace_period=grace, reduction_factor=rf, brackets=1)
    ours = AshaRungs(Asha("t", max_t, grace, rf))
    rng = np.random.default_rng(max_t * 100 + grace)
    early = 0  # trials stopped before max_t
    for n in range(60):
        trial = types.SimpleNamespace(trial_id=f"t{n}")
        ray_asha.on_trial_add(None, trial)
        level = rng.normal()
        for step in range(1, max_t + 1):
            value = -1e6 if rng.random() < 0.1 else float(level + rng.normal(scale=0.3))
            result = {"t": step, "v": value}
            theirs = ray_asha.on_trial_result(None, trial, result) == TrialScheduler.STOP
            assert ours.on_result(n, step, value) == theirs, (n, step)
            if theirs:
                early += step < max_t
                break
        ray_asha.on_trial_complete(None, trial, result)
        ours.on_complete(n, step, value)
    assert early > 0 or max_t == grace


def test_local_run_continues_from_its_stored_work(smoke_run, tmp_path, run_log):
    """The later tables deleted, `--resume` recomputes them from the stored work and gets the
    same tables; Phase 1's chunks are read from disk, not computed."""
    home = tmp_path / "home"
    shutil.copytree(smoke_run.parents[2], home)
    run = home / "runs" / "smoke" / smoke_run.name
    for name in ("phase1", "refine", "phase2", "phase3", "test"):
        (run / f"{name}.parquet").unlink()
    (run / "best_config.yaml").unlink()
    assert run_local(home, SMOKE, "--resume", str(run)) == 0
    assert_same_tables(run, smoke_run)
    assert any("phase1:" in line and "reused from disk" in line and " 0 computed" in line
               for line in run_log), run_log


def test_pipeline_with_a_null_tracker(smoke_run, tmp_path, monkeypatch):
    """run_pipeline from Python: the local executor and no tracker give the reference results
    and write no MLflow store."""
    monkeypatch.chdir(tmp_path)
    logging.getLogger("scalper_tune.run").setLevel(logging.WARNING)
    loaded = load_experiment(SMOKE)
    resumed, market = check_inputs(loaded, None, load(loaded.experiment.data))
    assert resumed is None
    folder = open_folder(loaded, None, market)
    assert isinstance(folder, RunFolder)
    result = run_pipeline(loaded, market, folder, LocalExecutor(threads=1), NullTracker())
    assert_same_tables(result.path, smoke_run)
    assert result.params == pd.Series(result.best["params"]).to_dict()
    assert not (tmp_path / "mlruns").exists()


@pytest.mark.slow
def test_local_and_ray_executors_give_identical_results(smoke_run, smoke_alone):
    """The same experiment on the local executor and as Ray Tune trials."""
    assert_same_tables(smoke_run, smoke_alone)


def test_local_run_is_tracked_in_mlflow(smoke_run):
    """The MLflow tracker behind the local executor: the parent run with the chosen figures, the
    phases as nested runs, each finalist's validation equity plot (from the pipeline's curves)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{smoke_run.parents[2] / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("smoke")
    runs = client.search_runs([exp.experiment_id], max_results=500)
    by_name = {r.info.run_name: r for r in runs}
    parent = by_name[smoke_run.name]
    assert parent.data.tags["outcome"] == "chosen" and "chosen_test_sharpe" in parent.data.metrics
    for phase in ("regimes", "phase1", "refine", "phase2", "phase3"):
        assert by_name[phase].data.tags["mlflow.parentRunId"] == parent.info.run_id
    artifacts = {a.path for a in client.list_artifacts(by_name["finalist-1"].info.run_id)}
    assert {"finalist_validation_equity.png", "finalist_validation_drawdown.png"} <= artifacts
