"""`run EXPERIMENT.yaml`: data -> features -> Phase 1 (grid screen + event-engine confirmation)
-> refinement (Optuna + ASHA) -> Phase 2 (robustness) -> Phase 3 (stress) -> best_config.yaml,
each phase a Ray Tune experiment whose table is written atomically into the run folder, and
everything logged to MLflow."""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from ray import tune
from ray.tune import TuneConfig
from ray.tune.search import ConcurrencyLimiter

from scalper_tune.config.experiment import LoadedExperiment
from scalper_tune.config.pipeline_spec import REGIMES
from scalper_tune.config.strategy_params import PARAMS, default_params
from scalper_tune.data import load
from scalper_tune.engine import prefilter
from scalper_tune.engine.backtest import run_symbol
from scalper_tune.errors import Interrupted
from scalper_tune.features.cache import build as build_features
from scalper_tune.robustness.regimes import market_labels
from scalper_tune.tracking.pipeline_log import open_store
from scalper_tune.robustness.score import consistency
from scalper_tune.robustness.segments import make_segments, slice_market
from scalper_tune.regime.ml_edge import gate_mask
from scalper_tune.regime.walkforward import walk_forward_regimes
from scalper_tune.tune.keys import work_key
from scalper_tune.tune.phase1 import enumerate_grid, phase1_trainable
from scalper_tune.tune.refine import (ResumableASHA, export_study, fold_order, make_searcher,
                                      refine_trainable, refine_windows, tune_space)
from scalper_tune.tune.context import PARAM_NAMES, Context, _plain
from scalper_tune.tune.robust_phases import _phase2, _phase3
from scalper_tune.tune.run_folder import RunFolder, result_settings
from scalper_tune.tune.tuner import init_ray, last_results, run_phase



def _engine_fold_consistency(fold_data, params, ctx: Context) -> tuple[float, list[float], int]:
    """Event-engine (full costs) per-fold mean per-asset Sharpe, consistency and trades."""
    exp = ctx.exp
    sharpes, trades = [], 0
    for market, feats in fold_data:
        capital = exp.account / len(market.symbols)
        states = np.stack([run_symbol(market, s, feats[s], params, exp.costs, capital).state
                           for s in market.symbols])[None]
        summary = prefilter.summarize(states, np.array([len(market[s]) for s in market.symbols],
                                                       dtype=float), capital, exp.account,
                                      market.bar_seconds)
        sharpes.append(float(summary["sharpe_mean"].iloc[0]))
        trades += int(summary["trades"].iloc[0])
    score = consistency(np.array([sharpes]), np.array([trades]), exp.filters.min_trades)[0]
    return float(score), sharpes, trades


def run_experiment(loaded: LoadedExperiment, *, resume: str | bool | None = None,
                   address: str | None = None, verbose: bool = False) -> Path:
    """Run (or resume) every phase; returns the run folder."""
    started = time.perf_counter()
    folder = None
    if resume:  # a resume's problems are reported before any work
        folder = RunFolder.open(loaded, resume)
        folder.check_tables()
    market = load(loaded.experiment.data)  # bad data: refused before a run folder exists
    data_hash = market.content_hash()
    if folder is not None:
        folder.check_data(data_hash)
    # a wrong cluster address, a refused token or a store busy too long: refused before a run
    # folder exists
    init_ray(address or loaded.experiment.ray.address, verbose)
    store = open_store(loaded.experiment)
    if folder is None:
        folder = RunFolder.open(loaded, None)
        folder.check_data(data_hash)
    print(f"run folder {folder.path}")
    try:
        return _run(loaded, folder, market, data_hash, started, store, verbose)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted; finished work is kept. Continue with: python -m "
                          f"scalper_tune run {loaded.path} --resume {folder.path}") from None


