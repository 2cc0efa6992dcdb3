"""The vectorized prefilter (the seed's "Fast Engine"): every combination of a grid over shared,
precomputed arrays in one parallel Numba call, returning one summary row per combination.

Same decisions, fill timing and spreads as the event engine (it runs the engine's step over each
bar's own book: a fill in bar t pays the half-spread quoted at the close of bar t - 1, never a
figure from later bars); simplified costs: no size impact (the book's displayed sizes are not read).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from scalper_tune.features import Features
from scalper_tune.config.costs import CostModel
from scalper_tune.data.market import MarketData
from scalper_tune.engine.inputs import (ENTRY_MASK, cost_vector, cross_signal, half_spread,
                                        param_vector, regime_labels, session_left)
from scalper_tune.errors import ConfigError
from scalper_tune.kernels.layout import N_REGIMES, REG_SQ, REG_SUM, S, PrefilterBars
from scalper_tune.kernels.prefilter_nb import run_prefilter_nb
from scalper_tune.kernels.threads import set_threads
from scalper_tune.engine.work_plan import BLOCK_BARS, UNIT_JOBS, WorkPlan, plan


@dataclass(frozen=True)
class SharedArrays:
    """Per-bar arrays of all symbols, concatenated (asset a at [start[a], start[a+1])), and
    window-dependent arrays stacked by window."""

    symbols: tuple[str, ...]
    start: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    hs: np.ndarray  # every bar's half-spread (fraction of the mid, x spread_mult; 0: no book)
    volz: np.ndarray
    imb: np.ndarray
    allow: np.ndarray
    cross: np.ndarray  # the other venue's state for the cross-venue block (NaN: none)
    regime: np.ndarray  # each bar's regime label for the statistics (-1: none)
    left: np.ndarray  # bars left in each bar's session (0: 24/7)
    regime_bars: np.ndarray  # n_assets x N_REGIMES: bars per label
    windows: tuple[int, ...]
    z: np.ndarray
    mu: np.ndarray
    half_life: np.ndarray
    asset_bars_per_year: np.ndarray  # per asset, of its calendar
    pooled_bars_per_year: float  # of the union bar axis

    @property
    def bars(self) -> int:
        return int(self.start[-1])

    def bars_per_year(self) -> float:
        """Bars a year of the pooled (union) axis, as `MarketData.bars_per_year()`."""
        return self.pooled_bars_per_year


def sleeve_sharpes(states: np.ndarray, lengths: np.ndarray, bars_per_year) -> np.ndarray:
    """Annualised Sharpe of each sleeve (combinations x assets) from the power sums of its
    per-bar returns in the final states, over `lengths` bars per asset; 0 without variance.
    `bars_per_year`: one figure, or one per asset (its calendar)."""
    n = lengths[None, :]
    mean = states[:, :, S.sum_r] / n
    var = (states[:, :, S.sum_r2] - n * mean ** 2) / np.maximum(n - 1, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(var > 0, mean / np.sqrt(var), 0.0) * np.sqrt(
            np.asarray(bars_per_year, dtype=float))


def prepare(market: MarketData, features: Features,
            windows: Sequence[int], spread_mult: float = 1.0,
            allow: Mapping[str, np.ndarray] | None = None) -> SharedArrays:
    """Concatenate what the prefilter reads (done once; shared by every chunk of the grid)."""
    symbols = market.symbols
    lengths = [len(market[s]) for s in symbols]
    start = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    cat = lambda get: np.ascontiguousarray(np.concatenate([get(s) for s in symbols]))
    for w in windows:
        if f"price_z_w{w}" not in features[symbols[0]]:
            raise ConfigError(f"z_window {w}: features were built without this window; add it to "
                              "features.z_windows.")
    hs = cat(lambda s: half_spread(market[s], spread_mult))
    def entry_mask(s: str) -> np.ndarray:
        if allow is not None:
            return np.asarray(allow[s], dtype=np.bool_)
        if ENTRY_MASK in features[s]:
            return np.asarray(features[s][ENTRY_MASK]) > 0.5
        return np.ones(len(market[s]), dtype=np.bool_)

    mask = cat(entry_mask)
    labels = [regime_labels(features[s], len(market[s])) for s in symbols]
    regime_bars = np.array([regime_counts(lab) for lab in labels], dtype=np.float64)
    stack = lambda name: np.ascontiguousarray(np.vstack(
        [cat(lambda s: np.asarray(features[s][f"{name}_w{w}"])) for w in windows]))
    return SharedArrays(
        symbols=symbols, start=start, open=cat(lambda s: market[s].open),
        high=cat(lambda s: market[s].high), low=cat(lambda s: market[s].low),
        close=cat(lambda s: market[s].close), hs=hs,
        volz=cat(lambda s: np.asarray(features[s]["vol_z_min"])),
        imb=cat(lambda s: np.asarray(features[s]["imbalance"])), allow=mask,
        cross=cat(lambda s: cross_signal(features[s], len(market[s]))),
        regime=np.ascontiguousarray(np.concatenate(labels)), regime_bars=regime_bars,
        left=cat(lambda s: session_left(features[s], len(market[s]))),
        windows=tuple(int(w) for w in windows), z=stack("price_z"), mu=stack("ou_mu"),
        half_life=stack("ou_half_life"),
        asset_bars_per_year=np.array([market.bars_per_year(s) for s in symbols]),
        pooled_bars_per_year=market.bars_per_year())


def regime_counts(labels: np.ndarray) -> np.ndarray:
    """Bars per regime label 0..N_REGIMES-1 (labels outside are not counted)."""
    lab = np.asarray(labels)
    return np.bincount(lab[(lab >= 0) & (lab < N_REGIMES)], minlength=N_REGIMES)[:N_REGIMES]


def entry_candidates(shared: SharedArrays, combos: pd.DataFrame) -> tuple:
    """CSR lists of the bars where a combination could enter, one list per distinct
    (z_window, entry_z, vol_z_min) and asset: |z| >= entry_z, vol z >= vol_z_min, mask allows.
    Returns (ptr, idx, group of each combination)."""
    keys = ["z_window", "entry_z", "vol_z_min"]
    groups = combos[keys].drop_duplicates().reset_index(drop=True)
    group_of = combos[keys].merge(groups.reset_index(), on=keys, how="left")["index"]
    n_assets = len(shared.symbols)
    ptr = [0]
    idx = []
    window_index = {w: i for i, w in enumerate(shared.windows)}
    abs_z = np.abs(shared.z)
    for w, ez, vz in groups.itertuples(index=False):
        with np.errstate(invalid="ignore"):
            ok = (abs_z[window_index[w]] >= ez) & (shared.volz >= vz) & shared.allow
        for a in range(n_assets):
            lo, hi = shared.start[a], shared.start[a + 1]
            found = np.flatnonzero(ok[lo:hi]).astype(np.int64)
            idx.append(found)
            ptr.append(ptr[-1] + found.shape[0])
    return (np.asarray(ptr, dtype=np.int64), np.concatenate(idx).astype(np.int64),
            group_of.to_numpy(dtype=np.int64))


@dataclass(frozen=True)
class Evaluation:
    """The prefilter's raw output: final states (n_combos x n_assets x N_STATE) and the steps
    each (combination, asset) job took (n_combos x n_assets; its work), with the plan that
    shared the jobs among threads (None on the GPU) and the sleeve capital."""

    states: np.ndarray
    work: np.ndarray
    plan: WorkPlan | None
    capital: float


def evaluate(shared: SharedArrays, combos: pd.DataFrame, costs: CostModel = CostModel(),
             account: float = 1000.0, threads: int = 1, device: str = "cpu",
             block_bars: int = BLOCK_BARS, unit_jobs: int = UNIT_JOBS) -> Evaluation:
    """Run every row of `combos` (complete parameter sets) on every asset, on the CPU
    (`threads` Numba threads, jobs shared by engine/work_plan.py) or, with device "gpu", on
    the GPU (kernels/prefilter_cuda.py). Results do not depend on threads, plan or device
    (up to the GPU's last bits)."""
    if combos.empty:
        raise ConfigError("the prefilter got no combinations to evaluate.")
    window_index = {w: i for i, w in enumerate(shared.windows)}
    missing = sorted(set(combos["z_window"]) - set(window_index))
    if missing:
        raise ConfigError(f"z_window {missing}: not among the prepared windows {shared.windows}.")
    params = np.vstack([param_vector(row) for row in combos.to_dict("records")])
    window_of = combos["z_window"].map(window_index).to_numpy(dtype=np.int64)
    ptr, idx, group_of = entry_candidates(shared, combos)
    capital = account / len(shared.symbols)
    bars = PrefilterBars(shared.open, shared.high, shared.low, shared.close, shared.volz,
                         shared.imb, shared.allow, shared.cross, shared.regime, shared.left,
                         shared.z, shared.mu, shared.half_life)
    inputs = (bars, shared.start, shared.hs, ptr, idx, window_of, group_of, params,
              cost_vector(costs), capital)
    if device == "gpu":
        from scalper_tune.kernels.prefilter_cuda import run_prefilter_cuda

        states, work = run_prefilter_cuda(*inputs)
        return Evaluation(states, work, None, capital)
    lanes = set_threads(threads)
    work_plan = plan(group_of, ptr, len(shared.symbols), lanes, unit_jobs)
    states, work = run_prefilter_nb(*inputs, work_plan.jobs, work_plan.unit_ptr,
                                    work_plan.lane_ptr, int(block_bars))
    return Evaluation(states, work, work_plan, capital)


def run(shared: SharedArrays, combos: pd.DataFrame, costs: CostModel = CostModel(),
        account: float = 1000.0, threads: int = 1,
        device: str = "cpu") -> tuple[pd.DataFrame, np.ndarray]:
    """Evaluate every row of `combos` (see `evaluate`).

    Returns (summary per combination, raw final states n_combos x n_assets x N_STATE)."""
    ev = evaluate(shared, combos, costs, account, threads, device)
    lengths = np.diff(shared.start).astype(float)
    return summarize(ev.states, lengths, ev.capital, account, shared.asset_bars_per_year,
                     shared.regime_bars), ev.states


def summarize(states: np.ndarray, lengths: np.ndarray, capital: float, account: float,
              bars_per_year: float | np.ndarray, regime_bars: np.ndarray | None = None,
              ) -> pd.DataFrame:
    """Per-combination summary from final states (also used on the event engine's states, so the
    two engines are compared on identical definitions).

    Besides the trading figures: `max_dd_pct`, the worst sleeve drawdown (fraction of its peak);
    the per-bar returns of every sleeve pooled over assets as power sums `m1`..`m4` over `n_obs`
    bars (Sharpe, skewness, kurtosis: robustness/stats.py); and per regime label k the pooled sum
    and sum of squares of those returns, `reg_sum_k` and `reg_sq_k`, over `reg_n_k` bars
    (`regime_bars`: n_assets x N_REGIMES; zeros when not given)."""
    trades = states[:, :, S.trades].sum(axis=1)
    wins = states[:, :, S.wins].sum(axis=1)
    gross_win = states[:, :, S.gross_win].sum(axis=1)
    gross_loss = states[:, :, S.gross_loss].sum(axis=1)
    n = lengths[None, :]
    sharpe_assets = sleeve_sharpes(states, lengths, bars_per_year)  # each on its own calendar
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame({
            "trades": trades.astype(np.int64),
            "win_rate": np.where(trades > 0, wins / np.maximum(trades, 1), np.nan),
            "total_pnl": gross_win - gross_loss,
            "equity_pnl": (states[:, :, S.equity] - capital).sum(axis=1),
            "return_on_account": (gross_win - gross_loss) / account,
            "profit_factor": np.where(gross_loss > 0, gross_win / gross_loss,
                                      np.where(gross_win > 0, np.inf, np.nan)),
            "avg_return": np.where(trades > 0, states[:, :, S.sum_ret].sum(axis=1)
                                   / np.maximum(trades, 1), np.nan),
            "worst_trade": np.where(trades > 0, states[:, :, S.worst_ret].min(axis=1), np.nan),
            "sharpe_mean": sharpe_assets.mean(axis=1),
            "max_dd_sum": -states[:, :, S.max_dd].sum(axis=1),
            "exposure": (states[:, :, S.bars_in_pos] / n).mean(axis=1),
            "avg_holding_bars": np.where(trades > 0, states[:, :, S.hold_bars].sum(axis=1)
                                         / np.maximum(trades, 1), np.nan),
            "assets_traded": (states[:, :, S.trades] > 0).sum(axis=1),
            "max_dd_pct": states[:, :, S.max_dd_pct].max(axis=1),
            "n_obs": np.full(states.shape[0], float(lengths.sum())),
            "m1": states[:, :, S.sum_r].sum(axis=1), "m2": states[:, :, S.sum_r2].sum(axis=1),
            "m3": states[:, :, S.sum_r3].sum(axis=1), "m4": states[:, :, S.sum_r4].sum(axis=1),
        })
    counts = (np.zeros(N_REGIMES) if regime_bars is None
              else np.asarray(regime_bars, dtype=float).sum(axis=0))
    for k in range(N_REGIMES):
        out[f"reg_sum_{k}"] = states[:, :, REG_SUM + k].sum(axis=1)
        out[f"reg_sq_{k}"] = states[:, :, REG_SQ + k].sum(axis=1)
        out[f"reg_n_{k}"] = float(counts[k])
    return out
