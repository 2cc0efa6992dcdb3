"""Search-space YAML: the Phase 1 grid and the refinement ranges.

```yaml
schema_version: 1
grid:                 # every combination is evaluated in Phase 1
  z_window: [20, 40, 80, 160]
refine:               # ranges Optuna samples from during refinement
  z_window: {low: 10, high: 320, log: true}
  side: {choices: [long, both]}
```
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from scalper_tune.config.schema import build, check_keys, did_you_mean, load_yaml
from scalper_tune.config.strategy_params import PARAMS
from scalper_tune.errors import ConfigError

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Range:
    """A refinement range: numbers in [low, high] (log scale if `log`), or a list of choices."""

    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[str, ...] = ()

    def problems(self) -> list[tuple[str, str]]:
        if self.choices:
            if self.low is not None or self.high is not None:
                return [("choices", "give either choices or low/high, not both")]
            return []
        if self.low is None or self.high is None:
            return [("low", "a numeric range needs both low and high")]
        if self.low >= self.high:
            return [("high", f"must be greater than low ({self.high:g} <= {self.low:g})")]
        if self.log and self.low <= 0:
            return [("low", "a log range needs low > 0")]
        return []


@dataclass(frozen=True)
class SearchSpace:
    """grid: parameter -> values (Phase 1); refine: parameter -> Range (refinement)."""

    grid: dict[str, tuple[object, ...]]
    refine: dict[str, Range]
    path: str

    @property
    def grid_size(self) -> int:
        return math.prod(len(v) for v in self.grid.values())


def load_search_space(path: str | Path) -> SearchSpace:
    """Load and validate a search-space YAML file."""
    file = str(path)
    raw = load_yaml(path, "search-space")
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: expected a mapping with keys grid and refine.")
    check_keys(raw, ("schema_version", "grid", "refine"), file)
    if raw.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
        raise ConfigError(f"{file}: schema_version: this version reads {SCHEMA_VERSION}, got "
                          f"{raw.get('schema_version')!r}.")
    grid_raw = raw.get("grid")
    if not isinstance(grid_raw, dict) or not grid_raw:
        raise ConfigError(f"{file}: grid: must map parameter names to lists of values "
                          "(e.g. 'entry_z: [1.5, 2.0]').")
    grid = {}
    for name, values in grid_raw.items():
        spec = _spec(name, file, "grid")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{file}: grid.{name}: must be a non-empty list of values, got "
                              f"{values!r}.")
        for value in values:
            problem = spec.problem(value)
            if problem:
                raise ConfigError(f"{file}: grid.{name}: {problem}.")
        if len(set(values)) != len(values):
            raise ConfigError(f"{file}: grid.{name}: repeated values {values}; list each once.")
        grid[name] = tuple(int(v) if spec.kind == "int" else v for v in values)
    refine = {}
    refine_raw = raw.get("refine") or {}
    if not isinstance(refine_raw, dict):
        raise ConfigError(f"{file}: refine: must map parameter names to ranges.")
    for name, value in refine_raw.items():
        spec = _spec(name, file, "refine")
        rng = build(Range, value, file=file, where=f"refine.{name}")
        _check_range(spec, rng, file, name)
        refine[name] = rng
    _check_start_inside(grid, refine, file)
    return SearchSpace(grid=grid, refine=refine, path=file)


def _check_start_inside(grid: dict, refine: dict[str, Range], file: str) -> None:
    """The refinement starts from the best grid cell, so each refined parameter's grid values
    (or, when it is not in the grid, its default) must lie inside its range."""
    for name, rng in refine.items():
        values = grid.get(name, (PARAMS[name].default,))
        outside = [v for v in values if (v not in rng.choices if rng.choices
                                         else not rng.low <= v <= rng.high)]
        if not outside:
            continue
        span = (f"choices {list(rng.choices)}" if rng.choices
                else f"range [{rng.low:g}, {rng.high:g}]")
        origin = (f"grid.{name} has {', '.join(map(str, outside))}" if name in grid
                  else f"{name} is not in the grid, so it starts at its default {outside[0]}")
        raise ConfigError(f"{file}: refine.{name}: {origin}, outside the {span}. The refinement "
                          "starts from the best grid cell: widen the range or change the grid.")


def _spec(name: str, file: str, section: str):
    if name not in PARAMS:
        raise ConfigError(f"{file}: {section}.{name}: unknown strategy parameter"
                          f"{did_you_mean(str(name), PARAMS)}")
    return PARAMS[name]


def _check_range(spec, rng: Range, file: str, name: str) -> None:
    where = f"{file}: refine.{name}"
    if spec.kind == "choice":
        if not rng.choices:
            raise ConfigError(f"{where}: {name} is a choice; give choices: [...].")
        for choice in rng.choices:
            if spec.problem(choice):
                raise ConfigError(f"{where}.choices: {spec.problem(choice)}.")
        return
    if rng.choices:
        raise ConfigError(f"{where}: {name} is numeric; give low and high, not choices.")
    for key, value in (("low", rng.low), ("high", rng.high)):
        problem = spec.problem(int(value) if spec.kind == "int" and float(value).is_integer()
                               else value)
        if problem:
            raise ConfigError(f"{where}.{key}: {problem}.")
