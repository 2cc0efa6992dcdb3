"""The causality audit of what a run derives from the features: the regime labels (the
walk-forward classifier's, the rule labeller before it) and the entry mask (regime filter and ML
gate), each recomputed on the data truncated at every cut and compared bar by bar before it."""

from __future__ import annotations

import numpy as np

from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.gate_settings import GateSettings
from scalper_tune.data.market import MarketData
from scalper_tune.features.compute import compute_market
from scalper_tune.features.feature_audit import AuditRow, prefixes
from scalper_tune.workflow.entry_gate import label_and_mask


def audit_regimes(gate: GateSettings, market: MarketData, spec: FeatureSpec, cuts: int = 20,
                  seed: int = 7) -> list[AuditRow]:
    """Rows 'regime labels' and 'entry mask' (see the module docstring)."""
    full = label_and_mask(gate, market, compute_market(market, spec))
    checked = 0
    bad = {"regime labels": [], "entry mask": []}
    for _, part in prefixes(market, cuts, seed):
        checked += 1
        pre = label_and_mask(gate, part, compute_market(part, spec))
        for name, got, want in (("regime labels", pre.labels, full.labels),
                                ("entry mask", pre.allow, full.allow)):
            times = []
            for s in market.symbols:
                k = len(part[s])
                diff = np.flatnonzero(np.asarray(got[s]) != np.asarray(want[s])[:k])
                if diff.size:
                    times.append(int(part[s].ts[diff[0]]))
            bad[name].append(min(times) if times else None)
    rows = []
    for name, firsts in bad.items():
        found = [t for t in firsts if t is not None]
        rows.append(AuditRow(name, checked, len(found), min(found) if found else None))
    return rows


def audit_all(market: MarketData, spec: FeatureSpec, user, cfg, gate: GateSettings | None,
              cuts: int = 20, seed: int = 7) -> list[AuditRow]:
    """Every causality check at the same cuts: each built-in and `user` feature, the engine's
    trades under `cfg` (a ParamsFile; None: not checked) and, with `gate`, the regime labels and
    the entry mask."""
    import dataclasses

    from scalper_tune.engine.trade_audit import audit_trades
    from scalper_tune.features.feature_audit import audit

    rows = audit(market, spec, user, cuts=cuts, seed=seed)
    if cfg is not None:
        engine_spec = dataclasses.replace(spec, z_windows=(int(cfg.params["z_window"]),))
        rows.append(audit_trades(market, engine_spec, cfg.params, cfg.costs, cuts, seed))
    if gate is not None:
        rows += audit_regimes(gate, market, spec, cuts, seed)
    return rows
