"""Experiment and search-space YAML: valid files load, every mistake is one clear line (exit 2)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from scalper_tune.config import SyntheticSpec, load_experiment, load_search_space
from scalper_tune.errors import ConfigError
from tests.conftest import ROOT, run_subprocess

GOOD_SPACE = """\
schema_version: 1
grid:
  z_window: [20, 40]
  side: [long, both]
refine:
  entry_z: {low: 1.0, high: 3.0}
"""
GOOD_EXPERIMENT = """\
name: t
seed: 3
search_space: space.yaml
data:
  synthetic: {assets: 2, bars: 5000}
features: {baseline_window: 30, timeframes: [1, 5]}
walk_forward: {folds: 4}
"""


def _write(tmp_path: Path, experiment: str = GOOD_EXPERIMENT, space: str = GOOD_SPACE) -> Path:
    (tmp_path / "space.yaml").write_text(space)
    (tmp_path / "exp.yaml").write_text(experiment)
    return tmp_path / "exp.yaml"


def test_shipped_experiments_load():
    grid = load_experiment(ROOT / "experiments" / "grid.yaml")
    assert grid.space.grid_size == 12_288
    assert grid.experiment.data.synthetic == SyntheticSpec(assets=11, bars=100_000, crash="2022",
                                                           venues=2)
    assert dataclasses.is_dataclass(grid.experiment)
    with pytest.raises(dataclasses.FrozenInstanceError):
        grid.experiment.seed = 1  # frozen
    binance = load_experiment(ROOT / "experiments" / "binance-5m.yaml")
    assert Path(binance.experiment.data.path).name == "binance-spot-5m-2024-q1"
    assert Path(binance.experiment.data.path).is_dir()  # shipped in data/


def test_paths_resolve_relative_to_the_file(tmp_path, monkeypatch):
    path = _write(tmp_path)
    monkeypatch.chdir("/")
    loaded = load_experiment(path)
    assert loaded.experiment.search_space == str((tmp_path / "space.yaml").resolve())
    assert loaded.space.grid_size == 4 and loaded.space.grid["z_window"] == (20, 40)


BAD_EXPERIMENTS = {
    "unknown_key": (GOOD_EXPERIMENT + "sead: 4\n", "exp.yaml: sead: unknown key; did you mean 'seed'?"),
    "nested_unknown": (GOOD_EXPERIMENT.replace("bars: 5000", "barz: 2000"),
                       "data.synthetic.barz: unknown key; did you mean 'bars'?"),
    "wrong_type": (GOOD_EXPERIMENT.replace("seed: 3", "seed: three"),
                   "exp.yaml: seed: expected an integer, got 'three'"),
    "bool_is_not_int": (GOOD_EXPERIMENT.replace("seed: 3", "seed: true"), "seed: expected an integer"),
    "bad_value": (GOOD_EXPERIMENT.replace("bars: 5000", "bars: 5"), "data.synthetic.bars: must be"),
    "bad_crash": (GOOD_EXPERIMENT.replace("bars: 5000", "bars: 5000, crash: 2008"),
                  "data.synthetic.crash: must be one of none, 2022"),
    "missing_space": (GOOD_EXPERIMENT.replace("space.yaml", "nope.yaml"),
                      "search_space: nope.yaml not found"),
    "missing_data": (GOOD_EXPERIMENT.replace("synthetic: {assets: 2, bars: 5000}", "path: nodata"),
                     "data.path: nodata not found"),
    "both_sources": (GOOD_EXPERIMENT.replace("synthetic: {assets: 2, bars: 5000}",
                                             "synthetic: {}\n  path: x"),
                     "give exactly one of data.synthetic or data.path"),
    "required": ("name: t\n", "search_space: required key is missing"),
    "malformed": ("name: [t\n", "exp.yaml: line"),
    "not_mapping": ("- a\n- b\n", "expected a mapping"),
}


@pytest.mark.parametrize("case", sorted(BAD_EXPERIMENTS))
def test_bad_experiment(tmp_path, case):
    text, expected = BAD_EXPERIMENTS[case]
    with pytest.raises(ConfigError) as info:
        load_experiment(_write(tmp_path, experiment=text))
    assert expected in str(info.value)


BAD_SPACES = {
    "empty_grid": ("grid: {}\n", "grid: must map parameter names"),
    "empty_values": ("grid:\n  z_window: []\n", "grid.z_window: must be a non-empty list"),
    "unknown_param": ("grid:\n  entry_zz: [1.0]\n", "grid.entry_zz: unknown strategy parameter; "
                                                   "did you mean 'entry_z'?"),
    "out_of_bounds": ("grid:\n  stop_loss: [0.9]\n", "grid.stop_loss: must be between"),
    "bad_choice": ("grid:\n  side: [up]\n", "grid.side: must be one of long, short, both"),
    "not_whole": ("grid:\n  z_window: [20.5]\n", "grid.z_window: must be a whole number"),
    "repeated": ("grid:\n  entry_z: [2.0, 2.0]\n", "grid.entry_z: repeated values"),
    "range_inverted": ("grid:\n  side: [long]\nrefine:\n  entry_z: {low: 3, high: 1}\n",
                       "refine.entry_z.high: must be greater than low"),
    "range_out": ("grid:\n  side: [long]\nrefine:\n  entry_z: {low: 0.01, high: 1}\n",
                  "refine.entry_z.low: must be between"),
    "choice_as_range": ("grid:\n  side: [long]\nrefine:\n  side: {low: 1, high: 2}\n",
                        "refine.side: side is a choice"),
    "log_nonpositive": ("grid:\n  side: [long]\nrefine:\n  vol_z_min: {low: -1, high: 2, log: true}\n",
                        "a log range needs low > 0"),
    "top_level_typo": ("grids:\n  side: [long]\n", "grids: unknown key; did you mean 'grid'?"),
}


@pytest.mark.parametrize("case", sorted(BAD_SPACES))
def test_bad_search_space(tmp_path, case):
    text, expected = BAD_SPACES[case]
    (tmp_path / "space.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_search_space(tmp_path / "space.yaml")
    assert "space.yaml" in str(info.value) and expected in str(info.value)


def test_check_command_exit_codes(cli, tmp_path):
    ok = cli("check", _write(tmp_path))
    assert ok.code == 0 and "grid of 4 combinations" in ok.out
    assert "needs" in ok.out and "warm-up" in ok.out
    bad = cli("check", _write(tmp_path, experiment=GOOD_EXPERIMENT + "sead: 4\n"))
    assert bad.code == 2 and "did you mean 'seed'" in bad.err and bad.err.count("\n") == 1
    short = cli("check", _write(tmp_path, experiment=GOOD_EXPERIMENT.replace("bars: 5000", "bars: 3000")))
    assert short.code == 3 and "2 symbols x 3,000 bars: too little data" in short.err
    assert short.err.count("\n") == 1 and "walk_forward.folds" in short.err


def test_check_in_a_real_process_has_no_traceback(tmp_path):
    result = run_subprocess("check", _write(tmp_path, space="grid:\n  z_window: []\n"))
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.startswith("error: ") and "grid.z_window" in result.err
