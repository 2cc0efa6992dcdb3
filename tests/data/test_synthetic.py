"""Stylized facts of the synthetic market, asserted with numbers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from scipy.stats import kurtosis

from scalper_tune.data.market import REGIME_NAMES

CALM, TRENDING, VOLATILE, TOXIC, CRASH = range(5)


def _returns(data) -> np.ndarray:
    return np.diff(np.log(data.close))


def _folder_digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_other_seed_other_bytes(cli, tmp_path):
    args = ("data", "synth", "--assets", "3", "--bars", "5000", "--crash", "2022")
    assert cli(*args, "--out", tmp_path / "a").code == 0
    assert cli(*args, "--out", tmp_path / "b").code == 0
    assert cli(*args, "--seed", "8", "--out", tmp_path / "c").code == 0
    a, b, c = (_folder_digest(tmp_path / x) for x in "abc")
    assert a == b
    assert set(a) == set(c) and all(a[k] != c[k] for k in a)


def test_fat_tails(synth_market):
    for symbol in synth_market.symbols:
        assert kurtosis(_returns(synth_market[symbol])) > 3.0, symbol


def test_volatility_clustering(synth_market):
    for symbol in synth_market.symbols:
        a = np.abs(_returns(synth_market[symbol]))
        for lag in range(1, 11):
            assert np.corrcoef(a[:-lag], a[lag:])[0, 1] > 0.05, (symbol, lag)


def test_cross_asset_correlation_in_calm_regime(synth_market):
    regime = synth_market["SYN01"].regime[1:]
    returns = np.array([_returns(synth_market[s])[regime == CALM] for s in synth_market.symbols])
    corr = np.corrcoef(returns)[np.triu_indices(len(returns), 1)]
    assert corr.min() > 0.1 and corr.max() < 0.8


def test_regimes_recorded_with_distinct_volatility(synth_market):
    data = synth_market["SYN01"]
    regime = data.regime
    assert set(np.unique(regime)) == {CALM, TRENDING, VOLATILE, TOXIC}
    assert len(REGIME_NAMES) >= 4
    shares = np.bincount(regime, minlength=4) / len(regime)
    assert shares[TOXIC] > 0.005  # rare but learnable
    r, reg = _returns(data), regime[1:]
    vol = {k: r[reg == k].std() for k in (CALM, TRENDING, VOLATILE, TOXIC)}
    # a trend shows in its drift, not its volatility (calm 1-minute moves include the reverting
    # deviation, so they are not the quietest)
    assert vol[TRENDING] > 0.75 * vol[CALM]
    assert vol[VOLATILE] > 1.8 * vol[CALM]
    assert vol[TOXIC] > 2.5 * vol[CALM]  # informed flow: strong flow and frequent jumps
    # every asset shares the market-wide regime
    assert all(np.array_equal(synth_market[s].regime, regime) for s in synth_market.symbols)


def test_book_is_sane_and_spreads_widen_under_stress(synth_market):
    for symbol in synth_market.symbols:
        d = synth_market[symbol]
        assert np.all(d.bid < d.ask) and np.all(d.bid > 0)
        assert np.all(d.bid_size > 0) and np.all(d.ask_size > 0)
        spread = (d.ask - d.bid) / d.close
        calm = np.median(spread[d.regime == CALM])
        assert np.median(spread[d.regime == VOLATILE]) > 1.5 * calm
        assert np.median(spread[d.regime == TOXIC]) > 1.5 * calm
        # ... through volatility and flow, with overlapping distributions: no spread threshold
        # separates the regimes (the book-only classifier baseline measures it in full)
        assert (spread[d.regime == TOXIC] < calm).mean() > 0.05
        assert (spread[d.regime == CALM] > np.median(spread[d.regime == TOXIC])).mean() > 0.05


def test_ohlc_consistent(synth_market):
    for symbol in synth_market.symbols:
        d = synth_market[symbol]
        assert np.all(d.high >= np.maximum(d.open, d.close))
        assert np.all(d.low <= np.minimum(d.open, d.close))
        assert np.all(d.low > 0) and np.all(d.volume > 0)


def test_book_imbalance_predicts_next_returns_in_trends_and_toxic_flow(synth_market):
    for symbol in synth_market.symbols:
        d = synth_market[symbol]
        imbalance = (d.bid_size - d.ask_size) / (d.bid_size + d.ask_size)
        log_close = np.log(d.close)
        next5 = log_close[5:] - log_close[:-5]
        corr = {}
        for state in (CALM, TRENDING, TOXIC):
            sel = d.regime[:-5] == state
            corr[state] = np.corrcoef(imbalance[:-5][sel], next5[sel])[0, 1]
        assert corr[TOXIC] > 0.02 and corr[TRENDING] > 0.02, (symbol, corr)
        assert abs(corr[CALM]) < 0.02, (symbol, corr)  # uninformed flow in calm ranges


def _variance_ratio(log_close: np.ndarray, regime: np.ndarray, state: int, k: int = 40) -> float:
    """Var of k-bar returns over k x var of 1-bar returns, in blocks wholly inside `state`."""
    n = len(log_close) // k * k
    blocks = log_close[:n].reshape(-1, k)
    inside = (regime[:n].reshape(-1, k) == state).all(axis=1)
    long = blocks[inside, -1] - blocks[inside, 0]
    short = np.diff(blocks[inside], axis=1).ravel()
    return float(long.var() / ((k - 1) * short.var()))


def test_mean_reversion_exploitable_and_weaker_when_trending(synth_market):
    calm, trending = [], []
    for symbol in synth_market.symbols:
        d = synth_market[symbol]
        lc = np.log(d.close)
        calm.append(_variance_ratio(lc, d.regime, CALM))
        trending.append(_variance_ratio(lc, d.regime, TRENDING))
    assert np.median(calm) < 0.92  # prices revert: long-horizon variance below the random walk
    assert np.median(trending) > np.median(calm) + 0.1


def test_zscore_reversion_pays_in_calm_regime(synth_market):
    """A crude causal z-score fade earns before costs in calm bars, much less when trending."""
    pnl = {CALM: [], TRENDING: []}
    for symbol in synth_market.symbols:
        d = synth_market[symbol]
        lc = np.log(d.close)
        w = 40
        kernel = np.ones(w) / w
        mean = np.convolve(lc, kernel, mode="full")[: len(lc)]  # trailing mean of the last w bars
        dev = lc - mean
        dev[: w - 1] = np.nan
        fwd = np.full_like(lc, np.nan)
        fwd[:-10] = lc[10:] - lc[:-10]
        for state in pnl:
            sel = (d.regime == state) & np.isfinite(dev) & np.isfinite(fwd)
            pnl[state].append(np.nanmean(-np.sign(dev[sel]) * fwd[sel]) / np.nanstd(fwd[sel]))
    assert np.median(pnl[CALM]) > 0.05
    assert np.median(pnl[CALM]) > np.median(pnl[TRENDING]) + 0.05


def test_no_crash_unless_switched_on(synth_market):
    assert synth_market.info["crash_windows"] == {}
    assert not any((synth_market[s].regime == CRASH).any() for s in synth_market.symbols)


def test_crash_2022_calibration(crash_market, synth_market):
    start, stop = crash_market.info["crash_windows"]["crash"]
    collapse_symbol = crash_market.info["collapse_symbol"]
    drawdowns, vol_ratio, spread_ratio, depth_ratio = [], [], [], []
    for symbol in crash_market.symbols:
        d = crash_market[symbol]
        assert np.all(d.regime[start:stop] == CRASH)
        close = d.close[start:stop]
        if symbol != collapse_symbol:
            drawdowns.append(1 - (close / np.maximum.accumulate(close)).min())
        r = _returns(d)
        calm = d.regime[1:] == CALM
        vol_ratio.append(r[start:stop - 1].std() / r[calm].std())
        spread = (d.ask - d.bid) / d.close
        spread_ratio.append(np.median(spread[start:stop]) / np.median(spread[d.regime == CALM]))
        depth = d.bid_size * d.close + d.ask_size * d.close
        depth_ratio.append(np.median(depth[start:stop]) / np.median(depth[d.regime == CALM]))
    assert 0.6 <= np.median(drawdowns) <= 0.8  # ~65 % broad drawdown
    assert 3.0 <= np.median(vol_ratio) <= 5.0  # volatility about x4
    assert 7.0 <= np.median(spread_ratio) <= 13.0  # spreads about x10
    assert np.median(depth_ratio) < 0.2  # thin depth
    c0, c1 = crash_market.info["crash_windows"]["collapse"]
    assert (c1 - c0) * crash_market.bar_seconds <= 3 * 86400  # within days
    luna = crash_market[collapse_symbol].close
    assert luna[c1 - 1] / luna[c0] < 0.02  # ~99 % collapse
    # outside the crash window the market is the same generator (same regimes before the crash)
    assert np.array_equal(crash_market["SYN01"].regime[:start], synth_market["SYN01"].regime[:start])


def test_stylized_facts_within_the_real_data_bands(synth_market):
    """The default market against real Binance 2024 5-minute data (median over assets of
    5-minute returns): lag-1 autocorrelation in [-0.03, 0.01], excess kurtosis >= 20, mean
    |return| autocorrelation over lags 1-10 in [0.12, 0.48], std within 0.5-2x of 0.0027."""
    from scalper_tune.data.facts import stylized_facts

    facts = stylized_facts(synth_market)
    assert -0.03 <= facts.median("lag1_autocorr") <= 0.01
    assert facts.median("excess_kurtosis") >= 20
    assert 0.12 <= facts.median("abs_autocorr_1_10") <= 0.48
    assert 0.5 * 0.0027 <= facts.median("std") <= 2 * 0.0027


def test_opens_jump_from_the_previous_close(synth_market):
    for symbol in synth_market.symbols:
        d = synth_market[symbol]
        gap = np.log(d.open[1:] / d.close[:-1])
        move = np.log(d.close[1:] / d.close[:-1])
        assert np.median(np.abs(gap)) > 0.02 * np.median(np.abs(move))  # the open is not the close
        assert np.median(np.abs(gap)) < 0.5 * np.median(np.abs(move))  # but a small jump
        assert np.corrcoef(gap, move)[0, 1] > 0.05  # part of the bar's move (trades between bars)


def test_two_venues_basis_lead_lag_and_staggered_gaps():
    from scalper_tune.config import SyntheticSpec
    from scalper_tune.data import generate

    m = generate(SyntheticSpec(assets=2, bars=60_000, venues=2))
    assert m.symbols == ("SYN01", "SYN01-PERP", "SYN02", "SYN02-PERP")
    assert m.symbol_meta["SYN01-PERP"] == {"asset": "SYN01", "venue": "synthetic-perp",
                                          "calendar": "24/7"}
    assert m.symbol_meta["SYN01"] == {"asset": "SYN01", "venue": "synthetic-spot",
                                     "calendar": "24/7"}
    spot, perp = m["SYN01"], m["SYN01-PERP"]
    basis = np.log(perp.close / spot.close)
    assert np.abs(np.median(basis)) < 5e-4 and np.std(basis) < 5e-3  # stays near zero
    b = basis - basis.mean()
    phi = np.dot(b[1:], b[:-1]) / np.dot(b[:-1], b[:-1])
    assert 0.5 < phi < 0.9999  # mean-reverting
    rs, rp = np.diff(np.log(spot.close)), np.diff(np.log(perp.close))
    lead = np.corrcoef(rp[:-1], rs[1:])[0, 1]  # perp today, spot tomorrow
    lag = np.corrcoef(rs[:-1], rp[1:])[0, 1]
    assert lead > lag + 0.02
    # liquidity gaps hit one venue first: the spread blowouts do not start together
    wide_s = (spot.ask - spot.bid) / spot.close > 8 * np.median((spot.ask - spot.bid) / spot.close)
    wide_p = (perp.ask - perp.bid) / perp.close > 8 * np.median((perp.ask - perp.bid) / perp.close)
    assert wide_s.any() and wide_p.any() and (wide_s != wide_p).mean() > 0.001


def test_mr_scale_plants_or_removes_the_mean_reversion():
    """mr_scale 1 is the default market bit for bit; 0 removes the mean-reverting deviation
    (60-bar variance ratio near 1), a larger one plants a stronger one (ratio well below 1)."""
    from scalper_tune.config import SyntheticSpec
    from scalper_tune.data import generate

    def variance_ratio(market, lag=60):
        out = []
        for s in market.symbols:
            r = np.diff(np.log(market[s].close))
            agg = np.add.reduceat(r, np.arange(0, r.size - lag, lag))
            out.append(agg.var() / (lag * r.var()))
        return float(np.mean(out))

    base = generate(SyntheticSpec(assets=2, bars=40_000, crash="none"))
    assert generate(SyntheticSpec(assets=2, bars=40_000, crash="none",
                                  mr_scale=1.0)).content_hash() == base.content_hash()
    none = variance_ratio(generate(SyntheticSpec(assets=2, bars=40_000, crash="none",
                                                 mr_scale=0.0)))
    strong = variance_ratio(generate(SyntheticSpec(assets=2, bars=40_000, crash="none",
                                                   mr_scale=6.0)))
    assert none > 0.9 and strong < 0.6 and strong < variance_ratio(base) < none
