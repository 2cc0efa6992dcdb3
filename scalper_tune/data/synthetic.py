"""The synthetic market: seeded, multi-asset, regime-switching, with an L1 book and 2022-style crashes.

Model (per bar t, asset i; all randomness from `numpy.random.SeedSequence(seed)`):
- a market-wide regime chain (calm, trending, volatile, toxic) with durations set in seconds,
  so the same market shape holds for any bar size; the crash scenario forces regime 4 (crash);
- efficient log return r = s_t (b_i F_t + sqrt(1 - b_i^2) I_t) + k s_t o_{t-1} + drift + jumps,
  where F is a common factor and I an idiosyncratic shock, both GARCH(1,1) over Student-t(5)
  innovations (fat tails, volatility clustering), s_t = sigma_i x the regime's volatility multiple;
- order flow o_t is AR(1); the book imbalance is tanh(0.9 o_t + noise), so it predicts the next
  bars' returns through the k s_t o_{t-1} term;
- a mean-reverting deviation x_t (AR(1), strong in calm regimes, weak in trending ones) is added
  to the log price: log p_t = log p_0 + sum(r) + x_t;
- close is the mid price; bid/ask sit +-spread/2 around it, spreads widen with the regime;
  sizes split a depth that thins in stressed regimes according to the imbalance.
"""

from __future__ import annotations

import numpy as np

from scalper_tune.config.synthetic_spec import SyntheticSpec
from scalper_tune.data.market import NS_PER_SECOND, MarketData, SymbolData
from scalper_tune.kernels.synth_nb import ar1_nb, garch_nb

# Regime tables, indexed by regime id: calm, trending, volatile, toxic, crash.
VOL_MULT = np.array([1.0, 1.6, 2.8, 2.2, 4.0])
SPREAD_MULT = np.array([1.0, 1.3, 3.0, 6.0, 10.0])
DEPTH_MULT = np.array([1.0, 0.9, 0.5, 0.25, 0.1])
MR_PHI = np.array([0.96, 0.995, 0.93, 0.90, 0.98])
MR_SIGMA = np.array([0.80, 0.20, 1.20, 0.30, 0.30])  # x s_t, shock scale of the deviation
JUMP_PROB = np.array([0.0005, 0.001, 0.003, 0.03, 0.005])  # per bar
JUMP_SIZE = 8.0  # jump standard deviation, in units of s_t
MEAN_DURATION_S = np.array([25 * 3600, 12 * 3600, 7 * 3600, 2 * 3600])  # mean regime length
TRANSITIONS = np.array([
    [0.00, 0.45, 0.35, 0.20],
    [0.60, 0.00, 0.25, 0.15],
    [0.60, 0.20, 0.00, 0.20],
    [0.40, 0.10, 0.50, 0.00],
])
TREND_DRIFT = 0.05  # |drift| per bar in trending regimes, in units of sigma_i
FLOW_PHI = 0.7
FLOW_KAPPA = 0.15
GARCH_ALPHA, GARCH_BETA = 0.08, 0.90
T_DOF = 5.0
BASE_SIGMA_1MIN = 0.0006  # calm-regime 1-minute log-return volatility of the least volatile asset
CRASH_LOG_RETURN = np.log(0.35)  # -65 % over the episode
COLLAPSE_LOG_RETURN = np.log(0.01)  # -99 % within days
CRASH_DAYS, COLLAPSE_DAYS = 90.0, 3.0
BRIDGE_BARS = 1000  # the crash path is pinned every this many bars
START_PRICES = (42000.0, 3700.0, 100.0, 0.6, 0.08, 95.0, 15.0, 70.0, 10.0, 1.5, 85.0)


