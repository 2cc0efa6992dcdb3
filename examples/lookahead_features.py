"""User features for `scalper_tune audit --feature lookahead_features:NAME` (run from examples/).

Each takes a mapping of column arrays for one symbol and returns one float per bar. Four of them
look ahead the way real research code often does; the audit catches each one (exit code 4).
"""

import numpy as np
import pandas as pd


def trailing_mean(columns):
    """Causal: the mean of the last 20 closes."""
    return pd.Series(columns["close"]).rolling(20).mean().to_numpy()


def centred_mean(columns):
    """Looks ahead: a centred window uses the next 10 bars."""
    return pd.Series(columns["close"]).rolling(21, center=True).mean().to_numpy()


def whole_series_zscore(columns):
    """Looks ahead: normalised by the mean and std of the whole series (the seed's sketch)."""
    r = np.diff(np.log(columns["close"]), prepend=np.nan)
    vol = pd.Series(r).rolling(20).std().to_numpy()
    return (vol - np.nanmean(vol)) / np.nanstd(vol)


def next_close(columns):
    """Looks ahead: the next bar's close shifted into the present."""
    return pd.Series(columns["close"]).shift(-1).to_numpy()


def backfilled_mean(columns):
    """Looks ahead only in the warm-up: the first 49 bars are filled with a later value."""
    return pd.Series(columns["close"]).rolling(50).mean().bfill().to_numpy()


def sliding_volatility_clustering(columns):
    """Causal, but raises on data shorter than its 20-bar window, as the seed's own
    `detect_volatility_clustering` sketch does: the audit judges it from its first value on."""
    r = np.diff(np.log(columns["close"]), prepend=np.nan)
    if r.shape[0] < 20:
        raise ValueError("need at least 20 bars")
    vol = pd.Series(r).rolling(20).std()
    return (vol / vol.rolling(200, min_periods=20).mean()).to_numpy()


def sliding_whole_series(columns):
    """Looks ahead (normalised by the whole series) and raises on short data too: caught."""
    r = np.diff(np.log(columns["close"]), prepend=np.nan)
    if r.shape[0] < 20:
        raise ValueError("need at least 20 bars")
    vol = pd.Series(r).rolling(20).std().to_numpy()
    return vol / np.nanmean(vol)