def _run(loaded: LoadedExperiment, folder: RunFolder, market, data_hash: str, started: float,
         store, verbose: bool) -> Path:
    exp = loaded.experiment
    ctx = Context(loaded, folder, verbose)
    timings: dict[str, float] = {}
    space = loaded.space
    windows = refine_windows(space.refine.get("z_window"), space.grid.get("z_window", (40,)))
    spec = dataclasses.replace(exp.features,
                               z_windows=tuple(sorted(set(exp.features.z_windows) | set(windows))))
    features = build_features(market, spec, exp.output.feature_cache).features
    labels, features = _regimes(ctx, market, features, timings)
    segments = make_segments(market, exp.walk_forward)
    fold_data = [slice_market(market, features, a, b) for a, b in segments.folds]
    folds = [prefilter.prepare(m, f, windows, exp.costs.spread_mult) for m, f in fold_data]
    timings["data_wall_s"] = time.perf_counter() - started
    ctx.run_key = work_key(data_hash, result_settings(loaded))
    tracker = folder.tracker(exp, data_hash, store)
    tracker.regimes(ctx.regime_report, exp.regime, ctx.gate_edges)
    print(f"data: {len(market.symbols)} symbols x {max(len(market[s]) for s in market.symbols):,} "
          f"bars, {exp.walk_forward.folds} folds + {exp.walk_forward.holdout:.0%} holdout "
          f"({timings['data_wall_s']:.1f} s)")

    phase1 = _phase1(ctx, folds, fold_data, data_hash, timings)
    tracker.phase1(phase1, folder, space.grid, timings)
    refine = _refine(ctx, folds, phase1, windows, timings)
    tracker.refine(refine, timings)
    phase2, pbo = _phase2(ctx, market, features, labels, segments, phase1, refine, timings)
    tracker.phase2(phase2, pbo, timings)
    phase3 = _phase3(ctx, market, features, phase2, timings)
    best = _best_config(ctx, phase2, phase3, pbo)
    tracker.phase3_and_finalists(phase2, phase3, market, features, segments, ctx, timings, best)
    tracker.close(timings)
    print(_summary(phase2, phase3, pbo, folder.path, timings))
    meta = best["meta"]
    print(f"chosen: {meta['source']} (robustness {meta['robustness']:.3f}; passes stress: "
          f"{'yes' if meta['passes_stress'] else 'no'}; passes the filters: "
          f"{'yes' if meta['passes_filters'] else 'no'})")
    return folder.path


def _regimes(ctx: Context, market, features, timings: dict) -> tuple[dict, dict]:
    """Regime labels per bar (the walk-forward classifier's out-of-sample predictions, the rule
    labeller where it has none yet) and, with `regime.filter`, the entry mask as the features'
    `allow_entry`. Stored in the run folder, so a resumed run reuses them."""
    exp = ctx.exp
    started = time.perf_counter()
    rules = market_labels(market, features)
    path = ctx.folder.path / "regimes.npz"
    if path.is_file():
        stored = np.load(path, allow_pickle=False)
        labels = {s: stored[s] for s in market.symbols}
    elif exp.regime.classifier:
        report = walk_forward_regimes(market, features, n_splits=exp.regime.splits,
                                      seed=exp.seed)
        labels = {s: np.where(report.predictions[s] >= 0, report.predictions[s],
                              rules[s]).astype(np.int8) for s in market.symbols}
        ctx.regime_report = report
        if report.supervised:
            recall = ", ".join(f"{k} {v:.0%}" for k, v in report.recall.items())
            print(f"regimes: walk-forward classifier, balanced accuracy "
                  f"{report.balanced_accuracy:.1%} against the recorded truth ({recall})")
        else:
            print("regimes: walk-forward classifier on labels from realised behaviour")
    else:
        labels = {s: rules[s].astype(np.int8) for s in market.symbols}
    if not path.is_file():
        tmp = path.with_name(".regimes.tmp.npz")
        np.savez(tmp, **labels)
        tmp.replace(path)
    allow = {s: np.ones(len(market[s]), dtype=bool) for s in market.symbols}
    if exp.regime.filter:
        blocked = [REGIMES.index(b) for b in exp.regime.block]
        allow = {s: ~np.isin(labels[s], blocked) for s in market.symbols}
    if exp.regime.ml_gate:
        gate, edges = gate_mask(market, features, default_params(), exp.costs, exp.account,
                                exp.regime.gate_min_accuracy, exp.regime.gate_threshold,
                                seed=exp.seed)
        allow = {s: allow[s] & gate[s] for s in market.symbols}
        ctx.gate_edges = edges
        traded = [e.symbol for e in edges if e.traded]
        print(f"ml gate: {len(traded)} of {len(edges)} assets clear "
              f"{exp.regime.gate_min_accuracy:.0%} out-of-sample accuracy and their baseline"
              + (f" ({', '.join(traded)})" if traded else ""))
    if exp.regime.filter or exp.regime.ml_gate:
        features = {s: dict(features[s], allow_entry=allow[s].astype(float))
                    for s in market.symbols}
    timings["regime_wall_s"] = time.perf_counter() - started
    return labels, features


