"""Walk-forward re-optimisation: the tuning procedure's own out-of-sample record.

With `reoptimize` the bars after the warm-up are cut into a first history and `steps` equal
steps (robustness/segments.step_segments). For step k the whole honest chain (`run_chain`:
Phase 1, refinement, Phase 2, Phase 3, the choice, the switcher decision) runs on the bars
before the step only, cut into train folds and validation as `walk_forward` says (the folds of
all steps on one grid of blocks: Phase 1's work on a fold is done once, pipeline/fold_work.py);
the choice
then trades step k once, from flat (the chain's test segment is the step). Features and regime
labels are computed once for the whole series: both are prefix-invariant (tested), so step k's
choice depends on nothing after its start. Each step's tables live in `steps/step_<k>/` and are
read back by a resumed run.

The steps' out-of-sample equity curves are stitched into one record (robustness/oos_record.py)
with its Sharpe's 90 % interval (a bootstrap of whole days), and the verdict is taken on it. The
last step's choice is the strategy: best_config.yaml and the bundle are the last step's, with
`meta.walk_forward` and `meta.verdict`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from scalper_tune.engine.backtest import backtest
from scalper_tune.pipeline.chain import ChainResult, RunResult, finish, run_chain
from scalper_tune.pipeline.executor import MapPhase
from scalper_tune.pipeline.fold_work import FoldWork, screen_folds
from scalper_tune.pipeline.local import LocalExecutor
from scalper_tune.pipeline.phases import RunContext, stress_scenarios
from scalper_tune.pipeline.run_folder import RunFolder
from scalper_tune.pipeline.tracker import NullTracker, Tracker
from scalper_tune.robustness.oos_record import (OosRecord, Verdict, bar_returns, record,
                                                sharpe_of, verdict)
from scalper_tune.robustness.segments import iso_utc, step_segments
from scalper_tune.store import atomic_json, sub_key
from scalper_tune.workflow.stress_sizing import (RULE, Sizing, scaled, scaled_switching,
                                                 size_for_stress, worst_drawdown)

log = logging.getLogger("scalper_tune.run")
STEPS_DIR = "steps"
STEP_FILE = "step.json"  # a finished step's progress lines and timings
SIZING_FILE = "sizing.json"  # the position scale of the step's choice (stress sizing)


@dataclasses.dataclass
class Step:
    """One step: its segments, its chain, and its out-of-sample equity ($ per bar) and trades."""

    k: int
    ctx: RunContext
    chain: ChainResult
    equity: pd.Series
    trades: int
    sizing: Sizing | None = None  # the position scale it traded at (None: not sized)


def run_walk_forward(ctx: RunContext, tracker: Tracker) -> RunResult:
    """Every step's chain and out-of-sample trading, the stitched record, the verdict, and the
    last step's strategy (see the module docstring). `ctx`: the run's context on the whole
    prepared series."""
    exp, prep = ctx.exp, ctx.prep
    spec = exp.reoptimize
    segments = step_segments(prep.market, exp.walk_forward, spec.steps, spec.mode, spec.oos,
                             prep.warmup)
    first = segments[0]
    log.info(f"walk-forward: {spec.steps} steps ({spec.mode}) of about "
             f"{(first.test[1] - first.test[0]) / 86_400e9:.1f} days from "
             f"{iso_utc(first.test[0])[:10]}, each re-tuned on the bars before it "
             f"({prep.warmup:,}-bar feature warm-up; {ctx.timings['data_wall_s']:.1f} s)")
    work = screen_folds(ctx, segments)
    payload = StepPayload(ctx.loaded, ctx.prep, str(ctx.folder.path), ctx.run_key, ctx.attempt,
                          tuple(segments), work, ctx.threads)
    started = time.perf_counter()
    ctx.executor.map(MapPhase("walk-forward steps", step_job, payload,
                              [{"step": k} for k in range(len(segments))], "chosen", label=""))
    ctx.timings["steps_wall_s"] = time.perf_counter() - started
    steps = []
    for k in range(len(segments)):
        step_ctx = step_context(payload, k, ctx.executor.at(step_folder(payload, k)))
        done = json.loads((step_ctx.folder.path / STEP_FILE).read_text())
        if done["attempt"] == ctx.attempt:
            for line in done["log"]:
                log.info(line)
        else:
            log.info(f"walk-forward step {k}: done by an earlier attempt, read from disk")
        step_ctx.timings.update(done["timings"])
        last = k == len(segments) - 1  # the strategy's step: its phases go to the tracker
        with _quiet():  # read back from the step's folder: said above
            chain = run_chain(step_ctx, tracker.tables_at(step_ctx.folder.path) if last
                              else NullTracker())
        sizing = _read_sizing(step_ctx)
        chain = sized_chain(chain, sizing)
        equity, trades = _out_of_sample(step_ctx, chain)
        steps.append(Step(k, step_ctx, chain, equity, trades, sizing))
        ctx.timings.update({f"step{k}_{name}": v for name, v in done["timings"].items()})
        log.info(_step_line(steps[-1], done["wall_s"]))
    oos = record([s.equity for s in steps], sum(s.trades for s in steps), exp.account,
                 prep.market.bars_per_year(), exp.seed)
    table = step_table(steps, oos)
    ctx.folder.write_table(table, "walk_forward.parquet")
    ctx.folder.write_table(pd.DataFrame({"ts": oos.equity.index, "equity": oos.equity.values,
                                         "step": oos.step}), "oos_equity.parquet")
    last = steps[-1]
    judged = _verdict(last, oos, exp)
    tracker.walk_forward(table, oos_figures(oos, table), judged)
    if last.chain.best is None:
        text = walk_forward_text(table, oos, judged) + (
            f"\nnothing to choose in the last step: {last.chain.why}; no best_config.yaml was "
            "written.")
        tracker.close(ctx.timings, text, outcome="nothing judged")
        log.info(text)
        return RunResult(ctx.folder.path, {"walk_forward": table}, None, text)
    best = last.chain.best
    best["meta"]["walk_forward"] = walk_forward_meta(spec, table, oos)
    best["meta"]["sizing"] = sizing_meta(last.sizing)
    best["meta"]["verdict"] = {"deployable": judged.deployable, "reasons": judged.reasons,
                               "cautions": judged.cautions}
    root = dataclasses.replace(last.ctx, folder=ctx.folder, timings=ctx.timings)
    text = finish(root, tracker.tables_at(last.ctx.folder.path), last.chain,
                  extra="\n" + walk_forward_text(table, oos, judged),
                  tables_at=last.ctx.folder.path)
    return RunResult(ctx.folder.path, dict(last.chain.tables, walk_forward=table), best, text)


@dataclasses.dataclass(frozen=True)
class StepPayload:
    """What every step's job shares: the experiment, the prepared whole series, the run folder,
    the run's work key, this driver invocation, the steps' segments, the folds' shared work and
    the Numba threads of a job."""

    loaded: object
    prep: object
    folder: str
    run_key: str
    attempt: str
    segments: tuple
    work: FoldWork
    threads: int


def step_folder(payload: StepPayload, k: int) -> Path:
    return Path(payload.folder) / STEPS_DIR / f"step_{k:02d}"


def step_context(payload: StepPayload, k: int, executor) -> RunContext:
    """Step k's context: its segments on the whole series, its folder, its work key."""
    folder = RunFolder(step_folder(payload, k))
    folder.path.mkdir(parents=True, exist_ok=True)
    return RunContext(payload.loaded, folder,
                      dataclasses.replace(payload.prep, segments=payload.segments[k]), executor,
                      sub_key(payload.run_key, "step", k), attempt=payload.attempt,
                      shared=payload.work, driver_threads=payload.threads)