def _student(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-variance Student-t draws."""
    return rng.standard_t(T_DOF, n) / np.sqrt(T_DOF / (T_DOF - 2.0))


def regime_path(spec: SyntheticSpec, rng: np.random.Generator) -> np.ndarray:
    """The market-wide regime per bar (int8): a semi-Markov chain with geometric durations."""
    out = np.empty(spec.bars, dtype=np.int8)
    t, state = 0, 0
    while t < spec.bars:
        mean_bars = max(5.0, MEAN_DURATION_S[state] / spec.bar_seconds)
        length = int(rng.geometric(1.0 / mean_bars))
        out[t:t + length] = state
        t += length
        state = int(rng.choice(4, p=TRANSITIONS[state]))
    return out


def crash_windows(spec: SyntheticSpec) -> dict[str, list[int]]:
    """Bar ranges [start, stop) of the crash episode and of the single-asset collapse."""
    if spec.crash == "none":
        return {}
    day = 86_400 / spec.bar_seconds
    start = int(spec.crash_at * spec.bars)
    length = int(min(CRASH_DAYS * day, 0.4 * spec.bars, spec.bars - start))
    collapse_len = int(max(10, min(COLLAPSE_DAYS * day, length / 4)))
    collapse_start = start + int(0.4 * length)
    return {"crash": [start, start + length],
            "collapse": [collapse_start, collapse_start + collapse_len]}


def _bridge(r: np.ndarray, start: int, stop: int, target: float, pieces: int) -> None:
    """Pin the path: shift each of `pieces` equal parts of r[start:stop] by a constant so that
    each sums to target / pieces (in place). A smooth decline with full 1-bar volatility."""
    edges = np.linspace(start, stop, pieces + 1).astype(np.int64)
    for a, b in zip(edges[:-1], edges[1:]):
        if b > a:
            r[a:b] += (target / pieces - r[a:b].sum()) / (b - a)


def _trend_drift(regime: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """+-1 per trending segment (shared by all assets), 0 elsewhere."""
    sign = np.zeros(regime.shape[0])
    starts = np.flatnonzero(np.diff(regime, prepend=np.int8(-1)) != 0)
    stops = np.append(starts[1:], regime.shape[0])
    for a, b in zip(starts, stops):
        if regime[a] == 1:
            sign[a:b] = 1.0 if rng.random() < 0.5 else -1.0
    return sign


def _asset(i: int, spec: SyntheticSpec, regime: np.ndarray, factor: np.ndarray,
           trend: np.ndarray, windows: dict, rng: np.random.Generator) -> SymbolData:
    n = spec.bars
    sigma = BASE_SIGMA_1MIN * rng.uniform(1.0, 2.2) * np.sqrt(spec.bar_seconds / 60.0)
    beta = rng.uniform(0.7, 0.9)
    base_spread_bps = rng.uniform(1.0, 6.0)
    depth_notional = 2e5 * rng.uniform(0.3, 3.0)
    volume_notional = 1e5 * rng.uniform(0.3, 3.0) * spec.bar_seconds / 60.0
    trend_strength = rng.uniform(0.5, 1.5)
    price0 = START_PRICES[i % len(START_PRICES)] * rng.uniform(0.9, 1.1)

    vol_mult = VOL_MULT[regime].copy()
    collapse = windows.get("collapse") if i == spec.assets - 1 else None
    if collapse:
        vol_mult[collapse[0]:collapse[1]] *= 3.0
    s = sigma * vol_mult
    idio = garch_nb(_student(rng, n), GARCH_ALPHA, GARCH_BETA)
    flow = ar1_nb(np.full(n, FLOW_PHI), rng.standard_normal(n) * np.sqrt(1 - FLOW_PHI ** 2))
    jumps = (rng.random(n) < JUMP_PROB[regime]) * rng.standard_normal(n) * JUMP_SIZE * s
    r = s * (beta * factor + np.sqrt(1 - beta ** 2) * idio) + jumps
    r[1:] += FLOW_KAPPA * s[1:] * flow[:-1]
    r += trend * TREND_DRIFT * trend_strength * sigma
    if "crash" in windows:
        start, stop = windows["crash"]
        _bridge(r, start, stop, CRASH_LOG_RETURN, max(1, (stop - start) // BRIDGE_BARS))
    if collapse:
        _bridge(r, *collapse, COLLAPSE_LOG_RETURN, max(1, (collapse[1] - collapse[0]) // BRIDGE_BARS))
    deviation = ar1_nb(MR_PHI[regime], MR_SIGMA[regime] * s * rng.standard_normal(n))
    log_close = np.log(price0) + np.cumsum(r) + deviation
    close = np.exp(log_close)
    open_ = np.empty(n)
    open_[0] = price0
    open_[1:] = close[:-1]
    high = np.maximum(open_, close) * np.exp(0.6 * s * np.abs(rng.standard_normal(n)))
    low = np.minimum(open_, close) * np.exp(-0.6 * s * np.abs(rng.standard_normal(n)))

    imbalance = np.tanh(0.9 * flow + 0.35 * rng.standard_normal(n))
    spread_bps = (base_spread_bps * SPREAD_MULT[regime] * np.sqrt(vol_mult / VOL_MULT[regime])
                  * np.exp(0.25 * rng.standard_normal(n)))
    half = close * spread_bps / 2e4
    depth = depth_notional * DEPTH_MULT[regime] * np.exp(0.3 * rng.standard_normal(n)) / close
    volume = (volume_notional * np.sqrt(VOL_MULT[regime]) * (0.6 + 0.4 * np.abs(r) / s)
              * np.exp(0.3 * rng.standard_normal(n)) / close)
    ts = (_start_ns(spec.start) + np.arange(n, dtype=np.int64) * spec.bar_seconds * NS_PER_SECOND)
    return SymbolData(
        symbol=f"SYN{i + 1:02d}", ts=ts, open=open_, high=high, low=low, close=close,
        volume=volume, bid=close - half, ask=close + half,
        bid_size=depth * (1 + imbalance) / 2, ask_size=depth * (1 - imbalance) / 2,
        regime=regime.copy())


def _start_ns(start: str) -> int:
    text = start[:-1] if start.endswith("Z") else start
    return int(np.datetime64(text, "ns").astype(np.int64))


def generate(spec: SyntheticSpec) -> MarketData:
    """Generate the synthetic market described by `spec` (same spec, same bytes)."""
    root = np.random.SeedSequence(spec.seed)
    regime_ss, factor_ss, asset_ss = root.spawn(3)
    regime_rng = np.random.default_rng(regime_ss)
    regime = regime_path(spec, regime_rng)
    windows = crash_windows(spec)
    if windows:
        regime[slice(*windows["crash"])] = 4
    trend = _trend_drift(regime, regime_rng)
    factor = garch_nb(_student(np.random.default_rng(factor_ss), spec.bars),
                      GARCH_ALPHA, GARCH_BETA)
    series = {}
    for i, ss in enumerate(asset_ss.spawn(spec.assets)):
        data = _asset(i, spec, regime, factor, trend, windows, np.random.default_rng(ss))
        series[data.symbol] = data
    meta = {s: {"asset": s, "venue": "synthetic"} for s in series}
    info = {"generator": "scalper_tune.synthetic", "spec": {
        "assets": spec.assets, "bars": spec.bars, "bar_seconds": spec.bar_seconds,
        "seed": spec.seed, "crash": spec.crash, "crash_at": spec.crash_at, "start": spec.start},
        "crash_windows": windows,
        "collapse_symbol": f"SYN{spec.assets:02d}" if windows else None}
    return MarketData(bar_seconds=spec.bar_seconds, series=series, source="synthetic",
                      symbol_meta=meta, info=info)
