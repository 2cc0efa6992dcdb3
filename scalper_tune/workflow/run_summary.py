"""The run's closing summary as text (the CLI prints it; MLflow gets it as the parent run's
description). Every figure names its segment."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from scalper_tune.config.experiment import Experiment


def _fmt(x, spec: str = ".2f") -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "n/a"
    return format(x, spec) if math.isfinite(x) else "n/a"


def finalists_table(phase2: pd.DataFrame, phase3: pd.DataFrame, test: pd.DataFrame,
                    exp: Experiment) -> list[str]:
    """One line per finalist: robustness (train + validation), DSR (train), Sharpe on train,
    validation and test, validation return, filters (validation), stress (validation)."""
    verdicts = {}
    if not phase3.empty:
        for idx, group in phase3.groupby("index"):
            failed = [r.scenario for r in group.itertuples() if not r.passed]
            verdicts[idx] = "pass" if not failed else "FAIL " + ", ".join(failed)
    test_sharpe = dict(zip(test["index"], test["test_sharpe"])) if not test.empty else {}
    lines = [f"{'#':>2}  {'source':<16}{'robust':>8}{'DSR':>6}{'train Sh':>9}{'val Sh':>8}"
             f"{'test Sh':>8}{'val ret':>9}{'filters':>8}  stress"]
    for rank, r in enumerate(phase2.head(exp.robustness.finalists).itertuples(), start=1):
        ret = f"{r.val_return * 100:.2f}%" if math.isfinite(r.val_return) else "n/a"
        lines.append(f"{rank:>2}  {r.source:<16}{_fmt(r.robustness, '.3f'):>8}{_fmt(r.dsr):>6}"
                     f"{_fmt(r.train_sharpe):>9}{_fmt(r.val_sharpe):>8}"
                     f"{_fmt(test_sharpe.get(r.index)):>8}{ret:>9}"
                     f"{'pass' if r.passes_filters else 'fail':>8}  {verdicts.get(r.index, '-')}")
    return lines


def summary(phase1: pd.DataFrame, phase2: pd.DataFrame, phase3: pd.DataFrame, test: pd.DataFrame,
            pbo: float, exp: Experiment, path: Path, timings: dict) -> str:
    f = exp.filters
    n_trials = int(phase2["n_trials"].iloc[0]) if len(phase2) else len(phase1)
    n_eff = int(phase2["n_effective"].iloc[0]) if len(phase2) else 0
    share = float(phase2["obs_share"].iloc[0]) if "obs_share" in phase2 and len(phase2) else 1.0
    lines = ["", "Segments: train (folds; screen and refinement), validation (ranking, stress, "
                 "choice), test (reported once, after the choice).",
             f"Trials: {n_trials:,} (effective {n_eff}); Phase 1 cells passing the filters on "
             f"train (Sharpe > {f.min_sharpe:g}, drawdown < {f.max_drawdown:.0%}, >= "
             f"{f.min_trades} trades): {int(phase1['passes_train'].sum()):,} of {len(phase1):,}.",
             f"DSR observations: the pooled sleeve-bars x {share:.2f} (the sleeves' correlated "
             f"returns are worth {share:.0%} as many independent ones).",
             f"PBO of the selection (robustness rule, CSCV over the candidates' train folds): "
             f"{_fmt(pbo)}", "", "Top finalists (robustness on train + validation; DSR on "
             "train, from the screen's statistic as for every trial, beside the event engine's "
             "train Sharpe; filters and stress on validation; test reported only)"]
    lines += finalists_table(phase2, phase3, test, exp)
    phases = ", ".join(f"{k.replace('_wall_s', '')} {v:.1f} s" for k, v in timings.items()
                       if k.endswith("_wall_s"))
    lines += ["", f"time: {phases}",
              f"tables: {path}/phase1.parquet, refine.parquet, phase2.parquet, phase3.parquet, "
              "test.parquet"]
    return "\n".join(lines)


def chosen_line(best: dict) -> str:
    meta = best["meta"]
    val, test = meta["validation"], meta["test"]
    line = (f"chosen: {meta['source']} (robustness {_fmt(meta['robustness'], '.3f')}; validation "
            f"Sharpe {_fmt(val['sharpe'])} (selected on it), test Sharpe "
            f"{_fmt(test.get('sharpe'))}; passes "
            f"stress: {'yes' if meta['passes_stress'] else 'no'}; passes the filters on "
            f"validation: {'yes' if meta['passes_filters'] else 'no'})")
    if not meta["passes_filters"]:
        line += ("\nno finalist passes the filters on validation: best_config.yaml records "
                 "passes_filters: false; treat it as a research result, not a strategy to deploy")
    return line


def render_stress(rows: list[dict]) -> str:
    """The stress table (scenario, Sharpe, return, drawdown, trades, verdict, reason)."""
    lines = [f"{'scenario':<22}{'sharpe':>8}{'return':>9}{'max dd':>8}{'trades':>8}  verdict"]
    for r in rows:
        lines.append(f"{r['scenario']:<22}{_fmt(r['sharpe']):>8}"
                     f"{_fmt(r['return'] * 100):>8}%{_fmt(r['max_dd_pct'] * 100, '.1f'):>7}%"
                     f"{r['trades']:>8}  {'pass' if r['passed'] else 'FAIL'}: {r['reason']}")
    failed = [r["scenario"] for r in rows if not r["passed"]]
    lines.append("passes every scenario" if not failed else f"fails: {', '.join(failed)}")
    return "\n".join(lines)
