"""Benchmark: synthetic market generation (11 assets x 200,000 bars by default) and writing it.

Run by hand:  python benchmarks/bench_synth.py [--assets 11] [--bars 200000] [--repeat 3]
Prints the best of `repeat` timings (the first call also compiles and caches the Numba kernels).
"""

from __future__ import annotations

import argparse
import tempfile
import time

from scalper_tune.config import SyntheticSpec
from scalper_tune.data import generate, load_dataset, write_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=11)
    parser.add_argument("--bars", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    generate(SyntheticSpec(assets=1, bars=1000))  # compile / load the kernel cache
    for crash in ("none", "2022"):
        spec = SyntheticSpec(assets=args.assets, bars=args.bars, crash=crash)
        gen, write, read = [], [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            market = generate(spec)
            t1 = time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp:
                write_dataset(market, f"{tmp}/ds")
                t2 = time.perf_counter()
                load_dataset(f"{tmp}/ds")
                t3 = time.perf_counter()
            gen.append(t1 - t0)
            write.append(t2 - t1)
            read.append(t3 - t2)
        bars = args.assets * args.bars
        print(f"crash={crash:5s} {args.assets} x {args.bars:,} bars: generate {min(gen):.2f} s "
              f"({min(gen) / bars * 1e9:.0f} ns/bar), write {min(write):.2f} s, "
              f"read {min(read):.2f} s")


if __name__ == "__main__":
    main()
