"""Causal regime labels (the rule labeller).

The labeller (used until a trained classifier replaces it) reads only features known at t:
- crash (4): the close is more than 30 % below its trailing 30-day high;
- toxic (3): a liquidity gap (spread or depth far outside its norm) or a jump (|log return| above
  4 x the rolling volatility);
- volatile (2): base-timeframe volatility z-score above 1;
- trending (1): |ln(close_t / close_{t-120})| above 2 x volatility x sqrt(120);
- calm (0): everything else, and the warm-up.
The first matching rule wins, in that order.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from scalper_tune.features import Features
from scalper_tune.data.market import MarketData
from scalper_tune.kernels.rolling_nb import rolling_max_nb

TREND_BARS = 120


def label_regimes(close: np.ndarray, features: Mapping[str, np.ndarray],
                  bar_seconds: int) -> np.ndarray:
    """Regime id per bar (int8, see the module docstring)."""
    n = close.shape[0]
    vol = np.asarray(features["vol_tf1"])
    volz = np.asarray(features["vol_z_tf1"])
    ret = np.asarray(features["log_return"])
    gap = np.asarray(features["liquidity_gap"])
    labels = np.zeros(n, dtype=np.int8)
    log_close = np.log(close)
    trend = np.full(n, np.nan)
    trend[TREND_BARS:] = log_close[TREND_BARS:] - log_close[:-TREND_BARS]
    month = max(2, int(30 * 86400 / bar_seconds))
    high = rolling_max_nb(close, month)
    with np.errstate(invalid="ignore"):
        trending = np.abs(trend) > 2 * vol * math.sqrt(TREND_BARS)
        volatile = volz > 1.0
        toxic = (gap == 1.0) | (np.abs(ret) > 4 * vol)
        crash = close < 0.7 * high
    labels[trending] = 1
    labels[volatile] = 2
    labels[toxic] = 3
    labels[crash] = 4
    return labels


def market_labels(market: MarketData, features: Features) -> dict:
    return {s: label_regimes(market[s].close, features[s], market.bar_seconds)
            for s in market.symbols}
