"""Phase 2 (robustness) and Phase 3 (stress) as Ray Tune experiments: one trial per candidate
or finalist, each result stored as JSON keyed by a hash of its job (a re-run trial reuses it)."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from ray import tune
from ray.tune import TuneConfig

from scalper_tune.config.pipeline_spec import REGIMES
from scalper_tune.data import generate
from scalper_tune.features.cache import build as build_features
from scalper_tune.robustness.evaluate import evaluate_candidate, per_bar_sharpe_variance
from scalper_tune.robustness.overfitting import pbo_cscv
from scalper_tune.robustness.regimes import market_labels
from scalper_tune.robustness.score import plateau_scores
from scalper_tune.robustness.stress import run_stress
from scalper_tune.tune.context import PARAM_NAMES, Context, _plain
from scalper_tune.tune.keys import atomic_json, work_key
from scalper_tune.tune.tuner import last_results, run_phase


def _candidates(ctx: Context, phase1: pd.DataFrame, refine: pd.DataFrame) -> list[dict]:
    n = ctx.exp.robustness.candidates
    rows = []
    confirmed = phase1.loc[phase1["confirmed"]].sort_values(["engine_consistency", "combo_id"],
                                                            ascending=[False, True])
    for _, r in confirmed.head(n).iterrows():
        rows.append({"source": f"phase1:{int(r['combo_id'])}",
                     "consistency": float(r["engine_consistency"]),
                     **{k: _plain(r[k]) for k in PARAM_NAMES}})
    if not refine.empty:
        full = refine[refine["folds_done"] == refine["folds_done"].max()]
        for _, r in full.head(max(1, n // 4)).iterrows():
            rows.append({"source": f"refine:{int(r['trial_number'])}",
                         "consistency": float(r["score"]),
                         **{k: _plain(r[k]) for k in PARAM_NAMES}})
    seen, out = set(), []
    for row in rows:
        key = tuple(row[k] for k in PARAM_NAMES)
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def _phase2(ctx: Context, market, features, labels, segments, phase1, refine, timings):
    exp, space = ctx.exp, ctx.loaded.space
    folds = exp.walk_forward.folds
    matrix = phase1[[f"sharpe_f{f}" for f in range(folds)]].to_numpy().T
    valid = np.isfinite(matrix).all(axis=0) & phase1["consistency"].notna().to_numpy()
    pbo, _ = pbo_cscv(matrix[:, valid]) if valid.sum() >= 2 else (float("nan"), None)
    if ctx.folder.has("phase2.parquet"):
        print("phase2: done earlier, read from disk")
        return ctx.folder.read_table("phase2.parquet"), pbo
    started = time.perf_counter()
    candidates = _candidates(ctx, phase1, refine)
    plateaus = plateau_scores(phase1, space.grid, candidates)
    n_trials = len(phase1) + len(refine)
    sr_var = per_bar_sharpe_variance(phase1["sharpe_mean"].to_numpy(), market.bar_seconds)
    payload = dict(market=market, features=features, labels=labels, segments=segments,
                   costs=exp.costs, account=exp.account, n_trials=n_trials, sr_variance=sr_var,
                   spec=exp.robustness, filters=exp.filters,
                   out_dir=str(ctx.folder.path / "phase2_results"), key=ctx.run_key)
    (ctx.folder.path / "phase2_results").mkdir(exist_ok=True)
    jobs = [dict(c, plateau=p, index=i) for i, (c, p) in enumerate(zip(candidates, plateaus))]
    results, kernel_s = _run_jobs(ctx, "phase2", _phase2_trainable, payload, jobs)
    timings["phase2_kernel_s"] = kernel_s
    timings["phase2_bar_evals"] = float(len(jobs) * sum(len(market[s]) for s in market.symbols))
    table = pd.DataFrame([dict(j, **r) for j, r in zip(jobs, results)])
    table["pbo"] = pbo
    table = table.sort_values(["robustness", "index"], ascending=[False, True])
    ctx.folder.write_table(table.reset_index(drop=True), "phase2.parquet")
    timings["phase2_wall_s"] = time.perf_counter() - started
    print(f"phase2: {len(table)} candidates scored, PBO {pbo:.2f}, best robustness "
          f"{table['robustness'].iloc[0]:.3f} ({timings['phase2_wall_s']:.1f} s)")
    return table.reset_index(drop=True), pbo


def _phase2_trainable(config, market=None, features=None, labels=None, segments=None, costs=None,
                      account=1000.0, n_trials=1, sr_variance=0.0, spec=None, filters=None,
                      out_dir="", key=""):
    job = config["job"]

    def compute() -> dict:
        params = {k: job[k] for k in PARAM_NAMES}
        return evaluate_candidate(market, features, labels, segments, params, costs, account,
                                  job["consistency"], job["plateau"], n_trials, sr_variance,
                                  spec, filters)

    result = _job_result(Path(out_dir), "phase2", job, key, compute)
    tune.report({"robustness": float(result["robustness"])})


def _phase3(ctx: Context, market, features, phase2: pd.DataFrame, timings: dict) -> pd.DataFrame:
    exp = ctx.exp
    if ctx.folder.has("phase3.parquet"):
        print("phase3: done earlier, read from disk")
        return ctx.folder.read_table("phase3.parquet")
    if not exp.stress.enabled:
        return pd.DataFrame()
    started = time.perf_counter()
    finalists = phase2.head(exp.robustness.finalists)
    jobs = [dict({k: _plain(r[k]) for k in PARAM_NAMES}, index=int(r["index"]),
                 source=r["source"]) for _, r in finalists.iterrows()]
    synth = exp.data.synthetic
    crash_spec = dataclasses.replace(synth, crash="2022") if synth is not None else None
    payload = dict(market=market, features=features, costs=exp.costs, account=exp.account,
                   spec=exp.stress, crash_spec=crash_spec, feature_spec=exp.features,
                   cache_dir=exp.output.feature_cache,
                   block=[REGIMES.index(b) for b in exp.regime.block] if exp.regime.filter else [],
                   out_dir=str(ctx.folder.path / "phase3_results"), key=ctx.run_key)
    (ctx.folder.path / "phase3_results").mkdir(exist_ok=True)
    results, kernel_s = _run_jobs(ctx, "phase3", _phase3_trainable, payload, jobs)
    timings["phase3_kernel_s"] = kernel_s
    rows = []
    bars = sum(len(market[s]) for s in market.symbols)
    timings["phase3_bar_evals"] = float(sum(len(r["rows"]) for r in results) * bars)
    for job, scenarios in zip(jobs, results):
        for s in scenarios["rows"]:
            rows.append(dict(index=job["index"], source=job["source"], **s))
    table = pd.DataFrame(rows)
    ctx.folder.write_table(table, "phase3.parquet")
    timings["phase3_wall_s"] = time.perf_counter() - started
    passed = table.groupby("index")["passed"].all()
    print(f"phase3: {len(jobs)} finalists x {table.groupby('index').size().max()} scenarios, "
          f"{int(passed.sum())} pass every scenario ({timings['phase3_wall_s']:.1f} s)")
    return table


def _phase3_trainable(config, market=None, features=None, costs=None, account=1000.0, spec=None,
                      crash_spec=None, feature_spec=None, cache_dir=None, out_dir="", block=(),
                      key=""):
    job = config["job"]

    def compute() -> dict:
        params = {k: job[k] for k in PARAM_NAMES}
        window = int(params["z_window"])

        def crash():
            crashed = generate(crash_spec)
            fspec = dataclasses.replace(feature_spec, z_windows=(window,))
            feats = build_features(crashed, fspec, cache_dir).features
            if block:  # no classifier for the regenerated market: the rule labeller's regimes
                rules = market_labels(crashed, feats)
                feats = {s: dict(feats[s], allow_entry=(~np.isin(rules[s], block)).astype(float))
                         for s in crashed.symbols}
            return crashed, feats

        return {"rows": run_stress(market, features, params, costs, account, spec,
                                   crash if crash_spec is not None else None)}

    result = _job_result(Path(out_dir), "phase3", job, key, compute)
    tune.report({"passed": float(all(r["passed"] for r in result["rows"]))})


def _run_jobs(ctx: Context, name: str, trainable, payload: dict,
              jobs: list[dict]) -> tuple[list[dict], float]:
    """One Tune trial per job (grid search over the jobs); results read back from disk.
    Returns (results, seconds spent inside the trials)."""
    exp = ctx.exp
    metric = "robustness" if name == "phase2" else "passed"
    grid = run_phase(name, tune.with_parameters(trainable, **payload),
              {"job": tune.grid_search(jobs)}, ctx.folder.path / "tune",
              lambda: TuneConfig(metric=metric, mode="max", reuse_actors=True,
                                 max_concurrent_trials=exp.ray.max_concurrent),
              exp.ray.cpus_per_trial, exp.ray.max_failures, len(jobs), metric, ctx.verbose)
    out_dir = Path(payload["out_dir"])
    results = [json.loads(_job_path(out_dir, name, j, payload["key"]).read_text()) for j in jobs]
    return results, float(last_results(grid)["time_total_s"].sum())


def _job_path(out_dir: Path, phase: str, job: dict, run_key: str) -> Path:
    """Where a Phase 2/3 trial stores its result, keyed by a hash of the job, the run's data
    and experiment (`run_key`) and the code version."""
    return out_dir / f"{phase}_{job['index']:04d}_{work_key(run_key, job)}.json"


def _job_result(out_dir: Path, phase: str, job: dict, run_key: str, compute) -> dict:
    """The job's stored result, or `compute()` stored atomically (a re-run trial reuses it)."""
    path = _job_path(out_dir, phase, job, run_key)
    if path.is_file():
        return json.loads(path.read_text())
    result = compute()
    atomic_json(result, path)
    return result

