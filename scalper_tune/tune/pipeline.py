"""`run_experiment`: data -> features -> Phase 1 (grid screen + event-engine confirmation) ->
refinement (Optuna + ASHA) -> Phase 2 (robustness on train + validation) -> Phase 3 (stress on
validation) -> the choice -> the test segment (reported once) -> best_config.yaml. Each phase is
a Ray Tune experiment whose table is written atomically into the run folder; everything is
logged to MLflow. Progress goes to the `scalper_tune.run` logger (and an optional callback);
nothing is printed here.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd
import yaml

from scalper_tune.config.experiment import LoadedExperiment, load_experiment
from scalper_tune.data import load
from scalper_tune.data.market import MarketData
from scalper_tune.errors import Interrupted
from scalper_tune.store import work_key
from scalper_tune.tracking.pipeline_log import open_store
from scalper_tune.tune import phases
from scalper_tune.tune.phases import RunContext
from scalper_tune.tune.run_folder import RunFolder, result_settings
from scalper_tune.tune.tuner import init_ray
from scalper_tune.workflow.bundle import DIR as BUNDLE_DIR
from scalper_tune.workflow.bundle import FILE as BUNDLE_FILE
from scalper_tune.workflow.bundle import bundle_dict, write_bundle
from scalper_tune.tune.devices import check_device
from scalper_tune.workflow.bundle_models import fit_models
from scalper_tune.workflow.candidates import segment_figures
from scalper_tune.workflow.choose import best_config, choose, figures, finalists
from scalper_tune.workflow.prepare import check, prepare, refine_windows
from scalper_tune.workflow.report import chosen_line, summary
from scalper_tune.workflow.screen import row_params
from scalper_tune.workflow.switching import choose_switching, recommend, switching_table
from scalper_tune.workflow.switching import switcher_meta, switching_line

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


class _Forward(logging.Handler):
    def __init__(self, callback: Callable[[str], None]):
        super().__init__(logging.INFO)
        self.callback = callback

    def emit(self, record: logging.LogRecord) -> None:
        self.callback(record.getMessage())


@contextlib.contextmanager
def _progress(callback: Callable[[str], None] | None):
    logger = logging.getLogger("scalper_tune")
    handler = _Forward(callback) if callback is not None else None
    old = logger.level
    if handler is not None:
        logger.addHandler(handler)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        if handler is not None:
            logger.removeHandler(handler)
            logger.setLevel(old)


def run_experiment(experiment: str | Path | LoadedExperiment, *, resume: str | bool | None = None,
                   address: str | None = None, verbose: bool = False,
                   progress: Callable[[str], None] | None = None,
                   market: MarketData | None = None) -> RunResult:
    """Run (or, with `resume` = True or a run folder, continue) every phase of an experiment
    (a YAML path or a loaded experiment) on a local Ray or the cluster at `address`.
    `progress` receives each progress line; they also go to the `scalper_tune.run` logger.
    `market`: the experiment's data when already loaded (else it is loaded here)."""
    loaded = (experiment if isinstance(experiment, LoadedExperiment)
              else load_experiment(experiment))
    with _progress(progress):
        started = time.perf_counter()
        folder, market, store = _open(loaded, resume, address, verbose, market)
        log.info(f"run folder {folder.path}")
        try:
            return _run(loaded, folder, market, store, started, verbose)
        except KeyboardInterrupt:
            raise Interrupted(f"interrupted; finished work is kept. Continue with: python -m "
                              f"scalper_tune run {loaded.path} --resume {folder.path}") from None


def _open(loaded: LoadedExperiment, resume, address: str | None, verbose: bool,
          market: MarketData | None = None):
    """Every check that can refuse the run, before a run folder exists: the resume's folder and
    tables, the data (bad rows, too little of it), the cluster, the MLflow store."""
    exp = loaded.experiment
    check_device(exp.phase1)  # phase1.device: gpu on a machine without one
    folder = None
    if resume:
        folder = RunFolder.open(loaded, resume)
        folder.check_tables()
    market = market if market is not None else load(exp.data)
    data_hash = market.content_hash()
    if folder is not None:
        folder.check_data(data_hash)
    check(exp, market, refine_windows(loaded.space))
    init_ray(address or exp.ray.address, verbose)
    store = open_store(exp)
    if folder is None:
        folder = RunFolder.open(loaded, None)
        folder.check_data(data_hash)
    return folder, market, store


