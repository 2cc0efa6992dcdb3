"""Named features: references, higher-timeframe completeness, book and cross-venue features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.data import generate, import_files
from scalper_tune.data.market import MarketData, SymbolData
from scalper_tune.features.compute import compute_market, compute_symbol, feature_names

SPEC = FeatureSpec(vol_window=10, baseline_window=50, timeframes=(1, 5, 15), z_windows=(20, 40),
                   spread_window=50, cross_window=40)


@pytest.fixture(scope="module")
def market():
    return generate(SyntheticSpec(assets=2, bars=3000))


def test_names_and_shapes(market):
    feats = compute_symbol(market["SYN01"], SPEC, market.bar_seconds)
    assert tuple(feats) == feature_names(SPEC)
    assert all(v.shape == (3000,) and v.dtype == np.float64 for v in feats.values())


def test_base_features_match_pandas(market):
    d = market["SYN01"]
    f = compute_symbol(d, SPEC, market.bar_seconds)
    close = pd.Series(d.close)
    r = np.log(close).diff()
    vol = r.rolling(10).std()
    np.testing.assert_allclose(f["vol_tf1"], vol.to_numpy(), rtol=1e-9)
    base = vol.rolling(50)
    ref_z = ((vol - base.mean().shift(1)) / base.std().shift(1)).to_numpy()
    np.testing.assert_allclose(f["vol_z_tf1"], ref_z, rtol=1e-6, atol=1e-9)  # trailing baseline
    ref_pz = ((close - close.rolling(40).mean()) / close.rolling(40).std()).to_numpy()
    np.testing.assert_allclose(f["price_z_w40"], ref_pz, rtol=1e-6, atol=1e-9)
    imb = (d.bid_size - d.ask_size) / (d.bid_size + d.ask_size)
    np.testing.assert_allclose(f["imbalance"], imb, rtol=1e-12)
    np.testing.assert_allclose(f["spread_bps"], (d.ask - d.bid) / ((d.ask + d.bid) / 2) * 1e4,
                               rtol=1e-12)
    assert set(np.unique(f["liquidity_gap"][~np.isnan(f["liquidity_gap"])])) <= {0.0, 1.0}


def test_higher_timeframe_volatility_matches_resampled_reference(market):
    d = market["SYN01"]
    f = compute_symbol(d, SPEC, market.bar_seconds)
    idx = pd.to_datetime(d.ts)
    closes5 = pd.Series(d.close, index=idx).resample("5min").last()
    vol5 = np.log(closes5).diff().rolling(10).std()
    # at base bar t the latest complete 5-minute bar is the one that closed at or before t's close
    minute = np.arange(len(d))
    complete = (minute + 1) // 5 - 1
    expected = np.where(complete >= 0, vol5.to_numpy()[np.clip(complete, 0, None)], np.nan)
    np.testing.assert_allclose(f["vol_tf5"], expected, rtol=1e-9)


def test_forming_higher_timeframe_bar_is_never_used(market):
    d = market["SYN01"]
    full = compute_symbol(d, SPEC, market.bar_seconds)
    # change bars 1001-1004: the 15- and 5-minute periods holding them close with bar 1004, so
    # their volatility may change from bar 1004 on, never before (the forming bar is unseen)
    cols = d.columns()
    for name in ("open", "high", "low", "close"):
        cols[name] = cols[name].copy()
        cols[name][1001:1005] *= 1.05
    changed = compute_symbol(SymbolData(symbol="X", **cols), SPEC, market.bar_seconds)
    for name in ("vol_tf15", "vol_z_tf15", "vol_tf5", "vol_z_tf5"):
        np.testing.assert_array_equal(changed[name][:1004], full[name][:1004])
    assert not np.array_equal(changed["vol_tf1"][1001:1004], full["vol_tf1"][1001:1004])
    assert not np.array_equal(changed["vol_tf15"][1004:1010], full["vol_tf15"][1004:1010])


def test_vol_agreement(market):
    f = compute_symbol(market["SYN01"], SPEC, market.bar_seconds)
    z = np.vstack([f["vol_z_tf1"], f["vol_z_tf5"], f["vol_z_tf15"]])
    ok = ~np.isnan(z).any(axis=0)
    assert ok.sum() > 1000
    np.testing.assert_array_equal(f["vol_z_min"][ok], z[:, ok].min(axis=0))
    np.testing.assert_array_equal(f["vol_agree"][ok], (z[:, ok] > SPEC.agree_threshold).sum(axis=0))
    assert np.isnan(f["vol_agree"][~ok]).all()


def test_no_book_gives_clean_nan(market):
    d = market["SYN01"]
    bare = SymbolData(symbol="B", ts=d.ts, open=d.open, high=d.high, low=d.low, close=d.close,
                      volume=d.volume)
    f = compute_symbol(bare, SPEC, market.bar_seconds)
    for name in ("imbalance", "imbalance_smooth", "spread_bps", "spread_z", "depth", "liquidity_gap"):
        assert np.isnan(f[name]).all(), name
    assert np.isfinite(f["price_z_w20"][20:]).all()


def test_cross_venue_features_on_real_feed(shared_data):
    market = import_files([str(shared_data / "binance-feed-2024-08-08")], bar="1s").market
    feats = compute_market(market, SPEC)
    assert "basis_bps" in feats["BTCUSDT"] and "basis_bps" in feats["BTCUSDT-PERP"]
    assert "basis_bps" not in feats["ETHUSDT"]  # no second venue for ETH
    spot, perp = market["BTCUSDT"], market["BTCUSDT-PERP"]
    # at a spot bar, the perp's latest bar opening at or before it
    t = 200
    j = np.searchsorted(perp.ts, spot.ts[t], side="right") - 1
    mid_s, mid_p = (spot.bid[t] + spot.ask[t]) / 2, (perp.bid[j] + perp.ask[j]) / 2
    assert feats["BTCUSDT"]["basis_bps"][t] == pytest.approx((mid_s - mid_p) / mid_p * 1e4)
    assert abs(np.nanmedian(feats["BTCUSDT"]["basis_bps"])) < 50  # bps, same asset
    common, i_s, i_p = np.intersect1d(spot.ts, perp.ts, return_indices=True)
    lead_spot = feats["BTCUSDT"]["imbalance_lead"][i_s]
    lead_perp = feats["BTCUSDT-PERP"]["imbalance_lead"][i_p]
    both = ~np.isnan(lead_spot) & ~np.isnan(lead_perp)
    assert both.sum() > 100
    np.testing.assert_allclose(lead_spot[both], -lead_perp[both], atol=1e-9)  # antisymmetric


def test_prefix_invariance_through_compute_market(market):
    full = compute_market(market, SPEC)
    for k in (17, 400, 1234, 2999):
        part = MarketData(bar_seconds=market.bar_seconds, source="t",
                          series={s: market[s].head(k) for s in market.symbols})
        pre = compute_market(part, SPEC)
        for s in market.symbols:
            for name, values in pre[s].items():
                np.testing.assert_array_equal(values, full[s][name][:k], err_msg=f"{s} {name} k={k}")
