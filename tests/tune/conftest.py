"""The experiment the failure tests disturb, and its undisturbed run (made once per session)."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

CHUNKS = 96  # one-combination chunks (about 30 ms each): a Phase 1 long enough to interrupt
REFINE_TRIALS = 60  # about 40 ms each: 2-3 s of refinement to interrupt


def write_failure_experiment(folder: Path) -> Path:
    """smoke.yaml on a 96-combination grid, one combination per chunk, 60 refinement trials
    and 3 retries."""
    space = yaml.safe_load((ROOT / "search_spaces" / "smoke_grid.yaml").read_text())
    space["grid"]["ou_exit_frac"] = [0.0, 0.25, 0.5]
    space["grid"]["stop_loss"] = [0.005, 0.01, 0.02, 0.03]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "space.yaml").write_text(yaml.safe_dump(space))
    raw = yaml.safe_load((ROOT / "experiments" / "smoke.yaml").read_text())
    raw["search_space"] = "space.yaml"
    raw["phase1"] = {"chunk_size": 1, "keep_top": 6}
    raw["refine"]["trials"] = REFINE_TRIALS
    raw["ray"]["max_failures"] = 3
    path = folder / "exp.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def run_dir(folder: Path) -> Path:
    runs = sorted((folder / "runs" / "smoke").iterdir())
    assert len(runs) == 1, runs
    return runs[0]


@dataclass(frozen=True)
class Finished:
    folder: Path
    run: Path
    wall_s: float
    out: str


@pytest.fixture(scope="session")
def undisturbed(tmp_path_factory) -> Finished:
    """The failure experiment run once, start to end, in a child process."""
    folder = tmp_path_factory.mktemp("undisturbed")
    write_failure_experiment(folder)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "scalper_tune", "run", "exp.yaml"], cwd=folder,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return Finished(folder, run_dir(folder), time.perf_counter() - started, proc.stdout)
