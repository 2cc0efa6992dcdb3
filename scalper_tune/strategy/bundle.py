"""The strategy bundle: what a run chose, as one folder that `backtest`, `paper` and `audit` run
exactly as the run scored it.

    runs/<exp>/<id>/strategy/strategy.yaml

holds the parameters, costs and account, the feature settings the run computed its features
with, the entry gate (the regime settings: classifier, blocked regimes, ML gate, and the seed
of the walk-forward fits), the data it was tuned on (bar size, symbols, content hash), the
segments and the figures of each (as `best_config.yaml`), and `mode: single`.

The entry gate is not a frozen model applied to new data: it is the walk-forward procedure of
the run (fixed blocks from the data's first bar, each block's classifier fitted on the blocks
before it), recomputed on the data given. On the run's data this reproduces the run's labels
and entry mask bar for bar, so `backtest --strategy DIR --from --to` reproduces the run's
validation and test figures; on longer data the later blocks are fitted on what precedes them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import yaml

from scalper_tune import __version__
from scalper_tune.config.costs import CostModel
from scalper_tune.config.experiment import Experiment
from scalper_tune.config.gate_settings import GateSettings
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.pipeline_spec import REGIMES, RegimeSpec, StressSpec
from scalper_tune.config.schema import build, check_keys, load_yaml
from scalper_tune.config.strategy_params import check_params
from scalper_tune.data import load_subset
from scalper_tune.data.market import MarketData
from scalper_tune.errors import ConfigError
from scalper_tune.engine.regime_sets import Switching
from scalper_tune.features.cache import build as build_features
from scalper_tune.robustness.segments import slice_market
from scalper_tune.store.atomic import atomic_text
from scalper_tune.strategy.models import GateModels, check_models, load_models, save_models
from scalper_tune.workflow.entry_gate import label_and_mask, with_regimes
from scalper_tune.workflow.switcher import SwitchingChoice

BUNDLE_VERSION = 1
DIR = "strategy"
FILE = "strategy.yaml"
KEYS = ("bundle_version", "package_version", "mode", "params", "costs", "account", "features",
        "regime", "stress", "seed", "data", "switching", "models", "meta")
MODES = ("single", "switching")


@dataclass(frozen=True)
class Strategy:
    """A loaded bundle (see the module docstring)."""

    path: Path
    params: dict
    costs: CostModel
    account: float
    features: FeatureSpec
    regime: RegimeSpec
    seed: int
    bar_seconds: int
    symbols: tuple[str, ...]
    data_hash: str
    meta: dict
    mode: str = "single"
    switching: Switching | None = None  # mode switching: the per-regime sets
    stress: StressSpec = StressSpec()  # Phase 3's scenario settings (stress --strategy)
    models: dict = dataclasses.field(default_factory=dict)  # strategy.yaml's `models` section

    @property
    def gated(self) -> bool:
        """Whether entries depend on regime labels or the ML gate (not only the parameters)."""
        g = self.regime
        return self.mode == "switching" or g.ml_gate or (g.filter and bool(g.block))

    def gate_models(self) -> GateModels:
        """The saved models of the gate (hash-checked), for bars after the run's data."""
        return load_models(self.models, self.path, str(self.path / FILE))

    @property
    def gate(self) -> GateSettings:
        """The settings of the strategy's entry gate."""
        return GateSettings(self.regime, self.seed, self.costs, self.account)

    def inputs(self, market: MarketData, cache_dir: str | Path | None = None,
               source: str = "the data") -> tuple[MarketData, dict]:
        """The strategy's symbols of `market` (refused: another bar size, a missing symbol) and
        their features of its settings with the entry mask and regime labels of its gate
        (recomputed walk-forward on all of `market`, as the run did)."""
        market = check_market(self, market, source)
        features = build_features(market, self.features, cache_dir).features
        return market, with_regimes(features, label_and_mask(self.gate, market, features))


def bundle_dict(best: Mapping, exp: Experiment, spec: FeatureSpec, market: MarketData,
                data_hash: str, choice: SwitchingChoice | None = None) -> dict:
    """The content of strategy.yaml from best_config.yaml's content and the run's settings;
    with `choice` (a recommended switcher) in mode switching: `switching.<regime>` holds that
    regime's parameter set and its source, or null for no entries (`params` stays the single
    choice, for reference)."""
    out = {
        "bundle_version": BUNDLE_VERSION,
        "package_version": __version__,
        "mode": "single" if choice is None else "switching",
        "params": dict(best["params"]),
        "costs": dict(best["costs"]),
        "account": best["account"],
        "features": spec.to_dict(),
        "regime": {k: (list(v) if isinstance(v, tuple) else v)
                   for k, v in dataclasses.asdict(exp.regime).items() if k != "splits"},
        "stress": dataclasses.asdict(exp.stress),
        "seed": exp.seed,
        "data": {"bar_seconds": market.bar_seconds, "symbols": list(market.symbols),
                 "hash": data_hash},
        "meta": dict(best["meta"]),
    }
    if choice is not None:
        sw = choice.switching
        out["switching"] = {
            r: None if k is None else {"source": choice.sources[r], "params": dict(sw.sets[k])}
            for r, k in zip(REGIMES, sw.by_regime)}
    return out


