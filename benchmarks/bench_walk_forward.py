"""What walk-forward re-optimisation costs against the single chain (run by hand, minutes).

Runs `run experiments/grid.yaml` (the single chain: 22 symbols x 100,000 one-minute bars, the
12,288-combination grid) and `run experiments/walk-forward.yaml` (the same market and grid, 6
rolling steps) one after the other in a scratch folder with one feature cache, and prints each
one's wall time, the ratio (goal: at most 2.5), and the walk-forward's split of its time (data,
Phase 1 on every fold once, the steps as Tune trials) from its MLflow-free timings in the log.

    python benchmarks/bench_walk_forward.py [--executor ray|local]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(experiment: str, folder: Path, executor: str) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "scalper_tune", "run",
                           str(ROOT / "experiments" / experiment), "--executor", executor],
                          cwd=folder, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{experiment} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall, proc.stdout + proc.stderr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--executor", choices=("ray", "local"), default="ray")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        single, _ = timed("grid.yaml", folder, args.executor)
        print(f"single chain (experiments/grid.yaml): {single:.0f} s", flush=True)
        wf, text = timed("walk-forward.yaml", folder, args.executor)
        print(f"walk-forward, 6 rolling steps (experiments/walk-forward.yaml): {wf:.0f} s")
    print(f"ratio {wf / single:.2f} (goal <= 2.5), executor {args.executor}, "
          f"{os.cpu_count()} cores")
    line = next((x for x in text.splitlines() if x.startswith("time: ")), "")
    parts = dict(re.findall(r"(\w+) ([\d.]+) s", line))
    print("walk-forward time: " + ", ".join(
        f"{k} {float(parts[k]):.0f} s" for k in ("data", "phase1_folds", "steps") if k in parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
