"""What the entry gate is worth in money: the chosen configuration on validation and test with
no gate, with the regime filter only, and as run (regime filter and ML gate), side by side.

The classifier's accuracy beside its baselines says whether it predicts regimes; this says
whether filtering entries by them (and the ML gate) earns its place. Every figure names its
segment; the configuration was chosen with the gate as run, so the "as run" validation figure
is a selected one."""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from scalper_tune.engine.inputs import ENTRY_MASK, REGIME_LABEL
from scalper_tune.workflow.candidates import segment_figures

VARIANTS = ("none", "regime_filter", "as_run")


def _masked(features: Mapping, variant: str, blocked: tuple[int, ...]) -> dict:
    """The features with the entry mask of `variant`."""
    out = {}
    for s, f in features.items():
        n = len(next(iter(f.values())))
        if variant == "none":
            allow = np.ones(n)
        elif variant == "regime_filter":
            labels = np.asarray(f.get(REGIME_LABEL, np.full(n, np.nan)), dtype=float)
            allow = (~np.isin(labels, list(blocked))).astype(float)
        else:
            allow = np.asarray(f.get(ENTRY_MASK, np.ones(n)), dtype=float)
        out[s] = dict(f, **{ENTRY_MASK: allow})
    return out


def gate_worth(segments: Mapping[str, tuple], params: Mapping[str, object], exp,
               blocked: tuple[int, ...]) -> dict:
    """{segment: {variant: {sharpe, return, trades, max_drawdown}}} for `segments` (name ->
    (market, features)); `blocked`: the regimes the filter blocks."""
    out: dict = {}
    for name, (market, features) in segments.items():
        out[name] = {}
        for variant in VARIANTS:
            f = segment_figures(market, _masked(features, variant, blocked), params, exp, "x")
            out[name][variant] = {"sharpe": _num(f["x_sharpe"]), "return": _num(f["x_return"]),
                                  "trades": int(f["x_trades"]),
                                  "max_drawdown": _num(f["x_max_dd_pct"])}
    return out


def gate_line(worth: Mapping) -> str:
    """One summary line: the Sharpe of each variant per segment."""
    parts = []
    for seg, variants in worth.items():
        shown = ", ".join(f"{v.replace('_', ' ')} {_fmt(variants[v]['sharpe'])} "
                          f"({variants[v]['trades']} trades)" for v in VARIANTS)
        parts.append(f"{seg}: {shown}")
    return ("Entry gate's worth (the chosen configuration's Sharpe without a gate, with the "
            "regime filter only, as run): " + "; ".join(parts))


def _num(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.2f}"
