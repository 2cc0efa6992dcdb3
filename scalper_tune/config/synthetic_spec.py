"""Parameters of the synthetic market (the embedded default dataset)."""

from __future__ import annotations

from dataclasses import dataclass

CRASH_SCENARIOS = ("none", "2022")


@dataclass(frozen=True)
class SyntheticSpec:
    """What `data synth` generates.

    assets: number of symbols (1-64); bars: bars per symbol; bar_seconds: bar size (s);
    seed: the only source of randomness; crash: "none" or "2022" (a ~65 % market-wide drawdown
    over months with volatility x4, spreads x10, depth x0.1, and one asset collapsing ~99 % within
    days, as LUNA did in May 2022); crash_at: where the crash episode starts, as a fraction of
    the bars; start: ISO 8601 UTC time of the first bar; venues: 1, or 2 for each asset on a
    spot and a perpetual venue (`SYN01` and `SYN01-PERP`); calendar: "24/7" (every bar of every
    day), or "XNYS" (US stock sessions: bars only inside regular hours from the first session at
    or after `start`, an overnight gap at each open, opening and closing volatility bursts and a
    U-shaped intraday volume profile; its symbols are STK01, STK02, ...); stocks: with calendar
    24/7, also this many XNYS stock assets over the same time span (STK01, ...: a mixed
    crypto and stock market, as the seed's report trades); mr_scale: multiplies the shocks of
    the planted mean-reverting deviation (0: none, a market with no mean reversion for the
    scalper to find, its volatility clustering, fat tails, jumps, order flow and costs kept;
    above 1: a stronger one), for calibrating a verdict where the truth is known.
    """

    assets: int = 11
    bars: int = 100_000
    bar_seconds: int = 60
    seed: int = 7
    crash: str = "none"
    crash_at: float = 0.35
    start: str = "2022-01-01T00:00:00Z"
    venues: int = 1
    calendar: str = "24/7"
    stocks: int = 0
    mr_scale: float = 1.0

    def problems(self) -> list[tuple[str, str]]:
        """(key, message) for every invalid field; empty when valid."""
        out = []
        if not 1 <= self.assets <= 64:
            out.append(("assets", f"must be between 1 and 64, got {self.assets}"))
        if not 1_000 <= self.bars <= 50_000_000:
            out.append(("bars", f"must be between 1000 and 50000000, got {self.bars}"))
        if not 1 <= self.bar_seconds <= 86_400:
            out.append(("bar_seconds", f"must be between 1 and 86400, got {self.bar_seconds}"))
        if self.seed < 0:
            out.append(("seed", f"must be >= 0, got {self.seed}"))
        if not 0.0 <= self.crash_at <= 0.9:
            out.append(("crash_at", f"must be between 0 and 0.9, got {self.crash_at}"))
        if self.venues not in (1, 2):
            out.append(("venues", f"must be 1 or 2, got {self.venues}"))
        if self.calendar not in ("24/7", "XNYS"):
            out.append(("calendar", f"must be 24/7 or XNYS, got {self.calendar!r}"))
        if self.calendar != "24/7" and self.bar_seconds > 1800:
            out.append(("bar_seconds", "must be at most 1800 with a session calendar"))
        if self.calendar != "24/7" and self.venues != 1:
            out.append(("venues", "must be 1 with a session calendar"))
        if not 0 <= self.stocks <= 64 or (self.stocks and self.calendar != "24/7"):
            out.append(("stocks", "must be between 0 and 64, and only with calendar 24/7"))
        if not 0.0 <= self.mr_scale <= 20.0:
            out.append(("mr_scale", f"must be between 0 and 20, got {self.mr_scale}"))
        if self.crash not in CRASH_SCENARIOS:
            out.append(("crash", f"must be one of {', '.join(CRASH_SCENARIOS)}, got {self.crash!r}"))
        return out
