"""When nothing can be judged the run says why in one plain line, writes the tables it has and
no best_config.yaml, and exits 0; no sentinel number stands in for "cannot be judged"; a normal
run prints nothing on stderr."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from scalper_tune.data import write_dataset
from scalper_tune.data.market import MarketData, SymbolData
from tests.conftest import ROOT, clean_env

pytestmark = pytest.mark.slow  # pipeline runs in subprocesses


def _flat(n: int = 9000) -> MarketData:
    """A market whose price never moves: no z-score, no entry, long enough for the segments."""
    ts = np.arange(n, dtype=np.int64) * 60 * 10**9 + 1_700_000_000 * 10**9
    one = np.full(n, 100.0)
    data = SymbolData(symbol="FLAT", ts=ts, open=one, high=one, low=one, close=one,
                      volume=np.ones(n))
    return MarketData(bar_seconds=60, series={"FLAT": data}, source="test")


def test_no_trades_under_the_grid_ends_plainly(tmp_path):
    write_dataset(_flat(), tmp_path / "flat")
    raw = yaml.safe_load((ROOT / "experiments" / "smoke.yaml").read_text())
    raw["search_space"] = str(ROOT / "search_spaces" / "smoke_grid.yaml")
    raw["data"] = {"path": str(tmp_path / "flat")}
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(raw))
    proc = subprocess.run([sys.executable, "-m", "scalper_tune", "run", "exp.yaml"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env=clean_env())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stderr == ""
    out = proc.stdout
    assert ("nothing to choose: no configuration made filters.min_trades = 10 trades over the "
            "train folds (the most any made: 0)") in out
    assert "none judged yet" in out and "-1000000" not in out and "-100.000" not in out
    (run,) = (tmp_path / "runs" / "smoke").iterdir()
    assert not (run / "best_config.yaml").exists()
    phase1 = pd.read_parquet(run / "phase1.parquet")
    assert len(phase1) == 32 and not phase1["judged"].any()
    for column in ("robustness_train", "consistency", "score"):
        assert phase1[column].isna().all(), column  # NaN, never a stand-in number


def test_a_normal_run_prints_nothing_on_stderr(smoke_alone):
    folder = smoke_alone.parents[2]
    assert (folder / "stderr.txt").read_text() == ""
    out = (folder / "stdout.txt").read_text()
    assert "chosen:" in out and "test Sh" in out and "val Sh" in out
    # Tune's automatic per-trial loggers are off: no CSV/JSON/TensorBoard files
    for pattern in ("progress.csv", "result.json", "events.out.tfevents*"):
        assert not list(smoke_alone.glob(f"tune/**/{pattern}")), pattern
