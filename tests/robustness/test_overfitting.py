"""DSR and PBO against hand-worked values and their defining properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from scalper_tune.robustness.overfitting import (deflated_sharpe, expected_max_sharpe, pbo_cscv,
                                                 probabilistic_sharpe)


def test_expected_max_sharpe_by_hand_and_by_simulation():
    # by hand: N = 100, V = 1: 0.4228 x Z(0.99) + 0.5772 x Z(1 - 1/(100 e))
    by_hand = (1 - 0.5772156649) * 2.326347874 + 0.5772156649 * norm.ppf(1 - 1 / (100 * math.e))
    assert expected_max_sharpe(1.0, 100) == pytest.approx(by_hand, rel=1e-9)
    assert by_hand == pytest.approx(2.5307, abs=1e-3)
    # and it approximates the mean maximum of 100 standard normals (about 2.508)
    draws = np.random.default_rng(0).standard_normal((20_000, 100)).max(axis=1)
    assert expected_max_sharpe(1.0, 100) == pytest.approx(draws.mean(), rel=0.02)
    assert expected_max_sharpe(0.25, 100) == pytest.approx(0.5 * by_hand)
    assert expected_max_sharpe(1.0, 1) == 0.0


def test_psr_hand_worked():
    # SR 0.1 per period, 251 observations, normal returns (skew 0, kurtosis 3), benchmark 0:
    # z = 0.1 x sqrt(250) / sqrt(1 + 0.5 x 0.01) = 1.5772...
    z = 0.1 * math.sqrt(250) / math.sqrt(1 + 2 / 4 * 0.01)
    assert probabilistic_sharpe(0.1, 0.0, 251, 0.0, 3.0) == pytest.approx(norm.cdf(z))
    # negative skew and fat tails widen the error band: lower PSR
    assert probabilistic_sharpe(0.1, 0.0, 251, -2.0, 10.0) < norm.cdf(z)


def test_dsr_falls_with_more_trials():
    r = np.random.default_rng(1).normal(0.001, 0.01, 2000)
    values = [deflated_sharpe(r, n, sr_variance=0.001) for n in (2, 10, 100, 10_000)]
    assert all(a > b for a, b in zip(values, values[1:]))
    assert 0 <= values[-1] < values[0] <= 1


def test_pbo_zero_when_one_configuration_dominates_everywhere():
    m = np.random.default_rng(2).normal(0, 1, (8, 50))
    m[:, 7] += 10
    pbo, logits = pbo_cscv(m)
    assert pbo == 0.0 and len(logits) == math.comb(8, 4) and (logits > 0).all()


def test_pbo_one_when_in_sample_winner_is_always_worst_out_of_sample():
    # 2 configurations, 4 partitions: each wins exactly where it loses elsewhere
    m = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    pbo, logits = pbo_cscv(m)
    # splits {0,1}/{2,3} and {2,3}/{0,1}: IS winner ranks last OOS -> logit < 0;
    # the 4 mixed splits tie in sample (argmax picks config 0) and tie OOS -> logit 0
    assert len(logits) == 6
    assert pbo == 1.0
    np.testing.assert_allclose(sorted(logits), [math.log(0.5)] * 2 + [0.0] * 4)


def test_pbo_near_half_for_noise():
    m = np.random.default_rng(3).normal(0, 1, (8, 400))
    pbo, _ = pbo_cscv(m)
    assert 0.3 <= pbo <= 0.7


def test_pbo_needs_even_partitions():
    with pytest.raises(ValueError):
        pbo_cscv(np.zeros((5, 3)))
