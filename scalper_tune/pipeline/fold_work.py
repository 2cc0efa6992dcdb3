"""Walk-forward re-optimisation's shared fold work: Phase 1 on every distinct train fold once.

The steps' folds sit on one grid of blocks (robustness/segments.step_segments), so a rolling
history of `folds` blocks shares all but the newest ones with the step before it. A fold's
results start flat and depend only on its bars and causal features, so:

- the grid screen runs once over every block (`screen_folds`: the grid's chunks as jobs on
  the executor, each chunk on every block; stored in the run folder's `phase1_blocks/`), and a
  step's screen table is assembled from its blocks (`FoldWork.screen`), equal to screening its
  folds;
- the event-engine confirmation of a parameter set on a fold is computed once and reused by
  every later step in the same process whose confirmation needs it (`FoldWork.engine`).

Only refinement, Phase 2, Phase 3 and the choice then run per step.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from scalper_tune.pipeline.executor import MapPhase
from scalper_tune.pipeline.jobs import ChunkPayload, block_chunk, chunk_table
from scalper_tune.robustness.segments import Segments, fold_blocks, slice_market
from scalper_tune.store import sub_key
from scalper_tune.workflow.evaluation import engine_fold, fold_frame
from scalper_tune.workflow.fold_screen import step_screen
from scalper_tune.workflow.screen import enumerate_grid

log = logging.getLogger("scalper_tune.run")
Fold = tuple[int, int]  # [start, stop) bar-open times, ns


def screen_folds(ctx, segments: Sequence[Segments]) -> "FoldWork":
    """The grid screen on every distinct train fold of `segments` (the blocks): the grid's
    chunks as jobs on `ctx.executor` (stored in the run folder's `phase1_blocks/`, so a resumed
    run reuses them). Returns what the steps read it through."""
    exp, space, prep = ctx.exp, ctx.loaded.space, ctx.prep
    started = time.perf_counter()
    blocks = fold_blocks(list(segments))
    combos = enumerate_grid(space.grid)
    size = exp.phase1.chunk_size
    n_chunks = math.ceil(len(combos) / size)
    key = sub_key(ctx.run_key, space.grid, size, "blocks", blocks)
    out_dir = ctx.folder.path / "phase1_blocks"
    from scalper_tune.engine import prefilter

    arrays = [prefilter.prepare(*slice_market(prep.market, prep.features, a, b), prep.windows,
                                exp.costs.spread_mult) for a, b in blocks]
    device, gpus = ctx.executor.phase1_device(exp.phase1)
    payload = ChunkPayload(arrays, combos, exp, ctx.threads, size, str(out_dir), key,
                           ctx.attempt, device)
    reports = ctx.executor.map(MapPhase("phase1 (every fold once)", block_chunk, payload,
                                        [{"chunk": c} for c in range(n_chunks)], "kernel_s",
                                        label="", gpus=gpus))
    t = ctx.timings
    t["phase1_folds_wall_s"] = time.perf_counter() - started
    t["phase1_folds_kernel_s"] = float(sum(r["kernel_s"] for r in reports))
    t["phase1_folds_bar_evals"] = float(sum(r["bar_evals"] for r in reports))
    reused = sum(bool(r["reused"]) or r["attempt"] != ctx.attempt for r in reports)
    log.info(f"phase1: {len(combos):,} combinations on {len(blocks)} distinct train folds, "
             f"each fold once for every step ({n_chunks} chunks"
             + (f", {reused} from an earlier attempt" if reused else "")
             + f", {t['phase1_folds_wall_s']:.1f} s)")
    return FoldWork(tuple(blocks), str(out_dir), key, n_chunks, exp,
                    prep.market.bars_per_year())


class FoldWork:
    """The steps' view of the folds' shared work (picklable: a walk-forward step may run in a
    Tune trial): each step's screen from the stored blocks, and event-engine confirmations of a
    (fold, parameter set) computed once in this process."""

    def __init__(self, blocks: tuple[Fold, ...], out_dir: str, key: str, n_chunks: int, exp,
                 bars_per_year: float):
        self.blocks, self.out_dir, self.key, self.n_chunks = blocks, out_dir, key, n_chunks
        self.exp, self.bars_per_year = exp, bars_per_year
        self.index = {fold: i for i, fold in enumerate(blocks)}
        self._table: pd.DataFrame | None = None
        self.confirmed: dict[tuple[Fold, str], tuple[pd.DataFrame, np.ndarray]] = {}

    def __getstate__(self) -> dict:  # the tables are read again where the step runs
        return dict(self.__dict__, _table=None, confirmed={})

    def screen(self, folds: Sequence[Fold]) -> pd.DataFrame:
        """A step's screen table (`combo_id` and the screen's columns) from its folds' blocks."""
        if self._table is None:
            self._table = chunk_table(Path(self.out_dir), self.key, self.n_chunks)
        return step_screen(self._table, [self.index[tuple(f)] for f in folds], self.exp,
                           self.bars_per_year)

    def engine(self, folds: Sequence[Fold]) -> Callable:
        """`evaluation.engine_folds` for a step with these folds, each (fold, parameter set)
        computed once in this process."""

        def run(fold_data, params, costs, account) -> pd.DataFrame:
            text = json.dumps(params, sort_keys=True, default=str)
            parts = []
            for fold, (market, features) in zip(folds, fold_data):
                key = (tuple(fold), text)
                if key not in self.confirmed:
                    self.confirmed[key] = engine_fold(market, features, params, costs, account)
                parts.append(self.confirmed[key])
            return fold_frame([p[0] for p in parts], [p[1] for p in parts])

        return run
