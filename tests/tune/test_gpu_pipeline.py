"""phase1.device end to end: the smoke experiment with `phase1.device: gpu` under numba's CUDA
simulator (CI has no GPU) gives the CPU run's results; `device: gpu` on a machine without one
is refused before any work, exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from tests.conftest import ROOT, clean_env
from tests.tune.compare import assert_same_results

pytestmark = pytest.mark.slow  # pipeline runs in subprocesses under the CUDA simulator


def _smoke_on(tmp_path, device: str):
    raw = yaml.safe_load((ROOT / "experiments" / "smoke.yaml").read_text())
    raw["phase1"]["device"] = device
    raw["search_space"] = str(ROOT / "search_spaces" / "smoke_grid.yaml")
    path = tmp_path / "smoke.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_phase1_on_the_gpu_kernel_equals_the_cpu_run(tmp_path, smoke_alone):
    experiment = _smoke_on(tmp_path, "gpu")
    proc = subprocess.run([sys.executable, "-m", "scalper_tune", "run", str(experiment)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=900,
                          env=clean_env(NUMBA_ENABLE_CUDASIM="1"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "phase1: the screen runs the CUDA kernel in numba's CUDA simulator" in proc.stdout
    (run,) = (tmp_path / "runs" / "smoke").iterdir()
    assert_same_results(run, smoke_alone)


def test_device_gpu_without_a_gpu_is_refused_before_any_work(tmp_path):
    experiment = _smoke_on(tmp_path, "gpu")
    proc = subprocess.run([sys.executable, "-m", "scalper_tune", "run", str(experiment)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env=clean_env())
    assert proc.returncode == 2, proc.stderr
    assert "phase1.device: gpu, but numba.cuda finds no usable GPU" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "runs").exists()
