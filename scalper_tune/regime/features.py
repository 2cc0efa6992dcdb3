"""The classifier's inputs: causal features of one symbol at each bar (known at its close).

The volatility inputs follow the configured `features.timeframes` (multiples of the base bar,
starting at 1): `base` is the bar itself, `mid` the second timeframe and `long` the third
(5 and 15 by default); with fewer timeframes the last one stands in for the missing."""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from scalper_tune.data.market import SymbolData
from scalper_tune.kernels.rolling_nb import rolling_corr_nb, rolling_max_nb, rolling_mean_std_nb

NAMES = ("log_vol_base", "log_vol_mid", "log_vol_long", "vol_z_base", "vol_z_mid",
         "vol_ratio_mid_base",
         "trend_60", "trend_240", "log_spread", "log_spread_mean10", "spread_z", "log_depth_rel",
         "abs_imbalance_smooth", "jump_max10", "drawdown_30d", "liquidity_gap",
         "jump_rate_60", "efficiency_30", "return_autocorr_60", "log_volume_rel")
BOOK_COLUMNS = ("log_spread", "log_spread_mean10", "spread_z", "log_depth_rel",
                "abs_imbalance_smooth", "liquidity_gap")  # what the book alone tells


def timeframes(feats: Mapping[str, np.ndarray]) -> tuple[int, int, int]:
    """(base, mid, long): the timeframes of the volatility inputs among those computed."""
    found = sorted(int(k[len("vol_tf"):]) for k in feats
                   if k.startswith("vol_tf") and k[len("vol_tf"):].isdigit())
    if not found:
        raise KeyError("vol_tf1: the features hold no volatility timeframe")
    return found[0], found[min(1, len(found) - 1)], found[min(2, len(found) - 1)]


def regime_matrix(data: SymbolData, feats: Mapping[str, np.ndarray],
                  bar_seconds: int) -> np.ndarray:
    """n x len(NAMES) float matrix (NaN where a feature is warming up or the book is missing)."""
    close = data.close
    lc = np.log(close)
    base, mid, long = timeframes(feats)
    vol1 = np.asarray(feats[f"vol_tf{base}"])
    cols = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["log_vol_base"] = np.log(vol1)
        cols["log_vol_mid"] = np.log(np.asarray(feats[f"vol_tf{mid}"]))
        cols["log_vol_long"] = np.log(np.asarray(feats[f"vol_tf{long}"]))
        cols["vol_z_base"] = np.asarray(feats[f"vol_z_tf{base}"])
        cols["vol_z_mid"] = np.asarray(feats[f"vol_z_tf{mid}"])
        cols["vol_ratio_mid_base"] = cols["log_vol_mid"] - cols["log_vol_base"]
        for h in (60, 240):
            trend = np.full(close.shape[0], np.nan)
            trend[h:] = (lc[h:] - lc[:-h]) / (vol1[h:] * math.sqrt(h))
            cols[f"trend_{h}"] = trend
        spread = np.asarray(feats["spread_bps"])
        cols["log_spread"] = np.log(spread)
        mean10, _ = rolling_mean_std_nb(np.ascontiguousarray(spread), 10)
        cols["log_spread_mean10"] = np.log(mean10)
        cols["spread_z"] = np.asarray(feats["spread_z"])
        depth = np.ascontiguousarray(np.asarray(feats["depth"]))
        depth_mean, _ = rolling_mean_std_nb(depth, 500)
        cols["log_depth_rel"] = np.log(depth / depth_mean)
        cols["abs_imbalance_smooth"] = np.abs(np.asarray(feats["imbalance_smooth"]))
        jump = np.abs(np.asarray(feats["log_return"])) / vol1
        cols["jump_max10"] = rolling_max_nb(np.where(np.isfinite(jump), jump, 0.0), 10)
        month = max(2, int(30 * 86400 / bar_seconds))
        cols["drawdown_30d"] = lc - np.log(rolling_max_nb(close, month))
        cols["liquidity_gap"] = np.asarray(feats["liquidity_gap"])
        # jumpiness and persistence of the last hour's moves: informed (toxic) flow shows as
        # frequent jumps and moves that continue rather than revert
        jumps = np.where(np.isfinite(jump), (jump > 3.0).astype(float), np.nan)
        cols["jump_rate_60"], _ = rolling_mean_std_nb(np.ascontiguousarray(jumps), 60)
        ret = np.asarray(feats["log_return"], dtype=float)
        mean_r, _ = rolling_mean_std_nb(np.ascontiguousarray(ret), 30)
        mean_abs, _ = rolling_mean_std_nb(np.ascontiguousarray(np.abs(ret)), 30)
        cols["efficiency_30"] = np.abs(mean_r) / mean_abs
        prev = np.concatenate(([np.nan], ret[:-1]))
        cols["return_autocorr_60"] = rolling_corr_nb(np.ascontiguousarray(prev),
                                                     np.ascontiguousarray(ret), 60)
        # trading activity: the last 10 bars' volume against its trailing norm
        volume = np.ascontiguousarray(data.volume, dtype=float)
        v10, _ = rolling_mean_std_nb(volume, 10)
        v500, _ = rolling_mean_std_nb(volume, 500)
        cols["log_volume_rel"] = np.log(v10 / v500)
    X = np.column_stack([cols[n] for n in NAMES])
    X[~np.isfinite(X)] = np.nan
    return X
