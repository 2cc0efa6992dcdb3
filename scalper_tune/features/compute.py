"""Named causal features of one symbol (and of a symbol against the same asset on another venue).

Every value at bar t uses bars <= t only (ts and the bar's OHLCV/book, known at its close).
Names and meanings (units in brackets):
- log_return: ln(close_t / close_{t-1})
- vol_tf{m}: std of log returns over `vol_window` bars of the m-times-base timeframe, from
  higher-timeframe bars that are complete at t (never the forming one)
- vol_z_tf{m}: that volatility against its trailing baseline (mean and std over
  `baseline_window` higher-timeframe bars ending one bar earlier) [std devs]
- vol_z_min: the smallest vol_z over the timeframes (all timeframes agree on a spike above a
  threshold exactly when vol_z_min exceeds it); vol_agree: how many exceed `agree_threshold`
- price_z_w{w}: (close - mean of the last w closes) / their std [std devs]
- atr: Wilder average true range over `atr_window` bars [price]
- ou_mu_w{w}, ou_half_life_w{w}, ou_sigma_w{w}: AR(1) fit of ln(close) on the last w bars:
  OU mean [ln price], half-life [bars], residual std [ln price per bar]
- imbalance: (bid_size - ask_size) / (bid_size + ask_size); imbalance_smooth: its mean over
  `imbalance_window` bars; spread_bps: (ask - bid) / mid x 1e4; spread_z: against the trailing
  `spread_window` bars ending at t-1; depth: bid_size x bid + ask_size x ask [quote];
  liquidity_gap: 1 when spread_z > gap_z or the depth z-score < -gap_z, else 0.
  All NaN when the data has no book.
- basis_bps, basis_z, imbalance_lead (only where the dataset has the same asset on another
  venue): mid against the other venue's latest bar [bps], its z-score over `cross_window`, and
  rolling corr(own imbalance_{t-1}, other return_t) - corr(other imbalance_{t-1}, own return_t)
  (positive: this venue's book leads); other_gap: the other venue's liquidity_gap at its latest
  bar.
- session_left (session symbols only; 0 on 24/7 symbols): bars left in the bar's regular session
  including itself, -1 outside it (a calendar fact, known in advance; the engine's session rules).

Sessions (stocks, data/calendars.py): the overnight return is not a one-bar return, so the
volatility features take it as 0 (a marked gap) at every timeframe: a session's first bar (and a
higher-timeframe bar that opens a session) adds a zero return to the volatility windows instead of
the overnight move. The price z-score, OU and book windows span sessions by design (a reversion
level carries over the night; the rolling windows simply continue).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.data.calendars import TWENTY_FOUR_SEVEN, session_bars
from scalper_tune.data.market import MarketData, SymbolData
from scalper_tune.kernels.rolling_nb import (atr_nb, log_nb, log_returns_nb, ou_fit_nb,
                                             rolling_corr_nb, rolling_mean_std_nb, zscore_nb)
from scalper_tune.kernels.timeframe_nb import asof_count_nb, broadcast_nb, htf_close_nb

BOOK_FEATURES = ("imbalance", "imbalance_smooth", "spread_bps", "spread_z", "depth",
                 "liquidity_gap")
CROSS_FEATURES = ("basis_bps", "basis_z", "imbalance_lead", "other_gap")
SESSION_LEFT = "session_left"  # session symbols only


def feature_names(spec: FeatureSpec, cross: bool = False) -> tuple[str, ...]:
    """The features `compute_symbol` returns, in order (plus the cross-venue ones if `cross`)."""
    names = ["log_return"]
    names += [f"vol_tf{m}" for m in spec.timeframes]
    names += [f"vol_z_tf{m}" for m in spec.timeframes]
    names += ["vol_z_min", "vol_agree"]
    names += [f"price_z_w{w}" for w in spec.z_windows]
    names += ["atr"]
    for w in spec.z_windows:
        names += [f"ou_mu_w{w}", f"ou_half_life_w{w}", f"ou_sigma_w{w}"]
    names += list(BOOK_FEATURES)
    if cross:
        names += list(CROSS_FEATURES)
    return tuple(names)


def _volatility(data: SymbolData, spec: FeatureSpec, bar_ns: int, m: int,
                session: np.ndarray | None = None) -> tuple:
    """(vol, vol_z) on the base axis for the m-times-base timeframe; `session`: each bar's
    session number (then returns across sessions count as 0, see the module docstring)."""
    if m == 1:
        closes, count = data.close, None
        bar_session = session
    else:
        closes, times, count = htf_close_nb(data.ts, data.close, m * bar_ns, bar_ns)
        bar_session = None if session is None else session[
            np.minimum(np.searchsorted(data.ts, times), len(data) - 1)]
    returns = log_returns_nb(closes)
    if bar_session is not None and returns.shape[0] > 1:
        returns = returns.copy()
        returns[1:][bar_session[1:] != bar_session[:-1]] = 0.0
    _, vol = rolling_mean_std_nb(returns, spec.vol_window)
    base_mean, base_std = rolling_mean_std_nb(vol, spec.baseline_window)
    vol_z = zscore_nb(vol, base_mean, base_std, 1)
    if count is None:
        return vol, vol_z
    return broadcast_nb(vol, count), broadcast_nb(vol_z, count)


def _book(data: SymbolData, spec: FeatureSpec) -> dict[str, np.ndarray]:
    n = len(data)
    if not data.has_book:
        return {name: np.full(n, np.nan) for name in BOOK_FEATURES}
    bid, ask, bsz, asz = data.bid, data.ask, data.bid_size, data.ask_size
    total = bsz + asz
    with np.errstate(invalid="ignore", divide="ignore"):
        imbalance = np.where(total > 0, (bsz - asz) / total, np.nan)
        mid = (bid + ask) / 2
        spread = (ask - bid) / mid * 1e4
    depth = bsz * bid + asz * ask
    smooth, _ = rolling_mean_std_nb(imbalance, spec.imbalance_window)
    s_mean, s_std = rolling_mean_std_nb(spread, spec.spread_window)
    spread_z = zscore_nb(spread, s_mean, s_std, 1)
    d_mean, d_std = rolling_mean_std_nb(depth, spec.spread_window)
    depth_z = zscore_nb(depth, d_mean, d_std, 1)
    gap = np.where((spread_z > spec.gap_z) | (depth_z < -spec.gap_z), 1.0, 0.0)
    gap[np.isnan(spread_z) | np.isnan(depth_z)] = np.nan
    return {"imbalance": imbalance, "imbalance_smooth": smooth, "spread_bps": spread,
            "spread_z": spread_z, "depth": depth, "liquidity_gap": gap}


def compute_symbol(data: SymbolData, spec: FeatureSpec, bar_seconds: int,
                   calendar: str = TWENTY_FOUR_SEVEN) -> dict[str, np.ndarray]:
    """All single-symbol features (see the module docstring), each a float64 array of len(data);
    `calendar`: the symbol's trading calendar (sessions: the overnight rule, `session_left`)."""
    bar_ns = bar_seconds * 1_000_000_000
    out: dict[str, np.ndarray] = {"log_return": log_returns_nb(data.close)}
    session = None
    if calendar != TWENTY_FOUR_SEVEN:
        placed = session_bars(calendar, data.ts, bar_ns)
        session = placed.session
        out[SESSION_LEFT] = np.where(session >= 0, placed.bars_left, -1).astype(np.float64)
    zs = []
    for m in spec.timeframes:
        vol, vol_z = _volatility(data, spec, bar_ns, m, session)
        out[f"vol_tf{m}"] = vol
        zs.append(vol_z)
    for m, vol_z in zip(spec.timeframes, zs):
        out[f"vol_z_tf{m}"] = vol_z
    stack = np.vstack(zs)
    any_nan = np.isnan(stack).any(axis=0)
    out["vol_z_min"] = np.where(any_nan, np.nan, stack.min(axis=0))
    out["vol_agree"] = np.where(any_nan, np.nan, (stack > spec.agree_threshold).sum(axis=0))
    for w in spec.z_windows:
        mean, std = rolling_mean_std_nb(data.close, w)
        out[f"price_z_w{w}"] = zscore_nb(data.close, mean, std, 0)
    out["atr"] = atr_nb(data.high, data.low, data.close, spec.atr_window)
    log_close = log_nb(data.close)
    for w in spec.z_windows:
        mu, half, sigma = ou_fit_nb(log_close, w)
        out[f"ou_mu_w{w}"], out[f"ou_half_life_w{w}"], out[f"ou_sigma_w{w}"] = mu, half, sigma
    out.update(_book(data, spec))
    return {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in out.items()}


