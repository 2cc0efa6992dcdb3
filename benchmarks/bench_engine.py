"""Benchmark: prefilter throughput over the default 12,288 grid, the event engine's cost per bar,
scaling, and how well the prefilter agrees with the event engine.

Run by hand:  python benchmarks/bench_engine.py [--assets 11] [--bars 200000] [--threads 2]
              [--agreement 500] [--keep 200]
--threads N measures 1, 2, 4, ... N threads in one process and prints the per-core efficiency
(throughput per core against one thread), then how evenly 2 ... 64 threads would share the grid's
jobs (from the work each job really did: engine/work_plan.py against prange's contiguous split).
Throughput is bar-evaluations (bars x combinations, all assets) per second per core. Agreement:
Spearman rank correlation of each score between the prefilter (simplified costs) and the event
engine (full costs) over random combinations, and how many of the engine's top 50 (by
sharpe_mean) are in the prefilter's top `keep`.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import resource
import time

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from scalper_tune.config import SyntheticSpec, load_search_space
from scalper_tune.config.costs import CostModel
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.strategy_params import default_params
from scalper_tune.data import generate
from scalper_tune.engine import prefilter, work_plan
from scalper_tune.engine.backtest import run_symbol
from scalper_tune.features.compute import compute_market
from scalper_tune.workflow.screen import chunk_members

SPACE = "search_spaces/scalper_grid.yaml"


def grid() -> pd.DataFrame:
    space = load_search_space(SPACE)
    keys = list(space.grid)
    return pd.DataFrame([dict(default_params(), **dict(zip(keys, v)))
                         for v in itertools.product(*space.grid.values())])


def engine_states(market, features, params, costs, account):
    """Per-asset final states of the event engine (the prefilter's summary applies to them)."""
    capital = account / len(market.symbols)
    return np.stack([run_symbol(market, s, features[s], params, costs, capital).state
                     for s in market.symbols])[None]


def balance(shared, combos, threads: int) -> None:
    """How evenly N threads would share the grid, from the steps each (combination, asset) job
    really took: the work plan's lanes against prange's contiguous pieces (the split before the
    plan). Efficiency here is mean over max lane work: the best per-core efficiency that sharing
    allows, memory and clock effects aside. It needs no N-core machine."""
    work = prefilter.evaluate(shared, combos, threads=threads).work
    if work.sum() == 0:
        print("  work balance: no job took a step (too few bars past the features' warm-up)")
        return
    ptr, _, group_of = prefilter.entry_candidates(shared, combos)
    print(f"  work balance over {work.size:,} jobs ({int(work.sum()):,} steps; "
          f"coefficient of variation {work.std() / work.mean():.2f}):")
    for lanes in (2, 4, 8, 16, 32, 64):
        p = work_plan.plan(group_of, ptr, len(shared.symbols), lanes)
        print(f"    {lanes:3d} threads: contiguous pieces "
              f"{work_plan.contiguous_makespan(work, lanes):.2f}, "
              f"work plan {work_plan.plan_makespan(p, work):.2f}")
    per_combo = work.sum(axis=1).astype(float)
    print("  Phase 1 trials (chunks of `chunk_size` combinations, handed by Ray to whichever of "
          "N one-thread trial slots is free):")
    for size in (1024, 256):
        n_chunks = -(-len(per_combo) // size)
        contiguous = [per_combo[c * size:(c + 1) * size].sum() for c in range(n_chunks)]
        shuffled = [per_combo[chunk_members(len(per_combo), c, size)].sum()
                    for c in range(n_chunks)]
        print(f"    chunk_size {size} ({n_chunks} chunks): "
              + ", ".join(f"{slots} slots {trial_efficiency(contiguous, slots):.2f} -> "
                          f"{trial_efficiency(shuffled, slots):.2f}" for slots in (4, 8, 16))
              + " (contiguous slices of the grid -> chunks as the pipeline makes them)")


def trial_efficiency(chunk_work: list[float], slots: int) -> float:
    """Share of `slots` busy until the last chunk ends, chunks taken in order by the first free
    slot (how Tune runs a grid of trials)."""
    free = [0.0] * slots
    for w in chunk_work:
        heapq.heappush(free, heapq.heappop(free) + w)
    return sum(chunk_work) / (slots * max(free))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=11)
    parser.add_argument("--bars", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--agreement", type=int, default=500)
    parser.add_argument("--keep", type=int, default=200)
    args = parser.parse_args()
    market = generate(SyntheticSpec(assets=args.assets, bars=args.bars))
    features = compute_market(market, FeatureSpec())
    combos = grid()
    shared = prefilter.prepare(market, features, (20, 40, 80, 160))
    prefilter.run(shared, combos.iloc[:50], threads=args.threads)  # compile
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.assets} assets x {args.bars:,} bars; grid of {len(combos):,} combinations")
    counts = sorted({1, args.threads} | {2 ** k for k in range(1, 8) if 2 ** k < args.threads})
    single = None
    for threads in counts:  # one process, 1, 2, 4, ... N Numba threads
        t0 = time.perf_counter()
        summary, _ = prefilter.run(shared, combos, threads=threads)
        el = time.perf_counter() - t0
        rate = len(combos) * shared.bars / el / threads
        single = single or rate
        print(f"  prefilter, {threads:3d} thread(s): {el:7.2f} s, {rate:.2e} bar-evals/s per core, "
              f"per-core efficiency {rate / single:.2f}")
    balance(shared, combos, args.threads)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS {rss:.0f} MB (before the full grid: {rss0:.0f} MB)")
    for frac in (0.5, 1.0):
        sub = combos.sample(frac=frac, random_state=0)  # a random half does half the work
        t0 = time.perf_counter()
        prefilter.run(shared, sub, threads=args.threads)
        print(f"  scaling: {len(sub):,} combinations {time.perf_counter() - t0:6.2f} s")
    half = generate(SyntheticSpec(assets=args.assets, bars=args.bars // 2))
    half_shared = prefilter.prepare(half, compute_market(half, FeatureSpec()), (20, 40, 80, 160))
    t0 = time.perf_counter()
    prefilter.run(half_shared, combos, threads=args.threads)
    print(f"  scaling: {args.bars // 2:,} bars {time.perf_counter() - t0:6.2f} s (full grid)")

    rng = np.random.default_rng(7)
    pick = combos.iloc[rng.choice(len(combos), size=args.agreement, replace=False)].reset_index(drop=True)
    costs = CostModel()
    pre, _ = prefilter.run(shared, pick, costs, threads=args.threads)
    run_symbol(market, market.symbols[0], features[market.symbols[0]], pick.iloc[0].to_dict(),
               costs, 100.0)  # compile
    t0 = time.perf_counter()
    eng_states = np.vstack([engine_states(market, features, row, costs, 1000.0)
                            for row in pick.to_dict("records")])
    el = time.perf_counter() - t0
    per = el / (len(pick) * shared.bars) * 1e9
    print(f"  event engine: {per:.1f} ns per bar per combination; full grid extrapolated "
          f"{per * shared.bars * len(combos) / 1e9 / 60:.1f} min on one core")
    eng = prefilter.summarize(eng_states, np.diff(shared.start).astype(float),
                              1000.0 / len(market.symbols), 1000.0,
                              np.array([market.bars_per_year(s) for s in market.symbols]))
    for col in ("sharpe_mean", "total_pnl", "trades", "win_rate"):
        rho = spearmanr(pre[col], eng[col], nan_policy="omit").statistic
        print(f"  agreement over {len(pick)} combinations, {col:12s}: Spearman {rho:.3f}")
    top_engine = set(eng["sharpe_mean"].nlargest(50).index)
    kept = set(pre["sharpe_mean"].nlargest(args.keep).index)
    print(f"  engine's top 50 inside the prefilter's top {args.keep}: {len(top_engine & kept)}")


if __name__ == "__main__":
    main()
