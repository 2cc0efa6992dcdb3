"""Calibration of the walk-forward verdict where the truth is known (run by hand, minutes).

For each seed, walk-forward re-optimisation (3 rolling steps, the smoke grid) runs on two
synthetic markets that differ only in the planted mean reversion: `mr_scale 0` (none: the same
volatility clustering, fat tails, jumps, order flow and costs, nothing for a mean-reversion
scalper to find) and `mr_scale EDGE` (a planted one, EDGE x the default market's). It prints
the false-positive rate of `deployable` on the null markets (goal: at most 5 %), its power on
the planted ones, the mean out-of-sample per-trade Sharpe of the choices (the edge the
procedure realised), and the last step's finalists' DSR on the null markets (a DSR near 1 on
noise would be a bug).

    python benchmarks/bench_calibration.py --seeds 20 --edges 2,4,6
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scalper_tune.config import load_experiment  # noqa: E402
from scalper_tune.pipeline import (LocalExecutor, NullTracker, check_inputs,  # noqa: E402
                                   open_folder, run_pipeline)


def experiment(folder: Path, seed: int, mr_scale: float, bars: int, steps: int) -> Path:
    raw = yaml.safe_load((ROOT / "experiments" / "smoke.yaml").read_text())
    raw["name"] = f"calib-{seed}-{mr_scale:g}".replace(".", "_")
    raw["search_space"] = str(ROOT / "search_spaces" / "smoke_grid.yaml")
    raw["data"] = {"synthetic": {"assets": 3, "bars": bars, "bar_seconds": 60, "seed": seed,
                                 "crash": "none", "mr_scale": mr_scale}}
    raw["reoptimize"] = {"steps": steps, "mode": "rolling", "oos": 0.4}
    raw["output"] = {"runs_dir": str(folder / "runs"), "mlruns_dir": str(folder / "mlruns"),
                     "feature_cache": str(folder / "fc")}
    path = folder / f"{raw['name']}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def one(folder: Path, seed: int, mr_scale: float, bars: int, steps: int,
        coverage_bars: int = 0) -> dict:
    loaded = load_experiment(experiment(folder, seed, mr_scale, bars, steps))
    resumed, market = check_inputs(loaded)
    run = open_folder(loaded, resumed, market)
    result = run_pipeline(loaded, market, run, LocalExecutor(), NullTracker())
    table = pd.read_parquet(run.path / "walk_forward.parquet")
    last = run.path / "steps" / f"step_{len(table) - 1:02d}" / "phase2.parquet"
    dsr = pd.read_parquet(last)["dsr"].head(loaded.experiment.robustness.finalists) \
        if last.is_file() else pd.Series(dtype=float)
    meta = (result.best or {}).get("meta", {})
    wf = meta.get("walk_forward", {}).get("oos", {})
    truth = (true_sharpe(folder, seed, mr_scale, table, loaded, coverage_bars)
             if coverage_bars and mr_scale > 0 else math.nan)
    return {"seed": seed, "mr_scale": mr_scale,
            "deployable": bool(meta.get("verdict", {}).get("deployable", False)),
            "oos_sharpe": wf.get("sharpe"), "ci_low": (wf.get("sharpe_ci") or [None])[0],
            "ci_high": (wf.get("sharpe_ci") or [None, None])[1], "true_sharpe": truth,
            "oos_trades": wf.get("trades", 0), "oos_return": wf.get("return"),
            "dsr_max": float(dsr.max()) if len(dsr) else float("nan"),
            "per_trade": _per_trade(run.path, len(table)),
            "scale": float(table["position_scale"].iloc[-1]) if len(table) else math.nan,
            "why": "; ".join(meta.get("verdict", {}).get("reasons", []))}


def true_sharpe(folder: Path, seed: int, mr_scale: float, table: pd.DataFrame, loaded,
                bars: int) -> float:
    """The Sharpe the steps' choices earn on a long independent market of the same kind (seed
    + 1000, `bars` bars, the run's features, labels and entry gate): each step's choice backtested
    on its own third, the per-bar returns pooled, annualised as the stitched record is. What the
    stitched record's interval should cover (in expectation)."""
    from scalper_tune.data import load
    from scalper_tune.engine.backtest import backtest
    from scalper_tune.robustness.oos_record import bar_returns, sharpe_of
    from scalper_tune.robustness.segments import slice_market, usable_times
    from scalper_tune.workflow.prepare import prepare, refine_windows

    exp = loaded.experiment
    spec = dataclasses.replace(exp.data.synthetic, seed=seed + 1000, bars=bars)
    exp = dataclasses.replace(exp, data=dataclasses.replace(exp.data, synthetic=spec),
                              reoptimize=None)
    market = load(exp.data)
    prep = prepare(exp, market, refine_windows(loaded.space), space=loaded.space,
                   cache_dir=folder / "fc")
    times = usable_times(market, prep.warmup)
    chosen = [json.loads(p) for p in table["params"] if p]
    if not chosen:
        return math.nan
    cuts = np.linspace(0, times.shape[0], len(chosen) + 1).astype(int)
    returns = []
    for k, params in enumerate(chosen):
        stop = int(times[cuts[k + 1]]) if k + 1 < len(chosen) else int(times[-1]) + 1
        part, feats = slice_market(market, prep.features, int(times[cuts[k]]), stop)
        eq = backtest(part, feats, params, exp.costs, exp.account).equity
        returns.append(bar_returns(eq, exp.account))
    return sharpe_of(np.concatenate(returns), market.bars_per_year())


