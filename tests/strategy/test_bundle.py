"""The strategy bundle: a run's chosen strategy as one folder that `backtest`, `paper` and `audit`
run as the run scored it (features of the run's settings, its entry gate), reproducing the run's
validation and test figures exactly; gated paper parity; bad bundles refused in one line."""

from __future__ import annotations

import json
import shutil

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml

from scalper_tune.config import SyntheticSpec
from scalper_tune.data import generate, load_dataset, write_dataset
from scalper_tune.engine.backtest import backtest
from scalper_tune.engine.inputs import ENTRY_MASK
from scalper_tune.strategy import load_strategy
from tests.conftest import ROOT

SMOKE = yaml.safe_load((ROOT / "experiments" / "smoke.yaml").read_text())


@pytest.fixture(scope="module")
def smoke_data(tmp_path_factory):
    """The smoke experiment's synthetic market as a dataset folder (what `data synth` writes)."""
    out = tmp_path_factory.mktemp("bundle") / "smoke-data"
    write_dataset(generate(SyntheticSpec(**SMOKE["data"]["synthetic"])), out)
    return out


def _trades_of_both(cli, bundle, data, tmp_path) -> dict[str, pd.DataFrame]:
    """The trades of `backtest --strategy` and `paper --strategy` on `data`."""
    outs = {}
    for command in ("backtest", "paper"):
        out = tmp_path / f"{command}.csv"
        result = cli(command, "--strategy", bundle, "--data", data, "--trades-out", out,
                     "--feature-cache", tmp_path / "cache")
        assert result.code == 0, result.err
        outs[command] = pd.read_csv(out)
    return outs


def _figures(result) -> dict:
    d = json.loads(result.out)
    return {"sharpe": d["sharpe"], "return": d["return_on_account"],
            "max_drawdown": d["max_drawdown_pct"], "trades": d["total_trades"]}


def test_backtest_of_the_bundle_reproduces_the_runs_validation_and_test(cli, smoke_run,
                                                                       smoke_data, tmp_path):
    best = yaml.safe_load((smoke_run / "best_config.yaml").read_text())
    assert best["meta"]["strategy"] == "strategy/strategy.yaml"
    bundle = smoke_run / "strategy"
    strategy = yaml.safe_load((bundle / "strategy.yaml").read_text())
    assert strategy["mode"] == "single" and strategy["params"] == best["params"]
    assert strategy["regime"]["block"] == ["toxic"] and strategy["data"]["bar_seconds"] == 60
    for name in ("validation", "test"):
        seg = best["meta"]["segments"][name]
        result = cli("backtest", "--strategy", bundle, "--data", smoke_data, "--from",
                     seg["start"], "--to", seg["end"], "--json", "--feature-cache",
                     tmp_path / "cache")
        assert result.code == 0, result.err
        got, want = _figures(result), best["meta"][name]
        assert got["trades"] == want["trades"] > 0, name
        for key in ("sharpe", "return", "max_drawdown"):
            assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-12), (name, key)
    # the parent run of the reference run carries the bundle as an artifact
    client = mlflow.MlflowClient(f"sqlite:///{smoke_run.parents[2] / 'mlruns' / 'mlflow.db'}")
    (exp,) = [e for e in client.search_experiments() if e.name == "smoke"]
    (parent,) = [r for r in client.search_runs([exp.experiment_id])
                 if "mlflow.parentRunId" not in r.data.tags]
    names = [a.path for a in client.list_artifacts(parent.info.run_id, "strategy")]
    assert names == ["strategy/models", "strategy/strategy.yaml"]
    models = [a.path for a in client.list_artifacts(parent.info.run_id, "strategy/models")]
    assert models == ["strategy/models/regime_classifier.skops",
                      "strategy/models/regime_classifier_current.skops"]
    # the model is the one walk-forward fits for the block after the data, hash recorded; the
    # data ends inside a block, whose own model walk-forward applies to the rest of it
    entry = strategy["models"]["regime_classifier"]
    assert entry["file"] == "models/regime_classifier.skops" and len(entry["sha256"]) == 64
    assert entry["block_start"] == "2022-01-21T00:00:00Z" and entry["rows"] == 7200
    current = strategy["models"]["regime_classifier_current"]
    assert current["block_start"] == "2022-01-17T00:00:00Z" and current["rows"] < 7200


def test_paper_equals_backtest_trade_for_trade_with_the_gate(cli, smoke_run, smoke_data,
                                                            tmp_path):
    bundle = smoke_run / "strategy"
    # the gate closes bars, and closing them changes the trades (so parity covers the gate)
    strategy = load_strategy(bundle)
    market = load_dataset(smoke_data)
    market, features = strategy.inputs(market, tmp_path / "cache")
    closed = sum(int((features[s][ENTRY_MASK] < 0.5).sum()) for s in market.symbols)
    assert closed > 1000
    gated = backtest(market, features, strategy.params, strategy.costs, strategy.account)
    open_all = {s: {k: v for k, v in f.items() if k != ENTRY_MASK} for s, f in features.items()}
    ungated = backtest(market, open_all, strategy.params, strategy.costs, strategy.account)
    assert len(gated.trades) != len(ungated.trades)

    outs = _trades_of_both(cli, bundle, smoke_data, tmp_path)
    assert len(outs["paper"]) == len(gated.trades) > 0
    pd.testing.assert_frame_equal(outs["paper"], outs["backtest"])


