"""The pipeline's units of work, as every executor runs them: a Phase 1 chunk, a refinement
trial (fold by fold) and a Phase 2/3 job. Each stores its result under its work key (a run
started again reuses it) and returns (or yields) a report of JSON-able figures. No executor
code here: `LocalExecutor` calls them in process, `TuneExecutor` inside Tune trials.

Figures are reported as they are (NaN where a trial cannot be judged); where a scheduler or a
searcher must compare trials (refinement), `objective` carries the figure or the stand-in FAIL."""

from __future__ import annotations

import math
import time
from pathlib import Path
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import pandas as pd

from scalper_tune.config.strategy_params import default_params
from scalper_tune.store import WorkStore, atomic_json, sub_key
from scalper_tune.workflow.refine import evaluate_fold, objective, plateau_of
from scalper_tune.workflow.screen import chunk_members, screen_chunk

FAIL = -1e6  # what schedulers and searchers get for a trial that cannot be judged


@dataclass(frozen=True)
class ChunkPayload:
    """What every Phase 1 chunk shares: the train folds (the prefilter's arrays), the grid's
    combinations, the experiment, Numba threads, the chunk size, the work store (`out_dir`,
    `key`), this driver invocation (`attempt`) and the kernel's device."""

    folds: Sequence
    combos: pd.DataFrame
    exp: object
    threads: int
    chunk_size: int
    out_dir: str
    key: str
    attempt: str
    device: str = "cpu"


@dataclass(frozen=True)
class TrialPayload:
    """What every refinement trial shares: the train folds (or a function of the parameters
    that returns them), the seeded fold order, the experiment, the grid and the Phase 1 table
    (for the plateau; None: none), Numba threads, the work store (`out_dir` None: nothing
    stored) and this driver invocation."""

    folds: object
    order: Sequence[int]
    exp: object
    grid: object
    phase1: object
    threads: int
    out_dir: str | None
    key: str
    attempt: str


@dataclass(frozen=True)
class StoredPayload:
    """A Phase 2/3 job's: `compute(data, job)`, the work store and the metric it reports."""

    compute: Callable
    data: object
    out_dir: str
    key: str
    phase: str
    metric: str


def search_value(x: float) -> float:
    """A number for a scheduler and a searcher: the figure, or FAIL when it is NaN. Tables,
    progress lines and MLflow get the NaN (never this stand-in)."""
    return float(x) if math.isfinite(x) else FAIL


def set_threads(n: int) -> None:
    from scalper_tune.kernels.threads import set_threads as numba_threads

    numba_threads(n)


def _stored_chunk(payload: ChunkPayload, job: dict, screen: Callable) -> tuple:
    """A chunk of the grid (its rows: `chunk_members`) computed by `screen(folds, rows)` or
    read from the work store: (table, the report's common part)."""
    set_threads(payload.threads)
    chunk, combos, folds = int(job["chunk"]), payload.combos, payload.folds
    rows = combos.iloc[chunk_members(len(combos), chunk, payload.chunk_size)]
    started = time.perf_counter()
    table, reused = WorkStore(payload.out_dir).table(f"chunk_{chunk:05d}", payload.key,
                                                     lambda: screen(folds, rows))
    return table, {"chunk": chunk, "kernel_s": 0.0 if reused else time.perf_counter() - started,
                   "bar_evals": 0 if reused else sum(f.bars for f in folds) * len(rows),
                   "reused": reused, "attempt": payload.attempt}


def phase1_chunk(payload: ChunkPayload, job: dict) -> dict:
    """One chunk of the grid on the payload's device. The report names the driver invocation
    (`attempt`), so a resumed run tells its own work from work an earlier invocation did."""
    table, report = _stored_chunk(payload, job, lambda folds, rows: screen_chunk(
        folds, rows, payload.exp, payload.threads, payload.device))
    return dict(report, best_robustness=float(table["robustness_raw"].max()),
                judged=int(table["robustness_raw"].notna().sum()))


def block_chunk(payload: ChunkPayload, job: dict) -> dict:
    """One chunk of the grid on every distinct train fold of a walk-forward (`payload.folds`:
    the blocks, in time order; workflow/fold_screen.py), stored as `chunk_table` reads it."""
    from scalper_tune.workflow.fold_screen import screen_blocks

    return _stored_chunk(payload, job, lambda blocks, rows: screen_blocks(
        blocks, range(len(blocks)), rows, payload.exp, payload.threads, payload.device))[1]


def chunk_table(out_dir: Path, key: str, n_chunks: int) -> pd.DataFrame:
    """Every stored chunk of Phase 1, in chunk order."""
    store = WorkStore(out_dir)
    return pd.concat([store.table(f"chunk_{c:05d}", key, _missing)[0] for c in range(n_chunks)],
                     ignore_index=True)


def refine_trial(payload: TrialPayload, config: dict) -> Iterator[dict]:
    """One configuration, fold by fold in the payload's `order`, yielding the train robustness
    over the folds done (`robustness`, NaN until it can be judged; `objective`, its stand-in for
    the searcher) and `robustness_at_<k>` / `objective_at_<k>` after every step k so far (for
    `ResumableASHA`). Per-fold results are stored as they come, under the trial's work key
    (`out_dir` None: not stored). `folds`: the train folds, or a callable of the parameters that
    returns them (the public trainable computes a window's features on first use)."""
    set_threads(payload.threads)
    exp, order = payload.exp, payload.order
    params = dict(default_params(), **config)
    folds = payload.folds(params) if callable(payload.folds) else payload.folds
    stored, save = _stored_folds(payload, params)
    plateau = plateau_of(params, payload.phase1, payload.grid)
    done: dict[int, dict] = {}
    history: dict[str, float] = {}
    reused = 0
    for i, f in enumerate(order):
        if i < len(stored):
            done[f] = stored[i]
            reused += 1
        else:
            done[f] = evaluate_fold(folds[f], params, exp, payload.threads)
            stored.append(done[f])
            save(stored)
        result = objective(done, len(order), exp, folds[f].bars_per_year(), plateau)
        history[f"robustness_at_{i + 1}"] = result["robustness"]
        history[f"objective_at_{i + 1}"] = search_value(result["robustness"])
        yield {"robustness": result["robustness"],
               "objective": search_value(result["robustness"]), "fold": f,
               "folds_done": i + 1, "trades": result["trades"],
               "consistency": result["consistency"], "plateau": plateau,
               "reason": result["reason"], "reused_folds": reused,
               "attempt": payload.attempt, **history, "folds_order": list(order[:i + 1])}


def _stored_folds(payload: TrialPayload, params: dict):
    """(the trial's stored fold results, a function that stores the list atomically)."""
    if payload.out_dir is None:
        return [], lambda results: None
    store = WorkStore(payload.out_dir)
    key = sub_key(payload.key, params)
    path = store.path("refine", key, "json")
    stored = list(store.json("refine", key, list)[0]) if path.is_file() else []

    def save(results: list) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_json(results, path)

    return stored, save


def stored_job(payload: StoredPayload, job: dict) -> dict:
    """One Phase 2/3 job (a candidate or a finalist): `payload.compute(payload.data,
    job)` -> a JSON-able mapping, stored under the job's key; reports its `metric`."""
    result, _ = WorkStore(payload.out_dir).json(
        f"{payload.phase}_{job['index']:04d}", sub_key(payload.key, job),
        lambda: payload.compute(payload.data, job))
    return {payload.metric: _metric(result, payload.metric), "index": job["index"]}


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
