"""The contract's scenarios and the step's implementations, importable by the test and by the
CUDA-simulator child process (tests/contract/cuda_states.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.costs import CostModel
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.strategy_params import default_params
from scalper_tune.data import generate
from scalper_tune.data.market import MarketData, SymbolData
from scalper_tune.engine import prefilter
from scalper_tune.engine.backtest import run_symbol
from scalper_tune.features.compute import compute_symbol

SPEC = FeatureSpec(z_windows=(20, 80), baseline_window=100, vol_window=20)
WINDOWS = (20, 80)
ACCOUNT = 900.0
COSTS = CostModel(latency=1)


def _without_book(market: MarketData) -> MarketData:
    series = {s: SymbolData(s, **{k: v for k, v in market[s].columns().items()
                                  if k not in ("bid", "ask", "bid_size", "ask_size")})
              for s in market.symbols}
    return MarketData(bar_seconds=market.bar_seconds, series=series, source="contract",
                      symbol_meta=market.symbol_meta)


def _spread_only(market: MarketData) -> MarketData:
    """The book's bid and ask with its displayed sizes unknown (NaN): each bar's spread, no
    size impact."""
    unknown = {"bid_size", "ask_size"}
    series = {s: SymbolData(s, **{k: (np.full(len(v), np.nan) if k in unknown else v)
                                  for k, v in market[s].columns().items()})
              for s in market.symbols}
    return MarketData(bar_seconds=market.bar_seconds, series=series, source="contract",
                      symbol_meta=market.symbol_meta)


# name -> (market maker, whether the prefilter's contract covers it: the prefilter charges each
# bar's spread as the engine does but reads no displayed sizes, so no size impact)
SCENARIOS = {
    "crypto_book_spread": (lambda: _spread_only(generate(SyntheticSpec(assets=2, bars=6_000,
                                                                       seed=11))), True),
    "crypto_no_book": (lambda: _without_book(generate(SyntheticSpec(assets=3, bars=6_000))),
                       True),
    "stocks_no_book": (lambda: _without_book(generate(SyntheticSpec(
        assets=2, bars=4_000, calendar="XNYS", seed=5))), True),
    "crypto_book": (lambda: generate(SyntheticSpec(assets=2, bars=6_000, seed=11)), False),
}


def combos() -> pd.DataFrame:
    """Parameter sets that trade often, both sides, both windows, tight and loose stops."""
    grid = {"z_window": list(WINDOWS), "entry_z": [1.0, 2.0], "vol_z_min": [-2.0, 0.5],
            "stop_loss": [0.004, 0.02], "side": ["long", "both"]}
    return pd.DataFrame([dict(default_params(), **dict(zip(grid, v)))
                         for v in itertools.product(*grid.values())])


def features_of(market: MarketData) -> dict:
    return {s: compute_symbol(market[s], SPEC, market.bar_seconds, market.calendar(s))
            for s in market.symbols}


def engine_states(market: MarketData) -> np.ndarray:
    """The reference: the event engine's final state per (combination, symbol)."""
    features = features_of(market)
    capital = ACCOUNT / len(market.symbols)
    return np.array([[run_symbol(market, s, features[s], row, COSTS, capital).state
                      for s in market.symbols] for row in combos().to_dict("records")])


def prefilter_states(market: MarketData, device: str = "cpu") -> np.ndarray:
    shared = prefilter.prepare(market, features_of(market), WINDOWS)
    _, states = prefilter.run(shared, combos(), COSTS, account=ACCOUNT, threads=2, device=device)
    return states


def paper_states(market: MarketData) -> np.ndarray:
    """The live runner and paper broker, fed bar by bar as a live feed would."""
    from scalper_tune.live.runner import LiveRunner, replay

    out = []
    for row in combos().to_dict("records"):
        runner = LiveRunner(market.symbols, market.bar_seconds, row, COSTS, ACCOUNT, SPEC,
                            calendars={s: market.calendar(s) for s in market.symbols})
        for event in replay(market):
            runner.on_event(event)
        runs = runner.runs()
        out.append([runs[s].state for s in market.symbols])
    return np.array(out)
