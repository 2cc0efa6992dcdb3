"""An experiment with other feature timeframes (e.g. [1, 4] for 15-minute bars) runs end to end:
the regime inputs follow the configured timeframes."""

from __future__ import annotations

import numpy as np
import yaml

from scalper_tune.regime.features import regime_matrix, timeframes
from tests.conftest import ROOT, run_local


def test_regime_inputs_follow_the_timeframes():
    from scalper_tune.config import SyntheticSpec
    from scalper_tune.config.feature_spec import FeatureSpec
    from scalper_tune.data import generate
    from scalper_tune.features.compute import compute_symbol

    synth_market = generate(SyntheticSpec(assets=1, bars=6000))
    sym = synth_market.symbols[0]
    data = synth_market[sym]
    default = compute_symbol(data, FeatureSpec(), synth_market.bar_seconds)
    assert timeframes(default) == (1, 5, 15)
    short = compute_symbol(data, FeatureSpec(timeframes=(1, 4)), synth_market.bar_seconds)
    assert timeframes(short) == (1, 4, 4)
    X = regime_matrix(data, short, synth_market.bar_seconds)
    assert X.shape[0] == len(data) and np.isfinite(X[-1000:]).any(axis=0).sum() > 10


def test_an_experiment_with_two_timeframes_runs(tmp_path):
    raw = yaml.safe_load((ROOT / "experiments" / "smoke.yaml").read_text())
    raw["search_space"] = str(ROOT / "search_spaces" / "smoke_grid.yaml")
    raw["features"]["timeframes"] = [1, 4]
    raw["refine"]["trials"] = 2
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(raw))
    assert run_local(tmp_path, tmp_path / "exp.yaml") == 0
    (run,) = (tmp_path / "runs" / "smoke").iterdir()
    assert (run / "best_config.yaml").is_file()
