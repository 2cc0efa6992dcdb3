"""The causality audit: recompute features on data truncated at random cut times and compare with
the full-data values before the cut. A causal feature gives the same values; one that looks ahead
(a centred window, a whole-series normalisation, a shift into the future) does not.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping

import numpy as np

from scalper_tune.features import Features
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.data.market import MarketData
from scalper_tune.data.validate import format_ts
from scalper_tune.errors import UsageError
from scalper_tune.features.compute import compute_market

UserFeature = Callable[[Mapping[str, np.ndarray]], np.ndarray]
RTOL, ATOL = 1e-9, 1e-12


@dataclass(frozen=True)
class AuditRow:
    """One feature's verdict: cuts checked, cuts with a mismatch, earliest mismatching bar time."""

    feature: str
    cuts: int
    violations: int
    first_violation_ns: int | None
    detail: str = ""  # e.g. how many trades were compared at each cut


def load_user_feature(spec: str) -> tuple[str, UserFeature]:
    """'module:function' importable from the current folder -> (name, callable)."""
    module_name, _, func_name = spec.partition(":")
    if not module_name or not func_name:
        raise UsageError(f"feature {spec!r}: expected module:function, e.g. "
                         "my_features:centred_mean.", param="feature")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's module's
        raise UsageError(f"feature {spec}: cannot import {module_name!r} "
                         f"({type(exc).__name__}: {exc}). Run from the folder holding it.",
                         param="feature") from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise UsageError(f"feature {spec}: {module_name} has no function {func_name!r}.",
                         param="feature")
    return spec, func


