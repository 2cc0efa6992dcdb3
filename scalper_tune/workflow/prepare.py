"""One prepared dataset for every phase: the market, its causal features (with the entry mask
and the regime labels), the segments, and the train folds as the prefilter's shared arrays."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from scalper_tune.features import Features
from scalper_tune.config.experiment import Experiment
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.search_space import SearchSpace
from scalper_tune.data.market import MarketData
from scalper_tune.engine import prefilter
from scalper_tune.features.cache import build as build_features
from scalper_tune.robustness.data_check import check_enough_data, check_steps
from scalper_tune.robustness.segments import Segments, make_segments, slice_market
from scalper_tune.workflow.entry_gate import RegimeResult, label_and_mask, with_regimes

REFINE_EXTRA_WINDOWS = 6  # log-spaced windows of the refinement's z_window range


def refine_windows(space: SearchSpace) -> tuple[int, ...]:
    """The z_windows the screen and the refinement may use: the grid's, plus
    REFINE_EXTRA_WINDOWS log-spaced windows of the refinement range (features are precomputed
    per window, so z_window is refined over this set)."""
    out = {int(w) for w in space.grid.get("z_window", (40,))}
    rng = space.refine.get("z_window")
    if rng is not None and rng.low is not None:
        out |= {int(round(x)) for x in np.geomspace(rng.low, rng.high, REFINE_EXTRA_WINDOWS)}
    return tuple(sorted(out))


def feature_spec(features: FeatureSpec, windows) -> FeatureSpec:
    """The feature settings with every window the search may use."""
    return dataclasses.replace(features, z_windows=tuple(sorted(
        set(features.z_windows) | {int(w) for w in windows})))


@dataclass(frozen=True)
class Prepared:
    """What the phases share (the big arrays travel once through Ray's object store)."""

    experiment: Experiment
    space: SearchSpace | None
    market: MarketData
    data_hash: str
    features: Features  # with allow_entry and regime_label
    regimes: RegimeResult
    segments: Segments
    windows: tuple[int, ...]
    warmup: int
    spec: FeatureSpec

    def segment(self, name: str) -> tuple[MarketData, dict]:
        """The market and features of a named segment ('train', 'validation', 'test')."""
        return slice_market(self.market, self.features, *self.segments.named()[name])

    def fold_data(self) -> list[tuple[MarketData, dict]]:
        return [slice_market(self.market, self.features, a, b) for a, b in self.segments.folds]

    def folds(self) -> list[prefilter.SharedArrays]:
        """The train folds as the prefilter's shared arrays (every window)."""
        return [prefilter.prepare(m, f, self.windows, self.experiment.costs.spread_mult)
                for m, f in self.fold_data()]


def check(exp: Experiment, market: MarketData, windows: Sequence[int]) -> int:
    """Refuse data too short for the experiment (DataError with the numbers and the fix): its
    segments, or with `reoptimize` every history and step; returns the warm-up in bars."""
    spec = feature_spec(exp.features, windows)
    if exp.reoptimize is not None:
        r = exp.reoptimize
        return check_steps(market, exp.walk_forward, spec, r.steps, r.oos)
    return check_enough_data(market, exp.walk_forward, spec)


def prepare(exp: Experiment, market: MarketData, windows: Sequence[int], *,
            space: SearchSpace | None = None, cache_dir: str | Path | None = None,
            regimes_file: Path | None = None) -> Prepared:
    """Check the data, build the features for every z_window in `windows` (cache hit or
    Numba), label regimes and build the entry mask (`regimes_file`: stored labels of a resumed
    run), and cut the segments."""
    warmup = check(exp, market, windows)
    windows = tuple(sorted({int(w) for w in windows}))
    spec = feature_spec(exp.features, windows)
    cache = exp.output.feature_cache if cache_dir is None else cache_dir
    features = build_features(market, spec, cache).features
    segments = make_segments(market, exp.walk_forward, warmup)
    regimes = label_and_mask(exp.gate, market, features, regimes_file, segments.named())
    return Prepared(experiment=exp, space=space, market=market, data_hash=market.content_hash(),
                    features=with_regimes(features, regimes), regimes=regimes,
                    segments=segments, windows=windows,
                    warmup=warmup, spec=spec)
