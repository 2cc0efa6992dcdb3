"""Recursions of the synthetic market generator (GARCH variance, AR(1) processes)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def garch_nb(z: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """GARCH(1,1) shocks with unit unconditional variance from unit-variance innovations `z`.

    h_t = (1 - alpha - beta) + alpha * e_{t-1}^2 + beta * h_{t-1};  e_t = z_t * sqrt(h_t).
    """
    n = z.shape[0]
    out = np.empty(n)
    omega = 1.0 - alpha - beta
    h = 1.0
    for t in range(n):
        e = z[t] * np.sqrt(h)
        out[t] = e
        h = omega + alpha * e * e + beta * h
    return out


@njit(cache=True)
def ar1_nb(phi: np.ndarray, shock: np.ndarray) -> np.ndarray:
    """x_t = phi_t * x_{t-1} + shock_t with x_{-1} = 0 (time-varying coefficient)."""
    n = shock.shape[0]
    out = np.empty(n)
    x = 0.0
    for t in range(n):
        x = phi[t] * x + shock[t]
        out[t] = x
    return out


@njit(cache=True)
def garch_var_nb(z: np.ndarray, alpha: float, beta: float) -> tuple:
    """As `garch_nb`, also returning the conditional variance h_t of each shock (known before
    the shock: it drives the book's spread and depth, which react to volatility, not regime)."""
    n = z.shape[0]
    out = np.empty(n)
    var = np.empty(n)
    omega = 1.0 - alpha - beta
    h = 1.0
    for t in range(n):
        var[t] = h
        e = z[t] * np.sqrt(h)
        out[t] = e
        h = omega + alpha * e * e + beta * h
    return out, var
