"""scalper_tune: robust tuning of a causal scalping strategy on Ray Tune.

The public API (imported on first use, so `import scalper_tune` stays light):

- `Dataset`: market data (`Dataset.synthetic(...)`, `Dataset.load(path)`);
- `trainable(dataset, folds=4)`: a Tune trainable reporting the train robustness per fold;
- `search_space(path)`: a search-space YAML's refinement ranges as Tune domains;
- `ResumableASHA`: ASHA whose rungs survive `Tuner.restore`;
- `run_experiment(path_or_experiment, *, resume=None, address=None, progress=None)`: the whole
  pipeline; returns a `RunResult` (run folder, tables, the chosen strategy, summary).
"""

__version__ = "0.1.0"

__all__ = ["Dataset", "ResumableASHA", "RunResult", "__version__", "run_experiment",
           "search_space", "trainable"]

_API = {"trainable": "scalper_tune.tune.api", "search_space": "scalper_tune.tune.asha",
        "ResumableASHA": "scalper_tune.tune.asha", "run_experiment": "scalper_tune.tune.launch",
        "RunResult": "scalper_tune.pipeline", "Dataset": "scalper_tune.workflow.dataset"}


def __getattr__(name: str):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'scalper_tune' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_API))