def step_job(payload: StepPayload, job: dict) -> dict:
    """Step k's chain (Phase 1 from the shared folds, refinement, Phase 2, Phase 3, the choice)
    on the bars before it, in this process (a Tune trial, or the driver): its tables in its
    folder, its progress lines and timings in `step.json` (written last, atomically: a step
    with one is done)."""
    k = int(job["step"])
    ctx = step_context(payload, k, LocalExecutor(payload.threads))
    path = ctx.folder.path / STEP_FILE
    if path.is_file():
        return {"step": k, "chosen": float(json.loads(path.read_text())["chosen"])}
    started = time.perf_counter()
    with _captured() as lines:
        chain = run_chain(ctx, NullTracker())
        sizing = _size_step(ctx, chain)
        if sizing is not None:
            atomic_json(sizing.to_dict(), ctx.folder.path / SIZING_FILE)
            log.info(sizing_line(k, sizing, ctx.exp.stress.max_drawdown))
    atomic_json({"log": lines, "timings": ctx.timings, "chosen": chain.best is not None,
                 "wall_s": time.perf_counter() - started, "attempt": payload.attempt}, path)
    return {"step": k, "chosen": float(chain.best is not None)}


@contextlib.contextmanager
def _captured():
    """The run log's lines (not the progress lines) of the block, kept instead of shown."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            text = record.getMessage()
            if not text.startswith("  "):
                lines.append(text)

    handler, propagate, level = Keep(), log.propagate, log.level
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)  # also in a Ray worker, where logging is not configured
    try:
        yield lines
    finally:
        log.removeHandler(handler)
        log.propagate, log.level = propagate, level


@contextlib.contextmanager
def _quiet():
    with _captured():
        yield


def _step_line(s: Step, wall_s: float) -> str:
    seg, best = s.ctx.prep.segments, s.chain.best
    what = (f"nothing judged ({s.chain.why}), flat" if best is None else
            f"chose {best['meta']['source']} (validation Sharpe "
            f"{_num(best['meta']['validation']['sharpe'])}, selected on it)")
    part = s.equity.to_numpy(dtype=float)
    ret = part[-1] / s.ctx.exp.account - 1.0 if len(part) else 0.0
    return (f"walk-forward step {s.k}: history {iso_utc(seg.fold_edges[0])[:10]} to "
            f"{iso_utc(seg.validation[1])[:10]}, {what}; out of sample "
            f"{iso_utc(seg.test[0])[:10]} to {iso_utc(seg.test[1])[:10]}: return {ret:.2%}, "
            f"{s.trades} trades ({wall_s:.1f} s)")


def _size_step(ctx: RunContext, chain: ChainResult) -> Sizing | None:
    """The stress sizing of what the step trades (the recommended switcher, else the single
    choice) on its validation window's scenarios; None when sizing is off, stress is disabled
    or nothing was chosen."""
    exp = ctx.exp
    if chain.best is None or not (exp.reoptimize.size_for_stress and exp.stress.enabled):
        return None
    scenarios = stress_scenarios(ctx)  # Phase 3's, when it ran in this process
    switching = chain.choice.switching if chain.recommended else None
    return size_for_stress(scenarios, chain.best["params"], exp.costs, exp.account, exp.stress,
                           switching)


def _read_sizing(ctx: RunContext) -> Sizing | None:
    path = ctx.folder.path / SIZING_FILE
    return Sizing.from_dict(json.loads(path.read_text())) if path.is_file() else None


def sized_chain(chain: ChainResult, sizing: Sizing | None) -> ChainResult:
    """The chain with its choice (and recommended switcher) at the sizing's scale."""
    if sizing is None or sizing.scale == 1.0 or chain.best is None:
        return chain
    best = dict(chain.best, params=scaled(chain.best["params"], sizing.scale))
    choice = chain.choice
    if choice is not None and choice.switching is not None:
        choice = dataclasses.replace(choice, switching=scaled_switching(choice.switching,
                                                                        sizing.scale))
    return dataclasses.replace(chain, best=best, choice=choice)


