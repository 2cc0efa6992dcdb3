"""The scalper in your own Ray Tune `Tuner`, then the whole pipeline from Python.

    python examples/own_tuner.py            # 3 assets x 20,000 bars, 8 trials, then grid.yaml
    python examples/own_tuner.py --tiny     # smaller and fewer (what the tests run)

Paths are relative to the repository; outputs (runs/, mlruns/) go to the current folder.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ray import tune
from ray.tune.search.optuna import OptunaSearch

import scalper_tune as st

ROOT = Path(__file__).resolve().parents[1]


def main(tiny: bool = False) -> None:
    ds = st.Dataset.synthetic(assets=2 if tiny else 3, bars=30_000 if tiny else 20_000, seed=7)
    tuner = tune.Tuner(
        st.trainable(ds, folds=4),  # a Tune trainable; config = strategy params
        param_space=st.search_space(ROOT / "search_spaces/scalper_grid.yaml"),  # ranges
        tune_config=tune.TuneConfig(metric="robustness", mode="max",
                                    num_samples=3 if tiny else 8,
                                    search_alg=OptunaSearch(seed=7),
                                    scheduler=st.ResumableASHA()),
        run_config=tune.RunConfig(verbose=0),
    )
    results = tuner.fit()
    judged = [r for r in results if math.isfinite(r.metrics.get("robustness", float("nan")))]
    print(f"own tuner: {len(results)} trials, {len(judged)} judged")
    for r in sorted(judged, key=lambda r: -r.metrics["robustness"])[:3]:
        print(f"  robustness {r.metrics['robustness']:.3f} after {r.metrics['folds_done']} folds:"
              f" {r.config}")
    # the whole pipeline; returns the run folder, the tables and the chosen strategy
    run = st.run_experiment(ROOT / ("experiments/smoke.yaml" if tiny else "experiments/grid.yaml"))
    print(f"pipeline: {run.path}; chosen parameters: {run.params}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="tiny data and few trials")
    main(parser.parse_args().tiny)
