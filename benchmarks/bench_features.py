"""Benchmark: all built-in features, cold (compute + store) and cached, and kernel scaling.

Run by hand:  python benchmarks/bench_features.py [--assets 11] [--bars 1000000]
Prints ns per bar per feature, the cache-hit load time, and two scaling checks: doubling the bars
doubles the time; a 100x longer window costs the same (O(n) rolling algorithms).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time

import numpy as np

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.data import generate
from scalper_tune.features.cache import build
from scalper_tune.features.compute import compute_symbol, feature_names
from scalper_tune.kernels.rolling_nb import ou_fit_nb, rolling_mean_std_nb


def _best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=11)
    parser.add_argument("--bars", type=int, default=1_000_000)
    args = parser.parse_args()
    spec = FeatureSpec()
    market = generate(SyntheticSpec(assets=args.assets, bars=args.bars))
    market.content_hash()
    n_feat = len(feature_names(spec))
    bars = args.assets * args.bars
    compute_symbol(market[market.symbols[0]], spec, market.bar_seconds)  # JIT warm-up
    folder = tempfile.mkdtemp(prefix="bench-features-")
    try:
        t0 = time.perf_counter()
        build(market, spec, folder)
        cold = time.perf_counter() - t0
        hit = _best(lambda: build(market, spec, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    compute = _best(lambda: [compute_symbol(market[s], spec, market.bar_seconds)
                             for s in market.symbols], repeat=1)
    print(f"{args.assets} assets x {args.bars:,} bars, {n_feat} features")
    print(f"  compute          {compute:7.2f} s  ({compute / bars / n_feat * 1e9:5.1f} ns per bar per feature)")
    print(f"  cold (+ store)   {cold:7.2f} s")
    print(f"  cache hit        {hit:7.2f} s  (load + CRC-32 check of {bars * n_feat * 8 / 1e9:.1f} GB)")
    x = np.log(market[market.symbols[0]].close)
    half, full = x[: len(x) // 2], x
    for name, fn in (("rolling_mean_std", rolling_mean_std_nb), ("ou_fit", ou_fit_nb)):
        t_half = _best(lambda: fn(half, 20))
        t_full = _best(lambda: fn(full, 20))
        t_wide = _best(lambda: fn(full, 2000))
        print(f"  {name:17s} n/2 {t_half * 1e3:6.1f} ms, n {t_full * 1e3:6.1f} ms "
              f"(x{t_full / t_half:.2f}); window 20 -> 2000: {t_full * 1e3:6.1f} -> "
              f"{t_wide * 1e3:6.1f} ms")


if __name__ == "__main__":
    main()
