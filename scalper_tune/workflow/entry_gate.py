"""Regime labels and the entry mask of a run: the walk-forward classifier's out-of-sample
predictions (the causal rule labeller where it has none yet), the toxic-regime filter and the
ML-edge gate, as ready arrays for the engine (`allow_entry`, `regime_label` pseudo-features)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

from scalper_tune.features import Features
from scalper_tune.config.gate_settings import GateSettings
from scalper_tune.data.market import MarketData
from scalper_tune.engine.inputs import ENTRY_MASK, REGIME_LABEL
from scalper_tune.regime.ml_edge import SIGNAL_RICH, gate_mask
from scalper_tune.regime.walkforward import RegimeReport, walk_forward_regimes
from scalper_tune.robustness.rule_labels import market_labels
from scalper_tune.workflow.regime_eval import RegimeEvaluation, evaluate_regimes

log = logging.getLogger("scalper_tune.run")


@dataclass(frozen=True)
class RegimeResult:
    """Per symbol: the regime label of each bar (int8) and the entry mask (bool); the
    classifier's report and the gate's per-asset verdicts when they were computed now."""

    labels: Mapping[str, np.ndarray]
    allow: Mapping[str, np.ndarray]
    report: RegimeReport | None = None
    evaluation: RegimeEvaluation | None = None
    gate_edges: list | None = None
    notes: list[str] = field(default_factory=list)


def label_and_mask(gate: GateSettings, market: MarketData, features: Features,
                   stored: Path | None = None,
                   segments: Mapping[str, tuple[int, int]] | None = None) -> RegimeResult:
    """Labels and mask of `gate`'s settings (see the module docstring). With `stored` (an .npz
    in the run folder) they are read back when present, else computed and written there
    atomically, so a resumed run reuses them."""
    if stored is not None and stored.is_file():
        data = np.load(stored, allow_pickle=False)
        return RegimeResult(labels={s: data[f"labels_{s}"] for s in market.symbols},
                            allow={s: data[f"allow_{s}"] for s in market.symbols})
    rules = market_labels(market, features)
    report, evaluation, notes = None, None, []
    spec = gate.regime
    if spec.classifier:
        report = walk_forward_regimes(market, features, n_splits=None, seed=gate.seed,
                                      keep_truth=True, block_days=spec.block_days)
        evaluation = evaluate_regimes(market, features, n_splits=None, seed=gate.seed,
                                      block_days=spec.block_days, full=report,
                                      segments=segments)
        labels = {s: np.where(report.predictions[s] >= 0, report.predictions[s],
                              rules[s]).astype(np.int8) for s in market.symbols}
        notes.append(regime_note(evaluation))
    else:
        labels = {s: rules[s].astype(np.int8) for s in market.symbols}
    allow = {s: np.ones(len(market[s]), dtype=bool) for s in market.symbols}
    if spec.filter:
        allow = {s: ~np.isin(labels[s], list(gate.blocked)) for s in market.symbols}
    edges = None
    if spec.ml_gate:
        mask, edges = gate_mask(market, features, SIGNAL_RICH, gate.costs, gate.account,
                                spec.gate_min_accuracy, spec.gate_threshold,
                                block_days=spec.gate_block_days, seed=gate.seed)
        allow = {s: allow[s] & mask[s] for s in market.symbols}
        traded = [e.symbol for e in edges if e.traded]
        notes.append(f"ml gate: {len(traded)} of {len(edges)} assets clear "
                     f"{spec.gate_min_accuracy:.0%} out-of-sample accuracy and their "
                     "baseline" + (f" ({', '.join(traded)})" if traded else ""))
    if stored is not None:
        tmp = stored.with_name(f".{stored.stem}.tmp.npz")
        np.savez(tmp, **{f"labels_{s}": labels[s] for s in market.symbols},
                 **{f"allow_{s}": allow[s] for s in market.symbols})
        tmp.replace(stored)
    return RegimeResult(labels=labels, allow=allow, report=report, evaluation=evaluation,
                        gate_edges=edges, notes=notes)


def regime_note(ev: RegimeEvaluation) -> str:
    """One progress line: the classifier's accuracy next to its baselines."""
    if ev.bars == 0:
        return "regimes: too little data for a walk-forward test block; rule labels used"
    base = ev.baselines
    recall = ", ".join(f"{k} {v:.0%}" for k, v in ev.recall.items())
    against = "the recorded truth" if ev.labels == "truth" else "labels from realised behaviour"
    line = (f"regimes: walk-forward classifier, balanced accuracy {ev.balanced_accuracy:.1%} "
            f"against {against} ({recall}); baselines: majority {base['majority']:.1%}, rules "
            f"{base['rules']:.1%}, book only {base['book_only']:.1%}")
    parts = [f"{name} {f['classifier']:.1%} (majority {f['majority']:.1%}, rules "
             f"{f['rules']:.1%}, book only {f['book_only']:.1%}; {f['bars']:,} bars)"
             for name, f in ev.by_segment.items() if f["bars"] > 0]
    return line + ("\n  by segment: " + "; ".join(parts) if parts else "")


def with_regimes(features: Features, result: RegimeResult) -> dict:
    """The features plus `allow_entry` (the mask) and `regime_label` (the labels, for the
    per-regime statistics) per symbol."""
    return {s: dict(f, **{ENTRY_MASK: result.allow[s].astype(float),
                          REGIME_LABEL: result.labels[s].astype(float)})
            for s, f in features.items()}
