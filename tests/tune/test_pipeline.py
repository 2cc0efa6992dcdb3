"""The tuning pipeline end to end: experiments/smoke.yaml through the real CLI, the MLflow store
read back with MlflowClient, best_config.yaml into `backtest`, and determinism."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import optuna
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # runs the pipeline on Ray

SMOKE = ROOT / "experiments" / "smoke.yaml"


def _run_in(folder: Path, cli, *extra) -> Path:
    old = os.getcwd()
    os.chdir(folder)
    try:
        result = cli("run", SMOKE, *extra)
    finally:
        os.chdir(old)
    assert result.code == 0, result.out + result.err
    assert "Traceback" not in result.err
    runs = sorted((folder / "runs" / "smoke").iterdir())
    return runs[-1]


def test_smoke_pipeline_and_mlflow_store(cli, tmp_path, ray_session, smoke_alone):
    """The smoke run (the session's reference run, made by the real entry point) read back."""
    first = smoke_alone
    home = smoke_alone.parents[2]
    for name in ("phase1.parquet", "refine.parquet", "phase2.parquet", "phase3.parquet",
                 "test.parquet", "best_config.yaml", "experiment.yaml", "state.json"):
        assert (first / name).is_file(), name
    phase1 = pd.read_parquet(first / "phase1.parquet")
    assert len(phase1) == 32 and phase1["combo_id"].tolist() == list(range(32))
    assert phase1["confirmed"].sum() == 6 and {
        "consistency", "robustness_train", "engine_robustness", "plateau", "passes_train",
        "max_dd_train", "sharpe_f0", "sharpe_f3"} <= set(phase1.columns)
    phase3 = pd.read_parquet(first / "phase3.parquet")
    assert {"crash_2022", "fees_x2", "spreads_x3", "latency_plus2"} <= set(phase3["scenario"])
    assert phase3["reason"].str.contains("Sharpe").all()

    # MLflow: one parent with tags, nested phases, one run per refinement trial, artifacts
    client = MlflowClient(f"sqlite:///{home / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("smoke")
    runs = client.search_runs([exp.experiment_id], max_results=500)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1
    parent = parents[0]
    for tag in ("data_hash", "config_hash", "git_commit", "scalper_tune.version"):
        assert parent.data.tags.get(tag), tag
    for metric in ("phase1_wall_s", "phase1_kernel_s", "phase1_bar_evals", "refine_wall_s",
                   "phase2_wall_s", "phase3_wall_s", "pbo", "chosen_val_sharpe",
                   "chosen_test_sharpe", "n_trials", "n_effective"):
        assert metric in parent.data.metrics, metric
    # the UI opens the experiment on its training runs; the runs table names the dataset
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"
    (dataset_input,) = parent.inputs.dataset_inputs
    assert dataset_input.dataset.name == "synthetic-3x24000-seed7"
    assert dataset_input.dataset.digest == parent.data.tags["data_hash"][:36]
    assert '"bars": 24000' in dataset_input.dataset.source
    assert "Top finalists" in parent.data.tags["mlflow.note.content"]
    assert parent.data.tags["outcome"] == "chosen"
    by_name = {r.info.run_name: r for r in runs}
    for phase in ("regimes", "phase1", "refine", "phase2", "phase3"):
        assert by_name[phase].data.tags["mlflow.parentRunId"] == parent.info.run_id
    regimes = by_name["regimes"]
    assert 0 < regimes.data.metrics["balanced_accuracy"] <= 1
    assert "recall_toxic" in regimes.data.metrics
    assert [a.path for a in client.list_artifacts(regimes.info.run_id)] == ["confusion_matrix.csv"]
    assert (first / "regimes.npz").is_file()
    counts = Counter(r.data.tags.get("phase") for r in runs)
    refine_trials = [r for r in runs if r.info.run_name.startswith("refine-")]
    refine = pd.read_parquet(first / "refine.parquet")
    assert len(refine_trials) == 6 == len(refine)
    # the Optuna study, written from Tune's final snapshot of the searcher
    study = optuna.load_study(study_name="refine", storage=f"sqlite:///{first / 'optuna.db'}")
    assert len(study.trials) == 6 and study.best_value == refine["robustness"].max()
    artifacts = [a.path for a in client.list_artifacts(by_name["phase1"].info.run_id)]
    assert "phase1.parquet" in artifacts
    local = client.download_artifacts(by_name["phase1"].info.run_id, "phase1.parquet",
                                      str(tmp_path))
    assert len(pd.read_parquet(local)) == 32
    finalist = by_name["finalist-1"]
    names = {a.path for a in client.list_artifacts(finalist.info.run_id)}
    assert {"finalist_validation_equity.png", "finalist_validation_drawdown.png",
            "finalist_train_regimes.png"} <= names
    assert counts["phase3"] >= 3

    # best_config.yaml loads into backtest --params
    config = yaml.safe_load((first / "best_config.yaml").read_text())
    assert set(config) >= {"params", "costs", "account", "meta"}
    ds = tmp_path / "ds"
    assert cli("data", "synth", "--out", ds, "--assets", "3", "--bars", "24000").code == 0
    bt = cli("backtest", "--data", ds, "--params", first / "best_config.yaml", "--no-cache")
    assert bt.code == 0, bt.err

    # resume of a finished run (in this process): every phase read from disk, no new MLflow runs
    again = _run_in(home, cli, "--resume")
    assert again == first
    assert len(client.search_runs([exp.experiment_id], max_results=500)) == len(runs)


def test_same_seed_same_results_with_one_or_two_concurrent_trials(cli, tmp_path, ray_session,
                                                                  smoke_alone):
    """Run a: trials two at a time (the default on 2 CPUs; the reference run, in its own
    process); run b: one at a time, in this process."""
    import yaml

    (tmp_path / "b").mkdir()
    raw = yaml.safe_load(SMOKE.read_text())
    raw["search_space"] = str(ROOT / "search_spaces" / "smoke_grid.yaml")
    raw["ray"]["max_concurrent"] = 1
    (tmp_path / "serial.yaml").write_text(yaml.safe_dump(raw))
    a = smoke_alone
    old = os.getcwd()
    os.chdir(tmp_path / "b")
    try:
        assert cli("run", tmp_path / "serial.yaml").code == 0
    finally:
        os.chdir(old)
    b = next((tmp_path / "b" / "runs" / "smoke").iterdir())
    pd.testing.assert_frame_equal(pd.read_parquet(a / "phase1.parquet"),
                                  pd.read_parquet(b / "phase1.parquet"))
    assert (a / "phase1.parquet").read_bytes() == (b / "phase1.parquet").read_bytes()
    assert (a / "best_config.yaml").read_bytes() == (b / "best_config.yaml").read_bytes()
    pd.testing.assert_frame_equal(pd.read_parquet(a / "refine.parquet").drop(columns="trial_id"),
                                  pd.read_parquet(b / "refine.parquet").drop(columns="trial_id"))
    pd.testing.assert_frame_equal(pd.read_parquet(a / "phase2.parquet"),
                                  pd.read_parquet(b / "phase2.parquet"))


def test_bad_experiment_exit_2(cli, tmp_path):
    assert cli("run", tmp_path / "missing.yaml").code == 2
