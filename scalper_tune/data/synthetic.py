"""The synthetic market: seeded, multi-asset, regime-switching, calibrated to real 5-minute
crypto returns, with an L1 book, optional second venues and 2022-style crashes.

Model (per bar t, asset i; all randomness from `numpy.random.SeedSequence(seed)`):
- a market-wide regime chain (calm, trending, volatile, toxic) with durations set in seconds,
  so the same market shape holds for any bar size; the crash scenario forces regime 4 (crash);
- efficient log return r = s_t (b_i F_t + sqrt(1 - b_i^2) I_t) + k_regime s_t o_{t-1} + drift
  + jumps, where F is a common factor and I an idiosyncratic shock, both GARCH(1,1) over
  Student-t(4) innovations (fat tails, volatility clustering), s_t = sigma_i x the regime's
  volatility multiple; rare large jumps in every regime, frequent ones in toxic flow;
- order flow o_t is AR(1) (more persistent in toxic flow); the book imbalance is
  tanh(0.9 o_t + noise), and the flow moves the next bar's price (k_regime: weak in calm
  ranges, strong in toxic flow, where it is informed and mean reversion fails);
- a weak, regime-dependent mean-reverting deviation x_t (AR(1)) is added to the log price:
  present in calm ranges and, weaker, in volatile ones; absent in trends, toxic flow and crashes;
- the open of a bar is the previous close moved by a small causal jump (trades between bars:
  a tenth of the bar's move plus noise), so a fill at the next open is not the signal's close;
- the book reacts to conditions, not to the regime label: the spread widens with the local
  volatility (GARCH variance x regime multiple) and with the order flow's strength, depth thins
  with them, both with wide noise, plus liquidity gaps (episodes of a wide spread and thin depth,
  more frequent under stress), so no single book column reveals the regime;
- `venues=2`: each asset trades on a spot and a perpetual venue (`SYN01`, `SYN01-PERP`): the
  perpetual leads (spot shows 94 % of a move in its bar and the rest in the next), a basis
  mean-reverts around zero (its shocks larger under stress), and each liquidity gap hits one
  venue a few bars before the other;
- `crash="2022"`: a market-wide decline pinned to -65 % over min(90 days, 40 % of the data),
  regime 4 (crash) with volatility x4, spreads x10 and depth x0.1; inside it the last asset
  collapses -99 % within min(3 days, a quarter of the episode), as LUNA did in May 2022;
- `calendar="XNYS"` (stocks): bars only inside the exchange's regular sessions (holidays and
  early closes from `exchange_calendars`); the per-bar returns are scaled by an intraday profile
  (a volatility burst at the open, a smaller one at the close, mean square 1) and each session's
  first bar adds the overnight gap (Student-t, OVERNIGHT_SHARE of the close-to-close variance);
  volume follows the profile squared (the U-shaped intraday volume). The regime chain runs on
  the session bars (its durations count trading time).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from scalper_tune.config.synthetic_spec import SyntheticSpec
from scalper_tune.data.calendars import REGULAR_SESSION_SECONDS, bars_per_year, session_bar_times
from scalper_tune.data.market import NS_PER_SECOND, MarketData, SymbolData
from scalper_tune.kernels.synth_nb import ar1_nb, garch_var_nb

# Regime tables, indexed by regime id: calm, trending, volatile, toxic, crash.
VOL_MULT = np.array([1.0, 1.5, 2.4, 2.0, 4.6])
MR_PHI = np.array([0.97, 0.0, 0.95, 0.0, 0.0])  # mean-reverting deviation's persistence
MR_SIGMA = np.array([1.3, 0.0, 0.91, 0.0, 0.0])  # x s_t, shock scale of the deviation
FLOW_KAPPA = np.array([0.0, 0.04, 0.02, 0.06, 0.04])  # next-bar price impact of order flow
FLOW_PHI = np.array([0.6, 0.7, 0.7, 0.9, 0.8])  # order-flow persistence
FLOW_SCALE = np.array([1.0, 1.0, 1.2, 2.5, 1.5])  # order-flow strength (informed flow is strong)
JUMP_PROB = np.array([0.0008, 0.0012, 0.0024, 0.15, 0.003])  # per bar
JUMP_SIZE = np.array([15.0, 15.0, 15.0, 6.0, 15.0])  # jump standard deviation, in units of s_t
GAP_PROB = np.array([0.0003, 0.0004, 0.0015, 0.006, 0.004])  # liquidity-gap starts per bar
MEAN_DURATION_S = np.array([25 * 3600, 12 * 3600, 7 * 3600, 4 * 3600])  # mean regime length
TRANSITIONS = np.array([
    [0.00, 0.45, 0.35, 0.20],
    [0.60, 0.00, 0.25, 0.15],
    [0.60, 0.20, 0.00, 0.20],
    [0.40, 0.10, 0.50, 0.00],
])
TREND_DRIFT = 0.03  # |drift| per bar in trending regimes, in units of sigma_i
GARCH_ALPHA, GARCH_BETA = 0.07, 0.925
T_DOF = 4.0
# session calendars (stocks): the overnight gap carries this share of the close-to-close
# variance (US large caps: roughly a fifth to a third); the open's volatility burst is
# OPEN_BURST x the midday level on top of it, the close's CLOSE_BURST x, decaying over
# BURST_WIDTH of the session (about 25 minutes of 390)
OVERNIGHT_SHARE = 0.25
STOCK_SEED = 500_009  # the stock half of a mixed market: seed + this
OPEN_BURST, CLOSE_BURST, BURST_WIDTH = 1.5, 0.8, 0.06
BASE_SIGMA_1MIN = 0.00045  # calm-regime 1-minute log-return volatility of the least volatile
OPEN_SHARE, OPEN_NOISE = 0.1, 0.05  # the open's jump: this share of the bar's move + noise x s_t
SPREAD_VOL_POWER, DEPTH_VOL_POWER = 0.7, 0.5
CRASH_SPREAD, CRASH_DEPTH = 3.4, 0.15  # on top of what the crash's volatility does to the book
GAP_SPREAD, GAP_DEPTH, GAP_BARS = 5.0, 0.2, 12.0  # a liquidity gap's effect and mean length
BASIS_PHI, BASIS_BPS = 0.995, 0.6  # basis AR(1) per minute; its shock (bps) in calm markets
PERP_LAG_SHARE = 0.06  # share of a move spot shows one bar after the perpetual
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


def _gap_episodes(regime: np.ndarray, bar_seconds: int, rng: np.random.Generator) -> list:
    """Liquidity-gap episodes (start bar, length in bars, lag of the second venue in bars,
    which venue first), their rate depending on the regime."""
    per_minute = bar_seconds / 60.0
    starts = np.flatnonzero(rng.random(regime.shape[0]) < GAP_PROB[regime] * per_minute)
    out = []
    for t in starts:
        length = int(rng.geometric(1.0 / max(2.0, GAP_BARS / per_minute)))
        out.append((int(t), length, int(rng.integers(1, 6)), int(rng.integers(0, 2))))
    return out


def _gap_mask(n: int, episodes: list, venue: int) -> np.ndarray:
    """Bars inside a liquidity gap on `venue` (0: the one hit first in half of the episodes)."""
    mask = np.zeros(n, dtype=bool)
    for start, length, lag, first in episodes:
        a = start + (0 if venue == first else lag)
        mask[a:a + length] = True
    return mask


def _book(close: np.ndarray, local_vol: np.ndarray, sigma: float, flow: np.ndarray,
          gap: np.ndarray, crash: np.ndarray, base_spread_bps: float, depth_notional: float,
          rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Bid, ask and sizes: the spread widens with local volatility and flow strength, depth
    thins with them (wide noise; liquidity gaps and the crash on top)."""
    n = close.shape[0]
    stress = local_vol / sigma
    strength = np.abs(np.tanh(flow))
    imbalance = np.tanh(0.9 * flow + 0.35 * rng.standard_normal(n))
    spread_bps = (base_spread_bps * stress ** SPREAD_VOL_POWER * (1.0 + 1.5 * strength)
                  * np.exp(0.35 * rng.standard_normal(n))
                  * np.where(gap, GAP_SPREAD, 1.0) * np.where(crash, CRASH_SPREAD, 1.0))
    depth = (depth_notional * stress ** -DEPTH_VOL_POWER / (1.0 + strength)
             * np.exp(0.35 * rng.standard_normal(n))
             * np.where(gap, GAP_DEPTH, 1.0) * np.where(crash, CRASH_DEPTH, 1.0)) / close
    half = close * spread_bps / 2e4
    return {"bid": close - half, "ask": close + half, "bid_size": depth * (1 + imbalance) / 2,
            "ask_size": depth * (1 - imbalance) / 2}


