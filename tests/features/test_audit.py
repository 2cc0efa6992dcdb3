"""The causality audit catches planted look-ahead and passes every built-in feature."""

from __future__ import annotations

import shutil

import numpy as np

import pytest

from tests.conftest import ROOT

PLANTED = ["centred_mean", "whole_series_zscore", "next_close", "backfilled_mean"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from scalper_tune.config import SyntheticSpec
    from scalper_tune.data import generate, write_dataset

    folder = tmp_path_factory.mktemp("audit") / "ds"
    write_dataset(generate(SyntheticSpec(assets=2, bars=12_000)), folder)  # past the warm-up
    return folder


@pytest.fixture
def in_examples(tmp_path, monkeypatch):
    shutil.copy(ROOT / "examples" / "lookahead_features.py", tmp_path / "lookahead_features.py")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_builtin_features_pass(cli, dataset):
    result = cli("audit", "--data", dataset, "--cuts", "8")
    assert result.code == 0, result.out
    assert "ok:" in result.out and "vol_z_tf15" in result.out and "ou_half_life_w160" in result.out


@pytest.mark.parametrize("name", PLANTED)
def test_planted_lookahead_exits_4(cli, dataset, in_examples, name):
    result = cli("audit", "--data", dataset, "--cuts", "5", "--feature", f"lookahead_features:{name}",
                 "--feature", "lookahead_features:trailing_mean")
    assert result.code == 4, result.out
    line = next(x for x in result.out.splitlines() if x.startswith(f"lookahead_features:{name}"))
    cuts, violations = (int(v) for v in line.split()[1:3])
    assert cuts == 5 and violations >= 1 and "UTC" in line
    if name != "backfilled_mean":  # caught at every cut past its own warm-up
        assert violations >= 4
    ok = next(x for x in result.out.splitlines() if x.startswith("lookahead_features:trailing_mean"))
    assert ok.split()[1:4] == ["5", "0", "-"]
    assert "LOOK-AHEAD in 1 feature(s)" in result.out


def test_real_feed_with_cross_venue_features_passes(cli, shared_data):
    result = cli("audit", "--data", shared_data / "binance-feed-2024-08-08", "--cuts", "5",
                 "--no-engine")  # 6 minutes of 1 s bars: no trade to compare
    assert result.code == 0, result.out
    assert "basis_z" in result.out and "imbalance_lead" in result.out


def test_bad_user_features_are_usage_errors(cli, dataset, in_examples):
    (in_examples / "bad_features.py").write_text(
        "import numpy as np\n"
        "def short(c):\n    return np.zeros(3)\n"
        "def boom(c):\n    raise KeyError('bid')\n")
    for spec, text in [("nomodule:f", "cannot import"), ("bad_features:missing", "no function"),
                       ("bad_features:short", "returned shape"), ("bad_features:boom", "raised KeyError"),
                       ("justname", "expected module:function")]:
        result = cli("audit", "--data", dataset, "--cuts", "2", "--feature", spec)
        assert result.code == 2 and text in result.err, (spec, result.err)


def test_cuts_cover_the_warm_up(dataset):
    from scalper_tune.data import load_dataset
    from scalper_tune.features.feature_audit import cut_times

    market = load_dataset(dataset)
    cuts = cut_times(market, 8, 7)
    bars = np.searchsorted(market["SYN01"].ts, cuts)
    assert len(cuts) == 8 and bars.min() <= 64 and bars.max() > 1000


def test_no_trades_to_compare_is_not_a_pass(cli, dataset, tmp_path):
    import yaml

    from scalper_tune.config.strategy_params import default_params

    never = dict(default_params(), entry_z=10.0)  # no z-score ever gets there
    (tmp_path / "p.yaml").write_text(yaml.safe_dump({"params": never}))
    result = cli("audit", "--data", dataset, "--cuts", "3", "--params", tmp_path / "p.yaml")
    assert result.code == 2, result.out + result.err
    assert "engine trades: 0 trades compared (0, 0, 0 per cut)" in result.out
    assert "nothing to check: the parameters make no trades before any cut" in result.err


def test_audit_of_an_experiment_checks_labels_and_masks(cli, tmp_path):
    import yaml

    raw = yaml.safe_load((ROOT / "experiments" / "smoke.yaml").read_text())
    raw["search_space"] = str(ROOT / "search_spaces" / "smoke_grid.yaml")
    raw["data"] = {"synthetic": {"assets": 2, "bars": 12_000, "seed": 3}}
    raw["regime"].update(ml_gate=True, gate_min_accuracy=0.5, gate_block_days=1.0,
                         block_days=1.5)
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(raw))
    result = cli("audit", "--experiment", tmp_path / "exp.yaml", "--cuts", "3", "--no-engine")
    assert result.code == 0, result.out + result.err
    for row in ("regime labels", "entry mask"):
        line = next(x for x in result.out.splitlines() if x.startswith(row))
        assert line.split()[-3:] == ["3", "0", "-"], line


def test_a_feature_that_raises_before_its_window_fills_is_judged_from_its_first_value(
        cli, dataset, in_examples):
    """The seed's sliding-window sketch raises on short prefixes: the audit says so in one line
    and judges it where it is defined (causal: exit 0), and still catches a feature that both
    raises early and looks ahead (exit 4)."""
    result = cli("audit", "--data", dataset, "--cuts", "12", "--no-engine", "--feature",
                 "lookahead_features:sliding_volatility_clustering")
    assert result.code == 0, result.out + result.err
    line = next(x for x in result.out.splitlines()
                if x.startswith("lookahead_features:sliding_volatility_clustering "))
    assert line.split()[1:4] == ["12", "0", "-"]
    assert "before its first value: not yet defined there" in result.out
    result = cli("audit", "--data", dataset, "--cuts", "12", "--no-engine", "--feature",
                 "lookahead_features:sliding_whole_series")
    assert result.code == 4, result.out + result.err
    assert "LOOK-AHEAD in 1 feature(s): lookahead_features:sliding_whole_series" in result.out
