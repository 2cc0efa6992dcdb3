"""Calibration of the walk-forward verdict where the truth is known (run by hand, minutes).

For each seed, walk-forward re-optimisation (3 rolling steps, the smoke grid) runs on two
synthetic markets that differ only in the planted mean reversion: `mr_scale 0` (none: the same
volatility clustering, fat tails, jumps, order flow and costs, nothing for a mean-reversion
scalper to find) and `mr_scale EDGE` (a planted one, EDGE x the default market's). It prints
the false-positive rate of `deployable` on the null markets (goal: at most 5 %), its power on
the planted ones, the mean out-of-sample per-trade Sharpe of the choices (the edge the
procedure realised), and the last step's finalists' DSR on the null markets (a DSR near 1 on
noise would be a bug).

    python benchmarks/bench_calibration.py --seeds 20 --edge 6
"""

from __future__ import annotations

import argparse
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


def one(folder: Path, seed: int, mr_scale: float, bars: int, steps: int) -> dict:
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
    return {"seed": seed, "mr_scale": mr_scale,
            "deployable": bool(meta.get("verdict", {}).get("deployable", False)),
            "oos_sharpe": wf.get("sharpe"), "ci_low": (wf.get("sharpe_ci") or [None])[0],
            "oos_trades": wf.get("trades", 0), "oos_return": wf.get("return"),
            "dsr_max": float(dsr.max()) if len(dsr) else float("nan"),
            "per_trade": _per_trade(run.path, len(table)),
            "why": "; ".join(meta.get("verdict", {}).get("reasons", []))}


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
    ap.add_argument("--edge", type=float, default=6.0, help="mr_scale of the planted market")
    ap.add_argument("--bars", type=int, default=24_000)
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args()
    logging.getLogger("scalper_tune").setLevel(logging.WARNING)
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, args.seeds + 1):
            for scale in (0.0, args.edge):
                rows.append(one(Path(tmp), seed, scale, args.bars, args.steps))
                r = rows[-1]
                print(f"seed {seed:>3} mr_scale {scale:>4g}: deployable {r['deployable']!s:<5} "
                      f"OOS Sharpe {r['oos_sharpe'] if r['oos_sharpe'] is not None else 'n/a'} "
                      f"(CI low {r['ci_low']}), {r['oos_trades']} trades, per-trade Sharpe "
                      f"{r['per_trade']:.3f}, last finalists' best DSR {r['dsr_max']:.2f}"
                      + (f"; {r['why']}" if r["why"] else ""), flush=True)
    frame = pd.DataFrame(rows)
    null, planted = frame[frame["mr_scale"] == 0], frame[frame["mr_scale"] == args.edge]
    print(f"\n{args.seeds} seeds x 2 markets, {args.steps} rolling steps, 3 assets x "
          f"{args.bars:,} one-minute bars, {time.perf_counter() - started:.0f} s")
    print("| market | deployable | mean OOS Sharpe | mean OOS per-trade Sharpe | "
          "finalists' best DSR (median) |")
    print("|---|---|---|---|---|")
    for name, part in (("no edge (mr_scale 0)", null),
                       (f"planted edge (mr_scale {args.edge:g})", planted)):
        print(f"| {name} | {part['deployable'].mean():.0%} ({int(part['deployable'].sum())} of "
              f"{len(part)}) | {pd.to_numeric(part['oos_sharpe']).mean():.2f} | "
              f"{part['per_trade'].mean():.3f} | {part['dsr_max'].median():.2f} |")
    print(f"false-positive rate {null['deployable'].mean():.0%} (goal <= 5 %), power "
          f"{planted['deployable'].mean():.0%} (goal >= 80 %)")
    for name, part in (("no edge", null), ("planted", planted)):
        low = pd.to_numeric(part["ci_low"])
        ok = ((low > 0) & (part["oos_trades"] >= 10)).mean()
        print(f"{name}: the out-of-sample part of the verdict alone (lower bound > 0, >= 10 "
              f"trades) says yes for {ok:.0%}; refused by a stress scenario: "
              f"{part['why'].str.contains('stress').mean():.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