def _phase1(ctx: Context, folds, fold_data, data_hash: str, timings: dict) -> pd.DataFrame:
    exp, space = ctx.exp, ctx.loaded.space
    out_path = ctx.folder.path / "phase1.parquet"
    if out_path.is_file():
        print("phase1: done earlier, read from disk")
        return ctx.folder.read_table("phase1.parquet")
    started = time.perf_counter()
    combos = enumerate_grid(space.grid)
    size = exp.phase1.chunk_size
    n_chunks = math.ceil(len(combos) / size)
    key = work_key(space.grid, size, data_hash, dataclasses.asdict(exp.costs), exp.account,
                   dataclasses.asdict(exp.walk_forward), exp.filters.min_trades,
                   dataclasses.asdict(exp.regime), exp.seed)
    chunk_dir = ctx.folder.path / "phase1_chunks"
    chunk_dir.mkdir(exist_ok=True)
    trainable = tune.with_parameters(
        phase1_trainable, folds=folds, combos=combos, costs=exp.costs, account=exp.account,
        threads=exp.ray.cpus_per_trial, chunk_size=size, out_dir=str(chunk_dir), key=key,
        min_trades=exp.filters.min_trades, attempt=ctx.attempt)
    tune_started = time.perf_counter()
    results = run_phase(
        "phase1", trainable, {"chunk": tune.grid_search(list(range(n_chunks)))},
        ctx.folder.path / "tune",
        lambda: TuneConfig(metric="best_score", mode="max", reuse_actors=True,
                           max_concurrent_trials=exp.ray.max_concurrent),
        exp.ray.cpus_per_trial, exp.ray.max_failures, n_chunks, "best_score", ctx.verbose,
        label="consistency")
    timings["phase1_tune_wall_s"] = time.perf_counter() - tune_started
    frame = last_results(results)
    timings["phase1_kernel_s"] = float(frame["kernel_s"].sum()) if "kernel_s" in frame else 0.0
    timings["phase1_bar_evals"] = float(frame["bar_evals"].sum()) if "bar_evals" in frame else 0.0
    _count_work(timings, "phase1", "chunks", frame, ctx.attempt, np.ones(len(frame)),
                frame["reused"].astype(float))
    parts = [pd.read_parquet(chunk_dir / f"chunk_{c:05d}_{key}.parquet") for c in range(n_chunks)]
    table = combos.merge(pd.concat(parts, ignore_index=True), on="combo_id")
    table = table.sort_values("combo_id").reset_index(drop=True)
    # the event engine confirms the best keep_top combinations (full costs, same folds)
    top = table["consistency"].fillna(-np.inf).nlargest(exp.phase1.keep_top).index
    table["engine_consistency"] = np.nan
    table["engine_trades"] = np.nan
    table["confirmed"] = False
    for i in top:
        params = {k: _plain(table.at[i, k]) for k in PARAM_NAMES}
        score, _, trades = _engine_fold_consistency(fold_data, params, ctx)
        table.at[i, "engine_consistency"] = score
        table.at[i, "engine_trades"] = trades
        table.at[i, "confirmed"] = True
    timings["phase1_confirm_wall_s"] = (time.perf_counter() - started
                                        - timings["phase1_tune_wall_s"])
    table["score"] = table["engine_consistency"].where(table["confirmed"], table["consistency"])
    ctx.folder.write_table(table, "phase1.parquet")
    timings["phase1_wall_s"] = time.perf_counter() - started
    best = table.loc[table["confirmed"]].sort_values("engine_consistency", ascending=False)
    print(f"phase1: {len(table):,} combinations in {n_chunks} chunks"
          + _resumed_work(timings, "phase1", "chunks")
          + f", {timings['phase1_wall_s']:.1f} s; best confirmed consistency "
          f"{best['engine_consistency'].iloc[0]:.3f}")
    return table


