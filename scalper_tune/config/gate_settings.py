"""What the entry gate needs, and nothing else: the regime section, the seed of its walk-forward
fits, and the costs and account of the ML gate's primary trades."""

from __future__ import annotations

from dataclasses import dataclass

from scalper_tune.config.costs import CostModel
from scalper_tune.config.pipeline_spec import REGIMES, RegimeSpec


@dataclass(frozen=True)
class GateSettings:
    """regime: classifier, filter, blocked regimes, ML gate; seed: of the walk-forward fits;
    costs, account ($): what the ML gate's primary strategy trades with."""

    regime: RegimeSpec
    seed: int
    costs: CostModel
    account: float

    @property
    def blocked(self) -> tuple[int, ...]:
        """Regime indexes the filter blocks entries in (none when the filter is off)."""
        return blocked_regimes(self.regime)


def blocked_regimes(regime: RegimeSpec) -> tuple[int, ...]:
    """Regime indexes `regime`'s filter blocks entries in (none when the filter is off)."""
    return tuple(REGIMES.index(b) for b in regime.block) if regime.filter else ()