def test_audit_of_a_bundle_checks_its_gate(cli, smoke_run, smoke_data, tmp_path):
    result = cli("audit", "--strategy", smoke_run / "strategy", "--data", smoke_data,
                 "--cuts", "2")
    assert result.code == 0, result.out + result.err
    assert "regime labels" in result.out and "entry mask" in result.out


def _bundle_copy(smoke_run, tmp_path, **changes):
    raw = yaml.safe_load((smoke_run / "strategy" / "strategy.yaml").read_text())
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            raw[section][field] = value
        else:
            raw[section] = value
    folder = tmp_path / "bundle"
    shutil.copytree(smoke_run / "strategy", folder)  # with its models
    (folder / "strategy.yaml").write_text(yaml.safe_dump(raw))
    return folder


@pytest.mark.parametrize("changes, message", [
    ({"bundle_version": 99}, "bundle_version 99 is newer than this scalper_tune"),
    ({"data__bar_seconds": 300}, "tuned on 300-s bars; give data of 300-s bars"),
    ({"data__symbols": ["SYN01", "BTCUSDT"]}, "no BTCUSDT; the strategy"),
    ({"features__z_windows": [1]}, "features.z_windows: must be non-empty windows >= 3"),
    ({"mode": "hedged"}, "mode: 'hedged' is not one of single"),
])
def test_bad_bundles_are_refused_in_one_line(cli, smoke_run, smoke_data, tmp_path, changes,
                                             message):
    bundle = _bundle_copy(smoke_run, tmp_path, **changes)
    result = cli("backtest", "--strategy", bundle, "--data", smoke_data, "--no-cache")
    assert result.code == 2, result.out + result.err
    assert message in result.err and str(bundle) in result.err, result.err
    assert len(result.err.strip().splitlines()) == 1 and result.out == ""


def test_strategy_and_params_together_are_refused(cli, smoke_run, smoke_data, tmp_path):
    result = cli("backtest", "--strategy", smoke_run / "strategy", "--params",
                 ROOT / "examples" / "params.yaml", "--data", smoke_data)
    assert result.code == 2 and "give --strategy or --params, not both" in result.err
    result = cli("paper", "--strategy", tmp_path, "--data", smoke_data)
    assert result.code == 2 and "no strategy.yaml there" in result.err


def test_a_switching_bundle_runs_in_backtest_and_paper_alike(cli, smoke_run, smoke_data,
                                                             tmp_path):
    raw = yaml.safe_load((smoke_run / "strategy" / "strategy.yaml").read_text())
    other = dict(raw["params"], entry_z=1.5, side="long")
    raw["mode"] = "switching"
    raw["switching"] = {"calm": {"source": "hand", "params": raw["params"]},
                        "trending": {"source": "hand", "params": other},
                        "volatile": {"source": "hand", "params": other},
                        "toxic": None, "crash": None}
    folder = tmp_path / "switching"
    shutil.copytree(smoke_run / "strategy", folder)
    (folder / "strategy.yaml").write_text(yaml.safe_dump(raw))
    assert load_strategy(folder).switching.by_regime == (0, 1, 1, None, None)
    outs = _trades_of_both(cli, folder, smoke_data, tmp_path)
    assert len(outs["backtest"]) > 0
    pd.testing.assert_frame_equal(outs["paper"], outs["backtest"])
    single = tmp_path / "single.csv"
    assert cli("backtest", "--strategy", smoke_run / "strategy", "--data", smoke_data,
               "--trades-out", single, "--feature-cache", tmp_path / "cache").code == 0
    assert len(pd.read_csv(single)) != len(outs["backtest"])  # the sets switched
    result = cli("backtest", "--strategy", folder, "--data", smoke_data, "--engine", "prefilter",
                 "--feature-cache", tmp_path / "cache")
    assert result.code == 2 and "switches sets by regime" in result.err


def test_stress_of_the_bundle_reproduces_phase3_for_the_chosen(cli, smoke_run, smoke_data,
                                                               tmp_path):
    best = yaml.safe_load((smoke_run / "best_config.yaml").read_text())
    seg = best["meta"]["segments"]["validation"]
    result = cli("stress", "--strategy", smoke_run / "strategy", "--data", smoke_data,
                 "--from", seg["start"], "--to", seg["end"], "--json", "--feature-cache",
                 tmp_path / "cache")
    assert result.code == 0, result.err
    got = pd.DataFrame(json.loads(result.out)["scenarios"])
    phase3 = pd.read_parquet(smoke_run / "phase3.parquet")
    want = phase3[phase3["source"] == best["meta"]["source"]].reset_index(drop=True)
    assert list(got["scenario"]) == list(want["scenario"])
    assert list(got["trades"]) == list(want["trades"]) and list(got["passed"]) == list(
        want["passed"])
    np.testing.assert_allclose(got["sharpe"].astype(float), want["sharpe"].astype(float),
                               rtol=1e-9)
