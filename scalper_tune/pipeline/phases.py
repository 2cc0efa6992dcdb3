"""Each phase of a run on an executor: what the jobs are, what they share, and the phase's table
written atomically into the run folder. The phase logic itself is in `scalper_tune.workflow`;
how jobs run (in process, or as Ray Tune trials) is the executor's (pipeline/executor.py).
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scalper_tune.config.experiment import LoadedExperiment
from scalper_tune.config.strategy_params import PARAMS
from scalper_tune.config.values import python_value
from scalper_tune.pipeline.executor import Asha, Executor, MapPhase, SearchPhase, TrialRecord
from scalper_tune.pipeline.jobs import (ChunkPayload, StoredPayload, TrialPayload, chunk_table,
                                        phase1_chunk, read_jobs, refine_trial, stored_job)
from scalper_tune.pipeline.local import default_threads as every_core
from scalper_tune.pipeline.run_folder import RunFolder
from scalper_tune.store import WorkStore, sub_key
from scalper_tune.workflow import candidates as cand
from scalper_tune.workflow.choose import finalists
from scalper_tune.workflow.evaluation import judge
from scalper_tune.workflow.prepare import Prepared
from scalper_tune.workflow.refine import as_table, fold_order
from scalper_tune.workflow.screen import (PARAM_NAMES, confirm, enumerate_grid, finish_screen,
                                          row_params)
from scalper_tune.workflow.stress import Scenarios, build_scenarios, run_stress

log = logging.getLogger("scalper_tune.run")


@dataclass
class RunContext:
    """What every phase of one run shares."""

    loaded: LoadedExperiment
    folder: RunFolder
    prep: Prepared
    executor: Executor
    run_key: str  # hash of the data and the whole experiment: part of every stored work key
    timings: dict = field(default_factory=dict)
    # this driver invocation (jobs report it: a resume tells its own work from restored work)
    attempt: str = field(default_factory=lambda: f"{os.getpid()}-{time.time_ns()}")
    # walk-forward: the folds' work shared between steps (pipeline/fold_work.FoldWork)
    shared: object = None
    driver_threads: int = 0  # threads for work done in this process (0: every core)
    memo: dict = field(default_factory=dict, repr=False)  # built once per context (scenarios)

    @property
    def exp(self):
        return self.loaded.experiment

    @property
    def threads(self) -> int:
        return self.executor.job_threads(self.exp.ray)


def phase1(ctx: RunContext) -> pd.DataFrame:
    """The grid screen (chunks as jobs), then plateau and confirmation on the driver."""
    exp, space, prep = ctx.exp, ctx.loaded.space, ctx.prep
    if ctx.folder.has("phase1.parquet"):
        log.info("phase1: done earlier, read from disk")
        return ctx.folder.read_table("phase1.parquet")
    started = time.perf_counter()
    combos = enumerate_grid(space.grid)
    t = ctx.timings
    if ctx.shared is not None:  # walk-forward: the step's folds were screened once for all
        screened, n_chunks = combos.merge(ctx.shared.screen(ctx.prep.segments.folds),
                                          on="combo_id"), 0
        t.update(phase1_tune_wall_s=time.perf_counter() - started, phase1_kernel_s=0.0,
                 phase1_bar_evals=0.0, phase1_chunks_computed=0.0, phase1_chunks_reused=0.0,
                 phase1_chunks_restored=0.0)
    else:
        screened, n_chunks = _screen(ctx, combos)
        t["phase1_tune_wall_s"] = time.perf_counter() - started
    table = finish_screen(screened.sort_values("combo_id").reset_index(drop=True), space.grid,
                          exp)
    engine = None if ctx.shared is None else ctx.shared.engine(prep.segments.folds)
    table = confirm(prep.fold_data(), table, exp, engine,
                    threads=ctx.driver_threads or every_core())
    t["phase1_confirm_wall_s"] = time.perf_counter() - started - t["phase1_tune_wall_s"]
    ctx.folder.write_table(table, "phase1.parquet")
    t["phase1_wall_s"] = time.perf_counter() - started
    judged = int(table["judged"].sum())
    best = table.loc[table["confirmed"], "engine_robustness"].max()
    log.info(f"phase1: {len(table):,} combinations"
             + (f" in {n_chunks} chunks" if n_chunks else ", their folds screened once")
             + resumed_work(t, "phase1", "chunks") + f", {t['phase1_wall_s']:.1f} s; "
             f"{judged:,} judged, {int(table['passes_train'].sum()):,} pass the filters on "
             "train; best confirmed train robustness "
             + (f"{best:.3f}" if np.isfinite(best) else "n/a (nothing judged)"))
    return table


def _screen(ctx: RunContext, combos: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The grid's chunks as jobs on the train folds: (the grid rows with their screen columns,
    the number of chunks)."""
    exp, space = ctx.exp, ctx.loaded.space
    size = exp.phase1.chunk_size
    n_chunks = math.ceil(len(combos) / size)
    key = sub_key(ctx.run_key, space.grid, size)
    out_dir = ctx.folder.path / "phase1_chunks"
    folds = ctx.prep.folds()
    device, gpus = ctx.executor.phase1_device(exp.phase1)
    payload = ChunkPayload(folds, combos, exp, ctx.threads, size, str(out_dir), key, ctx.attempt,
                           device)
    reports = ctx.executor.map(MapPhase("phase1", phase1_chunk, payload,
                                        [{"chunk": c} for c in range(n_chunks)],
                                        "best_robustness", label="train robustness", gpus=gpus))
    frame = pd.DataFrame(reports)
    t = ctx.timings
    t["phase1_kernel_s"] = float(frame["kernel_s"].sum())
    t["phase1_bar_evals"] = float(frame["bar_evals"].sum())
    count_work(t, "phase1", "chunks", frame, ctx.attempt, np.ones(len(frame)),
               frame["reused"].astype(float))
    return combos.merge(chunk_table(out_dir, key, n_chunks), on="combo_id"), n_chunks


