"""The prefilter's work plan (engine/work_plan.py): every job once, units of one asset and one
candidate group, balanced lanes; and results that do not depend on the plan, the block size or
the thread count."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.strategy_params import default_params
from scalper_tune.data import generate
from scalper_tune.engine import prefilter, work_plan
from scalper_tune.features.compute import compute_market


def _skewed(n_groups: int = 12, per_group: int = 40, n_assets: int = 3, seed: int = 0):
    """group_of in grid order and candidate counts that differ a hundredfold between groups."""
    rng = np.random.default_rng(seed)
    group_of = np.repeat(np.arange(n_groups), per_group)
    counts = (rng.pareto(1.0, n_groups * n_assets) * 100).astype(np.int64)
    return group_of, np.concatenate(([0], np.cumsum(counts))), n_assets, counts


@pytest.mark.parametrize("lanes,unit_jobs", [(1, 64), (3, 7), (8, 16), (200, 1)])
def test_every_job_once_in_units_of_one_asset_and_group(lanes, unit_jobs):
    group_of, ptr, n_assets, _ = _skewed()
    p = work_plan.plan(group_of, ptr, n_assets, lanes, unit_jobs)
    n_jobs = len(group_of) * n_assets
    assert sorted(p.jobs.tolist()) == list(range(n_jobs))
    assert p.lanes == min(lanes, n_jobs)
    assert p.unit_ptr[-1] == n_jobs and p.lane_ptr[-1] == len(p.unit_ptr) - 1
    for u in range(len(p.unit_ptr) - 1):
        jobs = p.jobs[p.unit_ptr[u]:p.unit_ptr[u + 1]]
        assert 1 <= len(jobs) <= unit_jobs
        assert len(set(jobs % n_assets)) == 1, "a unit holds one asset"
        assert len(set(group_of[jobs // n_assets])) == 1, "a unit holds one candidate group"


def test_lanes_are_balanced_where_contiguous_pieces_are_not():
    group_of, ptr, n_assets, counts = _skewed()
    lanes = 8
    p = work_plan.plan(group_of, ptr, n_assets, lanes, unit_jobs=8)
    job_cost = (counts.reshape(-1, n_assets)[group_of] + 1).astype(float)  # combos x assets
    biggest_unit = 8 * job_cost.max()
    # longest-processing-time-first: no lane exceeds the mean by more than one unit
    assert p.estimate.max() <= p.estimate.mean() + biggest_unit
    assert np.isclose(p.estimate.sum(), job_cost.sum())
    assert work_plan.plan_makespan(p, job_cost) > work_plan.contiguous_makespan(job_cost, lanes)


def test_plan_is_deterministic():
    group_of, ptr, n_assets, _ = _skewed()
    a = work_plan.plan(group_of, ptr, n_assets, 4)
    b = work_plan.plan(group_of, ptr, n_assets, 4)
    for name in ("jobs", "unit_ptr", "lane_ptr", "estimate"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


@pytest.fixture(scope="module")
def shared_and_combos():
    market = generate(SyntheticSpec(assets=3, bars=20_000, seed=5))
    shared = prefilter.prepare(market, compute_market(market, FeatureSpec(z_windows=(20, 80))),
                               (20, 80))
    grid = {"z_window": [20, 80], "entry_z": [1.5, 2.5], "vol_z_min": [-0.5, 0.5],
            "stop_loss": [0.005, 0.02], "side": ["long", "short", "both"]}
    rows = [dict(default_params(), **dict(zip(grid, v))) for v in itertools.product(*grid.values())]
    return shared, pd.DataFrame(rows)


def test_results_do_not_depend_on_plan_blocks_or_threads(shared_and_combos):
    shared, combos = shared_and_combos
    ref = prefilter.evaluate(shared, combos, threads=1, block_bars=10**9, unit_jobs=1)
    from scalper_tune.kernels.layout import S

    assert ref.work.shape == (len(combos), 3) and (ref.work > 0).mean() > 0.5
    assert ref.states[:, :, S.trades].sum() > 100
    for threads, block_bars, unit_jobs in [(2, 1, 5), (2, 7, 64), (1, 256, 3), (2, 2048, 64)]:
        ev = prefilter.evaluate(shared, combos, threads=threads, block_bars=block_bars,
                                unit_jobs=unit_jobs)
        np.testing.assert_array_equal(ev.states, ref.states,
                                      err_msg=f"{threads} {block_bars} {unit_jobs}")
        np.testing.assert_array_equal(ev.work, ref.work)


def test_work_counts_the_steps_taken(shared_and_combos):
    """A job steps at least on every bar it holds a position (and at most on every bar)."""
    from scalper_tune.kernels.layout import S

    shared, combos = shared_and_combos
    ev = prefilter.evaluate(shared, combos, threads=2)
    bars = np.diff(shared.start)[None, :]
    assert (ev.work >= ev.states[:, :, S.bars_in_pos]).all()
    assert (ev.work <= bars).all()


@pytest.mark.parametrize("n_combos,chunk_size", [(12_288, 1024), (100, 8), (7, 10)])
def test_phase1_chunks_cover_the_grid_once_and_mix_its_keys(n_combos, chunk_size):
    from scalper_tune.workflow.screen import chunk_members

    n_chunks = -(-n_combos // chunk_size)
    chunks = [chunk_members(n_combos, c, chunk_size) for c in range(n_chunks)]
    assert sorted(np.concatenate(chunks).tolist()) == list(range(n_combos))
    assert all(len(c) <= chunk_size and (np.diff(c) > 0).all() for c in chunks)
    np.testing.assert_array_equal(chunk_members(n_combos, 0, chunk_size), chunks[0])
    if n_combos == 12_288:  # not a slice of the grid: the innermost key (3 sides) is mixed
        assert len(set((chunks[0] % 3).tolist())) == 3
        assert chunks[0].max() - chunks[0].min() > 10 * chunk_size
