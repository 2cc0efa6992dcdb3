"""The `regimes` command: the classifier's walk-forward accuracy next to the baselines it must
beat, on the synthetic market (where it must clear the goals) and on real data."""

from __future__ import annotations

import json

import pytest

from scalper_tune.config import SyntheticSpec
from scalper_tune.data import generate, write_dataset


@pytest.fixture(scope="module")
def default_market(tmp_path_factory):
    folder = tmp_path_factory.mktemp("regimes") / "ds"
    write_dataset(generate(SyntheticSpec()), folder)  # the default market: 11 x 100,000 bars
    return folder


@pytest.mark.slow
def test_goals_on_the_default_synthetic_market(cli, default_market, tmp_path):
    result = cli("regimes", "--data", default_market, "--json", "--feature-cache", tmp_path / "fc")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert set(data) >= {"balanced_accuracy", "recall", "baselines", "labels"}
    assert data["labels"] == "truth"
    assert set(data["baselines"]) == {"majority", "rules", "book_only"}
    assert data["balanced_accuracy"] >= 0.70
    assert data["balanced_accuracy"] >= data["baselines"]["book_only"] + 0.15
    assert data["recall"]["toxic"] >= 0.70
    assert data["baselines"]["majority"] == pytest.approx(0.25)  # four regimes, one class
    # the text report (on two of the symbols: the figures above are the whole market's)
    text = cli("regimes", "--data", default_market, "--symbols", "SYN01,SYN02",
               "--feature-cache", tmp_path / "fc")
    assert "baseline: book columns only" in text.out and "classifier (all inputs)" in text.out


def test_on_real_data_with_realised_labels(cli, tmp_path):
    from tests.conftest import SPOT_5M

    result = cli("regimes", "--data", SPOT_5M, "--json", "--splits", "3", "--feature-cache",
                 tmp_path / "fc")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["labels"] == "realised" and data["bars"] > 10_000
    assert 0.0 < data["baselines"]["book_only"] <= 1.0  # no book: the book-only model is blind
    assert 0.0 < data["balanced_accuracy"] <= 1.0


def test_on_the_shared_binance_set(cli, shared_data, tmp_path):
    result = cli("regimes", "--data", shared_data / "binance-spot-5m-2024", "--json",
                 "--feature-cache", tmp_path / "fc")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["labels"] == "realised" and len(data["recall"]) >= 3


def test_bad_splits(cli, default_market):
    assert cli("regimes", "--data", default_market, "--splits", "0").code == 2
