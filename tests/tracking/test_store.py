"""Opening one new MLflow store from several processes at the same moment: exactly one creates
and migrates it under the lock, the others wait and use it (without the lock MLflow's migration
races: `duplicate column name: step`)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # several processes opening one store

OPEN = """
import json, sys, time
from scalper_tune.tracking.mlflow_store import get_or_create_experiment, open_client

uri = f"sqlite:///{sys.argv[1]}"
while time.time() < float(sys.argv[2]):
    time.sleep(0.001)
client = open_client(uri)
exp = get_or_create_experiment(client, "shared", uri, sys.argv[3])
run = client.create_run(exp).info.run_id
client.log_metric(run, "x", 1.0)
print(json.dumps({"experiment": exp, "run": run}))
"""


def test_processes_opening_a_new_store_at_once_all_succeed(tmp_path):
    db = tmp_path / "mlruns" / "mlflow.db"
    at = str(time.time() + 6)
    procs = [subprocess.Popen([sys.executable, "-c", OPEN, str(db), at, str(tmp_path / "mlruns")],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "Traceback" not in err, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert len({r["experiment"] for r in results}) == 1  # one experiment, created once
    assert len({r["run"] for r in results}) == 3
    assert not (tmp_path / "mlruns" / "mlflow.db.lock.owner").exists()