def refine(ctx: RunContext, phase1_table: pd.DataFrame) -> pd.DataFrame:
    """Seeded TPE + one-bracket ASHA around the best confirmed cell, on the train robustness."""
    exp, space, prep = ctx.exp, ctx.loaded.space, ctx.prep
    if ctx.folder.has("refine.parquet"):
        log.info("refine: done earlier, read from disk")
        return ctx.folder.read_table("refine.parquet")
    if not exp.refine.enabled or not space.refine:
        return pd.DataFrame()
    started = time.perf_counter()
    confirmed = phase1_table.loc[phase1_table["confirmed"]]
    best_row = confirmed.sort_values(["engine_robustness", "combo_id"],
                                     ascending=[False, True]).iloc[0]
    fixed = {k: python_value(best_row[k]) for k in PARAM_NAMES if k not in space.refine}
    start_point = {k: python_value(best_row[k]) for k in space.refine}
    folds = prep.folds()
    payload = TrialPayload(folds, fold_order(len(folds), exp.seed), exp, space.grid,
                           phase1_table[list(space.grid) + ["robustness_raw"]], ctx.threads,
                           str(ctx.folder.path / "refine_trials"), ctx.run_key, ctx.attempt)
    asha = Asha("folds_done", len(folds), min(exp.refine.grace_folds, len(folds)),
                exp.refine.reduction_factor)
    records = ctx.executor.search(SearchPhase(
        "refine", refine_trial, payload, fixed, space.refine, prep.windows, start_point,
        exp.seed, exp.refine.trials, asha, ctx.folder.path / "optuna.db",
        label="train robustness"))
    table = refine_table(records, fixed, ctx)
    ctx.folder.write_table(table, "refine.parquet")
    t = ctx.timings
    t["refine_wall_s"] = time.perf_counter() - started
    frame = pd.DataFrame([r.metrics for r in records])
    t["refine_kernel_s"] = float(frame["time_s"].sum())
    count_work(t, "refine", "folds", frame, ctx.attempt, frame["folds_done"],
               frame["reused_folds"])
    t["refine_bar_evals"] = float(table["folds_done"].sum()) * folds[0].bars
    best = table["robustness"].max()
    log.info(f"refine: {len(table)} trials, {int((table['folds_done'] == len(folds)).sum())} ran "
             "every fold" + resumed_work(t, "refine", "folds")
             + ", best train robustness " + (f"{best:.3f}" if np.isfinite(best) else
                                             "n/a (none judged)")
             + f" ({t['refine_wall_s']:.1f} s)")
    return table


