"""Run the failure experiment in FOLDER on a real multi-node Ray cluster
(`ray.cluster_utils.Cluster`: a head without CPUs and two 1-CPU worker nodes) and kill worker
nodes while trials run on them: worker 1 in the middle of Phase 1 (worker 2 carries on), worker 2
in the middle of refinement (then a replacement node joins); with a `reoptimize` experiment,
worker 1 while a walk-forward step's trial runs (then a replacement joins). Prints what it
removed and exits with the `run` command's exit code.

    python tests/tune/cluster_run.py FOLDER
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import ray
from ray.cluster_utils import Cluster

from scalper_tune.cli import main


def _wait(condition, timeout: float = 300.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def _disturb(cluster: Cluster, folder: Path, workers: list, events: list[str]) -> None:
    runs = folder / "runs" / "smoke"

    def run() -> Path | None:
        found = sorted(runs.glob("*")) if runs.is_dir() else []
        return found[0] if found else None

    def chunks() -> int:
        return len(list(run().glob("phase1_chunks/chunk_*.parquet"))) if run() else 0

    if not _wait(lambda: chunks() >= 10):
        events.append("phase1: never reached 10 chunks")
        return
    cluster.remove_node(workers[0], allow_graceful=False)
    events.append(f"removed worker 1 in Phase 1 after {chunks()} chunks")

    def in_refinement() -> bool:
        return (len(list(run().glob("refine_trials/refine_*.json"))) >= 5
                and not (run() / "refine.parquet").exists())

    if not _wait(in_refinement):
        events.append("refine: never reached 5 trials")
        return
    stored = len(list(run().glob("refine_trials/refine_*.json")))
    cluster.remove_node(workers[1], allow_graceful=False)
    events.append(f"removed worker 2 in refinement after {stored} trials")
    cluster.add_node(num_cpus=1)
    events.append("a replacement worker joined")


def _disturb_steps(cluster: Cluster, folder: Path, workers: list, events: list[str]) -> None:
    """A walk-forward run: kill worker 1 while a step's trial runs on it (its folder has tables
    but no step.json yet), then let a replacement node join."""
    runs = folder / "runs" / "smoke"

    def running() -> list[Path]:
        found = sorted(runs.glob("*/steps/step_*")) if runs.is_dir() else []
        return [p for p in found if (p / "phase1.parquet").exists()
                and not (p / "step.json").exists()]

    if not _wait(running):
        events.append("steps: no step ever ran")
        return
    cluster.remove_node(workers[0], allow_graceful=False)
    events.append(f"removed worker 1 while {running()[0].name if running() else 'a step'} ran")
    cluster.add_node(num_cpus=1)
    events.append("a replacement worker joined")


def run_on_cluster(folder: Path) -> int:
    # a dead node is declared after 3 missed health checks 0.5 s apart (Ray's default: 5 x 3 s)
    health = {"health_check_period_ms": 500, "health_check_timeout_ms": 500,
              "health_check_failure_threshold": 3}
    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 0, "include_dashboard": False,
                                      "_system_config": health})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    os.chdir(folder)
    result: dict[str, int] = {}

    def pipeline() -> None:
        result["code"] = main(["run", "exp.yaml", "--address", cluster.address] + sys.argv[2:])

    # the run in a thread; the node changes here (starting a node needs the main thread)
    thread = threading.Thread(target=pipeline, daemon=True)
    thread.start()
    events: list[str] = []
    try:
        walk_forward = "reoptimize" in (folder / "exp.yaml").read_text()
        (_disturb_steps if walk_forward else _disturb)(cluster, folder, workers, events)
        thread.join(timeout=600)
    finally:
        for event in events:
            print(f"cluster: {event}", flush=True)
        ray.shutdown()
        cluster.shutdown()
    return result.get("code", 1)


if __name__ == "__main__":
    sys.exit(run_on_cluster(Path(sys.argv[1]).resolve()))
