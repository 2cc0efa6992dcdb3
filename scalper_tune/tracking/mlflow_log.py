"""MLflow logging, in batches (one `log_batch` per run, no per-trial driver callback).

Layout: one MLflow experiment per experiment name; one parent run per `run` invocation (tags:
data hash, config hash, git commit, package version); nested runs per phase; Phase 1's table as
a Parquet artifact plus child runs for its top configurations; one run per refinement trial;
finalist runs with plots. The default store is SQLite inside `mlruns/` (MLflow 3 refuses the
old file store by default), artifacts under `mlruns/artifacts/`.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Iterable, Mapping

from mlflow.entities import Metric, Param, RunTag

from scalper_tune import __version__
from scalper_tune.tracking.mlflow_store import RetryingClient, get_or_create_experiment

PARENT_TAG = "mlflow.parentRunId"
NAME_TAG = "mlflow.runName"
ROOT_TAG = "root_run_id"  # on every run below a parent: finds an interrupted phase's leftovers


def tracking_uri(configured: str | None, mlruns_dir: str) -> str:
    """MLFLOW_TRACKING_URI, else the YAML's, else sqlite:///<abs mlruns>/mlflow.db."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or configured
    if uri:
        return uri
    folder = Path(mlruns_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _key(name: str) -> str:
    """MLflow allows alphanumerics, _ - . space : / in names."""
    return re.sub(r"[^A-Za-z0-9_\-. :/]", "_", name)


def _metrics(values: Mapping[str, object], step: int = 0) -> list[Metric]:
    now = int(time.time() * 1000)
    out = []
    for k, v in values.items():
        k = _key(k)
        if isinstance(v, bool):
            v = float(v)
        if isinstance(v, (int, float)) and math.isfinite(float(v)):
            out.append(Metric(k, float(v), now, step))
    return out


def _params(values: Mapping[str, object]) -> list[Param]:
    return [Param(k, str(v)[:500]) for k, v in values.items()]


class Tracker:
    """A parent run and its children, written with MlflowClient batches."""

    def __init__(self, client: RetryingClient, experiment_id: str, parent: str):
        self.client, self.experiment_id, self.parent = client, experiment_id, parent

    @classmethod
    def start(cls, client: RetryingClient, uri: str, experiment: str, mlruns_dir: str,
              run_name: str, tags: Mapping[str, str]) -> "Tracker":
        """A new parent run in `experiment` (created when missing)."""
        experiment_id = get_or_create_experiment(client, experiment, uri, mlruns_dir)
        all_tags = {"scalper_tune.version": __version__, "git_commit": git_commit(), **tags}
        parent = client.create_run(experiment_id, run_name=run_name, tags=all_tags).info.run_id
        return cls(client, experiment_id, parent)

    def child(self, name: str, params: Mapping[str, object] | None = None,
              metrics: Mapping[str, object] | None = None, tags: Mapping[str, str] | None = None,
              parent: str | None = None) -> str:
        """Create a finished child run with its params and metrics in one batch."""
        run_tags = {PARENT_TAG: parent or self.parent, NAME_TAG: name, ROOT_TAG: self.parent,
                    **(tags or {})}
        run = self.client.create_run(self.experiment_id, run_name=name, tags=run_tags)
        run_id = run.info.run_id
        self.client.log_batch(run_id, metrics=_metrics(metrics or {}),
                              params=_params(params or {}))
        self.client.set_terminated(run_id)
        return run_id

    def open_child(self, name: str, tags: Mapping[str, str] | None = None) -> str:
        run_tags = {PARENT_TAG: self.parent, NAME_TAG: name, ROOT_TAG: self.parent,
                    **(tags or {})}
        return self.client.create_run(self.experiment_id, run_name=name, tags=run_tags).info.run_id

    def log(self, run_id: str, params: Mapping[str, object] | None = None,
            metrics: Mapping[str, object] | None = None) -> None:
        self.client.log_batch(run_id, metrics=_metrics(metrics or {}),
                              params=_params(params or {}))

    def artifacts(self, run_id: str, paths: Iterable[Path], folder: str | None = None) -> None:
        for path in paths:
            self.client.log_artifact(run_id, str(path), artifact_path=folder)

    def artifact_dir(self, run_id: str, folder: Path, name: str) -> None:
        """A whole folder (with subfolders) as the run's artifact folder `name`."""
        self.client.log_artifacts(run_id, str(folder), artifact_path=name)

    def delete_leftovers(self, phase: str) -> int:
        """Delete the runs an interrupted attempt logged for `phase` under this parent (a
        resumed run logs the phase again, whole); returns how many."""
        runs = self.client.search_runs(
            [self.experiment_id], max_results=10_000,
            filter_string=f"tags.{ROOT_TAG} = '{self.parent}' and tags.phase = '{phase}'")
        for run in runs:
            self.client.delete_run(run.info.run_id)
        return len(runs)

    def finish(self, run_id: str, status: str = "FINISHED") -> None:
        self.client.set_terminated(run_id, status=status)

    def tag(self, run_id: str, tags: Mapping[str, str]) -> None:
        self.client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])
