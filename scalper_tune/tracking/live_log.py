"""A live paper session as one MLflow run (experiment `live`): the parameters, the equity and
the fills as metrics over time, the counts of the feed's troubles, the trades CSV and the bars
as artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from scalper_tune.tracking.mlflow_log import Tracker, tracking_uri
from scalper_tune.tracking.mlflow_store import open_client

EXPERIMENT = "live"


def log_live_session(mlruns_dir: str, params: Mapping[str, object], equity: Sequence[float],
                     fills: Sequence[int], counts: Mapping[str, float],
                     artifacts: Sequence[Path], tags: Mapping[str, str]) -> str:
    """One finished run; `equity` and `fills` (cumulative) per status step. Returns its id."""
    uri = tracking_uri(None, mlruns_dir)
    tracker = Tracker.start(open_client(uri), uri, EXPERIMENT, mlruns_dir, run_name="live",
                            tags={"kind": "live paper session", **tags})
    run = tracker.parent
    tracker.log(run, params=params, metrics=counts)
    for step, (value, n) in enumerate(zip(equity, fills)):
        tracker.client.log_metric(run, "equity", float(value), step=step)
        tracker.client.log_metric(run, "fills", float(n), step=step)
    tracker.artifacts(run, [p for p in artifacts if p.is_file()])
    tracker.finish(run)
    return run

