"""Segments on the time axis, in this order, after the features' warm-up:

    warm-up | train (fold 0 | fold 1 | ... | fold K-1) | validation | test

Phase 1 and refinement see only the train folds; Phase 2 ranks on train + validation; Phase 3
and the choice use validation only; test is evaluated once, after the choice, and only reported.
Each segment is simulated from flat; features come from all data before it (they are causal), so
no segment sees the future and none starts cold. The warm-up (`warmup_bars`) is the longest
history any feature needs; the segments start when every symbol has it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scalper_tune.features import Features
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.pipeline_spec import WalkForwardSpec
from scalper_tune.data.market import MarketData

SEGMENT_NAMES = ("train", "validation", "test")


def warmup_bars(spec: FeatureSpec) -> int:
    """Bars before every feature the strategy reads is defined: the volatility-clustering
    z-score of the longest timeframe needs m x (vol_window + baseline_window + 2) base bars
    (one spare higher-timeframe bar for an unaligned start); the z-score and OU windows and the
    book's spread norm need their windows."""
    clustering = max(spec.timeframes) * (spec.vol_window + spec.baseline_window + 2)
    return int(max(clustering, max(spec.z_windows) + 1, spec.spread_window + 1))


@dataclass(frozen=True)
class Segments:
    """Bar-open times (ns). fold_edges: K + 1 times bounding the train folds (fold_edges[0] is
    the first bar after the warm-up); validation and test are [start, stop) pairs; `end` is one
    past the last bar."""

    fold_edges: tuple[int, ...]
    validation: tuple[int, int]
    test: tuple[int, int]
    end: int

    @property
    def folds(self) -> list[tuple[int, int]]:
        return list(zip(self.fold_edges[:-1], self.fold_edges[1:]))

    @property
    def train(self) -> tuple[int, int]:
        return self.fold_edges[0], self.fold_edges[-1]

    def pro_rata(self, count: int, name: str) -> int:
        """`count` (meant for the whole train, e.g. filters.min_trades) scaled to the length of
        segment `name` against the train's, rounded up (at least 1)."""
        a, b = self.named()[name]
        t0, t1 = self.train
        return max(1, math.ceil(count * (b - a) / (t1 - t0)))

    def named(self) -> dict[str, tuple[int, int]]:
        return {"train": self.train, "validation": self.validation, "test": self.test}

    def iso(self) -> dict[str, dict[str, str]]:
        """{segment: {start, end}} as ISO 8601 UTC (bar open times; end exclusive)."""
        return {name: {"start": iso_utc(a), "end": iso_utc(b)}
                for name, (a, b) in self.named().items()}


def iso_utc(ns: int) -> str:
    """ns since the epoch as ISO 8601 UTC, e.g. 2022-01-03T07:30:00Z."""
    return np.datetime_as_string(np.datetime64(int(ns), "ns"), unit="s") + "Z"


def usable_times(market: MarketData, warmup: int) -> np.ndarray:
    """The union time axis from the first bar at which every symbol has `warmup` bars behind
    it."""
    times = np.unique(np.concatenate([market[s].ts for s in market.symbols]))
    ready = max(int(market[s].ts[min(warmup, len(market[s]) - 1)]) for s in market.symbols)
    return times[times >= ready]


def make_segments(market: MarketData, spec: WalkForwardSpec, warmup: int) -> Segments:
    """Equal-count train folds, then validation and test, over the union time axis after the
    warm-up (see data_check for the minimum sizes)."""
    times = usable_times(market, warmup)
    n = times.shape[0]
    train_end = int(n * (1 - spec.validation - spec.test))
    val_end = int(n * (1 - spec.test))
    edges = np.linspace(0, train_end, spec.folds + 1).astype(np.int64)
    fold_edges = tuple(int(times[i]) for i in edges[:-1]) + (int(times[train_end]),)
    end = int(times[-1]) + market.bar_ns  # one bar past the last bar's open
    return Segments(fold_edges=fold_edges, validation=(int(times[train_end]), int(times[val_end])),
                    test=(int(times[val_end]), end), end=end)


