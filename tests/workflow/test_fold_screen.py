"""Walk-forward's shared Phase 1: the steps' folds sit on one grid of blocks, and a step's
screen assembled from blocks screened once equals screening that step's folds directly."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from scalper_tune.config import load_experiment
from scalper_tune.config.pipeline_spec import ReoptimizeSpec
from scalper_tune.data import load
from scalper_tune.engine import prefilter
from scalper_tune.robustness.segments import fold_blocks, slice_market, step_segments
from scalper_tune.workflow.fold_screen import screen_blocks, step_screen
from scalper_tune.workflow.prepare import prepare, refine_windows
from scalper_tune.workflow.screen import enumerate_grid, screen_chunk
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    loaded = load_experiment(ROOT / "experiments" / "smoke.yaml")
    exp = dataclasses.replace(loaded.experiment, reoptimize=ReoptimizeSpec(steps=3, oos=0.4))
    market = load(exp.data)
    prep = prepare(exp, market, refine_windows(loaded.space), space=loaded.space,
                   cache_dir=tmp_path_factory.mktemp("cache"))
    return exp, loaded.space, prep


@pytest.mark.parametrize("mode", ["rolling", "anchored"])
def test_steps_share_folds_on_one_grid(prepared, mode):
    exp, _, prep = prepared
    segments = step_segments(prep.market, exp.walk_forward, 3, mode, 0.4, prep.warmup)
    blocks = fold_blocks(segments)
    k = exp.walk_forward.folds
    for a, b in zip(segments, segments[1:]):
        assert a.test[1] == b.test[0] and a.end == b.test[0]  # steps tile the out-of-sample part
        assert set(a.folds) <= set(blocks) and b.validation[1] == b.test[0]
        shift = len(b.folds) - len(a.folds) if mode == "anchored" else None
        if mode == "rolling":
            assert len(a.folds) == len(b.folds) == k
            shared = set(a.folds) & set(b.folds)
            assert len(shared) == k - (len(blocks) - k) // 2  # whole blocks per step
        else:
            assert a.folds == b.folds[:len(a.folds)] and shift > 0
    lengths = {b - a for a, b in blocks}
    assert max(lengths) - min(lengths) <= prep.market.bar_ns * 2  # equal blocks (gaps aside)


@pytest.mark.parametrize("mode", ["rolling", "anchored"])
def test_a_steps_screen_from_shared_blocks_equals_screening_its_folds(prepared, mode):
    exp, space, prep = prepared
    segments = step_segments(prep.market, exp.walk_forward, 3, mode, 0.4, prep.warmup)
    blocks = fold_blocks(segments)
    arrays = {f: prefilter.prepare(*slice_market(prep.market, prep.features, *f), prep.windows,
                                   exp.costs.spread_mult) for f in blocks}
    rows = enumerate_grid(space.grid)
    shared = screen_blocks([arrays[f] for f in blocks], range(len(blocks)), rows, exp)
    for seg in segments:
        direct = screen_chunk([arrays[f] for f in seg.folds], rows, exp)
        assembled = step_screen(shared, [blocks.index(f) for f in seg.folds], exp,
                                prep.market.bars_per_year())
        pd.testing.assert_frame_equal(assembled, direct, check_exact=True)
