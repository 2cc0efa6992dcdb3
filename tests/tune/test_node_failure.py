"""Node loss on a multi-node Ray cluster: with FailureConfig(max_failures=3) the trials on a
killed worker node are retried elsewhere and the run ends with the same results as an
undisturbed run (identical phase1.parquet and best_config.yaml)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.tune.compare import assert_same_mlflow_runs, assert_same_results
from tests.tune.conftest import run_dir, write_failure_experiment


def _failed(run: Path, phase: str) -> int:
    """Trials of `phase` that failed at least once (Tune writes error.txt into the trial's
    folder), in the experiment and in attempts the run set aside and started again."""
    return len(list((run / "tune").glob(f"{phase}*/*/error.txt")))


@pytest.mark.slow
def test_worker_nodes_killed_in_phase1_and_refinement(tmp_path, undisturbed):
    folder = tmp_path / "cluster"
    write_failure_experiment(folder)
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "tune" / "cluster_run.py"),
                             str(folder)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=900)
    finally:  # the cluster's processes go with it, whatever happened
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode == 0, out[-4000:] + err[-4000:]
    assert "Traceback" not in err, err[-4000:]
    events = [line for line in out.splitlines() if line.startswith("cluster: ")]
    assert any("removed worker 1 in Phase 1" in e for e in events), events
    assert any("removed worker 2 in refinement" in e for e in events), events
    run = run_dir(folder)
    # the node losses hit running trials, which Tune retried on the surviving/new node (or the
    # phase started again when Tune gave up on one: see tune/tuner.py)
    assert _failed(run, "phase1") >= 1
    assert _failed(run, "refine") >= 1
    assert_same_results(run, undisturbed.run)
    assert_same_mlflow_runs(folder, undisturbed.folder)
    print("\n" + "\n".join(events))
