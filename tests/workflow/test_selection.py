"""Honest selection, end to end on the smoke run: the figures of Phase 2 recomputed from its own
columns (robustness, DSR, N, effective N, PBO), and the black-box property: replacing the test
segment's prices changes nothing that chose, only what is reported of the test."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from scalper_tune.config import load_experiment
from scalper_tune.config.pipeline_spec import REGIMES
from scalper_tune.kernels.layout import N_REGIMES
from scalper_tune.robustness.overfitting import (cluster_trials, expected_max_sharpe, moments,
                                                 probabilistic_sharpe, trials_sharpe_variance)
from scalper_tune.robustness.score import consistency, regime_sharpes, robustness
from tests.conftest import ROOT, replace_prices_from, run_local

SMOKE = ROOT / "experiments" / "smoke.yaml"


@pytest.fixture(scope="module")
def tables(smoke_run):
    return {name: pd.read_parquet(smoke_run / f"{name}.parquet")
            for name in ("phase1", "refine", "phase2", "phase3", "test")}


def test_robustness_and_dsr_recomputed_from_the_phase2_columns(tables, smoke_run):
    exp = load_experiment(SMOKE).experiment
    p2 = tables["phase2"]
    regimes = p2[[f"regime_sharpe_{r}" for r in REGIMES]].to_numpy(dtype=float)
    again = robustness(regimes, p2["consistency"].to_numpy(), p2["val_sharpe"].to_numpy(),
                       p2["plateau"].to_numpy(), p2["dsr"].to_numpy(), exp.robustness)
    np.testing.assert_allclose(again, p2["robustness"], rtol=1e-12)
    # the regime Sharpes themselves, from the pooled per-regime sums over the train folds
    reg = regime_sharpes(p2[[f"reg_sum_{k}" for k in range(N_REGIMES)]].to_numpy(),
                         p2[[f"reg_sq_{k}" for k in range(N_REGIMES)]].to_numpy(),
                         p2[[f"reg_n_{k}" for k in range(N_REGIMES)]].to_numpy(), 525_960.0)
    np.testing.assert_allclose(reg, regimes, rtol=1e-12)
    for r in p2.itertuples():
        sr0 = expected_max_sharpe(r.sr_variance, int(r.n_effective))
        assert r.sr0 == pytest.approx(sr0, rel=1e-12)
        # observations: the pooled sleeve-bars x S_eff / S (correlated sleeves count less)
        assert 0 < r.obs_share < 1 and r.n_obs_effective == math.floor(r.n_obs * r.obs_share)
        dsr = probabilistic_sharpe(r.sr_train, sr0, int(r.n_obs_effective), r.skew_train,
                                   r.kurt_train)
        assert r.dsr == pytest.approx(dsr, rel=1e-12)
    # the tested Sharpe is the trials' statistic: a Phase 1 candidate's equals its screen row's
    p1 = tables["phase1"].set_index("combo_id")
    row = p2[p2["source"].str.startswith("phase1:")].iloc[0]
    cell = p1.loc[int(row["source"].split(":")[1])]
    sr, skew, kurt = moments(cell["m1"], cell["m2"], cell["m3"], cell["m4"], cell["n_obs"])
    assert (row["sr_train"], row["skew_train"], row["kurt_train"]) == pytest.approx(
        (float(sr), float(skew), float(kurt)), rel=1e-12)
    config = yaml.safe_load((smoke_run / "best_config.yaml").read_text())
    assert config["meta"]["n_trials"] == int(p2["n_trials"].iloc[0])
    assert config["meta"]["n_effective"] == int(p2["n_effective"].iloc[0])


def test_trial_counts_recomputed(tables):
    p1, refine, p2 = tables["phase1"], tables["refine"], tables["phase2"]
    exp = load_experiment(SMOKE).experiment
    assert int(p2["n_trials"].iloc[0]) == len(p1) + len(refine) + exp.selection.prior_trials
    trials = pd.concat([p1, refine], ignore_index=True)
    cols = [c for c in trials.columns if c.startswith("sa_f")]
    k, labels, rows = cluster_trials(trials[cols].to_numpy(dtype=float), seed=exp.seed)
    assert int(p2["n_effective"].iloc[0]) == k and 1 <= k <= len(trials)
    variance = trials_sharpe_variance(trials["sr_train"].to_numpy(dtype=float), labels, rows)
    assert p2["sr_variance"].iloc[0] == pytest.approx(variance, rel=1e-12)


def test_pbo_of_the_robustness_rule_recomputed(tables):
    """CSCV written out: for each half of the folds, the rule (the robustness score with its
    fold parts from those folds, without its all-fold DSR and plateau parts) picks a
    candidate; PBO = share of splits where it ranks in the bottom half out of sample (by mean
    fold Sharpe)."""
    exp = load_experiment(SMOKE).experiment
    p2 = tables["phase2"]
    folds = exp.walk_forward.folds
    perf = p2[[f"sharpe_f{k}" for k in range(folds)]].to_numpy(dtype=float)
    trades = p2[[f"trades_f{k}" for k in range(folds)]].to_numpy(dtype=float)
    logits = []
    for half in itertools.combinations(range(folds), folds // 2):
        ins = list(half)
        out = [k for k in range(folds) if k not in half]

        def summed(kind):
            return sum(p2[[f"reg_{kind}_{r}_f{k}" for r in range(N_REGIMES)]].to_numpy(dtype=float)
                       for k in ins)

        reg = regime_sharpes(summed("sum"), summed("sq"), summed("n"), 525_960.0)
        cons = consistency(perf[:, ins], trades[:, ins].sum(axis=1),
                           exp.filters.min_trades * len(ins) / folds)
        # the DSR and plateau read every train fold: left out (DSR 1, plateau 0)
        score = robustness(reg, cons, p2["val_sharpe"], 0.0, 1.0, exp.robustness)
        best = int(np.argmax(np.where(np.isfinite(score), score, -np.inf)))
        oos = perf[:, out].mean(axis=1)
        rank = (oos < oos[best]).sum() + ((oos == oos[best]).sum() + 1) / 2
        w = rank / (len(p2) + 1)
        logits.append(math.log(w / (1 - w)))
    assert p2["pbo"].iloc[0] == pytest.approx(np.mean(np.array(logits) <= 0))
    assert "robustness score" in p2["pbo_rule"].iloc[0]


def test_replacing_the_test_segment_changes_only_meta_test(tmp_path, smoke_run, tables):
    before = yaml.safe_load((smoke_run / "best_config.yaml").read_text())
    replace_prices_from(before["meta"]["segments"]["test"]["start"], tmp_path / "altered")
    raw = yaml.safe_load(SMOKE.read_text())
    raw["search_space"] = str(ROOT / "search_spaces" / "smoke_grid.yaml")
    raw["data"] = {"path": str(tmp_path / "altered")}
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(raw))
    assert run_local(tmp_path, tmp_path / "exp.yaml") == 0
    (run,) = (tmp_path / "runs" / "smoke").iterdir()
    after = yaml.safe_load((run / "best_config.yaml").read_text())
    dump = lambda x: yaml.safe_dump(x, sort_keys=True)  # noqa: E731
    assert dump(after["params"]) == dump(before["params"])
    assert after["meta"]["source"] == before["meta"]["source"]
    for key in ("validation", "train", "robustness", "dsr", "pbo", "n_trials", "n_effective",
                "passes_filters", "passes_stress", "segments"):
        assert after["meta"][key] == before["meta"][key], key
    assert after["meta"]["test"] != before["meta"]["test"]
    # every table that chose is equal; only the test table differs
    for name in ("phase1", "phase2", "phase3"):
        pd.testing.assert_frame_equal(pd.read_parquet(run / f"{name}.parquet"), tables[name])
    pd.testing.assert_frame_equal(
        pd.read_parquet(run / "refine.parquet").drop(columns="trial_id"),
        tables["refine"].drop(columns="trial_id"))
    assert not pd.read_parquet(run / "test.parquet").equals(tables["test"])
