"""Arrays the kernels consume, built from market data and features (one place for the mapping)."""

from __future__ import annotations

from typing import Mapping, NamedTuple

import numpy as np

from scalper_tune.config.costs import CostModel
from scalper_tune.config.strategy_params import PARAMS
from scalper_tune.data.market import SymbolData
from scalper_tune.errors import ConfigError
from scalper_tune.features.compute import SESSION_LEFT
from scalper_tune.kernels.layout import COST_FIELDS, PARAM_FIELDS
from scalper_tune.kernels.strategy_nb import SIDE_BOTH, SIDE_LONG, SIDE_SHORT

SIDES = {"long": SIDE_LONG, "short": SIDE_SHORT, "both": SIDE_BOTH}
ENTRY_MASK = "allow_entry"  # optional pseudo-feature: 1 where entries are allowed (regime filter)
REGIME_LABEL = "regime_label"  # optional pseudo-feature: each bar's causal regime label (-1: none)


def param_vector(params: Mapping[str, object]) -> np.ndarray:
    """A complete parameter mapping -> the kernels' float64 vector (slots `layout.P`)."""
    missing = [k for k in PARAMS if k not in params]
    if missing:
        raise ConfigError(f"parameters missing: {', '.join(missing)}")
    return np.array([SIDES[str(params[name])] if name == "side" else float(params[name])
                     for name in PARAM_FIELDS])


def cost_vector(costs: CostModel) -> np.ndarray:
    """The cost model -> the kernels' float64 vector (slots `layout.C`)."""
    return np.array([float(getattr(costs, name)) for name in COST_FIELDS])


def half_spread(data: SymbolData, spread_mult: float) -> np.ndarray:
    """Half the quoted spread as a fraction of the mid, x spread_mult; 0 where there is no book."""
    if not data.has_book:
        return np.zeros(len(data))
    mid = (data.bid + data.ask) / 2
    with np.errstate(invalid="ignore"):
        hs = (data.ask - data.bid) / (2 * mid) * spread_mult
    return np.where(np.isfinite(hs), hs, 0.0)


class SymbolInputs(NamedTuple):
    """Per-bar arrays of one symbol for one z_window: the event engine's inputs, passed to its
    kernel as one bundle (a NamedTuple of arrays, which Numba takes as one argument)."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    hs: np.ndarray
    bid_size: np.ndarray
    ask_size: np.ndarray
    z: np.ndarray
    volz: np.ndarray
    imb: np.ndarray
    allow: np.ndarray
    mu: np.ndarray
    half_life: np.ndarray
    cross: np.ndarray
    regime: np.ndarray
    left: np.ndarray  # bars left in the session (engine_nb; 0: 24/7)


def cross_signal(features: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """What the cross-venue block reads per bar: +inf while the other venue of the same asset
    shows a liquidity gap, else |basis z-score| against it; NaN without a second venue."""
    if "basis_z" not in features:
        return np.full(n, np.nan)
    z = np.abs(np.asarray(features["basis_z"], dtype=float))
    gap = np.asarray(features.get("other_gap", np.zeros(n)), dtype=float)
    return np.ascontiguousarray(np.where(gap > 0.5, np.inf, z))


def session_left(features: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """Bars left in each bar's session (float64; 0 for a 24/7 symbol, -1 outside sessions)."""
    if SESSION_LEFT not in features:
        return np.zeros(n)
    return np.ascontiguousarray(np.asarray(features[SESSION_LEFT], dtype=np.float64))


def regime_labels(features: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """The label each bar's return is booked under in the per-regime statistics (int64; -1
    where none): the return from close t-1 to close t goes to the label of bar t-1, the regime
    known when the position was held. Bar t's own label reads the move being attributed (the
    move that makes a bar "trending" or "toxic"), which would pile a mean-reversion scalper's
    losses into those regimes even on a random walk. The first bar has none."""
    out = np.full(n, -1, dtype=np.int64)
    if REGIME_LABEL not in features or n < 2:
        return out
    labels = np.asarray(features[REGIME_LABEL], dtype=np.float64)[:n - 1]
    out[1:] = np.where(np.isfinite(labels), labels, -1).astype(np.int64)
    return out


def symbol_inputs(data: SymbolData, features: Mapping[str, np.ndarray], z_window: int,
                  costs: CostModel, allow: np.ndarray | None = None) -> SymbolInputs:
    """Gather the arrays the engine needs; `allow` is the entry mask (default: the features'
    `allow_entry` when present, else all true); regime labels from `regime_label` (else -1)."""
    name = f"price_z_w{z_window}"
    if name not in features:
        raise ConfigError(f"z_window {z_window}: features were built without this window; add it "
                          "to features.z_windows.")
    n = len(data)
    if allow is None and ENTRY_MASK in features:
        allow = np.asarray(features[ENTRY_MASK]) > 0.5
    mask = np.ones(n, dtype=np.bool_) if allow is None else np.asarray(allow, dtype=np.bool_)
    return SymbolInputs(
        open=data.open, high=data.high, low=data.low, close=data.close,
        hs=half_spread(data, costs.spread_mult), bid_size=data.book_or_nan("bid_size"),
        ask_size=data.book_or_nan("ask_size"), z=np.asarray(features[name]),
        volz=np.asarray(features["vol_z_min"]), imb=np.asarray(features["imbalance"]),
        allow=mask, mu=np.asarray(features[f"ou_mu_w{z_window}"]),
        half_life=np.asarray(features[f"ou_half_life_w{z_window}"]),
        cross=cross_signal(features, n), regime=regime_labels(features, n),
        left=session_left(features, n))
