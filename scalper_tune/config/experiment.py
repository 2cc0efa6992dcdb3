"""Experiment YAML -> `Experiment` (frozen), validated once.

Paths inside the file resolve relative to the file, so `run /anywhere/experiments/grid.yaml`
works from any folder. Outputs default to the current working folder.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from scalper_tune.config.costs import CostModel
from scalper_tune.config.gate_settings import GateSettings
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.pipeline_spec import (FilterSpec, Phase1Spec, RaySpec, RefineSpec,
                                               RegimeSpec, ReoptimizeSpec, RobustnessSpec,
                                               SelectionSpec, StressSpec, WalkForwardSpec)
from scalper_tune.config.schema import build, load_yaml
from scalper_tune.config.search_space import SearchSpace, load_search_space
from scalper_tune.config.synthetic_spec import SyntheticSpec
from scalper_tune.errors import ConfigError

SCHEMA_VERSION = 1
IMPORT_FORMATS = ("auto", "dataset", "ohlcv-csv", "ohlcv-parquet", "binance-klines", "freqtrade",
                  "binance-stream")


@dataclass(frozen=True)
class DataSpec:
    """Either `synthetic` (the embedded market) or `path` (a dataset folder or raw files).

    format: "auto" reads a canonical dataset when the folder has dataset.json, else imports the
    files with the importer named by their format; bar: resample to this size on import ("5m").
    symbols: a subset of the dataset's symbols (empty: all).
    """

    synthetic: SyntheticSpec | None = None
    path: str | None = None
    format: str = "auto"
    bar: str | None = None
    symbols: tuple[str, ...] = ()

    def problems(self) -> list[tuple[str, str]]:
        if (self.synthetic is None) == (self.path is None):
            return [("synthetic", "give exactly one of data.synthetic or data.path")]
        if self.format not in IMPORT_FORMATS:
            return [("format", f"must be one of {', '.join(IMPORT_FORMATS)}, got {self.format!r}")]
        return []


@dataclass(frozen=True)
class OutputSpec:
    """Where results go (relative to the current folder): runs, the MLflow store, feature cache.
    mlflow_uri: None means sqlite:///<mlruns>/mlflow.db (MLFLOW_TRACKING_URI overrides)."""

    runs_dir: str = "runs"
    mlruns_dir: str = "mlruns"
    mlflow_uri: str | None = None
    feature_cache: str = "feature_cache"


@dataclass(frozen=True)
class Experiment:
    """A whole experiment: identity, data, search space and outputs."""

    name: str
    search_space: str
    data: DataSpec = field(default_factory=lambda: DataSpec(synthetic=SyntheticSpec()))
    seed: int = 7
    schema_version: int = SCHEMA_VERSION
    output: OutputSpec = field(default_factory=OutputSpec)
    features: FeatureSpec = field(default_factory=FeatureSpec)
    costs: CostModel = field(default_factory=CostModel)
    account: float = 1000.0
    walk_forward: WalkForwardSpec = field(default_factory=WalkForwardSpec)
    phase1: Phase1Spec = field(default_factory=Phase1Spec)
    refine: RefineSpec = field(default_factory=RefineSpec)
    filters: FilterSpec = field(default_factory=FilterSpec)
    robustness: RobustnessSpec = field(default_factory=RobustnessSpec)
    stress: StressSpec = field(default_factory=StressSpec)
    regime: RegimeSpec = field(default_factory=RegimeSpec)
    selection: SelectionSpec = field(default_factory=SelectionSpec)
    ray: RaySpec = field(default_factory=RaySpec)
    reoptimize: ReoptimizeSpec | None = None  # walk-forward re-optimisation (None: one chain)
    description: str = ""

    @property
    def gate(self) -> GateSettings:
        """The sections the entry gate reads."""
        return GateSettings(self.regime, self.seed, self.costs, self.account)

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if self.schema_version != SCHEMA_VERSION:
            out.append(("schema_version", f"this version reads {SCHEMA_VERSION}, got "
                                          f"{self.schema_version}"))
        if not self.name or not self.name.replace("-", "").replace("_", "").isalnum():
            out.append(("name", f"use letters, digits, '-' or '_', got {self.name!r}"))
        if self.seed < 0:
            out.append(("seed", f"must be >= 0, got {self.seed}"))
        if self.account <= 0:
            out.append(("account", f"must be a positive number of dollars, got {self.account}"))
        return out


@dataclass(frozen=True)
class LoadedExperiment:
    """The validated experiment, its file, and its loaded search space."""

    experiment: Experiment
    path: Path
    space: SearchSpace


def load_experiment(path: str | Path) -> LoadedExperiment:
    """Load an experiment YAML, resolve its paths against the file, load its search space."""
    path = Path(path)
    raw = load_yaml(path, "experiment")
    experiment = build(Experiment, raw, file=str(path))
    base = path.resolve().parent
    space_path = (base / experiment.search_space).resolve()
    if not space_path.is_file():
        raise ConfigError(f"{path}: search_space: {experiment.search_space} not found (looked at "
                          f"{space_path}). Paths in an experiment are relative to its file.")
    data = experiment.data
    if data.path is not None:
        data_path = (base / data.path).resolve()
        if not data_path.exists():
            raise ConfigError(f"{path}: data.path: {data.path} not found (looked at {data_path}). "
                              "Paths in an experiment are relative to its file.")
        data = dataclasses.replace(data, path=str(data_path))
    experiment = dataclasses.replace(experiment, search_space=str(space_path), data=data)
    return LoadedExperiment(experiment=experiment, path=path, space=load_search_space(space_path))
