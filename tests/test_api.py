"""The public Python API: what `import scalper_tune` exports, the trainable in a user's own
Tuner, the pipeline as a function, and examples/own_tuner.py run as a user would."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

import scalper_tune as st
from tests.conftest import ROOT, clean_env


def test_exports():
    assert set(st.__all__) >= {"Dataset", "trainable", "search_space", "ResumableASHA",
                               "run_experiment", "RunResult", "__version__"}
    for name in st.__all__:
        assert getattr(st, name) is not None, name
    assert "scalper_tune" in st.__doc__


def test_search_space_is_tune_domains():
    from ray.tune.search.sample import Categorical, Float

    space = st.search_space(ROOT / "search_spaces" / "scalper_grid.yaml")
    assert set(space) == {"z_window", "entry_z", "vol_z_min", "imbalance_min", "ou_exit_frac",
                          "stop_loss", "side", "cross_venue_z"}
    assert isinstance(space["entry_z"], Float) and isinstance(space["side"], Categorical)
    assert {20, 40, 80, 160} <= set(space["z_window"].categories)


def test_dataset_constructors(tmp_path):
    ds = st.Dataset.synthetic(assets=2, bars=5000, seed=3)
    assert ds.symbols == ("SYN01", "SYN02") and ds.bar_seconds == 60 and len(ds.hash) == 64
    loaded = st.Dataset.load(ROOT / "data" / "binance-spot-5m-2024-q1")
    assert loaded.symbols == ("BTC_USDT", "ETH_USDT", "SOL_USDT") and loaded.bar_seconds == 300
    from scalper_tune.errors import ConfigError

    with pytest.raises(ConfigError):
        st.Dataset.load(tmp_path / "nothing")


@pytest.mark.slow
def test_trainable_in_a_users_tuner(ray_session, tmp_path):
    from ray import tune

    ds = st.Dataset.synthetic(assets=2, bars=30_000, seed=7)
    tuner = tune.Tuner(
        st.trainable(ds, folds=4),
        param_space={"z_window": tune.grid_search([40, 57]), "entry_z": 1.5, "vol_z_min": -0.5},
        tune_config=tune.TuneConfig(metric="robustness", mode="max"),
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0))
    results = tuner.fit()
    assert len(results) == 2 and not results.errors
    for r in results:
        m = r.metrics
        assert m["folds_done"] == 4 and {"fold", "robustness", "objective", "trades"} <= set(m)
        assert [k for k in m if k.startswith("robustness_at_")] == [
            f"robustness_at_{k}" for k in range(1, 5)]
        assert math.isfinite(m["robustness"]) and m["reason"] == ""
    # 57 is no precomputed window: the worker computed its features
    assert {r.config["z_window"] for r in results} == {40, 57}


@pytest.mark.slow
def test_example_own_tuner_runs(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "own_tuner.py"), "--tiny"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env=clean_env(HOME=str(tmp_path)))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "own tuner: 3 trials" in proc.stdout
    assert "pipeline: " in proc.stdout and "chosen parameters: {'z_window'" in proc.stdout
    assert (tmp_path / "runs" / "smoke").is_dir() and (tmp_path / "mlruns").is_dir()
