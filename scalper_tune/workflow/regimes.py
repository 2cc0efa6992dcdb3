"""Regime labels and the entry mask of a run: the walk-forward classifier's out-of-sample
predictions (the causal rule labeller where it has none yet), the toxic-regime filter and the
ML-edge gate, as ready arrays for the engine (`allow_entry`, `regime_label` pseudo-features)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

from scalper_tune.config.experiment import Experiment
from scalper_tune.config.pipeline_spec import REGIMES
from scalper_tune.config.strategy_params import default_params
from scalper_tune.data.market import MarketData
from scalper_tune.engine.inputs import ENTRY_MASK, REGIME_LABEL
from scalper_tune.regime.ml_edge import gate_mask
from scalper_tune.regime.walkforward import RegimeReport, walk_forward_regimes
from scalper_tune.robustness.regimes import market_labels

log = logging.getLogger("scalper_tune.run")
FEATURES = Mapping[str, Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class RegimeResult:
    """Per symbol: the regime label of each bar (int8) and the entry mask (bool); the
    classifier's report and the gate's per-asset verdicts when they were computed now."""

    labels: Mapping[str, np.ndarray]
    allow: Mapping[str, np.ndarray]
    report: RegimeReport | None = None
    gate_edges: list | None = None
    notes: list[str] = field(default_factory=list)


def label_and_mask(exp: Experiment, market: MarketData, features: FEATURES,
                   stored: Path | None = None) -> RegimeResult:
    """Labels and mask for `exp` (see the module docstring). With `stored` (an .npz in the run
    folder) they are read back when present, else computed and written there atomically, so
    a resumed run reuses them."""
    if stored is not None and stored.is_file():
        data = np.load(stored, allow_pickle=False)
        return RegimeResult(labels={s: data[f"labels_{s}"] for s in market.symbols},
                            allow={s: data[f"allow_{s}"] for s in market.symbols})
    rules = market_labels(market, features)
    report, notes = None, []
    if exp.regime.classifier:
        report = walk_forward_regimes(market, features, n_splits=exp.regime.splits, seed=exp.seed)
        labels = {s: np.where(report.predictions[s] >= 0, report.predictions[s],
                              rules[s]).astype(np.int8) for s in market.symbols}
        if report.supervised:
            recall = ", ".join(f"{k} {v:.0%}" for k, v in report.recall.items())
            notes.append(f"regimes: walk-forward classifier, balanced accuracy "
                         f"{report.balanced_accuracy:.1%} against the recorded truth ({recall})")
        else:
            notes.append("regimes: walk-forward classifier on labels from realised behaviour")
    else:
        labels = {s: rules[s].astype(np.int8) for s in market.symbols}
    allow = {s: np.ones(len(market[s]), dtype=bool) for s in market.symbols}
    if exp.regime.filter:
        blocked = [REGIMES.index(b) for b in exp.regime.block]
        allow = {s: ~np.isin(labels[s], blocked) for s in market.symbols}
    edges = None
    if exp.regime.ml_gate:
        gate, edges = gate_mask(market, features, default_params(), exp.costs, exp.account,
                                exp.regime.gate_min_accuracy, exp.regime.gate_threshold,
                                seed=exp.seed)
        allow = {s: allow[s] & gate[s] for s in market.symbols}
        traded = [e.symbol for e in edges if e.traded]
        notes.append(f"ml gate: {len(traded)} of {len(edges)} assets clear "
                     f"{exp.regime.gate_min_accuracy:.0%} out-of-sample accuracy and their "
                     "baseline" + (f" ({', '.join(traded)})" if traded else ""))
    if stored is not None:
        tmp = stored.with_name(f".{stored.stem}.tmp.npz")
        np.savez(tmp, **{f"labels_{s}": labels[s] for s in market.symbols},
                 **{f"allow_{s}": allow[s] for s in market.symbols})
        tmp.replace(stored)
    return RegimeResult(labels=labels, allow=allow, report=report, gate_edges=edges, notes=notes)


def with_regimes(features: FEATURES, result: RegimeResult) -> dict:
    """The features plus `allow_entry` (the mask) and `regime_label` (the labels, for the
    per-regime statistics) per symbol."""
    return {s: dict(f, **{ENTRY_MASK: result.allow[s].astype(float),
                          REGIME_LABEL: result.labels[s].astype(float)})
            for s, f in features.items()}
