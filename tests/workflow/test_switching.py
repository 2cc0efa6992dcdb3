"""The regime switcher on a hand-built market whose two regimes favour different grid cells: in
'calm' a sharp dip reverts and a spike runs on (the long-only cell wins), in 'volatile' the
opposite (the short-only cell wins). The switcher must pick each regime's cell from the train
per-regime results, beat both single cells, and trade the same through the live runner."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalper_tune.config.costs import CostModel
from scalper_tune.config.experiment import Experiment
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.pipeline_spec import REGIMES
from scalper_tune.config.strategy_params import default_params
from scalper_tune.data.market import MarketData, SymbolData
from scalper_tune.engine.backtest import backtest
from scalper_tune.engine.inputs import REGIME_LABEL
from scalper_tune.engine.regime_sets import Switching
from scalper_tune.features.compute import compute_market
from scalper_tune.live.runner import paper_replay
from scalper_tune.workflow.evaluation import engine_folds, judge
from scalper_tune.workflow.switcher import choose_switching

BARS, BLOCK, EVERY = 8000, 400, 40
CALM, VOLATILE = REGIMES.index("calm"), REGIMES.index("volatile")
SPEC = FeatureSpec(vol_window=10, baseline_window=50, timeframes=(1,), z_windows=(20,))


def _market() -> tuple[MarketData, np.ndarray]:
    """One symbol of 1-minute bars: quiet noise, and every EVERY bars a 1 % dip or spike that
    reverts over 5 bars or runs 1.5 % further, by regime (calm: dips revert, spikes run;
    volatile: spikes revert, dips run). Returns the market and the regime label of each bar."""
    rng = np.random.default_rng(3)
    step = rng.normal(0.0, 0.0002, BARS)
    labels = np.where((np.arange(BARS) // BLOCK) % 2 == 0, CALM, VOLATILE)
    for k, t in enumerate(range(600, BARS - 20, EVERY)):
        direction = -1.0 if k % 2 == 0 else 1.0  # dip, spike, dip, ...
        reverts = (direction < 0) == (labels[t] == CALM)
        step[t] += direction * 0.01
        step[t + 1:t + 6] += (-direction * 0.01 if reverts else direction * 0.015) / 5
    close = 100.0 * np.exp(np.cumsum(step))
    open_ = np.concatenate([[close[0]], close[:-1]])
    ts = (np.datetime64("2024-01-01T00:00:00", "ns").astype(np.int64)
          + np.arange(BARS, dtype=np.int64) * 60 * 1_000_000_000)
    data = SymbolData(symbol="HAND", ts=ts, open=open_, high=np.maximum(open_, close),
                      low=np.minimum(open_, close), close=close, volume=np.full(BARS, 10.0))
    return MarketData(bar_seconds=60, series={"HAND": data}, source="hand-built"), labels


def _cell(side: str) -> dict:
    return dict(default_params(), z_window=20, entry_z=2.0, vol_z_min=-5.0, imbalance_min=0.0,
                ou_exit_frac=0.0, stop_loss=0.01, side=side, max_hold=20, cross_venue_z=0.0)


@pytest.fixture(scope="module")
def hand():
    market, labels = _market()
    features = compute_market(market, SPEC)
    features = {"HAND": dict(features["HAND"], **{REGIME_LABEL: labels.astype(float)})}
    return market, features


def test_the_switcher_picks_each_regimes_cell_and_beats_both(hand):
    market, features = hand
    exp = Experiment(name="hand", search_space="", costs=CostModel(impact_bps=0.0))
    cells = {"long-only": _cell("long"), "short-only": _cell("short")}
    rows = []
    for name, params in cells.items():
        table = engine_folds([(market, features)], params, exp.costs, exp.account)
        judged = judge(table, exp, market.bars_per_year(), min_trades=1)
        rows.append(dict(params, source=name, robustness=0.0, **judged.iloc[0].to_dict()))
    phase2 = pd.DataFrame(rows)
    # each cell wins in one regime and loses in the other
    assert phase2.loc[0, "regime_sharpe_calm"] > 0 > phase2.loc[0, "regime_sharpe_volatile"]
    assert phase2.loc[1, "regime_sharpe_volatile"] > 0 > phase2.loc[1, "regime_sharpe_calm"]

    choice = choose_switching(phase2, exp)
    assert choice.sources["calm"] == "long-only" and choice.sources["volatile"] == "short-only"
    assert all(choice.sources[r] is None for r in ("trending", "toxic", "crash"))
    sw = choice.switching
    assert [sw.sets[sw.by_regime[CALM]]["side"], sw.sets[sw.by_regime[VOLATILE]]["side"]] == [
        "long", "short"]

    switched = backtest(market, features, sw.sets[0], exp.costs, exp.account, switching=sw)
    singles = [backtest(market, features, p, exp.costs, exp.account).metrics.sharpe
               for p in cells.values()]
    assert switched.metrics.sharpe > max(singles) and switched.metrics.sharpe > 0
    # the live runner fed bar by bar with the same labels trades the same
    trades, _, _ = paper_replay(market, sw.sets[0], exp.costs, exp.account, SPEC,
                                gate=features, switching=sw)
    assert len(trades) == len(switched.trades) > 20
    pd.testing.assert_frame_equal(trades.reset_index(drop=True)[list(switched.trades.columns)],
                                  switched.trades.reset_index(drop=True))


def test_per_bar_sets_and_open_positions_keep_their_exits(hand):
    sw = Switching(sets=(_cell("long"), _cell("short")), by_regime=(0, None, 1, None, None))
    pset, allowed = sw.per_bar(np.array([0, 1, 2, np.nan, -1, 4], dtype=float))
    assert pset.tolist() == [0, 0, 1, 0, 0, 0]
    assert allowed.tolist() == [True, False, True, False, False, False]
    with pytest.raises(ValueError):
        Switching(sets=(_cell("long"),), by_regime=(0, 1, None, None, None))
    # a long opened in the last calm bars of a block is closed by its own exits, not the
    # short set's: every long entry's exit comes at most max_hold bars later
    market, features = hand
    result = backtest(market, features, sw.sets[0], switching=sw)
    longs = result.trades[result.trades["side"] == "long"]
    held = (longs["_exit_bar"] - longs["_entry_bar"]).to_numpy()
    assert len(longs) > 0 and held.max() <= 20


def test_a_recommended_switcher_goes_into_the_bundle_and_back(hand, tmp_path):
    import dataclasses

    from scalper_tune.strategy import bundle_dict, load_strategy, write_bundle
    from scalper_tune.workflow.switcher import SwitchingChoice

    market, _ = hand
    sw = Switching(sets=(_cell("long"), _cell("short")), by_regime=(0, None, 1, None, None))
    choice = SwitchingChoice(sw, {"calm": "a", "trending": None, "volatile": "b", "toxic": None,
                                  "crash": None}, {})
    exp = Experiment(name="hand", search_space="")
    best = {"params": _cell("long"), "costs": dataclasses.asdict(exp.costs), "account": 1000.0,
            "meta": {"source": "a"}}
    folder = write_bundle(tmp_path, bundle_dict(best, exp, SPEC, market, "hash", choice))
    loaded = load_strategy(folder)
    assert loaded.mode == "switching" and loaded.switching == sw
    assert loaded.features == SPEC and loaded.symbols == ("HAND",)


def test_stress_runs_a_switching_strategy_with_each_scenarios_labels(hand):
    from scalper_tune.config.pipeline_spec import StressSpec
    from scalper_tune.workflow.stress import build_scenarios, run_stress

    market, features = hand
    sw = Switching(sets=(_cell("long"), _cell("short")), by_regime=(0, None, 1, None, None))
    ts = market["HAND"].ts
    scenarios = build_scenarios(market, features, int(ts[0]), int(ts[-1]) + 1, SPEC, ())
    rows = run_stress(scenarios, sw.sets[0], CostModel(), 1000.0, StressSpec(), sw)
    base = backtest(market, features, sw.sets[0], CostModel(), 1000.0, switching=sw).metrics
    assert rows[0]["scenario"] == "base" and rows[0]["trades"] == base.total_trades > 0
    assert rows[0]["sharpe"] == base.sharpe
    single = run_stress(scenarios, sw.sets[0], CostModel(), 1000.0, StressSpec())
    assert single[0]["trades"] != rows[0]["trades"]