def _ohlc(log_close: np.ndarray, r: np.ndarray, s: np.ndarray, price0: float,
          rng: np.random.Generator) -> tuple:
    """Open (the previous close moved by a causal jump), high, low, close."""
    n = log_close.shape[0]
    close = np.exp(log_close)
    gap = OPEN_SHARE * r + OPEN_NOISE * s * rng.standard_normal(n)
    prev = np.concatenate(([np.log(price0)], log_close[:-1]))
    open_ = np.exp(prev + gap)
    high = np.maximum(open_, close) * np.exp(0.5 * s * np.abs(rng.standard_normal(n)))
    low = np.minimum(open_, close) * np.exp(-0.5 * s * np.abs(rng.standard_normal(n)))
    return open_, high, low, close


def intraday_profile(position: np.ndarray) -> np.ndarray:
    """Volatility multiplier by position in the session (0 at the open, 1 at the close): bursts
    at the open and (smaller) at the close over a flat midday, scaled to a mean square of 1 so
    a session's variance is unchanged."""
    def shape(u: np.ndarray) -> np.ndarray:
        return (1.0 + OPEN_BURST * np.exp(-u / BURST_WIDTH)
                + CLOSE_BURST * np.exp(-(1.0 - u) / BURST_WIDTH))

    grid = np.linspace(0.0, 1.0, 391)[:-1]  # a regular session of one-minute bars
    return shape(position) / np.sqrt(np.mean(shape(grid) ** 2))


