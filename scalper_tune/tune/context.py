"""What every phase of a run shares: the loaded experiment, the run folder, and small helpers."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from scalper_tune.config.experiment import LoadedExperiment
from scalper_tune.config.strategy_params import PARAMS
from scalper_tune.tune.run_folder import RunFolder

PARAM_NAMES = list(PARAMS)


@dataclass
class Context:
    loaded: LoadedExperiment
    folder: RunFolder
    verbose: bool
    regime_report: object = None
    gate_edges: list | None = None
    run_key: str = ""  # hash of the data and the whole experiment: part of every stored work key
    # this driver invocation (trials report it: a resume tells its own work from restored trials)
    attempt: str = field(default_factory=lambda: f"{os.getpid()}-{time.time_ns()}")

    @property
    def exp(self):
        return self.loaded.experiment


def _plain(value):
    return value.item() if hasattr(value, "item") else value
