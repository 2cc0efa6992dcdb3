"""Bad input through the real `run` command: one clear line naming the file and the fix, the
documented exit code, no traceback, and earlier runs and the MLflow store left as they were."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, run_subprocess

SPACE = ROOT / "search_spaces" / "smoke_grid.yaml"


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
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_experiment_through_the_cli(tmp_path, case):
    content, code, expected = CASES[case]
    path = tmp_path / "exp.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    result = run_subprocess("run", path, cwd=tmp_path)
    assert result.code == code, result.err
    assert "Traceback" not in result.err and result.err.startswith("error: ")
    for text in expected:
        assert text in result.err, (text, result.err)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*.parquet"))


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


def test_params_file_with_missing_keys_for_backtest(cli, tmp_path):
    (tmp_path / "p.yaml").write_text("params: {z_window: 40}\n")
    result = cli("backtest", "--data", Path(tmp_path / "none"), "--params", tmp_path / "p.yaml")
    assert result.code == 2 and "missing entry_z" in result.err