def _refine(ctx: Context, folds, phase1: pd.DataFrame, windows, timings: dict) -> pd.DataFrame:
    exp, space = ctx.exp, ctx.loaded.space
    if ctx.folder.has("refine.parquet"):
        print("refine: done earlier, read from disk")
        return ctx.folder.read_table("refine.parquet")
    if not exp.refine.enabled or not space.refine:
        return pd.DataFrame()
    started = time.perf_counter()
    best_row = phase1.loc[phase1["confirmed"]].sort_values("engine_consistency",
                                                           ascending=False).iloc[0]
    fixed = {k: _plain(best_row[k]) for k in PARAM_NAMES if k not in space.refine}
    start_point = {k: _plain(best_row[k]) for k in space.refine}
    param_space = dict(fixed, **tune_space(space.refine, windows))
    order = fold_order(len(folds), exp.seed)
    out_dir = ctx.folder.path / "refine_trials"
    out_dir.mkdir(exist_ok=True)

    def make_config() -> TuneConfig:
        return TuneConfig(
            metric="score", mode="max",
            # one trial at a time: TPE's next suggestion depends on every finished trial
            search_alg=ConcurrencyLimiter(make_searcher(exp.seed, start_point), max_concurrent=1),
            scheduler=ResumableASHA(time_attr="folds_done", max_t=len(folds),
                                    grace_period=min(exp.refine.grace_folds, len(folds)),
                                    reduction_factor=exp.refine.reduction_factor),
            num_samples=exp.refine.trials, reuse_actors=True)

    trainable = tune.with_parameters(refine_trainable, folds=folds, order=order, costs=exp.costs,
                                     account=exp.account, threads=exp.ray.cpus_per_trial,
                                     min_trades=exp.filters.min_trades, out_dir=str(out_dir),
                                     key=ctx.run_key, attempt=ctx.attempt)
    results = run_phase("refine", trainable, param_space, ctx.folder.path / "tune", make_config,
                        exp.ray.cpus_per_trial, exp.ray.max_failures, exp.refine.trials, "score",
                        ctx.verbose)
    export_study(ctx.folder.path / "tune" / "refine", ctx.folder.path / "optuna.db")
    frame = last_results(results)
    cols = {c: c.split("/", 1)[1] for c in frame.columns if c.startswith("config/")}
    table = frame.rename(columns=cols)
    keep = ["trial_id", "score", "folds_done", "trades"] + [c for c in PARAM_NAMES if c in table]
    keep += [c for c in table.columns if c.startswith("sharpe_f")]
    table = table[keep].copy()
    for k in PARAM_NAMES:
        if k not in table:
            table[k] = fixed.get(k, PARAMS[k].default)
    # Tune's trial ids are random and its trial order changes on restore; the experiment tag
    # starts with the trial's creation index (1-based)
    number = {r.metrics["trial_id"]: int(str(r.metrics["experiment_tag"]).split("_")[0]) - 1
              for r in results}
    table["trial_number"] = frame["trial_id"].map(number).astype(int).to_numpy()
    table = table.sort_values(["score", "trial_number"], ascending=[False, True])
    ctx.folder.write_table(table.reset_index(drop=True), "refine.parquet")
    timings["refine_wall_s"] = time.perf_counter() - started
    timings["refine_kernel_s"] = float(frame["time_total_s"].sum())
    _count_work(timings, "refine", "folds", frame, ctx.attempt, frame["folds_done"],
                frame["reused_folds"])
    timings["refine_bar_evals"] = float(table["folds_done"].sum()) * folds[0].bars
    print(f"refine: {len(table)} trials, {int((table['folds_done'] == len(folds)).sum())} ran every "
          f"fold" + _resumed_work(timings, "refine", "folds")
          + f", best {table['score'].iloc[0]:.3f} ({timings['refine_wall_s']:.1f} s)")
    return table.reset_index(drop=True)