def refine_table(records: list[TrialRecord], fixed: dict, ctx: RunContext) -> pd.DataFrame:
    """refine.parquet: one row per trial, its parameters, robustness (NaN when not judged, with
    the reason) and its stored per-fold results, ordered by robustness."""
    exp = ctx.exp
    store = WorkStore(ctx.folder.path / "refine_trials")
    rows = []
    for r in records:
        params = {k: python_value(v) for k, v in dict(fixed, **r.config).items()}
        full = dict({k: PARAMS[k].default for k in PARAM_NAMES}, **params)
        m = r.metrics
        stored = store.json("refine", sub_key(ctx.run_key, full), list)[0]
        done = {int(f): res for f, res in zip(m["folds_order"], stored)}
        table = as_table(done)
        j = judge(table, exp, ctx.prep.market.bars_per_year())
        row = dict(full, trial_id=r.trial_id, robustness=float(m["robustness"]),
                   reason=m["reason"], folds_done=int(m["folds_done"]), plateau=m["plateau"],
                   trial_number=r.number)
        row.update(table.iloc[0].to_dict())
        row.update({c: j[c].iloc[0] for c in ("trades", "consistency", "sr_train", "skew_train",
                                              "kurt_train", "regime_weighted")})
        rows.append(row)
    return _refine_columns(pd.DataFrame(rows))


def _refine_columns(out: pd.DataFrame) -> pd.DataFrame:
    """A fixed column order (a Tune restore changes the trials' order, hence the first row's
    keys) and rows by robustness, then trial number."""
    folds = sorted({int(c.split("_f")[1].split("_")[0]) for c in out.columns
                    if c.startswith(("sharpe_f", "sa_f")) and c.split("_f")[1][:1].isdigit()})
    fold_cols = [c for k in folds for c in [f"sharpe_f{k}", f"trades_f{k}", f"pnl_f{k}",
                                            f"dd_f{k}"] + sorted(
        (c for c in out.columns if c.startswith(f"sa_f{k}_")),
        key=lambda c: int(c.rsplit("_", 1)[1]))]
    head = [c for c in out.columns if c not in fold_cols and not c.startswith(("m", "n_obs",
                                                                                "reg_"))
            and c not in ("trades", "consistency", "sr_train", "skew_train", "kurt_train",
                          "regime_weighted")]
    tail = [c for c in out.columns if c not in head and c not in fold_cols]
    out = out[head + fold_cols + sorted(tail)]
    out = out.sort_values(["robustness", "trial_number"], ascending=[False, True],
                          na_position="last")
    return out.reset_index(drop=True)


def _evaluate(data: dict, job: dict) -> dict:
    params = {k: job[k] for k in PARAM_NAMES}
    return cand.evaluate_candidate(data["folds"], data["train"], data["validation"], params,
                                   data["exp"], data["val_min_trades"])


def phase2(ctx: RunContext, phase1_table: pd.DataFrame, refine_table_: pd.DataFrame
           ) -> tuple[pd.DataFrame, float]:
    """The candidates on train + validation (event engine) as jobs; scored on the driver."""
    exp, prep = ctx.exp, ctx.prep
    if ctx.folder.has("phase2.parquet"):
        log.info("phase2: done earlier, read from disk")
        table = ctx.folder.read_table("phase2.parquet")
        return table, float(table["pbo"].iloc[0]) if len(table) else float("nan")
    started = time.perf_counter()
    folds = exp.walk_forward.folds
    rows = cand.select_candidates(phase1_table, refine_table_, exp.robustness.candidates, folds)
    jobs = [dict(row, index=i) for i, row in enumerate(rows)]
    data = {"folds": prep.fold_data(), "train": prep.segment("train"),
            "validation": prep.segment("validation"), "exp": exp,
            "val_min_trades": prep.segments.pro_rata(exp.filters.min_trades, "validation")}
    results = run_jobs(ctx, "phase2", _evaluate, data, jobs, "val_sharpe",
                       label="validation Sharpe")
    table = pd.DataFrame([dict(job, **res) for job, res in zip(jobs, results)])
    trials = pd.concat([phase1_table, refine_table_], ignore_index=True) if not \
        refine_table_.empty else phase1_table
    n_trials = len(phase1_table) + len(refine_table_) + exp.selection.prior_trials
    stats = cand.trial_statistics(trials, exp.seed)
    table, pbo = cand.score(table, exp, n_trials, stats["n_effective"], stats["sr_variance"],
                            prep.market.bars_per_year(), cand.observation_share(data["folds"]))
    ctx.folder.write_table(table, "phase2.parquet")
    t = ctx.timings
    t["phase2_wall_s"] = time.perf_counter() - started
    t["phase2_bar_evals"] = float(len(jobs) * sum(len(prep.market[s]) for s in prep.market.symbols)
                                  * (1 - exp.walk_forward.test))
    best = table["robustness"].max() if len(table) else float("nan")
    log.info(f"phase2: {len(table)} candidates scored on train + validation, N {n_trials:,} "
             f"trials (effective {stats['n_effective']}), PBO "
             + (f"{pbo:.2f}" if np.isfinite(pbo) else "n/a")
             + ", best robustness " + (f"{best:.3f}" if np.isfinite(best) else "n/a")
             + f" ({t['phase2_wall_s']:.1f} s)")
    return table, pbo