@dataclass(frozen=True)
class _Sessions:
    """The session layout of a session-calendar market: bar times, the volatility profile and
    the first bar of every session (where the overnight gap lands)."""

    ts: np.ndarray
    profile: np.ndarray
    first: np.ndarray
    bars_per_session: float


def _session_layout(spec: SyntheticSpec) -> _Sessions:
    bar_ns = spec.bar_seconds * NS_PER_SECOND
    ts, session, position = session_bar_times(spec.calendar, _start_ns(spec.start), spec.bars,
                                               bar_ns)
    first = np.zeros(ts.shape[0], dtype=bool)
    first[1:] = session[1:] != session[:-1]
    return _Sessions(ts, intraday_profile(position), first,
                     REGULAR_SESSION_SECONDS[spec.calendar] / spec.bar_seconds)


def _asset(i: int, spec: SyntheticSpec, regime: np.ndarray, factor: tuple, trend: np.ndarray,
           windows: dict, episodes: list, rng: np.random.Generator,
           sessions: _Sessions | None = None) -> list[SymbolData]:
    n = spec.bars
    minutes = spec.bar_seconds / 60.0
    sigma = BASE_SIGMA_1MIN * rng.uniform(1.0, 2.2) * np.sqrt(minutes)
    beta = rng.uniform(0.7, 0.9)
    base_spread_bps = rng.uniform(1.0, 6.0)
    depth_notional = 2e5 * rng.uniform(0.3, 3.0)
    volume_notional = 1e5 * rng.uniform(0.3, 3.0) * minutes
    trend_strength = rng.uniform(0.5, 1.5)
    price0 = START_PRICES[i % len(START_PRICES)] * rng.uniform(0.9, 1.1)

    vol_mult = VOL_MULT[regime].copy()
    collapse = windows.get("collapse") if i == spec.assets - 1 else None
    if collapse:
        vol_mult[collapse[0]:collapse[1]] *= 3.0
    s = sigma * vol_mult
    f_shock, f_var = factor
    idio, i_var = garch_var_nb(_student(rng, n), GARCH_ALPHA, GARCH_BETA)
    local_vol = s * np.sqrt(beta ** 2 * f_var + (1 - beta ** 2) * i_var)
    phi = FLOW_PHI[regime] ** minutes
    flow = ar1_nb(phi, FLOW_SCALE[regime] * rng.standard_normal(n) * np.sqrt(1 - phi ** 2))
    jumps = ((rng.random(n) < JUMP_PROB[regime] * minutes) * rng.standard_normal(n)
             * JUMP_SIZE[regime] * s)
    r = s * (beta * f_shock + np.sqrt(1 - beta ** 2) * idio) + jumps
    r[1:] += FLOW_KAPPA[regime[1:]] * s[1:] * flow[:-1]
    r += trend * TREND_DRIFT * trend_strength * sigma
    if sessions is not None:  # intraday bursts, then the overnight gap at each open
        r *= sessions.profile
        k = int(sessions.first.sum())
        # the gap's scale: the share of a session's variance, as this asset's bars realise it
        night = np.sqrt(OVERNIGHT_SHARE / (1 - OVERNIGHT_SHARE) * sessions.bars_per_session
                        * np.mean(r * r))
        overnight = np.zeros(n)
        overnight[sessions.first] = (night * rng.standard_t(T_DOF, k)
                                     / np.sqrt(T_DOF / (T_DOF - 2)))
        r += overnight
    if "crash" in windows:
        start, stop = windows["crash"]
        _bridge(r, start, stop, CRASH_LOG_RETURN, max(1, (stop - start) // BRIDGE_BARS))
    if collapse:
        _bridge(r, *collapse, COLLAPSE_LOG_RETURN, max(1, (collapse[1] - collapse[0]) // BRIDGE_BARS))
    mr_phi = MR_PHI[regime] ** minutes
    deviation = ar1_nb(mr_phi, MR_SIGMA[regime] * spec.mr_scale * s * rng.standard_normal(n))
    efficient = np.log(price0) + np.cumsum(r)
    crash = regime == 4
    ts = (_start_ns(spec.start) + np.arange(n, dtype=np.int64) * spec.bar_seconds * NS_PER_SECOND)
    volume_base = (volume_notional * np.sqrt(vol_mult) * (0.6 + 0.4 * np.abs(r) / s)
                   * (1.0 + 2.0 * np.abs(np.tanh(0.7 * flow))))  # strong flow trades more
    if sessions is not None:
        ts = sessions.ts
        shape = sessions.profile[~sessions.first]  # the U-shaped volume (busy open and close)
        volume_base *= sessions.profile ** 2 / np.mean(shape ** 2)
    venues = [("", efficient + deviation, 0)]
    if spec.venues == 2:
        basis_shock = BASIS_BPS * 1e-4 * np.sqrt(minutes) * vol_mult * rng.standard_normal(n)
        basis = ar1_nb(np.full(n, BASIS_PHI ** minutes), basis_shock)
        spot = efficient + deviation - PERP_LAG_SHARE * r  # spot shows the rest a bar later
        venues = [("", spot, 0), ("-PERP", efficient + deviation + basis, 1)]
    out = []
    for suffix, log_close, venue in venues:
        moves = np.diff(log_close, prepend=np.log(price0))
        open_, high, low, close = _ohlc(log_close, moves, s, price0, rng)
        if sessions is not None:  # the session opens at the gap: previous close x exp(gap)
            f = np.flatnonzero(sessions.first)
            open_[f] = close[f - 1] * np.exp(overnight[f])
            high[f], low[f] = np.maximum(high[f], open_[f]), np.minimum(low[f], open_[f])
        gap = _gap_mask(n, episodes, venue) if spec.venues == 2 else _gap_mask(n, episodes, 0)
        book = _book(close, local_vol, sigma, flow, gap, crash, base_spread_bps, depth_notional,
                     rng)
        volume = volume_base * np.exp(0.3 * rng.standard_normal(n)) / close
        prefix = "SYN" if sessions is None else "STK"
        out.append(SymbolData(symbol=f"{prefix}{i + 1:02d}{suffix}", ts=ts, open=open_, high=high,
                              low=low, close=close, volume=volume, regime=regime.copy(), **book))
    return out


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
    factor = garch_var_nb(_student(np.random.default_rng(factor_ss), spec.bars),
                          GARCH_ALPHA, GARCH_BETA)
    series, meta = {}, {}
    sessions = None if spec.calendar == "24/7" else _session_layout(spec)
    for i, ss in enumerate(asset_ss.spawn(spec.assets)):
        rng = np.random.default_rng(ss)
        episodes = _gap_episodes(regime, spec.bar_seconds, rng)
        for data in _asset(i, spec, regime, factor, trend, windows, episodes, rng, sessions):
            series[data.symbol] = data
            asset = data.symbol.removesuffix("-PERP")
            venue = ("synthetic" if spec.venues == 1 else
                     "synthetic-perp" if data.symbol.endswith("-PERP") else "synthetic-spot")
            meta[data.symbol] = {"asset": asset, "venue": venue, "calendar": spec.calendar}
    info = {"generator": "scalper_tune.synthetic", "spec": {
        "assets": spec.assets, "bars": spec.bars, "bar_seconds": spec.bar_seconds,
        "seed": spec.seed, "crash": spec.crash, "crash_at": spec.crash_at, "start": spec.start,
        "venues": spec.venues, "calendar": spec.calendar},
        "crash_windows": windows,
        "collapse_symbol": f"SYN{spec.assets:02d}" if windows else None}
    info["spec"]["stocks"] = spec.stocks
    if spec.stocks:  # the stock half: the same span in session bars, its own seed
        stocks = generate(dataclasses.replace(
            spec, calendar="XNYS", assets=spec.stocks, stocks=0, seed=spec.seed + STOCK_SEED,
            bars=max(1_000, int(spec.bars * bars_per_year("XNYS", spec.bar_seconds)
                                / bars_per_year("24/7", spec.bar_seconds)))))
        series.update(stocks.series)
        meta.update(stocks.symbol_meta)
    return MarketData(bar_seconds=spec.bar_seconds, series=series, source="synthetic",
                      symbol_meta=meta, info=info)
