"""The plugin API: the scalper's trainable for your own `tune.Tuner`.

```python
import scalper_tune as st
from ray import tune
from ray.tune.search.optuna import OptunaSearch

ds = st.Dataset.synthetic(assets=3, bars=20_000, seed=7)
tuner = tune.Tuner(
    st.trainable(ds, folds=4),
    param_space=st.search_space("search_spaces/scalper_grid.yaml"),
    tune_config=tune.TuneConfig(metric="robustness", mode="max", num_samples=8,
                                search_alg=OptunaSearch(seed=7), scheduler=st.ResumableASHA()),
)
results = tuner.fit()
```

The trainable's config is a (partial) set of strategy parameters (the rest take their
defaults). It reports once per walk-forward fold, in a seeded order: `robustness` (the train
robustness over the folds so far, as the pipeline's refinement; NaN until the configuration has
made enough trades to be judged), `objective` (the same, or -1e6 when not judged: for schedulers
and searchers that must compare every trial), `fold`, `folds_done`, `trades`, `reason`, and
`robustness_at_<k>` / `objective_at_<k>` after every fold k so far (for `ResumableASHA`). The
market and its features travel through Ray's object store (`tune.with_parameters`), never in the
config.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

from ray import tune

from scalper_tune.config.experiment import Experiment
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.pipeline_spec import WalkForwardSpec
from scalper_tune.engine import prefilter
from scalper_tune.tune.asha import ResumableASHA, search_space
from scalper_tune.pipeline import RunResult
from scalper_tune.pipeline.jobs import TrialPayload, refine_trial
from scalper_tune.tune.ray_connect import init_ray
from scalper_tune.tune.launch import run_experiment
from scalper_tune.workflow.dataset import Dataset
from scalper_tune.workflow.prepare import Prepared, prepare
from scalper_tune.workflow.refine import fold_order

__all__ = ["Dataset", "ResumableASHA", "RunResult", "run_experiment", "search_space",
           "trainable"]

_FOLDS: dict = {}  # per worker process: (dataset hash, window) -> train folds of that window


def trainable(dataset: Dataset, folds: int = 4, *, experiment: Experiment | None = None,
              windows: Sequence[int] | None = None, seed: int = 7, threads: int = 1):
    """A Tune trainable evaluating strategy parameters on `dataset`'s train folds (see the
    module docstring). `experiment`: costs, filters, regime and robustness settings (default:
    the documented defaults with `folds` folds and `seed`); `windows`: z_windows to precompute
    (others are computed on the worker when a trial asks for them). Starts a private local Ray
    when none is running."""
    exp = experiment or Experiment(name="api", search_space="", seed=seed,
                                   walk_forward=WalkForwardSpec(folds=folds))
    windows = tuple(windows or FeatureSpec().z_windows)
    init_ray(None)
    prep = prepare(exp, dataset.market, windows, cache_dir=None)
    return tune.with_parameters(_trial, prep=prep, order=fold_order(exp.walk_forward.folds,
                                                                    exp.seed),
                                threads=threads)


def _folds(prep: Prepared, window: int) -> list[prefilter.SharedArrays]:
    """The train folds with `window`'s z-score and OU fit (computed here when not prepared)."""
    key = (prep.data_hash, window)
    if key not in _FOLDS:
        if window in prep.windows:
            folds = prep.folds()
        else:
            from scalper_tune.features.compute import compute_market

            extra = compute_market(prep.market, dataclasses.replace(prep.spec,
                                                                    z_windows=(window,)))
            features = {s: dict(prep.features[s], **{k: v for k, v in extra[s].items()
                                                     if k.endswith(f"_w{window}")})
                        for s in prep.market.symbols}
            folds = dataclasses.replace(prep, features=features, windows=(window,)).folds()
        _FOLDS[key] = folds
    return _FOLDS[key]


def _trial(config: dict, prep: Prepared = None, order=None, threads: int = 1) -> None:
    payload = TrialPayload(lambda params: _folds(prep, int(params["z_window"])), order,
                           prep.experiment, None, None, threads, None, "", "")
    for report in refine_trial(payload, config):
        tune.report({k: v for k, v in report.items()
                     if k not in ("plateau", "reused_folds", "attempt", "folds_order")})
