"""`run_pipeline`: the honest chain of one run, Ray-free. Data -> features -> Phase 1 (grid
screen + event-engine confirmation) -> refinement (TPE + ASHA) -> Phase 2 (robustness on train +
validation) -> Phase 3 (stress on validation) -> the choice -> the test segment (reported once)
-> the regime switcher's decision -> the strategy bundle and best_config.yaml -> the summary.

Where the jobs run is the `Executor`'s business (in process, or Ray Tune trials), what is
recorded the `Tracker`'s (MLflow, or nothing). Each table is written atomically into the run
folder, so a resumed run reads what was done. Progress goes to the `scalper_tune.run` logger.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
import yaml

from scalper_tune.config.experiment import LoadedExperiment
from scalper_tune.data import load
from scalper_tune.data.market import MarketData
from scalper_tune.engine.backtest import backtest
from scalper_tune.pipeline import phases
from scalper_tune.pipeline.devices import check_device
from scalper_tune.pipeline.executor import Executor
from scalper_tune.pipeline.phases import RunContext
from scalper_tune.pipeline.run_folder import RunFolder, result_settings
from scalper_tune.pipeline.tracker import Tracker
from scalper_tune.store import work_key
from scalper_tune.strategy import DIR as BUNDLE_DIR
from scalper_tune.strategy import FILE as BUNDLE_FILE
from scalper_tune.strategy import bundle_dict, fit_models, write_bundle
from scalper_tune.workflow.candidates import segment_figures
from scalper_tune.workflow.choose import best_config, choose, figures, finalists
from scalper_tune.workflow.gate_worth import gate_line, gate_worth
from scalper_tune.workflow.prepare import check, prepare, refine_windows
from scalper_tune.workflow.run_summary import chosen_line, summary
from scalper_tune.workflow.screen import row_params
from scalper_tune.workflow.switcher import (choose_switching, recommend, switching_table,
                                           train_pick)
from scalper_tune.workflow.switcher import switcher_meta, switching_line

log = logging.getLogger("scalper_tune.run")
TABLES = ("phase1", "refine", "phase2", "phase3", "test", "switching")


@dataclass(frozen=True)
class RunResult:
    """What a run leaves: its folder, its tables, the chosen strategy (the content of
    best_config.yaml; None when nothing could be judged) and the closing summary."""

    path: Path
    tables: Mapping[str, pd.DataFrame]
    best: dict | None
    summary: str

    @property
    def params(self) -> dict | None:
        """The chosen strategy's parameters (None when nothing could be judged)."""
        return None if self.best is None else dict(self.best["params"])


def check_inputs(loaded: LoadedExperiment, resume: str | bool | None = None,
                 market: MarketData | None = None) -> tuple[RunFolder | None, MarketData]:
    """Every check of the user's input that can refuse a run before a run folder exists:
    `phase1.device`, the resumed folder and its tables, the data (bad rows, a change since the
    resumed run began, too little of it). Returns (the resumed folder or None, the market)."""
    exp = loaded.experiment
    check_device(exp.phase1)
    folder = None
    if resume:
        folder = RunFolder.open(loaded, resume)
        folder.check_tables()
    market = market if market is not None else load(exp.data)
    if folder is not None:
        folder.check_data(market.content_hash())
    check(exp, market, refine_windows(loaded.space))
    return folder, market


def open_folder(loaded: LoadedExperiment, folder: RunFolder | None,
                market: MarketData) -> RunFolder:
    """The resumed folder, or a new one recording the data's hash."""
    if folder is None:
        folder = RunFolder.open(loaded, None)
        folder.check_data(market.content_hash())
    return folder


@dataclass
class ChainResult:
    """One honest chain on one set of segments: its tables, the content of best_config.yaml
    (None when nothing could be judged, with `why`), the switcher (choice and whether it is
    recommended) and the PBO."""

    tables: dict
    best: dict | None = None
    choice: object = None
    recommended: bool = False
    pbo: float = float("nan")
    why: str = ""
    chosen: object = None  # the chosen Phase 2 row


