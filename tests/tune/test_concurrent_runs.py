"""Two runs at once in one folder: they share the MLflow store, the feature cache and the runs
folder, and each starts its own Ray. Both must succeed with the results of a run done alone."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from filelock import FileLock
from mlflow.tracking import MlflowClient

from tests.conftest import ROOT, clean_env

SMOKE = ROOT / "experiments" / "smoke.yaml"


def _start(folder: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "scalper_tune", *args], cwd=folder,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=clean_env())


@pytest.mark.slow
def test_two_runs_started_at_once_in_a_fresh_folder(tmp_path, smoke_alone):
    procs = [_start(tmp_path, "run", str(SMOKE)) for _ in range(2)]
    outputs = [p.communicate(timeout=900) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, out[-3000:] + err[-3000:]
        assert "Traceback" not in err, err
    runs = sorted((tmp_path / "runs" / "smoke").iterdir())
    assert len(runs) == 2 and runs[0].name != runs[1].name
    for run in runs:
        assert (run / "best_config.yaml").read_bytes() == (
            smoke_alone / "best_config.yaml").read_bytes()

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    (experiment,) = [e for e in client.search_experiments() if e.name == "smoke"]
    every = client.search_runs([experiment.experiment_id], max_results=10_000)
    parents = [r for r in every if "mlflow.parentRunId" not in r.data.tags]
    assert sorted(p.info.run_name for p in parents) == [r.name for r in runs]
    children = {p.info.run_id: Counter(r.info.run_name for r in every
                                       if r.data.tags.get("root_run_id") == p.info.run_id)
                for p in parents}
    first, second = children.values()
    assert first == second and max(first.values()) == 1, (first, second)
    assert {"regimes", "phase1", "refine", "phase2", "phase3"} <= set(first)
    assert len(every) == 2 + 2 * sum(first.values())


BUILD = """
import hashlib, json, sys, time
from scalper_tune.config import SyntheticSpec
from scalper_tune.data import generate
from scalper_tune.features.cache import build
market = generate(SyntheticSpec(assets=3, bars=60000, seed=3))
while time.time() < float(sys.argv[2]):  # both builds start at the same moment
    time.sleep(0.001)
result = build(market, cache_dir=sys.argv[1])
digest = hashlib.sha256()
for symbol in sorted(result.features):
    for name in sorted(result.features[symbol]):
        digest.update(name.encode())
        digest.update(result.features[symbol][name].tobytes())
print(json.dumps({"hit": result.hit, "key": result.key, "sha": digest.hexdigest()}))
"""


@pytest.mark.slow
def test_two_feature_builds_of_one_dataset_at_once(tmp_path):
    from scalper_tune.config import SyntheticSpec
    from scalper_tune.data import generate
    from scalper_tune.features.cache import FeatureCache, build

    cache = tmp_path / "cache"
    at = str(time.time() + 8)  # after both interpreters have imported and generated
    procs = [subprocess.Popen([sys.executable, "-c", BUILD, str(cache), at], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert results[0]["key"] == results[1]["key"] and results[0]["sha"] == results[1]["sha"]
    assert not results[0]["hit"] and not results[1]["hit"]  # both really computed
    entries = [p.name for p in cache.iterdir()]
    assert entries == [results[0]["key"]], entries  # one entry, no temporary leftovers
    loaded = FeatureCache(cache).load(results[0]["key"])  # checks every file's CRC-32
    assert loaded is not None
    fresh = build(generate(SyntheticSpec(assets=3, bars=60000, seed=3)), cache_dir=None)
    for symbol, named in fresh.features.items():
        for name, values in named.items():
            assert loaded[symbol][name].tobytes() == values.tobytes(), (symbol, name)


@pytest.mark.slow
def test_a_store_locked_too_long_is_refused_and_nothing_is_written(tmp_path):
    (tmp_path / "mlruns").mkdir()
    db = tmp_path / "mlruns" / "mlflow.db"
    lock = FileLock(f"{db}.lock")
    with lock:
        Path(f"{db}.lock.owner").write_text("pid 4242 on somehost since 2026-01-01T00:00:00Z\n")
        proc = subprocess.run([sys.executable, "-m", "scalper_tune", "run", str(SMOKE)],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300,
                              env=clean_env(SCALPER_TUNE_MLFLOW_WAIT_S="2"))
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert f"MLflow store {db}: still locked after 2 s by pid 4242 on somehost" in proc.stderr
    assert not (tmp_path / "runs").exists() and not db.exists()