def _run(loaded: LoadedExperiment, folder: RunFolder, market, store, started: float,
         verbose: bool) -> RunResult:
    exp = loaded.experiment
    prep = prepare(exp, market, refine_windows(loaded.space), space=loaded.space,
                   regimes_file=folder.path / "regimes.npz")
    ctx = RunContext(loaded, folder, prep, verbose,
                     run_key=work_key(prep.data_hash, result_settings(loaded)))
    t = ctx.timings
    t["data_wall_s"] = time.perf_counter() - started
    tracker = folder.tracker(exp, prep.data_hash, store)
    tracker.dataset(market, prep.data_hash, exp)
    tracker.regimes(prep.regimes.report, prep.regimes.evaluation, exp.regime,
                    prep.regimes.gate_edges)
    for note in prep.regimes.notes:
        log.info(note)
    seg = prep.segments.iso()
    log.info(f"data: {len(market.symbols)} symbols x {max(len(market[s]) for s in market.symbols):,}"
             f" bars, {prep.warmup:,}-bar feature warm-up; train {seg['train']['start'][:10]} to "
             f"{seg['train']['end'][:10]} in {exp.walk_forward.folds} folds, validation from "
             f"{seg['validation']['start'][:10]}, test from {seg['test']['start'][:10]} "
             f"({t['data_wall_s']:.1f} s)")
    tables: dict[str, pd.DataFrame] = {}
    tables["phase1"] = phase1 = phases.phase1(ctx)
    tracker.phase1(phase1, folder, loaded.space.grid, t)
    if not phase1["judged"].any():
        return _nothing(ctx, tracker, tables, _why_phase1(phase1, exp))
    tables["refine"] = refine = phases.refine(ctx, phase1)
    tracker.refine(refine, t)
    phase2, pbo = phases.phase2(ctx, phase1, refine)
    tables["phase2"] = phase2
    tracker.phase2(phase2, pbo, t)
    if not np.isfinite(phase2["robustness"].to_numpy(dtype=float)).any():
        return _nothing(ctx, tracker, tables, "no candidate could be judged on train + "
                        "validation")
    tables["phase3"] = phase3 = phases.phase3(ctx, phase2)
    chosen, passes_stress = choose(phase2, phase3, exp)
    tables["test"] = test = _test(ctx, phase2, chosen)
    row = test[test["index"] == chosen["index"]].iloc[0]
    best = best_config(chosen, passes_stress, figures(row, "test"), exp, prep.segments)
    choice, switcher, recommended = _switching(ctx, phase2, chosen)
    if switcher is not None:
        tables["switching"] = switcher
    best["meta"]["switching"] = switcher_meta(switcher, recommended)
    write_bundle(folder.path, bundle_dict(best, exp, prep.spec, prep.market, prep.data_hash,
                                          choice if recommended else None),
                 fit_models(exp, prep.market, prep.features))
    best["meta"]["strategy"] = f"{BUNDLE_DIR}/{BUNDLE_FILE}"  # the whole strategy: run that
    folder.write_text(yaml.safe_dump(best, sort_keys=False), "best_config.yaml")
    tracker.phase3_and_finalists(phase2, phase3, test, prep, ctx, t, best)
    text = summary(phase1, phase2, phase3, test, pbo, exp, folder.path, t)
    text += "\n" + switching_line(switcher, chosen)
    text += ("\n" + f"best config: {folder.path / 'best_config.yaml'}\n"
             f"strategy bundle: {folder.path / BUNDLE_DIR} (backtest/paper --strategy)\n"
             + chosen_line(best))
    tracker.close(t, text)
    log.info(text)
    return RunResult(folder.path, tables, best, text)


def _test(ctx: RunContext, phase2: pd.DataFrame, chosen) -> pd.DataFrame:
    """The finalists on the test segment, once, after the choice (test.parquet)."""
    if ctx.folder.has("test.parquet"):
        return ctx.folder.read_table("test.parquet")
    market, features = ctx.prep.segment("test")
    rows = []
    for _, r in finalists(phase2, ctx.exp).iterrows():
        params = row_params(r)
        rows.append(dict(index=int(r["index"]), source=r["source"],
                         chosen=bool(r["index"] == chosen["index"]),
                         **segment_figures(market, features, params, ctx.exp, "test")))
    table = pd.DataFrame(rows)
    ctx.folder.write_table(table, "test.parquet")
    return table


def _switching(ctx: RunContext, phase2: pd.DataFrame, chosen):
    """The regime switcher from the Phase 2 candidates (chosen on train), recommended or not on
    validation, then evaluated once on test: (choice, switching.parquet or None, recommended)."""
    choice = choose_switching(phase2, ctx.exp)
    if choice.switching is None:
        return choice, None, False
    sw, first = choice.switching, choice.switching.sets[0]
    found = segment_figures(*ctx.prep.segment("validation"), first, ctx.exp, "val", sw)
    recommended = recommend(found, float(chosen["val_sharpe"]), ctx.exp)
    found.update(segment_figures(*ctx.prep.segment("test"), first, ctx.exp, "test", sw))
    table = switching_table(choice, found, recommended)
    ctx.folder.write_table(table, "switching.parquet")
    return choice, table, recommended


def _why_phase1(phase1: pd.DataFrame, exp) -> str:
    most = int(phase1["trades"].max()) if len(phase1) else 0
    return (f"no configuration made filters.min_trades = {exp.filters.min_trades} trades over "
            f"the train folds (the most any made: {most})")


def _nothing(ctx: RunContext, tracker, tables: dict, why: str) -> RunResult:
    """Nothing could be judged: the tables so far, no best_config.yaml, exit 0."""
    text = (f"nothing to choose: {why}. The tables are in {ctx.folder.path}; no best_config.yaml "
            "was written. Give more data, widen the grid, or lower filters.min_trades.")
    tracker.close(ctx.timings, text, outcome="nothing judged")
    log.info(text)
    return RunResult(ctx.folder.path, tables, None, text)
