"""Walk-forward re-optimisation on a multi-node Ray cluster, a worker node killed while a
step's trial runs on it: Tune retries the step elsewhere, the step continues from the tables it
had written, and the run ends identical to the undisturbed local run (the steps run as Tune
trials on the cluster, in process locally: the same results either way)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT, run_local
from tests.pipeline.test_walk_forward import STEPS, write_experiment
from tests.tune.compare import mlflow_run_names

TABLES = ("phase1.parquet", "refine.parquet", "phase2.parquet", "phase3.parquet",
          "test.parquet", "oos_trades.parquet")


def only_run(folder):
    (run,) = (folder / "runs" / "smoke").iterdir()
    return run


@pytest.mark.slow
def test_a_lost_worker_node_changes_no_step(tmp_path):
    reference = tmp_path / "local"
    assert run_local(reference, write_experiment(reference)) == 0
    folder = tmp_path / "cluster"
    path = write_experiment(folder)
    raw = yaml.safe_load(path.read_text())
    raw["ray"]["max_failures"] = 3
    path.write_text(yaml.safe_dump(raw))
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "tune" / "cluster_run.py"),
                             str(folder)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=900)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode == 0, out[-4000:] + err[-4000:]
    events = [line for line in out.splitlines() if line.startswith("cluster: ")]
    assert any("removed worker 1 while step_" in e for e in events), events
    run, ref = only_run(folder), only_run(reference)
    assert list((run / "tune").glob("walk-forward steps*/*/error.txt")), "no step trial failed"
    assert (run / "best_config.yaml").read_bytes() == (ref / "best_config.yaml").read_bytes()
    for name in ("walk_forward.parquet", "oos_equity.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(run / name), pd.read_parquet(ref / name))
    for k in range(STEPS):
        for name in TABLES:
            step = f"steps/step_{k:02d}/{name}"
            pd.testing.assert_frame_equal(pd.read_parquet(run / step),
                                          pd.read_parquet(ref / step), obj=step)
    assert mlflow_run_names(folder) == mlflow_run_names(reference)
