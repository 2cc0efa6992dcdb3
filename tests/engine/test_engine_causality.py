"""Causality through the engine: prefix invariance of trades, and the audit's engine check
catching a planted look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.strategy_params import default_params
from scalper_tune.data import generate
from scalper_tune.engine import trade_audit as engine_audit
from scalper_tune.engine.backtest import backtest
from scalper_tune.features.feature_audit import truncate
from scalper_tune.features.compute import compute_market

SPEC = FeatureSpec(z_windows=(40,))


def test_trades_closed_before_a_cut_do_not_depend_on_later_data():
    market = generate(SyntheticSpec(assets=2, bars=20_000))
    params = dict(default_params(), entry_z=1.5, vol_z_min=0.0)
    full = backtest(market, compute_market(market, SPEC), params).trades
    assert len(full) > 30
    for cut_bar in (9_000, 13_337, 19_999):
        cut = int(market["SYN01"].ts[cut_bar])
        part = truncate(market, cut)
        pre = backtest(part, compute_market(part, SPEC), params).trades
        cut_ts = pd.Timestamp(cut, tz="UTC")
        a = full[full["exit_time"] < cut_ts].reset_index(drop=True)
        b = pre[pre["exit_time"] < cut_ts].reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b)


def test_engine_audit_passes_and_catches_planted_lookahead(monkeypatch):
    market = generate(SyntheticSpec(assets=2, bars=15_000))
    params = dict(default_params(), entry_z=1.5, vol_z_min=0.0)
    ok = engine_audit.audit_trades(market, SPEC, params, cuts=4)
    assert ok.cuts == 4 and ok.violations == 0

    def peeking(m, spec):
        feats = compute_market(m, spec)
        for f in feats.values():  # rescaled by the whole series' spread (as in the seed's sketch)
            z = f["price_z_w40"]
            f["price_z_w40"] = z / np.nanstd(z) * 1.2
        return feats

    monkeypatch.setattr(engine_audit, "compute_market", peeking)
    bad = engine_audit.audit_trades(market, SPEC, params, cuts=4)
    assert bad.violations > 0 and bad.first_violation_ns is not None
