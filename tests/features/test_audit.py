"""The causality audit catches planted look-ahead and passes every built-in feature."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import ROOT

PLANTED = ["centred_mean", "whole_series_zscore", "next_close"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from scalper_tune.config import SyntheticSpec
    from scalper_tune.data import generate, write_dataset

    folder = tmp_path_factory.mktemp("audit") / "ds"
    write_dataset(generate(SyntheticSpec(assets=2, bars=4000)), folder)
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
    assert line.split()[1:3] == ["5", "5"] and "UTC" in line
    ok = next(x for x in result.out.splitlines() if x.startswith("lookahead_features:trailing_mean"))
    assert ok.split()[1:4] == ["5", "0", "-"]
    assert "LOOK-AHEAD in 1 feature(s)" in result.out


def test_real_feed_with_cross_venue_features_passes(cli, shared_data):
    result = cli("audit", "--data", shared_data / "binance-feed-2024-08-08", "--cuts", "5")
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