def sizing_line(k: int, sizing: Sizing, limit: float) -> str:
    worst = max(sizing.full_rows, key=lambda r: abs(float(r["max_dd_pct"])))
    at_full = (f"{worst['scenario']} {abs(float(worst['max_dd_pct'])):.1%} at the tuned size")
    if sizing.scale == 1.0 and sizing.sized:
        return (f"walk-forward step {k}: stress sizing: the tuned size stays within "
                f"{limit:.0%} drawdown in every scenario (worst {at_full})")
    if not sizing.sized:
        return (f"walk-forward step {k}: stress sizing: no position scale down to 1/128 keeps "
                f"every scenario within {limit:.0%} drawdown ({at_full}); trades as tuned")
    return (f"walk-forward step {k}: stress sizing: positions x{sizing.scale:.3g} keep every "
            f"scenario within {limit:.0%} drawdown (worst at that size "
            f"{worst_drawdown(sizing.rows):.1%}; {at_full})")


def sizing_meta(sizing: Sizing | None) -> dict:
    """best_config.yaml's meta.sizing: the last step's position scale and its rule."""
    if sizing is None:
        return {"scale": 1.0, "sized": False, "rule": "off (reoptimize.size_for_stress: false, "
                "or stress disabled)"}
    return {"scale": sizing.scale, "sized": sizing.sized, "rule": RULE,
            "segment": "stress scenarios on the last step's validation window",
            "figures_at": "meta.train, meta.validation, meta.test, meta.gates, "
                          "meta.switching and the phase tables: at the tuned size (scale 1); "
                          "params, the bundle, meta.walk_forward and the verdict's stress "
                          "part: at this scale",
            "worst_drawdown_tuned": worst_drawdown(sizing.full_rows),
            "worst_drawdown_sized": worst_drawdown(sizing.rows)}


