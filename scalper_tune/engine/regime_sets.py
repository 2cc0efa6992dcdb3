"""A regime-switching strategy: one parameter set per regime, chosen per bar outside the kernel.

At bar t the causal regime label (the `regime_label` pseudo-feature: the walk-forward
classifier's out-of-sample prediction) picks the parameter set of that regime; a regime without
a set gets no entries (like the entry mask). The engine kernel takes the per-bar set index
(`pset`) and the matrix of sets, so the prefilter's step, the engine and the live runner stay one
code path; an open position keeps the exits (stop, take-profit, time stop) its opening set gave
it, because they are fixed in the position's state at the entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from scalper_tune.config.costs import CostModel
from scalper_tune.config.pipeline_spec import REGIMES
from scalper_tune.data.market import SymbolData
from scalper_tune.engine.inputs import (REGIME_LABEL, SymbolInputs, param_vector, symbol_inputs)


@dataclass(frozen=True)
class Switching:
    """`sets`: complete parameter mappings; `by_regime[k]`: the index in `sets` of regime k's
    set (REGIMES order), or None for no entries in regime k."""

    sets: tuple[Mapping[str, object], ...]
    by_regime: tuple[int | None, ...]

    def __post_init__(self) -> None:
        if len(self.by_regime) != len(REGIMES):
            raise ValueError(f"by_regime needs one entry per regime ({len(REGIMES)})")
        if any(i is not None and not 0 <= i < len(self.sets) for i in self.by_regime):
            raise ValueError("by_regime points outside sets")

    def matrix(self) -> np.ndarray:
        """The sets as kernel parameter rows (sets x N_PARAMS)."""
        return np.stack([param_vector(p) for p in self.sets])

    def per_bar(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(set index per bar, entries allowed per bar) from the bars' regime labels (NaN or
        -1: no label yet, no entries)."""
        lab = np.asarray(labels, dtype=float)
        table = np.array([-1 if i is None else i for i in self.by_regime] + [-1], dtype=np.int64)
        k = np.where(np.isfinite(lab) & (lab >= 0), lab, len(REGIMES)).astype(np.int64)
        chosen = table[np.clip(k, 0, len(REGIMES))]
        return np.maximum(chosen, 0), chosen >= 0

    def describe(self) -> dict[str, int | None]:
        return {r: self.by_regime[k] for k, r in enumerate(REGIMES)}


def switching_inputs(data: SymbolData, features: Mapping[str, np.ndarray], sw: Switching,
                     costs: CostModel, allow: np.ndarray | None = None,
                     ) -> tuple[SymbolInputs, np.ndarray]:
    """The engine's inputs of a switching strategy and its per-bar set index: the z-score and
    OU inputs of the set in force at each bar (sets may use different z_windows), entries where
    the mask allows them and the bar's regime has a set."""
    xs = [symbol_inputs(data, features, int(p["z_window"]), costs, allow) for p in sw.sets]
    labels = features.get(REGIME_LABEL, np.full(len(data), np.nan))
    pset, has_set = sw.per_bar(labels)

    def pick(name: str) -> np.ndarray:
        return np.ascontiguousarray(np.choose(pset, [getattr(x, name) for x in xs]))

    x = xs[0]._replace(z=pick("z"), mu=pick("mu"), half_life=pick("half_life"),
                            allow=np.ascontiguousarray(xs[0].allow & has_set))
    return x, pset
