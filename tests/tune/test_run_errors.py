"""Bad input through the real `run` command: one clear line naming the file and the fix, the
documented exit code, no traceback, and earlier runs and the MLflow store left as they were."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.conftest import ROOT, run_subprocess

pytestmark = pytest.mark.slow  # the run command in subprocesses

SPACE = ROOT / "search_spaces" / "smoke_grid.yaml"


BAD_ROW_CSV = ("timestamp,open,high,low,close,volume\n"
               + "".join(f"2024-03-01T00:{5 * i:02d}:00Z,100,101,{98 if i == 3 else 99},100.5,10\n"
                         for i in range(4))
               + "2024-03-01T00:20:00Z,100,97,99,100.5,10\n")  # row 5: high < low


def _smoke(**changes) -> dict:
    raw = yaml.safe_load((ROOT / "experiments" / "smoke.yaml").read_text())
    raw["search_space"] = str(SPACE)
    raw.update(changes)
    return raw


CASES = {
    "malformed_yaml": ("name: [smoke\n", 2, ["exp.yaml", "malformed YAML"]),
    "unknown_key": (_smoke(sead=3), 2, ["exp.yaml", "sead", "did you mean 'seed'"]),
    "wrong_type": (_smoke(seed="x"), 2, ["exp.yaml", "seed: expected an integer"]),
    "missing_space": (_smoke(search_space="nope.yaml"), 2, ["search_space", "nope.yaml not found"]),
    "missing_data": (_smoke(data={"path": "no/such/folder"}), 2, ["data.path", "not found"]),
    "bad_walk_forward": (_smoke(walk_forward={"folds": 5}), 2, ["walk_forward.folds", "even"]),
    "unknown_regime": (_smoke(regime={"block": ["panic"]}), 2, ["regime.block", "panic"]),
    "unknown_symbol": (_smoke(data={"synthetic": {"assets": 2, "bars": 5000},
                                    "symbols": ["SYN09"]}), 3, ["unknown symbol", "SYN09"]),
    "bad_row": (_smoke(data={"path": "BTCUSDT.csv", "format": "ohlcv-csv"}), 3,
                ["BTCUSDT.csv", "row 5", "high < low"]),
    "contradictory_grid": (_smoke(search_space="space.yaml"), 2,
                           ["space.yaml", "refine.entry_z", "grid.entry_z has 3.0",
                            "widen the range"]),
    "not_a_mapping": ("- just\n- a list\n", 2, ["exp.yaml", "mapping"]),
    "too_little_data": (_smoke(data={"synthetic": {"assets": 1, "bars": 3000}}), 3,
                        ["1 symbol x 3,000 bars: too little data", "4 folds of at least 500 bars",
                         "3,330-bar feature warm-up", "Give more data",
                         "walk_forward.folds"]),
    "old_holdout_key": (_smoke(walk_forward={"folds": 4, "holdout": 0.25}), 2,
                        ["walk_forward.holdout", "validation", "test"]),
}


def _fingerprint(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def earlier_work(tmp_path) -> Path:
    """A folder with an earlier run and a real MLflow store holding its runs."""
    run = tmp_path / "runs" / "smoke" / "20260101-000000-1"
    run.mkdir(parents=True)
    (run / "state.json").write_text(json.dumps({"experiment": "smoke", "logged": ["phase1"]}))
    (run / "phase1.parquet").write_bytes(b"an earlier table")
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    experiment = client.create_experiment("smoke")
    parent = client.create_run(experiment, run_name="20260101-000000-1").info.run_id
    client.log_metric(parent, "pbo", 0.2)
    client.set_terminated(parent)
    (tmp_path / "BTCUSDT.csv").write_text(BAD_ROW_CSV)
    space = yaml.safe_load(SPACE.read_text())
    space["grid"]["entry_z"] = [1.5, 3.0]  # the refinement range is [1.2, 2.5]
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(space))
    return tmp_path


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_experiment_through_the_cli(earlier_work, case):
    content, code, expected = CASES[case]
    folder = earlier_work
    before = {name: _fingerprint(folder / name) for name in ("runs", "mlruns")}
    path = folder / "exp.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    result = run_subprocess("run", path, cwd=folder)
    assert result.code == code, result.err
    assert "Traceback" not in result.err and result.err.startswith("error: ")
    assert len(result.err.strip().splitlines()) == 1, result.err
    for text in expected:
        assert text in result.err, (text, result.err)
    # earlier runs and the MLflow store as they were; no new run folder
    assert {name: _fingerprint(folder / name) for name in ("runs", "mlruns")} == before


def test_empty_grid_is_refused(tmp_path):
    (tmp_path / "space.yaml").write_text("grid:\n  entry_z: []\n")
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(_smoke(search_space="space.yaml")))
    result = run_subprocess("run", tmp_path / "exp.yaml", cwd=tmp_path)
    assert result.code == 2 and "space.yaml" in result.err and "grid.entry_z" in result.err


def test_unwritable_runs_folder(tmp_path):
    if os.geteuid() == 0:
        blocker = tmp_path / "file"  # root ignores permissions; a file in the way is refused
        blocker.write_text("x")
        runs_dir = str(blocker / "runs")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        runs_dir = str(locked / "runs")
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(_smoke(output={"runs_dir": runs_dir})))
    result = run_subprocess("run", tmp_path / "exp.yaml", cwd=tmp_path)
    assert result.code == 2 and "runs_dir" in result.err and "writable" in result.err


def test_resume_without_a_run_and_with_a_corrupted_table(tmp_path):
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(_smoke()))
    result = run_subprocess("run", tmp_path / "exp.yaml", "--resume", cwd=tmp_path)
    assert result.code == 2 and "no earlier run" in result.err
    run_dir = tmp_path / "runs" / "smoke" / "20260101-000000-1"
    run_dir.mkdir(parents=True)
    (run_dir / "state.json").write_text(json.dumps({"experiment": "smoke", "logged": []}))
    (run_dir / "phase1.parquet").write_bytes(b"not a parquet file")
    before = (run_dir / "phase1.parquet").read_bytes()
    result = run_subprocess("run", tmp_path / "exp.yaml", "--resume", str(run_dir), cwd=tmp_path)
    assert result.code == 2, result.err
    assert "phase1.parquet: unreadable" in result.err and "--resume" in result.err
    assert "Traceback" not in result.err
    assert (run_dir / "phase1.parquet").read_bytes() == before  # nothing overwritten
    assert not (tmp_path / "mlruns").exists()  # stopped before any MLflow logging


@pytest.mark.parametrize("command", ["backtest", "paper"])
def test_params_file_with_missing_keys(cli, tmp_path, command):
    (tmp_path / "p.yaml").write_text("params: {z_window: 40}\n")
    result = cli(command, "--data", Path(tmp_path / "none"), "--params", tmp_path / "p.yaml")
    assert result.code == 2 and "p.yaml: params: missing entry_z" in result.err
    assert "examples/params.yaml" in result.err


def test_resume_refuses_a_changed_experiment_or_changed_data(earlier_work):
    from scalper_tune.config import load_experiment
    from scalper_tune.pipeline.run_folder import result_settings

    folder = earlier_work
    (folder / "exp.yaml").write_text(yaml.safe_dump(_smoke()))
    (folder / "seed3.yaml").write_text(yaml.safe_dump(_smoke(seed=3)))
    run = folder / "runs" / "smoke" / "20260101-000000-1"
    state = json.loads((run / "state.json").read_text())
    state.update(config=result_settings(load_experiment(folder / "exp.yaml")), data_hash="0" * 16)
    (run / "state.json").write_text(json.dumps(state))
    (run / "phase1.parquet").unlink()  # (a damaged table has its own test)
    before = _fingerprint(folder)

    changed = run_subprocess("run", folder / "seed3.yaml", "--resume", run, cwd=folder)
    assert changed.code == 2 and "Traceback" not in changed.err, changed.err
    assert "different experiment (changed: seed)" in changed.err
    assert "experiment.yaml" in changed.err and "without --resume" in changed.err

    data = run_subprocess("run", folder / "exp.yaml", "--resume", run, cwd=folder)
    assert data.code == 3 and "Traceback" not in data.err, data.err
    assert "market data changed since this run started" in data.err
    assert _fingerprint(folder) == before
