"""A driver killed in the middle of Phase 1 (SIGKILL) loses nothing: `run --resume` reuses the
chunks already written and ends with the same phase1.parquet and best_config.yaml as an
undisturbed run with the same seed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT


def _experiment(folder: Path) -> Path:
    raw = yaml.safe_load((ROOT / "experiments" / "smoke.yaml").read_text())
    raw["search_space"] = str(ROOT / "search_spaces" / "smoke_grid.yaml")
    raw["phase1"] = {"chunk_size": 1, "keep_top": 6}  # 32 small trials: time to interrupt
    raw["refine"]["trials"] = 3
    raw["regime"]["ml_gate"] = True  # the ML gate's path through the pipeline, deterministic too
    raw["regime"]["gate_min_accuracy"] = 0.5
    path = folder / "exp.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _run(folder: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scalper_tune", "run", str(folder / "exp.yaml"),
                           *extra], cwd=folder, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_sigkill_in_phase1_then_resume(tmp_path):
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    for folder in (killed, clean):
        folder.mkdir()
        _experiment(folder)
    proc = subprocess.Popen([sys.executable, "-m", "scalper_tune", "run", "exp.yaml"], cwd=killed,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.time() + 300
    chunks: list[Path] = []
    while time.time() < deadline:
        chunks = list(killed.glob("runs/smoke/*/phase1_chunks/chunk_*.parquet"))
        if len(chunks) >= 4:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    done_before = len(list(killed.glob("runs/smoke/*/phase1_chunks/chunk_*.parquet")))
    assert 4 <= done_before < 32, done_before
    run_dir = next(killed.glob("runs/smoke/*"))
    assert not (run_dir / "phase1.parquet").exists()

    resumed = _run(killed, "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "resuming" in resumed.stdout and "Traceback" not in resumed.stderr
    assert "ml gate:" in resumed.stdout
    undisturbed = _run(clean)
    assert undisturbed.returncode == 0, undisturbed.stderr
    clean_dir = next(clean.glob("runs/smoke/*"))
    assert (run_dir / "phase1.parquet").read_bytes() == (clean_dir / "phase1.parquet").read_bytes()
    assert (run_dir / "best_config.yaml").read_bytes() == \
        (clean_dir / "best_config.yaml").read_bytes()
    print(f"chunks written before the kill: {done_before} of 32; recomputed at most "
          f"{32 - done_before}")