def _call_user(name: str, func: UserFeature, columns: Mapping[str, np.ndarray],
               defined_from: int | None = None) -> np.ndarray | None:
    """The user feature's values; None when it raises on data no longer than `defined_from`
    bars (the full data's first finite value: a window not yet filled is "not yet defined"
    there, as the seed's own 20-bar sketch raises on short data). Any other raise is the
    user's error, reported."""
    n = columns["ts"].shape[0]
    try:
        values = np.asarray(func({k: v.copy() for k, v in columns.items()}), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - report the user's error, not ours
        if defined_from is not None and n <= defined_from:
            return None
        raise UsageError(f"feature {name}: raised {type(exc).__name__}: {exc}",
                         param="feature") from None
    if values.shape != (n,):
        raise UsageError(f"feature {name}: returned shape {values.shape}, expected ({n},): one "
                         "float per bar.", param="feature")
    return values


def all_features(market: MarketData, spec: FeatureSpec, user: Mapping[str, UserFeature],
                 defined_from: Mapping[tuple[str, str], int] | None = None,
                 ) -> dict[str, dict[str, np.ndarray]]:
    """Built-in features of every symbol plus the user features (`defined_from`: per (symbol,
    feature) the full data's first finite bar; a user feature that raises on a prefix no longer
    than that is left out of that symbol's features: not yet defined)."""
    out = compute_market(market, spec)
    for symbol in market.symbols:
        columns = market[symbol].columns()
        columns.pop("regime", None)
        for name, func in user.items():
            first = None if defined_from is None else defined_from[(symbol, name)]
            values = _call_user(name, func, columns, first)
            if values is not None:
                out[symbol][name] = values
    return out


def first_finite(values: np.ndarray) -> int:
    """The first bar with a finite value (the length when there is none)."""
    finite = np.flatnonzero(np.isfinite(values))
    return int(finite[0]) if finite.size else int(values.shape[0])


def truncate(market: MarketData, cut_ns: int) -> MarketData:
    """The market as it was known before time `cut_ns`: bars opening before the cut."""
    series = {}
    for symbol in market.symbols:
        k = int(np.searchsorted(market[symbol].ts, cut_ns, side="left"))
        series[symbol] = market[symbol].head(k)
    return MarketData(bar_seconds=market.bar_seconds, series=series, source=market.source,
                      symbol_meta=market.symbol_meta, info=market.info)


def mismatch(prefix: np.ndarray, full: np.ndarray) -> np.ndarray:
    """Where two arrays differ (NaN equals NaN; otherwise |a - b| <= ATOL + RTOL |b|)."""
    both_nan = np.isnan(prefix) & np.isnan(full)
    with np.errstate(invalid="ignore"):
        close = np.isclose(prefix, full, rtol=RTOL, atol=ATOL)
    return ~(both_nan | close | (prefix == full))


def cut_times(market: MarketData, cuts: int, seed: int) -> np.ndarray:
    """`cuts` distinct bar times over the whole series, the feature warm-up included: a quarter
    (at least one) at early, log-spaced bars from bar 16 on (a warm-up filled from later values,
    e.g. `rolling(50).mean().bfill()`, shows only there), the rest drawn with `seed` anywhere
    after the second bar."""
    times = np.unique(np.concatenate([market[s].ts for s in market.symbols]))
    n = len(times)
    k_early = max(1, cuts // 4) if n > 32 else 0
    stop = max(32.0, min(2048.0, 0.05 * n))
    early = np.unique(np.round(np.geomspace(16, stop, k_early)).astype(np.int64)) if k_early \
        else np.zeros(0, dtype=np.int64)
    early = early[early < n]
    pool = np.setdiff1d(np.arange(2, n), early)
    rng = np.random.default_rng(seed)
    rest = rng.choice(pool, size=min(cuts - len(early), len(pool)), replace=False)
    return np.sort(times[np.concatenate([early, rest]).astype(np.int64)])


def prefixes(market: MarketData, cuts: int, seed: int) -> Iterator[tuple[int, MarketData]]:
    """(cut time, the data before it) at each of `cut_times`' cuts where every symbol has at
    least two bars: the one loop of every causality audit."""
    for cut in cut_times(market, cuts, seed):
        part = truncate(market, int(cut))
        if all(len(part[s]) >= 2 for s in part.symbols):
            yield int(cut), part


def audit(market: MarketData, spec: FeatureSpec, user: Mapping[str, UserFeature] | None = None,
          cuts: int = 20, seed: int = 7) -> list[AuditRow]:
    """Check every built-in and user feature at `cuts` random cut times (see module docstring)."""
    user = dict(user or {})
    full = all_features(market, spec, user)
    defined_from = {(s, n): first_finite(full[s][n]) for s in market.symbols for n in user}
    names = sorted({n for f in full.values() for n in f}, key=_order(full))
    violations = dict.fromkeys(names, 0)
    first: dict[str, int | None] = dict.fromkeys(names, None)
    checked = dict.fromkeys(names, 0)
    undefined = dict.fromkeys(names, 0)
    for _, part in prefixes(market, cuts, seed):
        pre = all_features(part, spec, user, defined_from)
        for name in names:
            if any(name in full[s] and name not in pre[s] for s in market.symbols):
                undefined[name] += 1  # raised before its first value: nothing to compare yet
            bad_times = []
            for symbol in market.symbols:
                if name not in full[symbol] or name not in pre[symbol]:
                    continue
                k = len(part[symbol])
                bad = mismatch(pre[symbol][name], full[symbol][name][:k])
                if bad.any():
                    bad_times.append(int(part[symbol].ts[np.flatnonzero(bad)[0]]))
            checked[name] += 1
            if bad_times:
                violations[name] += 1
                t = min(bad_times)
                first[name] = t if first[name] is None else min(first[name], t)
    return [AuditRow(n, checked[n], violations[n], first[n],
                     f"raised on {undefined[n]} cut(s) before its first value: not yet defined "
                     "there, compared from it on" if undefined[n] else "") for n in names]


def _order(full: Features):
    order: dict[str, int] = {}
    for features in full.values():
        for name in features:
            order.setdefault(name, len(order))
    return lambda name: order[name]


def render(rows: list[AuditRow]) -> str:
    """The audit table (feature, cuts checked, violations, first violating time)."""
    head = ("feature", "cuts", "violations", "first violation")
    table = [head] + [(r.feature, str(r.cuts), str(r.violations),
                       format_ts(r.first_violation_ns) if r.first_violation_ns is not None else "-")
                      for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in table]
    lines += [f"{r.feature}: {r.detail}" for r in rows if r.detail]
    bad = [r.feature for r in rows if r.violations]
    lines.append(f"LOOK-AHEAD in {len(bad)} feature(s): {', '.join(bad)}" if bad
                 else f"ok: {len(rows)} check(s) causal at every cut")
    return "\n".join(lines)
