"""Sizing a choice for its stress scenarios: the largest position scale at which every scenario's
drawdown stays within `stress.max_drawdown`.

A mean-reversion scalper that earns its edge in ordinary markets can still lose a third of its
equity in a crash (it keeps buying the dip, and the crash's spreads are ten times wider). Its
Sharpe barely depends on its size; its drawdown is nearly proportional to it. So instead of
refusing an edge because of the size it was tuned at, walk-forward re-optimisation sizes each
step's choice: its position parameters (`base_position` and `max_position`, which together set
every position's notional) are multiplied by the largest rung of `LADDER` at which every stress
scenario's drawdown is within the limit, re-checked by backtest at that size (never assumed
linear). The scenarios are built from the bars before the step (its validation window, or a
synthetic crash market of another seed), so the size is chosen without the step's own bars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from scalper_tune.config.costs import CostModel
from scalper_tune.config.pipeline_spec import StressSpec
from scalper_tune.config.strategy_params import PARAMS
from scalper_tune.engine.regime_sets import Switching
from scalper_tune.workflow.stress import Scenarios, run_stress

SIZE_PARAMS = ("base_position", "max_position")
LADDER = tuple(2.0 ** (-k / 4) for k in range(29))  # 1 down to 1/128, quarter octaves
RULE = ("the largest position scale (base_position and max_position x scale, scale on a "
        "quarter-octave ladder from 1 to 1/128) at which every stress scenario's drawdown is "
        "within stress.max_drawdown, re-checked by backtest at that size")


@dataclass(frozen=True)
class Sizing:
    """scale: the position scale applied (1: as tuned); sized: whether every scenario is within
    the limit at that scale; rows: the stress rows at that scale (run_stress's rows);
    full_rows: the rows at the tuned size."""

    scale: float
    sized: bool
    rows: list[dict] = field(default_factory=list)
    full_rows: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready (plain floats, ints, bools and strings)."""
        return {"scale": float(self.scale), "sized": bool(self.sized),
                "rows": [_plain(r) for r in self.rows],
                "full_rows": [_plain(r) for r in self.full_rows]}

    @classmethod
    def from_dict(cls, d: Mapping) -> "Sizing":
        return cls(float(d["scale"]), bool(d["sized"]), list(d["rows"]), list(d["full_rows"]))


def scaled(params: Mapping[str, object], scale: float) -> dict[str, object]:
    """`params` with every position parameter multiplied by `scale`."""
    out = dict(params)
    for name in SIZE_PARAMS:
        out[name] = float(params[name]) * scale
    return out


def scaled_switching(switching: Switching | None, scale: float) -> Switching | None:
    """A switcher whose every parameter set is scaled."""
    if switching is None or scale == 1.0:
        return switching
    return Switching(tuple(scaled(p, scale) for p in switching.sets), switching.by_regime)


def worst_drawdown(rows: list[dict]) -> float:
    """The largest |max_dd_pct| of the rows (a fraction)."""
    return max((abs(float(r["max_dd_pct"])) for r in rows), default=0.0)


def size_for_stress(scenarios: Scenarios, params: Mapping[str, object], costs: CostModel,
                    account: float, spec: StressSpec,
                    switching: Switching | None = None) -> Sizing:
    """The Sizing of `params` (or of `switching`'s sets) on `scenarios` (see the module
    docstring). Starts at the rung the linear estimate suggests and walks down until every
    scenario passes; unsized (scale 1, `sized` False) when no rung does or the position
    parameters would fall below their bounds."""
    full = run_stress(scenarios, params, costs, account, spec, switching)
    worst = worst_drawdown(full)
    if worst <= spec.max_drawdown:
        return Sizing(1.0, True, full, full)
    sets = switching.sets if switching is not None else (params,)
    floor = max(PARAMS[n].low / min(float(p[n]) for p in sets) for n in SIZE_PARAMS)
    estimate = spec.max_drawdown / worst
    for scale in LADDER:
        if scale > estimate:
            continue
        if scale < floor:
            break
        rows = run_stress(scenarios, scaled(params, scale), costs, account, spec,
                          scaled_switching(switching, scale))
        if worst_drawdown(rows) <= spec.max_drawdown:
            return Sizing(scale, True, rows, full)
    return Sizing(1.0, False, full, full)


def _plain(row: Mapping) -> dict:
    out = {}
    for k, v in row.items():
        if isinstance(v, str):
            out[k] = v
        elif isinstance(v, (bool, np.bool_)):
            out[k] = bool(v)
        elif isinstance(v, (int, np.integer)):
            out[k] = int(v)
        else:
            out[k] = float(v)
    return out
