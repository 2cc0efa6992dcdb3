"""Benchmark: what a driver kill costs. Runs an experiment undisturbed, then again with the driver
killed (SIGKILL, whole process group) in the middle of Phase 1 and again in the middle of
refinement, each time continued with `run --resume`; reports the work each resume reused or
recomputed, the extra wall time, and whether the results are identical.

Run by hand:  python benchmarks/bench_resume.py [experiments/grid.yaml] [--out /tmp/bench_resume]

Each run works in its own folder under --out (its own runs/ and mlruns/); the feature cache is
shared, so the first run pays for the features.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _start(folder: Path, exp: Path, *extra: str) -> subprocess.Popen:
    out = (folder / "log.txt").open("a")
    return subprocess.Popen([sys.executable, "-m", "scalper_tune", "run", str(exp), *extra],
                            cwd=folder, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _run_dir(folder: Path) -> Path | None:
    runs = sorted(folder.glob("runs/*/*/state.json"))
    return runs[0].parent if runs else None


def _kill_when(proc: subprocess.Popen, condition, what: str) -> float:
    started = time.perf_counter()
    while not condition():
        if proc.poll() is not None:
            raise SystemExit(f"the run ended before {what}")
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", nargs="?", default=str(ROOT / "experiments/grid.yaml"))
    parser.add_argument("--out", default="/tmp/bench_resume")
    args = parser.parse_args()
    exp = Path(args.experiment).resolve()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    clean, killed = out / "undisturbed", out / "killed"
    for folder in (clean, killed):
        folder.mkdir(parents=True)
        # share one feature cache, so both runs start from the same (warm) cache
        (folder / "feature_cache").symlink_to(ROOT / "feature_cache", target_is_directory=True)
    (ROOT / "feature_cache").mkdir(exist_ok=True)
    raw = yaml.safe_load(exp.read_text())
    print(f"experiment {exp} ({raw.get('name')})")

    started = time.perf_counter()
    first = _start(clean, exp)
    first.wait()
    clean_wall = time.perf_counter() - started
    print(f"undisturbed: {clean_wall:.1f} s (exit {first.returncode})")

    wall = 0.0
    proc = _start(killed, exp)
    started = time.perf_counter()

    def mid_phase1() -> bool:
        run = _run_dir(killed)
        return run is not None and len(list(run.glob("phase1_chunks/chunk_*.parquet"))) >= 4

    # kills at moments unrelated to Tune's snapshots (every 2 s): when 4 chunks are written,
    # when 10 refinement trials are stored
    _kill_when(proc, mid_phase1, "the middle of Phase 1")
    run = _run_dir(killed)
    chunks = len(list(run.glob("phase1_chunks/chunk_*.parquet")))
    wall += time.perf_counter() - started
    print(f"kill 1 in Phase 1: {chunks} chunks written")

    proc = _start(killed, exp, "--resume")
    started = time.perf_counter()
    _kill_when(proc, lambda: len(list(run.glob("refine_trials/refine_*.json"))) >= 10
               and not (run / "refine.parquet").exists(), "the middle of refinement")
    wall += time.perf_counter() - started
    trials = len(list(run.glob("refine_trials/refine_*.json")))
    print(f"kill 2 in refinement: {trials} refinement trials stored")

    proc = _start(killed, exp, "--resume")
    started = time.perf_counter()
    proc.wait()
    wall += time.perf_counter() - started
    log = (killed / "log.txt").read_text().splitlines()
    for line in log:
        if (line.startswith(("phase1:", "refine:")) and "resumed" in line) or \
                "Tune's experiment" in line or "Tune experiment" in line:
            print("  " + line.strip())
    reference = _run_dir(clean)
    same = all((run / n).read_bytes() == (reference / n).read_bytes()
               for n in ("phase1.parquet", "best_config.yaml"))
    refine_same = pd.read_parquet(run / "refine.parquet").drop(columns="trial_id").equals(
        pd.read_parquet(reference / "refine.parquet").drop(columns="trial_id"))
    print(f"killed twice and resumed: {wall:.1f} s in three attempts, +{wall - clean_wall:.1f} s "
          f"against undisturbed (exit {proc.returncode}); phase1.parquet and best_config.yaml "
          f"identical: {same}; refine.parquet equal: {refine_same}")


if __name__ == "__main__":
    main()