def _mid(data: SymbolData) -> np.ndarray:
    return (data.bid + data.ask) / 2 if data.has_book else data.close


def compute_cross(own: SymbolData, other: SymbolData, own_features: Mapping[str, np.ndarray],
                  other_features: Mapping[str, np.ndarray], spec: FeatureSpec) -> dict[str, np.ndarray]:
    """Cross-venue features of `own` against `other` (the same asset elsewhere), on own's axis."""
    count = asof_count_nb(own.ts, other.ts)
    other_mid = broadcast_nb(_mid(other), count)
    basis = (_mid(own) - other_mid) / other_mid * 1e4
    mean, std = rolling_mean_std_nb(basis, spec.cross_window)
    other_ret = broadcast_nb(log_returns_nb(_mid(other)), count)
    other_imb = broadcast_nb(np.asarray(other_features["imbalance"]), count)
    own_ret = log_returns_nb(_mid(own))
    own_imb = np.asarray(own_features["imbalance"])
    own_imb_prev = np.concatenate(([np.nan], own_imb[:-1]))
    other_imb_prev = np.concatenate(([np.nan], other_imb[:-1]))
    lead = (rolling_corr_nb(own_imb_prev, other_ret, spec.cross_window)
            - rolling_corr_nb(other_imb_prev, own_ret, spec.cross_window))
    other_gap = broadcast_nb(np.asarray(other_features["liquidity_gap"], dtype=float), count)
    return {"basis_bps": basis, "basis_z": zscore_nb(basis, mean, std, 0), "imbalance_lead": lead,
            "other_gap": other_gap}


def venue_partners(market: MarketData) -> dict[str, str]:
    """symbol -> the symbol of the same asset on another venue (pairs only)."""
    by_asset: dict[str, list[str]] = {}
    for symbol in market.symbols:
        meta = market.symbol_meta.get(symbol, {})
        by_asset.setdefault(meta.get("asset", symbol), []).append(symbol)
    out = {}
    for symbols in by_asset.values():
        if len(symbols) == 2:
            a, b = symbols
            out[a], out[b] = b, a
    return out


def compute_market(market: MarketData, spec: FeatureSpec) -> dict[str, dict[str, np.ndarray]]:
    """Features of every symbol of `market`, with cross-venue features where a partner exists."""
    per_symbol = {s: compute_symbol(market[s], spec, market.bar_seconds, market.calendar(s))
                  for s in market.symbols}
    for symbol, partner in venue_partners(market).items():
        per_symbol[symbol].update(compute_cross(market[symbol], market[partner],
                                                per_symbol[symbol], per_symbol[partner], spec))
    return per_symbol