def _out_of_sample(ctx: RunContext, chain: ChainResult) -> tuple[pd.Series, int]:
    """The step's choice traded on the step from flat: equity ($ per bar) and trades (the trades
    also in the step's oos_trades.parquet); the regime switcher where the step recommended it
    (as its bundle would hold it). A step whose chain judged nothing stays flat."""
    market, features = ctx.prep.segment("test")
    if chain.best is None:
        times = np.unique(np.concatenate([market[s].ts for s in market.symbols]))
        return (pd.Series(float(ctx.exp.account), index=pd.to_datetime(times, utc=True),
                          name="equity"), 0)
    switching = chain.choice.switching if chain.recommended else None  # what the bundle holds
    result = backtest(market, features, chain.best["params"], ctx.exp.costs, ctx.exp.account,
                      switching=switching)
    ctx.folder.write_table(result.trades, "oos_trades.parquet")
    return result.equity, int(result.metrics.total_trades)


def _verdict(last: Step, oos: OosRecord, exp) -> Verdict:
    """The verdict on the stitched record and the last step's stress rows: those of what it
    trades at the size it trades (its sizing), else its choice's Phase 3 rows."""
    if last.sizing is not None:
        return verdict(oos, exp.filters.min_trades, pd.DataFrame(last.sizing.rows),
                       exp.stress.max_drawdown)
    phase3 = last.chain.tables.get("phase3", pd.DataFrame())
    rows = pd.DataFrame()
    if last.chain.chosen is not None and not phase3.empty:
        rows = phase3[phase3["index"] == last.chain.chosen["index"]]
    return verdict(oos, exp.filters.min_trades, rows, exp.stress.max_drawdown)


def step_table(steps: list[Step], oos: OosRecord) -> pd.DataFrame:
    """walk_forward.parquet: a row per step with its history, its step, the choice (source and
    parameters; `changed`: another choice than the step before), its validation Sharpe (chosen
    on it: a selected figure) and its out-of-sample figures."""
    rows, previous = [], None
    bars_per_year = steps[0].ctx.prep.market.bars_per_year()
    for s in steps:
        seg, best = s.ctx.prep.segments, s.chain.best
        params = None if best is None else best["params"]
        part = s.equity.to_numpy(dtype=float)
        rows.append({
            "step": s.k, "history_start": iso_utc(seg.fold_edges[0]),
            "history_end": iso_utc(seg.validation[1]), "start": iso_utc(seg.test[0]),
            "end": iso_utc(seg.test[1]),
            "source": "none" if best is None else (
                "switcher" if s.chain.recommended else best["meta"]["source"]),
            "params": json.dumps(params, sort_keys=True) if params else "",
            "changed": bool(params != previous) if s.k > 0 else False,
            "position_scale": 1.0 if s.sizing is None else s.sizing.scale,
            "val_sharpe_selected": _val_sharpe(s.chain),
            "oos_sharpe": sharpe_of(bar_returns(s.equity, s.ctx.exp.account), bars_per_year),
            "oos_return": float(part[-1] / s.ctx.exp.account - 1.0) if len(part) else 0.0,
            "oos_trades": s.trades,
            "switcher_recommended": bool(s.chain.recommended),
            "nothing_judged": best is None})
        previous = params
    return pd.DataFrame(rows)


