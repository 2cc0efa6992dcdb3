"""The stitched out-of-sample record and the walk-forward verdict, on hand-made numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scalper_tune.robustness.oos_record import (bar_returns, day_block_ci, record, stitch,
                                                verdict)

MIN = 60 * 10**9
DAY = 1440 * MIN


def _equity(values, start_ns=0):
    idx = pd.to_datetime(start_ns + np.arange(len(values)) * MIN, utc=True)
    return pd.Series(np.asarray(values, dtype=float), index=idx)


def test_steps_compound_from_flat():
    a = _equity([1000, 1010, 1020])  # +2 %
    b = _equity([990, 1100], start_ns=3 * MIN)  # +10 % from its own flat start
    eq, step = stitch([a, b], 1000.0)
    assert list(step) == [0, 0, 0, 1, 1]
    np.testing.assert_allclose(eq.to_numpy(), [1000, 1010, 1020, 1020 * 0.99, 1020 * 1.1])
    r = bar_returns(eq, 1000.0)
    assert r[0] == 0.0 and r[3] == pytest.approx(-0.01)


def test_day_block_interval_brackets_a_planted_drift_and_is_seeded():
    rng = np.random.default_rng(1)
    n = 60 * 1440
    r = rng.normal(2e-5, 1e-3, n)  # per-minute drift: an annualised Sharpe of about 14
    times = np.arange(n, dtype=np.int64) * MIN
    lo, hi, days = day_block_ci(r, times, 525_960.0, seed=7)
    sharpe = r.mean() / r.std(ddof=1) * math.sqrt(525_960.0)
    assert days == 60 and lo < sharpe < hi and lo > 0
    assert (lo, hi, days) == day_block_ci(r, times, 525_960.0, seed=7)
    lo0, hi0, _ = day_block_ci(rng.normal(0, 1e-3, n), times, 525_960.0, seed=7)
    assert lo0 < 0 < hi0  # no edge: the interval straddles 0


def test_too_few_days_give_no_interval():
    lo, hi, days = day_block_ci(np.zeros(10), np.arange(10) * DAY // 4, 525_960.0, seed=7)
    assert days == 3 and math.isnan(lo) and math.isnan(hi)


def _stress(*rows):
    return pd.DataFrame(rows, columns=["scenario", "sharpe", "max_dd_pct"])


def test_verdict_yes_with_a_survived_crash_as_a_caution():
    eq = _equity(1000 * np.cumprod(1 + np.random.default_rng(3).normal(3e-5, 1e-3, 30 * 1440)))
    oos = record([eq], trades=120, account=1000.0, bars_per_year=525_960.0, seed=7)
    assert oos.sharpe_ci[0] > 0
    v = verdict(oos, 30, _stress(("crash_2022", -1.5, -0.03), ("fees_x2", 2.0, -0.01)), 0.15)
    assert v.deployable and v.reasons == []
    assert len(v.cautions) == 1 and "crash_2022" in v.cautions[0]
    no = verdict(oos, 500, _stress(("crash_2022", 1.0, -0.40)), 0.15)
    assert not no.deployable and len(no.reasons) == 2
    assert "120 out-of-sample trades" in no.reasons[0] and "crash_2022" in no.reasons[1]
    assert not verdict(oos, 30, _stress(), 0.15).deployable  # not stress-tested: no
