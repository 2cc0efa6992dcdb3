"""Walk-forward segments on the time axis: `folds` contiguous in-sample folds, then a held-back
out-of-sample segment. Each segment is simulated from flat; features come from all data before
it (they are causal), so no segment sees the future and none starts cold."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from scalper_tune.config.pipeline_spec import WalkForwardSpec
from scalper_tune.data.market import MarketData

FEATURES = Mapping[str, Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class Segments:
    """fold_edges: K + 1 times (ns) bounding the in-sample folds; the holdout is
    [fold_edges[-1], end)."""

    fold_edges: tuple[int, ...]
    end: int

    @property
    def folds(self) -> list[tuple[int, int]]:
        return list(zip(self.fold_edges[:-1], self.fold_edges[1:]))

    @property
    def in_sample(self) -> tuple[int, int]:
        return self.fold_edges[0], self.fold_edges[-1]

    @property
    def holdout(self) -> tuple[int, int]:
        return self.fold_edges[-1], self.end


def make_segments(market: MarketData, spec: WalkForwardSpec) -> Segments:
    """Equal-count folds over the union time axis, and the final `holdout` share as OOS."""
    times = np.unique(np.concatenate([market[s].ts for s in market.symbols]))
    holdout_start = int(len(times) * (1 - spec.holdout))
    edges = np.linspace(0, holdout_start, spec.folds + 1).astype(np.int64)
    fold_edges = tuple(int(times[i]) for i in edges[:-1]) + (int(times[holdout_start]),)
    return Segments(fold_edges=fold_edges, end=int(times[-1]) + 1)


def slice_market(market: MarketData, features: FEATURES, start: int,
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
