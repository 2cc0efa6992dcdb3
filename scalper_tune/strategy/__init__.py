"""The strategy bundle: what a run chose, as one folder (`strategy/strategy.yaml` and the gate's
saved models) that `backtest`, `paper`, `audit`, `stress` and `live` run as the run scored it:
write (`bundle_dict`, `write_bundle`), load (`load_strategy`, hash-checked), apply
(`Strategy.inputs`, `window`)."""

from scalper_tune.strategy.bundle import (DIR, FILE, Strategy, bundle_dict, check_market,
                                          load_strategy, window, write_bundle)
from scalper_tune.strategy.models import GateModels, fit_models, load_models, save_models

__all__ = ["DIR", "FILE", "GateModels", "Strategy", "bundle_dict", "check_market", "fit_models",
           "load_models", "load_strategy", "save_models", "window", "write_bundle"]
