"""Synthetic-market kernels: agreement with plain Python and prefix invariance."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from scalper_tune.kernels.synth_nb import ar1_nb, garch_nb

finite = st.floats(-5, 5, allow_nan=False)


def _garch_reference(z, alpha, beta):
    out, h = [], 1.0
    for v in z:
        e = v * h ** 0.5
        out.append(e)
        h = (1 - alpha - beta) + alpha * e * e + beta * h
    return np.array(out)


def test_garch_matches_reference():
    z = np.random.default_rng(1).standard_normal(500)
    np.testing.assert_allclose(garch_nb(z, 0.08, 0.9), _garch_reference(z, 0.08, 0.9), rtol=1e-12)


def test_ar1_matches_reference():
    rng = np.random.default_rng(2)
    phi, shock = rng.uniform(-1, 1, 300), rng.standard_normal(300)
    x, expected = 0.0, []
    for p, s in zip(phi, shock):
        x = p * x + s
        expected.append(x)
    np.testing.assert_allclose(ar1_nb(phi, shock), expected, rtol=1e-12)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.integers(1, 60), elements=finite), st.integers(0, 60))
def test_prefix_invariance(z, k):
    k = min(k, len(z))
    phi = np.full(len(z), 0.9)
    np.testing.assert_array_equal(garch_nb(z[:k], 0.1, 0.8), garch_nb(z, 0.1, 0.8)[:k])
    np.testing.assert_array_equal(ar1_nb(phi[:k], z[:k]), ar1_nb(phi, z)[:k])