def run_chain(ctx: RunContext, tracker: Tracker) -> ChainResult:
    """Phase 1, refinement, Phase 2, Phase 3, the choice (train and validation only), the test
    segment once after it, and the switcher decision, on `ctx.prep.segments`."""
    exp, loaded, folder = ctx.exp, ctx.loaded, ctx.folder
    t = ctx.timings
    tables: dict[str, pd.DataFrame] = {}
    tables["phase1"] = phase1 = phases.phase1(ctx)
    tracker.phase1(phase1, folder, loaded.space.grid, t)
    if not phase1["judged"].any():
        return ChainResult(tables, why=_why_phase1(phase1, exp))
    tables["refine"] = refine = phases.refine(ctx, phase1)
    tracker.refine(refine, t)
    phase2, pbo = phases.phase2(ctx, phase1, refine)
    tables["phase2"] = phase2
    tracker.phase2(phase2, pbo, t)
    if not np.isfinite(phase2["robustness"].to_numpy(dtype=float)).any():
        return ChainResult(tables, pbo=pbo,
                           why="no candidate could be judged on train + validation")
    tables["phase3"] = phase3 = phases.phase3(ctx, phase2)
    chosen, passes_stress = choose(phase2, phase3, exp)
    tables["test"] = test = _test(ctx, phase2, chosen)
    row = test[test["index"] == chosen["index"]].iloc[0]
    best = best_config(chosen, passes_stress, figures(row, "test"), exp, ctx.prep.segments)
    best["meta"]["gates"] = gate_worth({name: ctx.prep.segment(name)
                                        for name in ("validation", "test")},
                                       best["params"], exp, exp.gate.blocked)
    choice, switcher, recommended = _switching(ctx, phase2, chosen)
    if switcher is not None:
        tables["switching"] = switcher
    best["meta"]["switching"] = switcher_meta(switcher, recommended)
    return ChainResult(tables, best, choice, recommended, pbo, chosen=chosen)


def run_pipeline(loaded: LoadedExperiment, market: MarketData, folder: RunFolder,
                 executor: Executor, tracker: Tracker, *,
                 started: float | None = None) -> RunResult:
    """Every phase of the experiment on `market`, in `folder` (a new or a resumed run folder),
    jobs on `executor`, records to `tracker`: the single chain, or with `reoptimize` the
    walk-forward re-optimisation (pipeline/walk_forward.py). `started`: the run's start
    (perf_counter) for the data step's wall time."""
    started = time.perf_counter() if started is None else started
    exp = loaded.experiment
    prep = prepare(exp, market, refine_windows(loaded.space), space=loaded.space,
                   regimes_file=folder.path / "regimes.npz")
    ctx = RunContext(loaded, folder, prep, executor,
                     run_key=work_key(prep.data_hash, result_settings(loaded)))
    t = ctx.timings
    t["data_wall_s"] = time.perf_counter() - started
    tracker.dataset(market, prep.data_hash, exp)
    tracker.regimes(prep.regimes.report, prep.regimes.evaluation, exp.regime,
                    prep.regimes.gate_edges)
    for note in prep.regimes.notes:
        log.info(note)
    if exp.reoptimize is not None:
        from scalper_tune.pipeline.walk_forward import run_walk_forward

        return run_walk_forward(ctx, tracker)
    seg, longest = prep.segments.iso(), max(len(market[s]) for s in market.symbols)
    log.info(f"data: {len(market.symbols)} symbols x {longest:,}"
             f" bars, {prep.warmup:,}-bar feature warm-up; train {seg['train']['start'][:10]} to "
             f"{seg['train']['end'][:10]} in {exp.walk_forward.folds} folds, validation from "
             f"{seg['validation']['start'][:10]}, test from {seg['test']['start'][:10]} "
             f"({t['data_wall_s']:.1f} s)")
    chain = run_chain(ctx, tracker)
    if chain.best is None:
        return _nothing(ctx, tracker, chain.tables, chain.why)
    tables, best = chain.tables, chain.best
    text = finish(ctx, tracker, chain)
    return RunResult(folder.path, tables, best, text)


