"""The one cost model every engine shares (event engine, prefilter, paper broker)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CostModel:
    """Execution costs.

    taker_fee_bps / maker_fee_bps: fee per side in basis points of notional (market orders and
    stops pay taker, the resting take-profit limit pays maker); slippage_bps: adverse price move on
    every market fill; impact_bps: extra slippage per 100 % of the displayed size on the side taken
    (0 disables; needs a book); spread_mult: multiplies the observed spread (stress tests);
    latency: events between a decision at a bar's close and its fill (0: the next bar's open).
    """

    taker_fee_bps: float = 5.0
    maker_fee_bps: float = 1.0
    slippage_bps: float = 1.0
    impact_bps: float = 10.0
    spread_mult: float = 1.0
    latency: int = 0

    def problems(self) -> list[tuple[str, str]]:
        out = []
        for key in ("taker_fee_bps", "maker_fee_bps", "slippage_bps", "impact_bps"):
            if not 0.0 <= getattr(self, key) <= 1000.0:
                out.append((key, f"must be between 0 and 1000 bps, got {getattr(self, key)}"))
        if not 0.0 <= self.spread_mult <= 100.0:
            out.append(("spread_mult", f"must be between 0 and 100, got {self.spread_mult}"))
        if not 0 <= self.latency <= 1000:
            out.append(("latency", f"must be between 0 and 1000 events, got {self.latency}"))
        return out
