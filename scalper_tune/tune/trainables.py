"""The pipeline's Tune trainables: thin wrappers that run a workflow function on data from Ray's
object store (`tune.with_parameters`), store the result under its work key (a trial Tune runs
again reuses it), and report to Tune. No strategy or scoring logic lives here.

Figures are reported as they are (NaN where a trial cannot be judged); where a scheduler or a
searcher must compare trials (refinement), `objective` carries the figure or the stand-in FAIL."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable

import pandas as pd
from ray import tune

from scalper_tune.config.strategy_params import default_params
from scalper_tune.store import WorkStore, atomic_json, sub_key
from scalper_tune.workflow.refine import evaluate_fold, objective, plateau_of
from scalper_tune.workflow.screen import chunk_members, screen_chunk

FAIL = -1e6  # what Tune's schedulers and searchers get for a trial that cannot be judged


def tune_value(x: float) -> float:
    """A number for Tune's scheduler and searcher: the figure, or FAIL when it is NaN. Tables,
    progress lines and MLflow get the NaN (never this stand-in)."""
    return float(x) if math.isfinite(x) else FAIL


def _threads(n: int) -> None:
    from scalper_tune.kernels.threads import set_threads

    set_threads(n)


def phase1_trainable(config: dict, folds=None, combos=None, exp=None, threads: int = 1,
                     chunk_size: int = 1024, out_dir: str = "", key: str = "",
                     attempt: str = "", device: str = "cpu") -> None:
    """One chunk of the grid (a Tune trial; its rows: `chunk_members`) on `device`. `attempt`
    names the driver invocation, so a resumed run can tell its own work from the trials Tune
    restored."""
    _threads(threads)
    chunk = int(config["chunk"])
    rows = combos.iloc[chunk_members(len(combos), chunk, chunk_size)]
    started = time.perf_counter()
    table, reused = WorkStore(out_dir).table(
        f"chunk_{chunk:05d}", key, lambda: screen_chunk(folds, rows, exp, threads, device))
    kernel_s = 0.0 if reused else time.perf_counter() - started
    best = table["robustness_raw"].max()
    tune.report({"chunk": chunk, "best_robustness": float(best),
                 "judged": int(table["robustness_raw"].notna().sum()),
                 "kernel_s": kernel_s, "bar_evals": 0 if reused else sum(f.bars for f in folds)
                 * len(rows), "reused": reused, "attempt": attempt})


def refine_trainable(config: dict, folds=None, order=None, exp=None, grid=None, phase1=None,
                     threads: int = 1, out_dir: str = "", key: str = "",
                     attempt: str = "") -> None:
    """One configuration, fold by fold in `order`, reporting the train robustness over the
    folds done (`robustness`, NaN until it can be judged; `objective`, its stand-in for Tune)
    and `objective_at_<k>` after every rung k so far (for `ResumableASHA`). Per-fold results
    are stored as they come, under the trial's work key."""
    _threads(threads)
    params = dict(default_params(), **config)
    store = WorkStore(out_dir)
    trial_key = sub_key(key, params)
    path = store.path("refine", trial_key, "json")
    stored: list = store.json("refine", trial_key, list)[0] if path.is_file() else []
    plateau = plateau_of(params, phase1, grid)
    done: dict[int, dict] = {}
    history: dict[str, float] = {}
    reused = 0
    for i, f in enumerate(order):
        if i < len(stored):
            done[f] = stored[i]
            reused += 1
        else:
            done[f] = evaluate_fold(folds[f], params, exp, threads)
            stored.append(done[f])
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_json(stored, path)
        result = objective(done, len(order), exp, folds[f].bars_per_year(), plateau)
        history[f"objective_at_{i + 1}"] = tune_value(result["robustness"])
        tune.report({"robustness": result["robustness"],
                     "objective": tune_value(result["robustness"]), "fold": f,
                     "folds_done": i + 1, "trades": result["trades"],
                     "consistency": result["consistency"], "plateau": plateau,
                     "reason": result["reason"], "reused_folds": reused, "attempt": attempt,
                     **history, "folds_order": list(order[:i + 1])})


def job_trainable(config: dict, compute: Callable | None = None, payload=None,
                  out_dir: str = "", key: str = "", phase: str = "", metric: str = "") -> None:
    """One Phase 2/3 job (a candidate or a finalist): `compute(payload, job)` -> a JSON-able
    mapping, stored under the job's key."""
    job = config["job"]
    result, _ = WorkStore(out_dir).json(f"{phase}_{job['index']:04d}", sub_key(key, job),
                                        lambda: compute(payload, job))
    tune.report({metric: _metric(result, metric), "index": job["index"]})


def _metric(result, metric: str) -> float:
    value = result.get(metric, float("nan")) if isinstance(result, dict) else float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def read_jobs(out_dir: Path, phase: str, key: str, jobs: list[dict]) -> list:
    """The stored results of `jobs`, in order."""
    store = WorkStore(out_dir)
    return [store.json(f"{phase}_{j['index']:04d}", sub_key(key, j), _missing)[0] for j in jobs]


def _missing():
    raise FileNotFoundError("a job's result is missing after its phase finished")


def chunk_table(out_dir: Path, key: str, n_chunks: int) -> pd.DataFrame:
    store = WorkStore(out_dir)
    return pd.concat([store.table(f"chunk_{c:05d}", key, _missing)[0] for c in range(n_chunks)],
                     ignore_index=True)