def write_bundle(run_folder: Path, content: Mapping, models: GateModels = GateModels()) -> Path:
    """Write the gate's model files, then `strategy/strategy.yaml` naming them with their
    hashes, under the run folder (each file atomically); returns the folder."""
    folder = run_folder / DIR
    folder.mkdir(exist_ok=True)
    content = dict(content, models=save_models(folder, models))
    atomic_text(yaml.safe_dump(content, sort_keys=False), folder / FILE)
    return folder


def load_strategy(path: str | Path) -> Strategy:
    """Load a bundle folder or its strategy.yaml; a bad bundle is a ConfigError naming the
    file and the fix."""
    path = Path(path)
    file = path / FILE if path.is_dir() else path
    if not file.is_file():
        raise ConfigError(f"strategy {path}: no {FILE} there; give a run's strategy folder "
                          "(runs/<experiment>/<id>/strategy).", param="strategy")
    raw = load_yaml(file, "strategy")
    name = str(file)
    if not isinstance(raw, dict):
        raise ConfigError(f"{name}: expected a mapping (a strategy bundle written by `run`).")
    check_keys(raw, KEYS, name)
    version = raw.get("bundle_version")
    if not isinstance(version, int):
        raise ConfigError(f"{name}: bundle_version: missing; this file was not written by `run`.")
    if version > BUNDLE_VERSION:
        raise ConfigError(f"{name}: bundle_version {version} is newer than this scalper_tune "
                          f"({__version__}) reads ({BUNDLE_VERSION}); upgrade scalper_tune "
                          f"(it was written by {raw.get('package_version', 'a newer version')}).")
    mode = raw.get("mode", "single")
    if mode not in MODES:
        raise ConfigError(f"{name}: mode: {mode!r} is not one of {', '.join(MODES)}.")
    for key in ("params", "features", "regime", "data"):
        if not isinstance(raw.get(key), dict):
            raise ConfigError(f"{name}: {key}: required mapping is missing.")
    switching = _switching(raw, name) if mode == "switching" else None
    models = raw.get("models") or {}
    if not isinstance(models, dict):
        raise ConfigError(f"{name}: models: expected a mapping (as written by `run`).")
    check_models(models, file.parent, name)
    data = raw["data"]
    if not isinstance(data.get("bar_seconds"), int) or not isinstance(data.get("symbols"), list):
        raise ConfigError(f"{name}: data: needs bar_seconds and symbols (as written by `run`).")
    return Strategy(
        path=file.parent, params=check_params(raw["params"], f"{name}: params"),
        costs=build(CostModel, raw.get("costs"), file=name, where="costs"),
        account=float(raw.get("account", 1000.0)),
        features=build(FeatureSpec, raw["features"], file=name, where="features"),
        regime=build(RegimeSpec, raw["regime"], file=name, where="regime"),
        seed=int(raw.get("seed", 7)), bar_seconds=int(data["bar_seconds"]),
        symbols=tuple(str(s) for s in data["symbols"]), data_hash=str(data.get("hash", "")),
        meta=dict(raw.get("meta") or {}), mode=mode, switching=switching,
        stress=build(StressSpec, raw.get("stress"), file=name, where="stress"), models=models)


def _switching(raw: Mapping, name: str) -> Switching:
    """mode switching: `switching` maps every regime to {source, params} or null."""
    section = raw.get("switching")
    if not isinstance(section, dict):
        raise ConfigError(f"{name}: switching: mode switching needs a mapping of every regime "
                          f"({', '.join(REGIMES)}) to its parameter set or null.")
    check_keys(section, REGIMES, name, "switching")
    sets: list[dict] = []
    by_regime: list[int | None] = []
    for regime in REGIMES:
        entry = section.get(regime)
        if entry is None:
            by_regime.append(None)
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("params"), dict):
            raise ConfigError(f"{name}: switching.{regime}: expected {{source, params}} or null.")
        params = check_params(entry["params"], f"{name}: switching.{regime}.params")
        if params not in sets:
            sets.append(params)
        by_regime.append(sets.index(params))
    if not sets:
        raise ConfigError(f"{name}: switching: every regime is null (no entries at all); use "
                          "mode single.")
    return Switching(tuple(sets), tuple(by_regime))


def check_market(strategy: Strategy, market: MarketData, source: str) -> MarketData:
    """The strategy's symbols of `market`; refuses data of another bar size or without them."""
    if market.bar_seconds != strategy.bar_seconds:
        raise ConfigError(f"{source}: bars of {market.bar_seconds} s, but the strategy in "
                        f"{strategy.path} was tuned on {strategy.bar_seconds}-s bars; give data "
                        f"of {strategy.bar_seconds}-s bars (data import --bar).")
    missing = [s for s in strategy.symbols if s not in market.symbols]
    if missing:
        raise ConfigError(f"{source}: no {', '.join(missing)}; the strategy in {strategy.path} "
                        f"trades {', '.join(strategy.symbols)} (its gate is fitted across them): "
                        "give data with these symbols.")
    if market.symbols == strategy.symbols:
        return market
    return load_subset(market, list(strategy.symbols), source)


def window(market: MarketData, features, start: int | None, stop: int | None,
           ) -> tuple[MarketData, dict]:
    """Bars with start <= time < stop (ns since the epoch; None: open end); the features are
    sliced, never recomputed (they come from all data before)."""
    if start is None and stop is None:
        return market, features
    lo = np.iinfo(np.int64).min if start is None else start
    hi = np.iinfo(np.int64).max if stop is None else stop
    if lo >= hi:
        raise ConfigError("start/stop: the window is empty (--from must be before --to).",
                          param="start/stop")
    return slice_market(market, features, lo, hi)