def _count_work(timings: dict, phase: str, unit: str, frame: pd.DataFrame, attempt: str,
                done, reused) -> None:
    """Split a phase's work units (`done` per trial, `reused` of them read from stored work)
    into computed and reused by this invocation and restored by Tune from an earlier one."""
    now = (frame["attempt"] == attempt).to_numpy()
    done, reused = np.asarray(done, dtype=float), np.asarray(reused, dtype=float)
    timings[f"{phase}_{unit}_computed"] = float((done - reused)[now].sum())
    timings[f"{phase}_{unit}_reused"] = float(reused[now].sum())
    timings[f"{phase}_{unit}_restored"] = float(done[~now].sum())


def _resumed_work(timings: dict, phase: str, unit: str) -> str:
    """' (resumed: 3 chunks restored by Tune, 2 reused from disk, 27 computed)', or '' when
    this invocation computed everything."""
    computed, reused, restored = (int(timings[f"{phase}_{unit}_{k}"])
                                  for k in ("computed", "reused", "restored"))
    if not (reused or restored):
        return ""
    return (f" (resumed: {restored} {unit} restored by Tune, {reused} reused from disk, "
            f"{computed} computed)")


def _best_config(ctx: Context, phase2: pd.DataFrame, phase3: pd.DataFrame, pbo: float) -> dict:
    """The best-scored finalist, preferring (in this order) those that pass every stress
    scenario and the seed's filters, then those that pass the stress scenarios; written to
    best_config.yaml (loadable by backtest/paper --params)."""
    chosen = phase2.iloc[0]
    all_pass = False
    if not phase3.empty:
        passing = phase3.groupby("index")["passed"].all()
        stress_ok = phase2["index"].map(passing).fillna(False).astype(bool)
        for pick in (phase2[stress_ok & phase2["passes_filters"]], phase2[stress_ok]):
            if not pick.empty:
                chosen, all_pass = pick.iloc[0], True
                break
    exp = ctx.exp
    config = {
        "schema_version": 1,
        "params": {k: _plain(chosen[k]) for k in PARAM_NAMES},
        "costs": dataclasses.asdict(exp.costs),
        "account": exp.account,
        "meta": {"experiment": exp.name, "source": chosen["source"],
                 "robustness": float(chosen["robustness"]), "dsr": _f(chosen["dsr"]),
                 "pbo": _f(pbo), "oos_sharpe": _f(chosen["oos_sharpe"]),
                 "oos_return": _f(chosen["oos_return"]),
                 "passes_filters": bool(chosen["passes_filters"]),
                 "passes_stress": all_pass},
    }
    ctx.folder.write_text(yaml.safe_dump(config, sort_keys=False), "best_config.yaml")
    return config


def _f(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _summary(phase2: pd.DataFrame, phase3: pd.DataFrame, pbo: float, path: Path,
             timings: dict) -> str:
    lines = ["", f"Top finalists (PBO of the selection: {pbo:.2f})",
             f"{'#':>2}  {'source':<16}{'robust':>8}{'DSR':>7}{'IS Sh':>7}{'OOS Sh':>8}"
             f"{'OOS ret':>9}{'filters':>9}  stress"]
    verdicts = {}
    if not phase3.empty:
        for idx, group in phase3.groupby("index"):
            failed = [r for r in group.itertuples() if not r.passed]
            verdicts[idx] = "pass" if not failed else "FAIL " + ", ".join(r.scenario for r in failed)
    for rank, r in enumerate(phase2.head(5).itertuples(), start=1):
        lines.append(f"{rank:>2}  {r.source:<16}{r.robustness:>8.3f}{_fmt(r.dsr):>7}"
                     f"{_fmt(r.is_sharpe):>7}{_fmt(r.oos_sharpe):>8}{r.oos_return * 100:>8.2f}%"
                     f"{'pass' if r.passes_filters else 'fail':>9}  {verdicts.get(r.index, '-')}")
    phases = ", ".join(f"{k.replace('_wall_s', '')} {v:.1f} s" for k, v in timings.items()
                       if k.endswith("_wall_s"))
    lines += ["", f"time: {phases}", f"best config: {path / 'best_config.yaml'}",
              f"tables: {path}/phase1.parquet, refine.parquet, phase2.parquet, phase3.parquet"]
    return "\n".join(lines)


def _fmt(x) -> str:
    return f"{x:.2f}" if isinstance(x, (int, float)) and math.isfinite(x) else "n/a"
