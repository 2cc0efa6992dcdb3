"""A driver stopped or killed at any point loses nothing: Ctrl-C in Phase 1 (exit 130 and the
resume command), SIGKILL of the driver alone later in Phase 1 (its Ray processes left behind),
SIGKILL of the whole process group in the middle of refinement; `run --resume` after each, and
the end result equals an undisturbed run's: identical phase1.parquet and best_config.yaml, equal
refinement, Phase 2 and Phase 3 tables, and the same MLflow runs without duplicates."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tune.compare import assert_same_mlflow_runs, assert_same_results
from tests.tune.conftest import CHUNKS, REFINE_TRIALS, run_dir, write_failure_experiment


class Attempt:
    """One `run` in its own process group, output to files in the experiment folder."""

    def __init__(self, folder: Path, n: int, *extra: str):
        self.out, self.err = folder / f"out{n}.txt", folder / f"err{n}.txt"
        # Tune snapshots every 0.5 s (default 2 s), so that a kill finds finished trials in it
        env = dict(os.environ, TUNE_GLOBAL_CHECKPOINT_S="0.5")
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "scalper_tune", "run", "exp.yaml",
                                          *extra], cwd=folder, stdout=out, stderr=err, env=env,
                                         start_new_session=True)
        self.started = time.perf_counter()

    def wait_for(self, condition, what: str, timeout: float = 300) -> None:
        deadline = time.time() + timeout
        while not condition():
            assert self.proc.poll() is None, f"ended before {what}: {self.text()}"
            assert time.time() < deadline, f"timed out waiting for {what}"
            time.sleep(0.02)

    def stop(self, sig: int, group: bool = True) -> float:
        # a kill while Tune copies a new snapshot tears it; that path has its own test
        # (test_tuner.py); here the snapshot of the moment is complete
        time.sleep(0.3)
        (os.killpg if group else os.kill)(self.proc.pid, sig)
        self.proc.wait(timeout=120)
        return time.perf_counter() - self.started

    def finish(self) -> float:
        self.proc.wait(timeout=600)
        return time.perf_counter() - self.started

    def text(self) -> str:
        return self.out.read_text() + self.err.read_text()


def _chunks(run: Path) -> int:
    return len(list(run.glob("phase1_chunks/chunk_*.parquet")))


def _snapshot_finished(run: Path, phase: str) -> int:
    """Finished trials in Tune's newest snapshot of `phase` (what Tuner.restore brings back)."""
    states = sorted(run.glob(f"tune/{phase}/experiment_state-*.json"),
                    key=lambda p: p.stat().st_mtime)
    try:
        return states[-1].read_text().count('\\"status\\": \\"TERMINATED\\"') if states else 0
    except OSError:  # replaced while read
        return 0


def _in_refinement(run: Path) -> bool:
    """At least 8 refinement trials finished in Tune's snapshot, the phase not done."""
    return _snapshot_finished(run, "refine") >= 8 and not (run / "refine.parquet").exists()


@pytest.mark.slow
def test_ctrl_c_and_two_kills_then_resume_equal_an_undisturbed_run(tmp_path, undisturbed):
    folder = tmp_path / "disturbed"
    write_failure_experiment(folder)
    groups: list[int] = []
    try:
        # 1. Ctrl-C (SIGINT to the process group, as a terminal sends it) in Phase 1
        first = Attempt(folder, 1)
        groups.append(first.proc.pid)
        first.wait_for(lambda: (folder / "runs").exists() and any(folder.glob("runs/smoke/*"))
                       and _chunks(run_dir(folder)) >= 3, "3 Phase 1 chunks")
        run = run_dir(folder)
        wall = first.stop(signal.SIGINT)
        assert first.proc.returncode == 130, first.text()
        err = first.err.read_text()
        assert "Traceback" not in err
        assert f"Continue with: python -m scalper_tune run exp.yaml --resume {run}" in err
        after_first = _chunks(run)

        # 2. SIGKILL of the driver alone, later in Phase 1: its Ray processes are left behind
        second = Attempt(folder, 2, "--resume")
        groups.append(second.proc.pid)
        second.wait_for(lambda: _chunks(run) >= after_first + 4, "4 more chunks")
        wall += second.stop(signal.SIGKILL, group=False)
        after_second = _chunks(run)
        assert after_second < CHUNKS and not (run / "phase1.parquet").exists()

        # 3. SIGKILL of everything in the middle of refinement
        third = Attempt(folder, 3, "--resume")
        groups.append(third.proc.pid)
        third.wait_for(lambda: _in_refinement(run), "the middle of refinement")
        wall += third.stop(signal.SIGKILL)
        stored = len(list(run.glob("refine_trials/refine_*.json")))
        assert stored < REFINE_TRIALS and not (run / "refine.parquet").exists()
        out3 = third.out.read_text()
        phase1_line = next(line for line in out3.splitlines() if line.startswith("phase1:"))

        # 4. resume to the end
        last = Attempt(folder, 4, "--resume")
        wall += last.finish()
        assert last.proc.returncode == 0, last.text()
        out4 = last.out.read_text()
    finally:
        for pgid in groups:  # what the driver-only kill left behind
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert "Traceback" not in last.err.read_text()
    assert "phase1: done earlier, read from disk" in out4
    assert "refine: continuing the interrupted Tune experiment" in out4
    refine_line = next(line for line in out4.splitlines() if line.startswith("refine:"))
    # each resume continued Tune's experiment of the phase in flight; in refinement it brought
    # back finished trials (whose rungs ResumableASHA replayed)
    for out in (second.out.read_text(), out3):  # (or started again on a torn snapshot)
        assert re.search(r"phase1: (continuing the interrupted|cannot continue) Tune", out), out
    assert int(re.search(r"(\d+) folds restored by Tune", refine_line).group(1)) > 0, refine_line
    assert_same_results(run, undisturbed.run)
    assert_same_mlflow_runs(folder, undisturbed.folder)
    # Phase 1 work is never done twice: the third attempt computed only the missing chunks
    # (the Ray workers the driver-only kill left behind may still write a chunk after the count)
    counts = re.search(r"(\d+) chunks restored by Tune, (\d+) reused from disk, (\d+) computed\)",
                       phase1_line)
    restored, reused, computed = (int(x) for x in counts.groups())
    assert restored + reused + computed == CHUNKS, phase1_line
    assert restored + reused >= after_second, (phase1_line, after_second)
    print(f"\nchunks written before the Ctrl-C: {after_first}, before the first SIGKILL: "
          f"{after_second} of {CHUNKS}; {phase1_line}\nrefinement trials stored before the "
          f"second SIGKILL: {stored} of {REFINE_TRIALS}; {refine_line}\nwall time of the four "
          f"attempts {wall:.1f} s against {undisturbed.wall_s:.1f} s undisturbed "
          f"(+{wall - undisturbed.wall_s:.1f} s)")
