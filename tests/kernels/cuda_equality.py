"""Run by tests/kernels/test_prefilter_cuda.py in a process with NUMBA_ENABLE_CUDASIM=1: the
prefilter on the (simulated) GPU and on the CPU over the same tiny inputs, with and without a
book; prints both summaries as JSON."""

from __future__ import annotations

import json
import sys

import pandas as pd

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.strategy_params import default_params
from scalper_tune.data import generate
from scalper_tune.data.market import MarketData, SymbolData
from scalper_tune.engine import prefilter
from scalper_tune.features.compute import compute_market


def _without_book(market: MarketData) -> MarketData:
    series = {s: SymbolData(s, **{k: v for k, v in market[s].columns().items()
                                  if k not in ("bid", "ask", "bid_size", "ask_size")})
              for s in market.symbols}
    return MarketData(bar_seconds=market.bar_seconds, series=series, source="t")


def main() -> None:
    market = generate(SyntheticSpec(assets=2, bars=1_200, seed=3))
    spec = FeatureSpec(z_windows=(20, 40), baseline_window=50, vol_window=20, timeframes=(1, 5))
    rows = pd.DataFrame([dict(default_params(), z_window=w, entry_z=ez, vol_z_min=-2.0,
                              stop_loss=0.004) for w in (20, 40) for ez in (1.0, 2.0)])
    out = {}
    for name, m in (("book", market), ("no_book", _without_book(market))):
        shared = prefilter.prepare(m, compute_market(m, spec), [20, 40])
        cpu, _ = prefilter.run(shared, rows)
        gpu, _ = prefilter.run(shared, rows, device="gpu")
        steps = {d: prefilter.evaluate(shared, rows, threads=2, device=d).work.tolist()
                 for d in ("cpu", "gpu")}  # the same steps: the same loop, block by block or not
        out[name] = {"cpu": cpu.to_dict("list"), "gpu": gpu.to_dict("list"), "steps": steps}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
