"""Stylized facts of a dataset's returns, at a common 5-minute sampling, to compare any data with
the synthetic market (`data inspect DIR --facts`).

Per symbol, from log returns of closes sampled every 5 minutes (every k-th bar for bars shorter
than 5 minutes, the bars themselves otherwise): lag-1 autocorrelation, excess kurtosis, the mean
autocorrelation of absolute returns over lags 1-10 (volatility clustering), and the standard
deviation; the table reports each fact's median over symbols and its range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalper_tune.data.market import MarketData

SAMPLE_SECONDS = 300
FACTS = ("lag1_autocorr", "excess_kurtosis", "abs_autocorr_1_10", "std")
LABELS = {"lag1_autocorr": "lag-1 autocorrelation", "excess_kurtosis": "excess kurtosis",
          "abs_autocorr_1_10": "mean autocorrelation of |returns|, lags 1-10",
          "std": "std of returns"}


def _autocorr(x: np.ndarray, lag: int) -> float:
    a, b = x[:-lag], x[lag:]
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else float("nan")


def sampled_returns(close: np.ndarray, bar_seconds: int) -> np.ndarray:
    step = max(1, SAMPLE_SECONDS // bar_seconds) if bar_seconds < SAMPLE_SECONDS else 1
    sampled = close[::step]
    r = np.diff(np.log(sampled))
    return r[np.isfinite(r)]


def symbol_facts(close: np.ndarray, bar_seconds: int) -> dict[str, float]:
    r = sampled_returns(close, bar_seconds)
    if r.shape[0] < 30:
        return dict.fromkeys(FACTS, float("nan"))
    d = r - r.mean()
    m2 = np.mean(d ** 2)
    kurt = float(np.mean(d ** 4) / m2 ** 2 - 3.0) if m2 > 0 else float("nan")
    a = np.abs(r)
    return {"lag1_autocorr": _autocorr(r, 1), "excess_kurtosis": kurt,
            "abs_autocorr_1_10": float(np.nanmean([_autocorr(a, k) for k in range(1, 11)])),
            "std": float(r.std(ddof=1))}


@dataclass(frozen=True)
class Facts:
    """Per-symbol facts and their medians over symbols."""

    per_symbol: dict[str, dict[str, float]]
    sample_seconds: int

    def median(self, fact: str) -> float:
        return float(np.nanmedian([f[fact] for f in self.per_symbol.values()]))

    def range(self, fact: str) -> tuple[float, float]:
        values = [f[fact] for f in self.per_symbol.values()]
        return float(np.nanmin(values)), float(np.nanmax(values))


def stylized_facts(market: MarketData) -> Facts:
    return Facts({s: symbol_facts(market[s].close, market.bar_seconds) for s in market.symbols},
                 max(SAMPLE_SECONDS, market.bar_seconds))


def render_facts(facts: Facts) -> str:
    lines = [f"stylized facts of {facts.sample_seconds // 60}-minute log returns "
             f"({len(facts.per_symbol)} symbols): median (min to max)"]
    for fact in FACTS:
        lo, hi = facts.range(fact)
        spec = ".4f" if fact == "std" else ".3f"
        lines.append(f"  {LABELS[fact]:<46}{facts.median(fact):>10{spec}}   "
                     f"({lo:{spec}} to {hi:{spec}})")
    return "\n".join(lines)