def finish(ctx: RunContext, tracker: Tracker, chain: ChainResult, extra: str = "",
           tables_at: Path | None = None) -> str:
    """The chosen strategy's bundle and best_config.yaml, the finalists to the tracker, the
    summary (with `extra` lines; `tables_at`: the folder of the chain's tables, default the run
    folder) logged and returned."""
    exp, prep, folder, t = ctx.exp, ctx.prep, ctx.folder, ctx.timings
    best, tables = chain.best, chain.tables
    write_bundle(folder.path, bundle_dict(best, exp, prep.spec, prep.market, prep.data_hash,
                                          chain.choice if chain.recommended else None),
                 fit_models(exp.gate, prep.market, prep.features))
    best["meta"]["strategy"] = f"{BUNDLE_DIR}/{BUNDLE_FILE}"  # the whole strategy: run that
    folder.write_text(yaml.safe_dump(best, sort_keys=False), "best_config.yaml")
    phase2, phase3, test = tables["phase2"], tables["phase3"], tables["test"]
    tracker.phase3_and_finalists(phase2, phase3, test, _finalist_equity(prep, phase2, exp), exp,
                                 t, best)
    text = summary(tables["phase1"], phase2, phase3, test, chain.pbo, exp,
                   tables_at or folder.path, t)
    text += "\n" + switching_line(tables.get("switching"), chain.chosen)
    text += "\n" + gate_line(best["meta"]["gates"]) + extra
    text += ("\n" + f"best config: {folder.path / 'best_config.yaml'}\n"
             f"strategy bundle: {folder.path / BUNDLE_DIR} (backtest/paper --strategy)\n"
             + chosen_line(best))
    tracker.close(t, text)
    log.info(text)
    return text


def _finalist_equity(prep, phase2: pd.DataFrame, exp) -> dict:
    """Each finalist's equity curve ($ per bar) on validation, by its Phase 2 index."""
    market, features = prep.segment("validation")
    return {int(r["index"]): backtest(market, features, row_params(r), exp.costs,
                                      exp.account).equity
            for _, r in phase2.head(exp.robustness.finalists).iterrows()}


def _test(ctx: RunContext, phase2: pd.DataFrame, chosen) -> pd.DataFrame:
    """The finalists on the test segment, once, after the choice (test.parquet)."""
    if ctx.folder.has("test.parquet"):
        return ctx.folder.read_table("test.parquet")
    market, features = ctx.prep.segment("test")
    rows = []
    for _, r in finalists(phase2, ctx.exp.robustness.finalists).iterrows():
        params = row_params(r)
        rows.append(dict(index=int(r["index"]), source=r["source"],
                         chosen=bool(r["index"] == chosen["index"]),
                         **segment_figures(market, features, params, ctx.exp, "test")))
    table = pd.DataFrame(rows)
    ctx.folder.write_table(table, "test.parquet")
    return table


def _switching(ctx: RunContext, phase2: pd.DataFrame, chosen):
    """The regime switcher from the Phase 2 candidates (chosen on train), recommended or not on
    validation against the single configuration chosen on train (`train_pick`), then evaluated
    once on test: (choice, switching.parquet or None, recommended)."""
    choice = choose_switching(phase2, ctx.exp)
    if choice.switching is None:
        return choice, None, False
    sw, first = choice.switching, choice.switching.sets[0]
    found = segment_figures(*ctx.prep.segment("validation"), first, ctx.exp, "val", sw)
    rival = train_pick(phase2, ctx.exp)  # chosen on train, as the switcher's sets are
    recommended = recommend(found, float(rival["val_sharpe"]),
                            ctx.prep.segments.pro_rata(ctx.exp.filters.min_trades, "validation"))
    found.update(segment_figures(*ctx.prep.segment("test"), first, ctx.exp, "test", sw))
    table = switching_table(choice, found, recommended, rival)
    ctx.folder.write_table(table, "switching.parquet")
    return choice, table, recommended


def _why_phase1(phase1: pd.DataFrame, exp) -> str:
    most = int(phase1["trades"].max()) if len(phase1) else 0
    return (f"no configuration made filters.min_trades = {exp.filters.min_trades} trades over "
            f"the train folds (the most any made: {most})")


def _nothing(ctx: RunContext, tracker: Tracker, tables: dict, why: str) -> RunResult:
    """Nothing could be judged: the tables so far, no best_config.yaml, exit 0."""
    text = (f"nothing to choose: {why}. The tables are in {ctx.folder.path}; no best_config.yaml "
            "was written. Give more data, widen the grid, or lower filters.min_trades.")
    tracker.close(ctx.timings, text, outcome="nothing judged")
    log.info(text)
    return RunResult(ctx.folder.path, tables, None, text)
