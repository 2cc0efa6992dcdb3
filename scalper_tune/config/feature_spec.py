"""Which causal features to compute, with which windows (all windows in bars of their timeframe)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class FeatureSpec:
    """vol_window: rolling volatility window; baseline_window: trailing window of the
    volatility-clustering baseline (ends at t-1); timeframes: multiples of the base bar;
    z_windows: price z-score and OU-fit windows (one pass per distinct window);
    agree_threshold: z above which a timeframe counts as agreeing on a volatility spike;
    atr_window: Wilder ATR; imbalance_window: smoothing of book imbalance; spread_window:
    trailing norm of spread and depth; gap_z: |z| beyond which a liquidity gap is flagged;
    cross_window: window of the cross-venue basis z-score and lead-lag correlations."""

    vol_window: int = 20
    baseline_window: int = 500
    timeframes: tuple[int, ...] = (1, 5, 15)
    z_windows: tuple[int, ...] = (20, 40, 80, 160)
    agree_threshold: float = 1.0
    atr_window: int = 14
    imbalance_window: int = 10
    spread_window: int = 500
    gap_z: float = 3.0
    cross_window: int = 300

    def problems(self) -> list[tuple[str, str]]:
        out = []
        for key in ("vol_window", "baseline_window", "atr_window", "imbalance_window",
                    "spread_window", "cross_window"):
            if getattr(self, key) < 2:
                out.append((key, f"must be >= 2, got {getattr(self, key)}"))
        if not self.timeframes or self.timeframes[0] != 1 or any(
                b <= a for a, b in zip(self.timeframes, self.timeframes[1:])):
            out.append(("timeframes", f"must start at 1 and increase, got {list(self.timeframes)}"))
        if not self.z_windows or min(self.z_windows) < 3:
            out.append(("z_windows", f"must be non-empty windows >= 3, got {list(self.z_windows)}"))
        return out

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