def _per_trade(run: Path, steps: int) -> float:
    """Mean / std of the out-of-sample trades' returns of every step's choice, pooled (the
    per-trade Sharpe the procedure realised); NaN without two trades."""
    returns = []
    for k in range(steps):
        trades = run / "steps" / f"step_{k:02d}" / "oos_trades.parquet"
        if trades.is_file():
            returns.append(pd.read_parquet(trades)["return"].to_numpy(dtype=float))
    r = np.concatenate(returns) if returns else np.zeros(0)
    return float(r.mean() / r.std(ddof=1)) if r.size > 1 and r.std(ddof=1) > 0 else math.nan


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--edges", default="6", help="mr_scale of the planted markets, e.g. 2,4,6 "
                    "(the power at each strength)")
    ap.add_argument("--bars", type=int, default=24_000)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--coverage", type=int, default=0, metavar="BARS",
                    help="also the steps' choices' Sharpe on an independent market of BARS bars "
                         "(planted markets), and how often the interval covers it")
    args = ap.parse_args()
    logging.getLogger("scalper_tune").setLevel(logging.WARNING)
    edges = [float(e) for e in args.edges.split(",")]
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, args.seeds + 1):
            for scale in (0.0, *edges):
                rows.append(one(Path(tmp), seed, scale, args.bars, args.steps, args.coverage))
                r = rows[-1]
                print(f"seed {seed:>3} mr_scale {scale:>4g}: deployable {r['deployable']!s:<5} "
                      f"OOS Sharpe {r['oos_sharpe'] if r['oos_sharpe'] is not None else 'n/a'} "
                      f"(CI low {r['ci_low']}), {r['oos_trades']} trades, per-trade Sharpe "
                      f"{r['per_trade']:.3f}, last finalists' best DSR {r['dsr_max']:.2f}, "
                      f"position scale {r['scale']:.3g}"
                      + (f"; {r['why']}" if r["why"] else ""), flush=True)
    frame = pd.DataFrame(rows)
    print(f"\n{args.seeds} seeds x {1 + len(edges)} markets, {args.steps} rolling steps, 3 "
          f"assets x {args.bars:,} one-minute bars, {time.perf_counter() - started:.0f} s")
    print("| market | deployable | the out-of-sample part alone (lower bound > 0, >= 10 "
          "trades) | refused by a stress scenario | mean OOS Sharpe | mean OOS per-trade "
          "Sharpe | finalists' best DSR, median (> 0.5) | last step's position scale, "
          "median |")
    print("|---|---|---|---|---|---|---|---|")
    for scale in (0.0, *edges):
        part = frame[frame["mr_scale"] == scale]
        name = "no edge (`mr_scale 0`)" if scale == 0 else f"planted edge (`mr_scale {scale:g}`)"
        low = pd.to_numeric(part["ci_low"])
        alone = (low > 0) & (part["oos_trades"] >= 10)
        print(f"| {name} | **{part['deployable'].mean():.0%}** ({int(part['deployable'].sum())} "
              f"of {len(part)}) | {alone.mean():.0%} ({int(alone.sum())} of {len(part)}) | "
              f"{int(part['why'].str.contains('stress').sum())} of {len(part)} | "
              f"{pd.to_numeric(part['oos_sharpe']).mean():.2f} | {part['per_trade'].mean():.3f} "
              f"| {part['dsr_max'].median():.2f} ({int((part['dsr_max'] > 0.5).sum())} of "
              f"{len(part)}) | {part['scale'].median():.2f} |")
    if args.coverage:
        for e in edges:
            part = frame[frame["mr_scale"] == e]
            lo, hi = (pd.to_numeric(part[c]) for c in ("ci_low", "ci_high"))
            truth = pd.to_numeric(part["true_sharpe"])
            ok = truth.notna() & lo.notna()
            covered = ((lo <= truth) & (truth <= hi))[ok]
            print(f"mr_scale {e:g}: the 90 % interval covers the choices' Sharpe on an "
                  f"independent {args.coverage:,}-bar market in {covered.mean():.0%} "
                  f"({int(covered.sum())} of {int(ok.sum())}); that Sharpe's mean "
                  f"{truth[ok].mean():.2f}, the stitched record's "
                  f"{pd.to_numeric(part['oos_sharpe'])[ok].mean():.2f}")
    null = frame[frame["mr_scale"] == 0]
    print(f"false-positive rate {null['deployable'].mean():.0%} (goal <= 5 %); power "
          + ", ".join(f"{frame[frame['mr_scale'] == e]['deployable'].mean():.0%} at mr_scale "
                      f"{e:g}" for e in edges) + " (goal >= 80 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
