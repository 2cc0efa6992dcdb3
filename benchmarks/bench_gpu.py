"""Benchmark: the Phase 1 prefilter on a GPU (numba.cuda) against the CPU prefilter on all cores,
over the full default grid, in one run.

Run by hand on a machine with an NVIDIA GPU (pip install -e ".[gpu]"):
    python benchmarks/bench_gpu.py [--assets 11] [--bars 200000] [--threads N]
Prints the kernel time and bar-evaluations per second (combinations x bars, all assets) of each,
their ratio, and whether every integer column agrees and P&L and Sharpe agree to 1e-9 relative.
Without a GPU it says so and measures nothing (the README then says "unmeasured").
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from bench_engine import grid  # noqa: E402  (the default 12,288-combination grid)

from scalper_tune.config import SyntheticSpec  # noqa: E402
from scalper_tune.config.feature_spec import FeatureSpec  # noqa: E402
from scalper_tune.data import generate  # noqa: E402
from scalper_tune.engine import prefilter  # noqa: E402
from scalper_tune.features.compute import compute_market  # noqa: E402
from scalper_tune.kernels.prefilter_cuda import available, simulated  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=11)
    parser.add_argument("--bars", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if not available() or simulated():
        print("no CUDA GPU here (or the simulator is on): GPU throughput unmeasured")
        return
    market = generate(SyntheticSpec(assets=args.assets, bars=args.bars))
    shared = prefilter.prepare(market, compute_market(market, FeatureSpec()), (20, 40, 80, 160))
    combos = grid()
    evals = len(combos) * shared.bars
    print(f"{args.assets} assets x {args.bars:,} bars; grid of {len(combos):,} combinations "
          f"({evals:.1e} bar-evaluations)")
    prefilter.run(shared, combos.iloc[:64], threads=args.threads)  # compile both
    prefilter.run(shared, combos.iloc[:64], device="gpu")
    t0 = time.perf_counter()
    cpu, _ = prefilter.run(shared, combos, threads=args.threads)
    cpu_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    gpu, _ = prefilter.run(shared, combos, device="gpu")
    gpu_s = time.perf_counter() - t0
    print(f"  CPU prefilter, {args.threads} threads: {cpu_s:7.2f} s, {evals / cpu_s:.2e} bar-evals/s")
    print(f"  GPU prefilter:                 {gpu_s:7.2f} s, {evals / gpu_s:.2e} bar-evals/s "
          "(with the host-device copies)")
    print(f"  GPU / CPU: {cpu_s / gpu_s:.1f}x")
    same = all((gpu[c] == cpu[c]).all() for c in ("trades", "assets_traded"))
    close = all(np.allclose(gpu[c], cpu[c], rtol=1e-9, atol=0, equal_nan=True)
                for c in ("total_pnl", "sharpe_mean", "return_on_account"))
    print(f"  integer columns identical: {same}; P&L and Sharpe within 1e-9: {close}")


if __name__ == "__main__":
    main()
