"""The Tracker seam: what the pipeline tells its experiment tracker, phase by phase. The MLflow
tracker (`scalper_tune.tracking.pipeline_log.PipelineTracker`) implements it; `NullTracker`
records nothing (Python callers and tests that need no MLflow store)."""

from __future__ import annotations

from typing import Mapping, Protocol

import pandas as pd


class Tracker(Protocol):
    """Each method is called once per run (a resumed run's tracker skips what it logged)."""

    def dataset(self, market, data_hash: str, exp) -> None:
        """The data the run tunes on."""

    def regimes(self, report, evaluation, spec, gate_edges=None) -> None:
        """The regime classifier's figures next to its baselines; the ML gate's per asset."""

    def phase1(self, table: pd.DataFrame, folder, grid, timings: Mapping[str, float]) -> None:
        """The screen's table (train)."""

    def refine(self, table: pd.DataFrame, timings: Mapping[str, float]) -> None:
        """The refinement's trials (train)."""

    def phase2(self, table: pd.DataFrame, pbo: float, timings: Mapping[str, float]) -> None:
        """The candidates (train + validation) and the PBO."""

    def phase3_and_finalists(self, phase2, phase3, test, equity, exp, timings, best) -> None:
        """Stress (validation), the finalists (`equity`: each one's validation equity curve, by
        its Phase 2 index), the test segment and the chosen configuration."""

    def tables_at(self, path) -> "Tracker":
        """The tracker reading the phase tables from `path` (a walk-forward step's folder)."""

    def walk_forward(self, table: pd.DataFrame, figures: Mapping, verdict) -> None:
        """Walk-forward re-optimisation: the per-step table (walk_forward.parquet), the stitched
        out-of-sample figures and the verdict."""

    def close(self, timings: Mapping[str, float], summary: str = "",
              outcome: str = "chosen") -> None:
        """The run's end: timings, the summary, the outcome."""


class NullTracker:
    """A tracker that records nothing."""

    def dataset(self, *args, **kwargs) -> None:
        pass

    regimes = phase1 = refine = phase2 = phase3_and_finalists = walk_forward = close = dataset

    def tables_at(self, path) -> "NullTracker":
        return self
