"""Phase 3 (and the `stress` command): stress scenarios for one configuration on a window of data
never tuned on (the validation segment in a run), each with a pass/fail verdict and its reason.

Scenarios: `base`; `crash_2022` on a market the selection never saw (synthetic data: the same
generator with another seed and the crash placed elsewhere, evaluated after its warm-up; real
data: a 2022-style crash overlay laid over the window, data/crash_overlay.py); fees x fee_mult;
spreads x spread_mult; latency + latency_add events; and the asset with the best P&L in the base
run removed. The scenario markets are built once (`build_scenarios`) and shared by every
configuration tested.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from scalper_tune.features import Features
from scalper_tune.config.costs import CostModel
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.pipeline_spec import StressSpec
from scalper_tune.config.synthetic_spec import SyntheticSpec
from scalper_tune.data import generate, load_subset
from scalper_tune.data.crash_overlay import crash_overlay
from scalper_tune.data.market import MarketData
from scalper_tune.engine.backtest import backtest
from scalper_tune.engine.inputs import ENTRY_MASK, REGIME_LABEL
from scalper_tune.engine.regime_sets import Switching
from scalper_tune.features.compute import compute_market
from scalper_tune.robustness.rule_labels import market_labels
from scalper_tune.robustness.segments import slice_market, warmup_bars

CRASH_SEED_OFFSET = 1_000_003  # the stress market's seed: never the tuned one
CRASH_AT = 0.5  # and its crash starts half-way (the default market's starts at 35 %)



@dataclass(frozen=True)
class Window:
    """Data to evaluate on: a market and its features, restricted to [start, stop)."""

    market: MarketData
    features: Features
    start: int
    stop: int

    def sliced(self) -> tuple[MarketData, dict]:
        return slice_market(self.market, self.features, self.start, self.stop)


def synthetic_spec(market: MarketData) -> SyntheticSpec | None:
    """The generator spec of a synthetic market (generated now, or written by `data synth`)."""
    spec = market.info.get("spec") if market.source == "synthetic" else None
    if not isinstance(spec, Mapping):
        return None
    fields = {f.name for f in dataclasses.fields(SyntheticSpec)}
    return SyntheticSpec(**{k: v for k, v in spec.items() if k in fields})


def _masked(market: MarketData, features: Features, block: tuple[int, ...]) -> dict:
    """Features with the rule labeller's regimes as labels and, when regimes are blocked, as
    the entry mask (no classifier was trained on a stress market)."""
    labels = market_labels(market, features)
    return {s: dict(features[s], **{REGIME_LABEL: labels[s].astype(float),
                                    ENTRY_MASK: (~np.isin(labels[s], block)).astype(float)})
            for s in market.symbols}


def crash_window(market: MarketData, window: Window, spec: FeatureSpec,
                 block: tuple[int, ...]) -> Window:
    """The crash scenario's data (see the module docstring)."""
    synth = synthetic_spec(market)
    if synth is not None:
        crashed = generate(dataclasses.replace(synth, seed=synth.seed + CRASH_SEED_OFFSET,
                                               crash="2022", crash_at=CRASH_AT))
        features = _masked(crashed, compute_market(crashed, spec), block)
        first = max(int(crashed[s].ts[min(warmup_bars(spec), len(crashed[s]) - 1)])
                    for s in crashed.symbols)
        return Window(crashed, features, first, int(max(crashed[s].ts[-1]
                                                        for s in crashed.symbols)) + 1)
    # real data: the overlay from the window's start; features from the warm-up before it
    lead = warmup_bars(spec) * market.bar_ns
    base, _ = slice_market(market, {s: {} for s in market.symbols}, window.start - lead,
                           window.stop)
    bars = max(len(base[s]) for s in base.symbols) - warmup_bars(spec)
    crashed = crash_overlay(base, window.start, max_bars=max(1, bars // 2))
    features = _masked(crashed, compute_market(crashed, spec), block)
    return Window(crashed, features, window.start, window.stop)


@dataclass(frozen=True)
class Scenarios:
    """The shared scenario data: the window itself and the crash scenario's window."""

    base: Window
    crash: Window


def build_scenarios(market: MarketData, features: Features, start: int, stop: int,
                    spec: FeatureSpec, block: tuple[int, ...]) -> Scenarios:
    base = Window(market, features, start, stop)
    return Scenarios(base=base, crash=crash_window(market, base, spec, block))


def verdict(sharpe: float, dd_pct: float, spec: StressSpec) -> tuple[bool, str]:
    ok_sharpe = math.isfinite(sharpe) and sharpe >= spec.min_sharpe
    ok_dd = abs(dd_pct) <= spec.max_drawdown
    shown = f"{sharpe:.2f}" if math.isfinite(sharpe) else "n/a (no trades)"
    reason = (f"Sharpe {shown} {'>=' if ok_sharpe else '<'} {spec.min_sharpe:g}, drawdown "
              f"{abs(dd_pct) * 100:.1f}% {'<=' if ok_dd else '>'} {spec.max_drawdown * 100:.0f}%")
    return ok_sharpe and ok_dd, reason


def run_stress(scenarios: Scenarios, params: Mapping[str, object], costs: CostModel,
               account: float, spec: StressSpec,
               switching: Switching | None = None) -> list[dict]:
    """One row per scenario: scenario, sharpe, return, max_dd_pct, trades, passed, reason.
    `switching`: a switching strategy's per-regime sets (each scenario's regime labels pick
    the set of each bar; `params` unused)."""
    market, features = scenarios.base.sliced()
    base = backtest(market, features, params, costs, account, switching=switching)
    runs: list[tuple[str, MarketData, Features, CostModel]] = [
        ("crash_2022", *scenarios.crash.sliced(), costs),
        (f"fees_x{spec.fee_mult:g}", market, features, dataclasses.replace(
            costs, taker_fee_bps=costs.taker_fee_bps * spec.fee_mult,
            maker_fee_bps=costs.maker_fee_bps * spec.fee_mult)),
        (f"spreads_x{spec.spread_mult:g}", market, features,
         dataclasses.replace(costs, spread_mult=costs.spread_mult * spec.spread_mult)),
        (f"latency_plus{spec.latency_add}", market, features,
         dataclasses.replace(costs, latency=costs.latency + spec.latency_add))]
    if len(market.symbols) > 1:
        best = max(base.metrics.per_asset, key=lambda a: a.pnl).symbol
        rest = [s for s in market.symbols if s != best]
        runs.append((f"without_{best}", load_subset(market, rest, "stress"),
                     {s: features[s] for s in rest}, costs))
    rows = [_row("base", base.metrics, spec)]
    for name, m, f, c in runs:
        rows.append(_row(name, backtest(m, f, params, c, account, switching=switching).metrics,
                         spec))
    return rows


def _row(name: str, mt, spec: StressSpec) -> dict:
    passed, reason = verdict(mt.sharpe, mt.max_drawdown_pct, spec)
    return {"scenario": name, "sharpe": mt.sharpe, "return": mt.return_on_account,
            "max_dd_pct": mt.max_drawdown_pct, "trades": mt.total_trades, "passed": passed,
            "reason": reason}


def stress_window(market: MarketData, features: Features, spec: FeatureSpec,
                  params: Mapping[str, object], costs: CostModel, account: float,
                  stress: StressSpec, block: tuple[int, ...] = (), start: int | None = None,
                  stop: int | None = None, switching: Switching | None = None,
                  ) -> tuple[list[dict], int, int]:
    """Phase 3's scenarios of one configuration on [start, stop) (ns; default: from the end of
    the feature warm-up to the data's end): (rows of `run_stress`, start, stop). Refuses data too
    short for the warm-up."""
    from scalper_tune.errors import UsageError
    from scalper_tune.robustness.segments import usable_times, warmup_bars

    times = usable_times(market, warmup_bars(spec))
    if times.shape[0] < 2:
        raise UsageError(f"market: too short for the {warmup_bars(spec):,}-bar feature warm-up.",
                         param="market")
    start = int(times[0]) if start is None else start
    stop = int(times[-1]) + 1 if stop is None else stop
    scenarios = build_scenarios(market, features, start, stop, spec, block)
    return run_stress(scenarios, params, costs, account, stress, switching), start, stop
