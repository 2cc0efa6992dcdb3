"""Walk-forward re-optimisation end to end on the smoke market (local executor): each step's
choice sees only the bars before it (replacing the last step's bars changes nothing chosen
earlier, only that step's out-of-sample figures), the stitched record and the verdict are
written, a resumed run reads every step back, the bundle reproduces the last step, and bad
settings are refused before any work."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT, replace_prices_from, run_local

STEPS = 3


def write_experiment(folder, **changes):
    raw = yaml.safe_load((ROOT / "experiments" / "smoke.yaml").read_text())
    raw["search_space"] = str(ROOT / "search_spaces" / "smoke_grid.yaml")
    raw["reoptimize"] = {"steps": STEPS, "mode": "rolling", "oos": 0.4}
    raw["refine"]["trials"] = 4
    raw["stress"] = dict(raw.get("stress") or {}, max_drawdown=0.1)  # the steps get sized
    raw.update(changes)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "exp.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def only_run(home):
    (run,) = (home / "runs" / "smoke").iterdir()
    return run


CALLS: dict[str, list] = {"screen": [], "engine": []}


@pytest.fixture(scope="module")
def wf_run(tmp_path_factory):
    """The walk-forward smoke run, recording every fold the prefilter screens and every (fold,
    parameter set) the event engine confirms."""
    from scalper_tune.engine import prefilter
    from scalper_tune.pipeline import fold_work

    home = tmp_path_factory.mktemp("wf")
    screen, engine = prefilter.run, fold_work.engine_fold

    def counted_screen(shared, combos, *args, **kwargs):
        if len(combos) > 1:  # the grid screen's chunks (a refinement trial runs one row)
            CALLS["screen"].append((len(shared.close), float(shared.close[0]), len(combos)))
        return screen(shared, combos, *args, **kwargs)

    def counted_engine(market, features, params, *args):
        CALLS["engine"].append((int(market[market.symbols[0]].ts[0]), repr(sorted(params.items()))))
        return engine(market, features, params, *args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(prefilter, "run", counted_screen)
        mp.setattr(fold_work, "engine_fold", counted_engine)
        assert run_local(home, write_experiment(home)) == 0
    return only_run(home)


def test_each_folds_phase1_work_is_done_once(wf_run):
    steps = [pd.read_parquet(wf_run / "steps" / f"step_{k:02d}" / "phase1.parquet")
             for k in range(STEPS)]
    folds = {(n, first) for n, first, _ in CALLS["screen"]}
    per_fold = pd.Series([(n, f) for n, f, _ in CALLS["screen"]]).value_counts()
    rows = sum(r for _, _, r in CALLS["screen"]) / len(folds)
    assert rows == len(steps[0])  # every grid row on every fold, once
    assert per_fold.nunique() == 1  # each fold screened by every chunk, once
    n_folds = len(folds)
    k = len([c for c in steps[0].columns if c.startswith("sharpe_f")])
    assert k < n_folds < STEPS * k  # the steps share folds: fewer than STEPS x folds
    assert len(CALLS["engine"]) == len(set(CALLS["engine"]))  # no (fold, set) confirmed twice
    confirmed = sum(int(s["confirmed"].sum()) for s in steps)
    assert len(CALLS["engine"]) < confirmed * k  # later steps reused earlier confirmations


def test_outputs_name_every_step_and_the_stitched_record(wf_run):
    table = pd.read_parquet(wf_run / "walk_forward.parquet")
    assert list(table["step"]) == list(range(STEPS))
    assert (table["start"].iloc[1:].to_numpy() == table["end"].iloc[:-1].to_numpy()).all()
    assert (table["history_end"] == table["start"]).all()  # each chose on the bars before it
    assert (table["history_start"].iloc[1:] > table["history_start"].iloc[:-1].to_numpy()).all()
    equity = pd.read_parquet(wf_run / "oos_equity.parquet")
    assert set(equity["step"]) <= set(range(STEPS)) and equity["ts"].is_monotonic_increasing
    assert str(equity["ts"].iloc[0])[:16] == table["start"].iloc[0][:16].replace("T", " ")
    best = yaml.safe_load((wf_run / "best_config.yaml").read_text())
    wf = best["meta"]["walk_forward"]
    assert wf["mode"] == "rolling" and len(wf["steps"]) == STEPS
    assert wf["oos"]["trades"] == int(table["oos_trades"].sum())
    lo, hi = wf["oos"]["sharpe_ci"]
    assert lo <= wf["oos"]["sharpe"] <= hi
    total = (1 + table["oos_return"]).prod() - 1  # the steps compound
    assert wf["oos"]["return"] == pytest.approx(total, rel=1e-9, abs=1e-12)
    assert set(best["meta"]["verdict"]) == {"deployable", "reasons", "cautions"}
    assert best["meta"]["verdict"]["deployable"] == (not best["meta"]["verdict"]["reasons"])
    # the strategy is the last step's choice, its test segment the last step
    assert best["params"] == json.loads(table["params"].iloc[-1])
    assert best["meta"]["segments"]["test"]["start"] == table["start"].iloc[-1]
    for k in range(STEPS):
        assert (wf_run / "steps" / f"step_{k:02d}" / "phase1.parquet").is_file()


def test_each_step_trades_at_the_size_its_stress_scenarios_allow(wf_run):
    from scalper_tune.workflow.screen import row_params
    from scalper_tune.workflow.stress_sizing import scaled

    table = pd.read_parquet(wf_run / "walk_forward.parquet")
    best = yaml.safe_load((wf_run / "best_config.yaml").read_text())
    assert (table["position_scale"] < 1).any()  # the 10 % limit sizes some step down
    for r in table.itertuples():
        step = wf_run / "steps" / f"step_{r.step:02d}"
        sizing = json.loads((step / "sizing.json").read_text())
        assert sizing["scale"] == r.position_scale and sizing["sized"]
        assert max(abs(x["max_dd_pct"]) for x in sizing["rows"]) <= 0.1
        if r.position_scale < 1:
            assert max(abs(x["max_dd_pct"]) for x in sizing["full_rows"]) > 0.1
            test = pd.read_parquet(step / "test.parquet")
            index = int(test.loc[test["chosen"], "index"].iloc[0])
            phase2 = pd.read_parquet(step / "phase2.parquet")
            tuned = row_params(phase2[phase2["index"] == index].iloc[0])  # as tuned
            assert json.loads(r.params) == scaled(tuned, r.position_scale)  # as traded
    meta = best["meta"]["sizing"]
    assert meta["scale"] == table["position_scale"].iloc[-1] and meta["sized"]
    assert meta["worst_drawdown_sized"] <= 0.1
    assert not any("stress" in why for why in best["meta"]["verdict"]["reasons"])
    assert best["meta"]["walk_forward"]["steps"][-1]["position_scale"] == meta["scale"]


def test_the_bundle_reproduces_the_last_steps_out_of_sample_figures(wf_run, cli, tmp_path):
    from scalper_tune.config import SyntheticSpec
    from scalper_tune.data import generate, write_dataset

    best = yaml.safe_load((wf_run / "best_config.yaml").read_text())
    data = tmp_path / "data"
    write_dataset(generate(SyntheticSpec(assets=3, bars=24000, seed=7)), data)
    seg = best["meta"]["segments"]["test"]
    result = cli("backtest", "--strategy", wf_run / "strategy", "--data", data, "--from",
                 seg["start"], "--to", seg["end"], "--json", "--no-cache")
    assert result.code == 0, result.err
    got = json.loads(result.out)
    table = pd.read_parquet(wf_run / "walk_forward.parquet")
    assert got["total_trades"] == table["oos_trades"].iloc[-1]
    assert got["return_on_account"] == pytest.approx(table["oos_return"].iloc[-1], abs=1e-12)
    if not table["switcher_recommended"].iloc[-1]:  # the single choice traded: its test figures
        assert got["total_trades"] == best["meta"]["test"]["trades"]
    else:  # the recommended switcher traded the step, as the bundle holds it
        assert table["source"].iloc[-1] == "switcher"


def test_the_last_steps_bars_reach_no_earlier_choice(wf_run, tmp_path):
    table = pd.read_parquet(wf_run / "walk_forward.parquet")
    replace_prices_from(table["start"].iloc[-1], tmp_path / "altered")
    home = tmp_path / "home"
    assert run_local(home, write_experiment(home, data={"path": str(tmp_path / "altered")})) == 0
    after = pd.read_parquet(only_run(home) / "walk_forward.parquet")
    cols = ["start", "end", "source", "params", "val_sharpe_selected", "oos_sharpe",
            "oos_return", "oos_trades"]
    pd.testing.assert_frame_equal(after[cols].iloc[:-1], table[cols].iloc[:-1])
    assert after["params"].iloc[-1] == table["params"].iloc[-1]  # chosen before the step
    assert after["oos_return"].iloc[-1] != table["oos_return"].iloc[-1]  # traded other bars


def test_a_resumed_run_reads_every_step_back(wf_run, tmp_path, run_log):
    home = tmp_path / "home"
    shutil.copytree(wf_run.parents[2], home)
    run = home / "runs" / "smoke" / wf_run.name
    shutil.rmtree(run / "steps" / f"step_{STEPS - 1:02d}")
    for name in ("walk_forward.parquet", "oos_equity.parquet", "best_config.yaml"):
        (run / name).unlink()
    assert run_local(home, write_experiment(home), "--resume", str(run)) == 0
    for name in ("walk_forward.parquet", "oos_equity.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(run / name),
                                      pd.read_parquet(wf_run / name))
    assert (run / "best_config.yaml").read_bytes() == (wf_run / "best_config.yaml").read_bytes()
    earlier = [line for line in run_log if "done by an earlier attempt" in line]
    assert len(earlier) == STEPS - 1 and f"step {STEPS - 1}:" not in " ".join(earlier)


@pytest.mark.parametrize("reoptimize,folds,code,words", [
    ({"steps": 1}, 4, 2, ["reoptimize.steps", "at least 2"]),
    ({"steps": 3, "mode": "expanding"}, 4, 2, ["reoptimize.mode", "rolling or anchored"]),
    ({"steps": 3, "oos": 0.95}, 4, 2, ["reoptimize.oos"]),
    ({"steps": 12, "oos": 0.4}, 4, 3, ["step of", "shorter than one train fold"]),
    ({"steps": 2, "oos": 0.8}, 8, 3, ["too few bars for 2 re-optimisation steps"]),
])
def test_bad_settings_are_refused_before_any_work(cli, tmp_path, monkeypatch, reoptimize, folds,
                                                  code, words):
    path = write_experiment(tmp_path, reoptimize=reoptimize,
                            walk_forward={"folds": folds, "validation": 0.2, "test": 0.2})
    monkeypatch.chdir(tmp_path)
    result = cli("run", path, "--executor", "local")
    assert result.code == code, result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    for word in words:
        assert word in result.err, result.err
    assert not (tmp_path / "runs").exists()


def test_mlflow_holds_the_walk_forward_run(wf_run):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{wf_run.parents[2] / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("smoke")
    runs = {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}
    wf, parent = runs["walk-forward"], runs[wf_run.name]
    assert wf.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert wf.data.tags["verdict"].startswith(("deployable", "not deployable"))
    assert {"oos_trades", "oos_return", f"step{STEPS - 1}_oos_trades"} <= set(wf.data.metrics)
    assert "oos_trades" in parent.data.metrics
    artifacts = {a.path for a in client.list_artifacts(wf.info.run_id)}
    assert {"walk_forward.parquet", "oos_equity.parquet", "oos_stitched_equity.png"} <= artifacts
    table = pd.read_parquet(wf_run / "walk_forward.parquet")
    for r in table.itertuples():  # one run per step, nested in the walk-forward run
        step = runs[f"step-{r.step:02d}"]
        assert step.data.tags["mlflow.parentRunId"] == wf.info.run_id
        assert step.data.tags["oos_start"] == r.start and step.data.tags["oos_end"] == r.end
        assert step.data.params["source"] == r.source
        assert step.data.metrics["oos_trades"] == r.oos_trades
        if r.params:
            chosen = json.loads(r.params)
            assert {k: str(v) for k, v in chosen.items()} == {
                k: v for k, v in step.data.params.items() if k in chosen}
