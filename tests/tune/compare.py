"""What "the same result" means for a disturbed run: identical tables and best_config.yaml, and
an MLflow store with the same runs as the undisturbed run's and no duplicates."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient


def assert_same_results(run: Path, reference: Path) -> None:
    for name in ("phase1.parquet", "best_config.yaml"):
        assert (run / name).read_bytes() == (reference / name).read_bytes(), name
    # Tune's trial ids are random; everything else is equal
    pd.testing.assert_frame_equal(pd.read_parquet(run / "refine.parquet").drop(columns="trial_id"),
                                  pd.read_parquet(reference / "refine.parquet")
                                  .drop(columns="trial_id"))
    for name in ("phase2.parquet", "phase3.parquet", "test.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(run / name),
                                      pd.read_parquet(reference / name))


def mlflow_run_names(folder: Path, experiment: str = "smoke") -> Counter:
    """Active MLflow runs of `experiment` in `folder`'s store, counted by name (the parent run,
    named after the run folder, counted as 'parent')."""
    client = MlflowClient(f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=10_000)
    return Counter("parent" if "mlflow.parentRunId" not in r.data.tags else r.info.run_name
                   for r in runs)


def assert_same_mlflow_runs(folder: Path, reference: Path) -> None:
    names, expected = mlflow_run_names(folder), mlflow_run_names(reference)
    assert names == expected, (names - expected, expected - names)
    assert max(names.values()) == 1, [n for n, c in names.items() if c > 1]