def slice_market(market: MarketData, features: Features, start: int,
                 stop: int) -> tuple[MarketData, dict]:
    """Bars with start <= ts < stop, and the matching slices of the features."""
    series, feats = {}, {}
    for s in market.symbols:
        ts = market[s].ts
        a, b = np.searchsorted(ts, start), np.searchsorted(ts, stop)
        cols = {k: v[a:b] for k, v in market[s].columns().items()}
        series[s] = type(market[s])(symbol=s, **cols)
        feats[s] = {k: np.asarray(v)[a:b] for k, v in features[s].items()}
    sliced = MarketData(bar_seconds=market.bar_seconds, series=series, source=market.source,
                        symbol_meta=market.symbol_meta, info=market.info)
    return sliced, feats


def step_segments(market: MarketData, spec: WalkForwardSpec, steps: int, mode: str, oos: float,
                  warmup: int) -> list[Segments]:
    """Walk-forward re-optimisation on a grid of equal blocks (`step_sizes`): a first history
    of `walk_forward.folds` train blocks and a validation, then `steps` steps of whole blocks.
    Step k's Segments: train folds = blocks (the last `folds` before its validation: `rolling`;
    every block from the first: `anchored`), the validation just before the step, and `test` =
    the step itself (the chain's choice trades it once, from flat). Folds sit on one grid, so a
    fold is the same bars in every step whose history holds it: its Phase 1 results are
    computed once (pipeline/walk_forward.py). The first `skip` usable bars (fewer than one
    block per step and fold) are not used."""
    times = usable_times(market, warmup)
    size = step_sizes(times.shape[0], spec, steps, oos)
    f, v, s, k0 = size["fold"], size["validation"], size["folds_per_step"], spec.folds
    base = size["skip"]
    end = int(times[-1]) + market.bar_ns
    out = []
    for k in range(steps):
        first_block = 0 if mode == "anchored" else k * s
        edges = [base + (first_block + i) * f for i in range(k * s + k0 - first_block + 1)]
        b = edges[-1] + v  # the step's first bar
        stop = end if k == steps - 1 else int(times[b + s * f])
        out.append(Segments(fold_edges=tuple(int(times[i]) for i in edges),
                            validation=(int(times[edges[-1]]), int(times[b])),
                            test=(int(times[b]), stop), end=stop))
    return out


def step_sizes(n: int, spec: WalkForwardSpec, steps: int, oos: float) -> dict[str, int]:
    """The block grid of walk-forward re-optimisation for `n` usable bars. Asked: `steps` steps
    holding `oos` of the bars, the history before them cut as the single chain cuts its train +
    validation (`nominal_step`, `nominal_fold`). Built: a block (`fold`) of bars, a step of
    `folds_per_step` whole blocks (the nearest whole number to the asked step over the asked
    fold, at least 1), a history of `walk_forward.folds` blocks and a `validation` in the single
    chain's train : validation ratio; `skip`: the leftover bars at the start, not used;
    `history`: the first history's bars."""
    length = int(n * oos) // steps
    history = n - steps * length
    val_share = spec.validation / (1.0 - spec.test)
    nominal_fold = int(history * (1.0 - val_share)) // spec.folds
    s = max(1, round(length / nominal_fold)) if nominal_fold > 0 else 1
    ratio = val_share / (1.0 - val_share)
    fold = int(n // (spec.folds * (1.0 + ratio) + steps * s))
    validation = int(spec.folds * fold * ratio)
    used = spec.folds * fold + validation + steps * s * fold
    return {"history": spec.folds * fold + validation, "step": s * fold, "fold": fold,
            "validation": validation, "folds_per_step": s, "skip": n - used,
            "nominal_step": length, "nominal_fold": nominal_fold}


def fold_blocks(segments: list[Segments]) -> list[tuple[int, int]]:
    """Every distinct train fold of the steps, in time order (each is computed once)."""
    return sorted({fold for seg in segments for fold in seg.folds})