def _stress(data: dict, job: dict) -> dict:
    params = {k: job[k] for k in PARAM_NAMES}
    exp = data["exp"]
    rows = run_stress(data["scenarios"], params, exp.costs, exp.account, exp.stress)
    return {"rows": rows, "passed": float(all(r["passed"] for r in rows))}


def stress_scenarios(ctx: RunContext) -> Scenarios:
    """Phase 3's scenario markets on the validation window (the crash market is generated or
    overlaid and its features computed), built once per context: Phase 3 and the walk-forward
    step's stress sizing share them."""
    if "scenarios" not in ctx.memo:
        prep = ctx.prep
        ctx.memo["scenarios"] = build_scenarios(prep.market, prep.features,
                                                *prep.segments.validation, prep.spec,
                                                ctx.exp.gate.blocked)
    return ctx.memo["scenarios"]


def phase3(ctx: RunContext, phase2_table: pd.DataFrame) -> pd.DataFrame:
    """Stress scenarios of the finalists on validation; the scenario markets built once."""
    exp = ctx.exp
    if ctx.folder.has("phase3.parquet"):
        log.info("phase3: done earlier, read from disk")
        return ctx.folder.read_table("phase3.parquet")
    if not exp.stress.enabled:
        return pd.DataFrame()
    started = time.perf_counter()
    top = finalists(phase2_table, exp.robustness.finalists)
    jobs = [dict(row_params(r), index=int(r["index"]),
                 source=r["source"]) for _, r in top.iterrows()]
    scenarios = stress_scenarios(ctx)
    results = run_jobs(ctx, "phase3", _stress, {"scenarios": scenarios, "exp": exp}, jobs,
                       "passed", label="")
    rows = [dict(index=job["index"], source=job["source"], **s)
            for job, res in zip(jobs, results) for s in res["rows"]]
    table = pd.DataFrame(rows)
    ctx.folder.write_table(table, "phase3.parquet")
    t = ctx.timings
    t["phase3_wall_s"] = time.perf_counter() - started
    passed = table.groupby("index")["passed"].all()
    log.info(f"phase3: {len(jobs)} finalists x {table.groupby('index').size().max()} scenarios "
             f"on validation, {int(passed.sum())} pass every scenario "
             f"({t['phase3_wall_s']:.1f} s)")
    return table


def run_jobs(ctx: RunContext, name: str, compute, data: dict, jobs: list[dict],
             metric: str, label: str | None = None) -> list:
    """`compute(data, job)` for every job on the executor; results read back from the work
    store, in order."""
    out_dir = ctx.folder.path / f"{name}_results"
    payload = StoredPayload(compute, data, str(out_dir), ctx.run_key, name, metric)
    reports = ctx.executor.map(MapPhase(name, stored_job, payload, jobs, metric, label=label))
    ctx.timings[f"{name}_kernel_s"] = float(sum(r["time_s"] for r in reports))
    return read_jobs(out_dir, name, ctx.run_key, jobs)


def count_work(timings: dict, phase: str, unit: str, frame: pd.DataFrame, attempt: str,
               done, reused) -> None:
    """Split a phase's work units (`done` per job, `reused` of them read from stored work)
    into computed and reused by this invocation and restored by the executor from an earlier
    one."""
    now = (frame["attempt"] == attempt).to_numpy()
    done, reused = np.asarray(done, dtype=float), np.asarray(reused, dtype=float)
    timings[f"{phase}_{unit}_computed"] = float((done - reused)[now].sum())
    timings[f"{phase}_{unit}_reused"] = float(reused[now].sum())
    timings[f"{phase}_{unit}_restored"] = float(done[~now].sum())


def resumed_work(timings: dict, phase: str, unit: str) -> str:
    """' (resumed: 3 chunks restored by Tune, 2 reused from disk, 27 computed)', or '' when
    this invocation computed everything."""
    computed, reused, restored = (int(timings[f"{phase}_{unit}_{k}"])
                                  for k in ("computed", "reused", "restored"))
    if not (reused or restored):
        return ""
    return (f" (resumed: {restored} {unit} restored by Tune, {reused} reused from disk, "
            f"{computed} computed)")
