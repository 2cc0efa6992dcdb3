"""Configuration: YAML files -> frozen, validated dataclasses."""

from scalper_tune.config.experiment import DataSpec, Experiment, LoadedExperiment, OutputSpec, load_experiment
from scalper_tune.config.search_space import Range, SearchSpace, load_search_space
from scalper_tune.config.strategy_params import PARAMS, ParamSpec
from scalper_tune.config.synthetic_spec import SyntheticSpec

__all__ = ["DataSpec", "Experiment", "LoadedExperiment", "OutputSpec", "PARAMS", "ParamSpec",
           "Range", "SearchSpace", "SyntheticSpec", "load_experiment", "load_search_space"]