def _val_sharpe(chain: ChainResult) -> float:
    """The validation Sharpe of what traded the step: the recommended switcher's, else the
    single choice's (selected on validation either way)."""
    best = chain.best
    if best is not None and chain.recommended:
        return float(chain.tables["switching"]["val_sharpe"].iloc[0])
    if best is None or best["meta"]["validation"]["sharpe"] is None:
        return float("nan")
    return float(best["meta"]["validation"]["sharpe"])


def oos_figures(oos: OosRecord, table: pd.DataFrame) -> dict:
    """The stitched record's figures, and the walk-forward efficiency: the out-of-sample Sharpe
    over the mean validation Sharpe of the choices (that validation chose them)."""
    val = table["val_sharpe_selected"].to_numpy(dtype=float)
    mean_val = float(np.nanmean(val)) if np.isfinite(val).any() else float("nan")
    eff = oos.sharpe / mean_val if math.isfinite(mean_val) and mean_val > 0 else float("nan")
    return {"sharpe": _none(oos.sharpe), "sharpe_ci": [_none(oos.sharpe_ci[0]),
                                                       _none(oos.sharpe_ci[1])],
            "trades": int(oos.trades), "return": _none(oos.total_return),
            "max_drawdown": _none(oos.max_drawdown), "days": int(oos.days),
            "efficiency": _none(eff), "choice_changes": int(table["changed"].sum())}


def walk_forward_meta(spec, table: pd.DataFrame, oos: OosRecord) -> dict:
    """best_config.yaml's meta.walk_forward: the mode, each step, the stitched record."""
    figures = oos_figures(oos, table)
    return {
        "mode": spec.mode, "oos_fraction": spec.oos, "segment": "out-of-sample steps",
        "steps": [{"start": r.start, "end": r.end, "source": r.source,
                   "params": json.loads(r.params) if r.params else None,
                   "position_scale": float(r.position_scale),
                   "oos": {"sharpe": _none(r.oos_sharpe), "trades": int(r.oos_trades),
                           "return": _none(r.oos_return)}}
                  for r in table.itertuples()],
        "oos": {k: figures[k] for k in ("sharpe", "sharpe_ci", "trades", "return",
                                        "max_drawdown", "days")},
        "efficiency": figures["efficiency"], "choice_changes": figures["choice_changes"],
    }


def walk_forward_text(table: pd.DataFrame, oos: OosRecord, judged: Verdict) -> str:
    """The walk-forward part of the summary."""
    f = oos_figures(oos, table)
    lines = ["", "Walk-forward re-optimisation (each step chosen on the bars before it; "
             "out-of-sample figures only):",
             " step  start       source           size   val Sh(selected)  OOS Sh  OOS ret  "
             "trades"]
    for r in table.itertuples():
        lines.append(f" {r.step:>4}  {r.start[:10]}  {r.source:<15}  {r.position_scale:>5.3g}  "
                     f"{_num(r.val_sharpe_selected):>16}  {_num(r.oos_sharpe):>6}  "
                     f"{r.oos_return:>7.2%}  {r.oos_trades:>6}")
    lo, hi = f["sharpe_ci"]
    lines.append(f"stitched out-of-sample: Sharpe {_num(f['sharpe'])} (90 % CI {_num(lo)} to "
                 f"{_num(hi)}, bootstrap of {f['days']} whole days), return "
                 f"{oos.total_return:.2%}, max drawdown {oos.max_drawdown:.2%}, "
                 f"{f['trades']} trades; efficiency {_num(f['efficiency'])}; the choice changed "
                 f"{f['choice_changes']} time(s)")
    lines.append("verdict: " + ("deployable" if judged.deployable else
                                "not deployable: " + "; ".join(judged.reasons)))
    lines += [f"caution: {c}" for c in judged.cautions]
    return "\n".join(lines)


def _num(x) -> str:
    return "n/a" if x is None or not math.isfinite(float(x)) else f"{float(x):.2f}"


def _none(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None
