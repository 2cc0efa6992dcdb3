"""A run killed while it logs a phase to MLflow: the resumed run deletes that attempt's runs
before logging the phase again, so the store never holds duplicates."""

from __future__ import annotations

from mlflow.tracking import MlflowClient

from scalper_tune.tracking.mlflow_log import Tracker
from scalper_tune.tracking.mlflow_store import open_client


def _active(client: MlflowClient, experiment_id: str) -> list[str]:
    return sorted(r.info.run_name for r in client.search_runs([experiment_id], max_results=1000))


def test_leftovers_of_an_interrupted_phase_are_deleted(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = open_client(uri)
    tracker = Tracker.start(client, uri, "exp", str(tmp_path), "run-1", {"data_hash": "x"})
    other = Tracker.start(client, uri, "exp", str(tmp_path), "run-2", {"data_hash": "x"})
    done = tracker.open_child("phase1", tags={"phase": "phase1"})
    tracker.finish(done)
    # the kill: the refine phase run and one of its trial runs were written, the rest not
    refine = tracker.open_child("refine", tags={"phase": "refine"})
    tracker.child("refine-000", params={"entry_z": 2.0}, metrics={"score": 1.0}, parent=refine,
                  tags={"phase": "refine"})
    other.child("refine-000", tags={"phase": "refine"})  # another run's: not touched

    assert tracker.delete_leftovers("refine") == 2
    client = tracker.client
    assert _active(client, tracker.experiment_id) == ["phase1", "refine-000", "run-1", "run-2"]
    assert tracker.delete_leftovers("refine") == 0
    remaining = client.search_runs([tracker.experiment_id], filter_string="tags.phase = 'refine'")
    assert [r.data.tags["mlflow.parentRunId"] for r in remaining] == [other.parent]
