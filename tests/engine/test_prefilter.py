"""The prefilter's own properties: thread counts change nothing, an unknown window is refused.
That its final states equal the event engine's is the step contract
(tests/contract/test_step_contract.py), shared with the GPU prefilter and the paper runner."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.strategy_params import default_params
from scalper_tune.data import generate
from scalper_tune.data.market import MarketData, SymbolData
from scalper_tune.engine import prefilter
from scalper_tune.errors import ConfigError
from scalper_tune.features.compute import compute_market

SPEC = FeatureSpec(z_windows=(20, 80))


@pytest.fixture(scope="module")
def bare_market():
    """The synthetic market without its book: both engines then see identical costs."""
    m = generate(SyntheticSpec(assets=3, bars=20_000))
    series = {}
    for s in m.symbols:
        cols = {k: v for k, v in m[s].columns().items()
                if k not in ("bid", "ask", "bid_size", "ask_size")}
        series[s] = SymbolData(s, **cols)
    return MarketData(bar_seconds=60, series=series, source="test")


def _combos():
    grid = {"z_window": [20, 80], "entry_z": [1.5, 2.5], "vol_z_min": [-0.5, 0.5],
            "ou_exit_frac": [0.0, 0.5], "stop_loss": [0.005, 0.02], "side": ["long", "both"]}
    rows = [dict(default_params(), **dict(zip(grid, v))) for v in itertools.product(*grid.values())]
    return pd.DataFrame(rows)


def test_thread_count_does_not_change_results(bare_market):
    features = compute_market(bare_market, SPEC)
    shared = prefilter.prepare(bare_market, features, (20, 80))
    one, _ = prefilter.run(shared, _combos(), threads=1)
    two, _ = prefilter.run(shared, _combos(), threads=2)
    pd.testing.assert_frame_equal(one, two)


def test_unknown_window_is_refused(bare_market):
    features = compute_market(bare_market, SPEC)
    shared = prefilter.prepare(bare_market, features, (20,))
    with pytest.raises(ConfigError, match="z_window"):
        prefilter.run(shared, _combos())
