"""Stress sizing: the largest rung of the ladder at which every scenario's drawdown is within the
limit, checked by backtest at that size (the next rung up fails); the tuned size where it
already passes; unsized where no rung can."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.costs import CostModel
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.pipeline_spec import StressSpec
from scalper_tune.config.strategy_params import default_params
from scalper_tune.data import generate
from scalper_tune.engine.inputs import REGIME_LABEL
from scalper_tune.engine.regime_sets import Switching
from scalper_tune.features.compute import compute_market
from scalper_tune.robustness.rule_labels import market_labels
from scalper_tune.robustness.segments import warmup_bars
from scalper_tune.workflow.stress import build_scenarios, run_stress
from scalper_tune.workflow.stress_sizing import (LADDER, scaled, scaled_switching,
                                                 size_for_stress, worst_drawdown)

SPEC = FeatureSpec()
PARAMS = dict(default_params(), entry_z=1.5, vol_z_min=-0.5, base_position=1.0,
              max_position=2.0)


def same(a: list[dict], b: list[dict]) -> None:
    pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b))


@pytest.fixture(scope="module")
def scenarios():
    market = generate(SyntheticSpec(assets=2, bars=8000, seed=3))
    features = compute_market(market, SPEC)
    labels = market_labels(market, features)
    features = {s: dict(features[s], **{REGIME_LABEL: labels[s].astype(float)})
                for s in market.symbols}
    ts = market[market.symbols[0]].ts
    return build_scenarios(market, features, int(ts[warmup_bars(SPEC)]), int(ts[-1]) + 1,
                           SPEC, ())


def test_the_scale_is_the_largest_rung_that_keeps_every_scenario_within_the_limit(scenarios):
    full = run_stress(scenarios, PARAMS, CostModel(), 1000.0, StressSpec())
    worst = worst_drawdown(full)
    assert worst > 0.02
    spec = StressSpec(max_drawdown=worst / 3)
    sizing = size_for_stress(scenarios, PARAMS, CostModel(), 1000.0, spec)
    assert sizing.sized and sizing.scale < 1.0
    same(sizing.full_rows, run_stress(scenarios, PARAMS, CostModel(), 1000.0, spec))
    assert worst_drawdown(sizing.rows) <= spec.max_drawdown
    again = run_stress(scenarios, scaled(PARAMS, sizing.scale), CostModel(), 1000.0, spec)
    same(again, sizing.rows)  # the rows are those of a backtest at that size
    up = LADDER[LADDER.index(sizing.scale) - 1]
    above = run_stress(scenarios, scaled(PARAMS, up), CostModel(), 1000.0, spec)
    assert worst_drawdown(above) > spec.max_drawdown  # the next rung up fails
    assert [r["trades"] for r in again] == [r["trades"] for r in full]  # same entries


def test_a_choice_within_the_limit_keeps_its_size(scenarios):
    sizing = size_for_stress(scenarios, PARAMS, CostModel(), 1000.0, StressSpec(max_drawdown=1))
    assert sizing.scale == 1.0 and sizing.sized
    same(sizing.rows, sizing.full_rows)


def test_no_rung_that_can_pass_leaves_it_unsized(scenarios):
    sizing = size_for_stress(scenarios, PARAMS, CostModel(), 1000.0,
                             StressSpec(max_drawdown=1e-9))
    assert sizing.scale == 1.0 and not sizing.sized


def test_a_switcher_is_sized_set_by_set(scenarios):
    other = dict(PARAMS, side="long", base_position=0.5)
    sw = Switching(sets=(PARAMS, other), by_regime=(0, 1, 1, None, None))
    half = scaled_switching(sw, 0.5)
    assert [p["base_position"] for p in half.sets] == [0.5, 0.25]
    assert [p["max_position"] for p in half.sets] == [1.0, 1.0]
    assert half.by_regime == sw.by_regime and scaled_switching(sw, 1.0) is sw
    full = run_stress(scenarios, PARAMS, CostModel(), 1000.0, StressSpec(), sw)
    spec = dataclasses.replace(StressSpec(), max_drawdown=worst_drawdown(full) / 2)
    sizing = size_for_stress(scenarios, PARAMS, CostModel(), 1000.0, spec, sw)
    assert sizing.sized and sizing.scale < 1.0
    same(sizing.rows, run_stress(scenarios, PARAMS, CostModel(), 1000.0, spec,
                                 scaled_switching(sw, sizing.scale)))
