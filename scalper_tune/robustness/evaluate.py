"""Phase 2: the full robustness report of one candidate with the event-driven engine."""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from scalper_tune.config.costs import CostModel
from scalper_tune.config.pipeline_spec import FilterSpec, RobustnessSpec
from scalper_tune.data.market import MarketData
from scalper_tune.engine.backtest import backtest
from scalper_tune.engine.metrics import SECONDS_PER_YEAR
from scalper_tune.robustness.overfitting import deflated_sharpe
from scalper_tune.robustness.regimes import regime_sharpes
from scalper_tune.robustness.score import regime_weighted, robustness_score
from scalper_tune.robustness.segments import Segments, slice_market

FEATURES = Mapping[str, Mapping[str, np.ndarray]]


def evaluate_candidate(market: MarketData, features: FEATURES, labels: Mapping[str, np.ndarray],
                       segments: Segments, params: Mapping[str, object], costs: CostModel,
                       account: float, consistency_score: float, plateau: float, n_trials: int,
                       sr_variance: float, spec: RobustnessSpec, filters: FilterSpec) -> dict:
    """In-sample (all folds) and out-of-sample event-engine runs, per-regime Sharpes, DSR, the
    seed's filters, and the robustness score (see robustness.score)."""
    is_market, is_feats = slice_market(market, features, *segments.in_sample)
    oos_market, oos_feats = slice_market(market, features, *segments.holdout)
    is_run = backtest(is_market, is_feats, params, costs, account)
    oos_run = backtest(oos_market, oos_feats, params, costs, account)
    a, b = segments.in_sample
    is_labels = {s: np.asarray(labels[s])[np.searchsorted(market[s].ts, a):
                                          np.searchsorted(market[s].ts, b)] for s in market.symbols}
    regimes = regime_sharpes({s: r.equity for s, r in is_run.runs.items()}, is_labels,
                             market.bar_seconds)
    eq = is_run.equity.to_numpy()
    per_bar = np.diff(eq) / eq[:-1]
    dsr = deflated_sharpe(per_bar, n_trials, sr_variance)
    m, o = is_run.metrics, oos_run.metrics
    passes = (m.sharpe > filters.min_sharpe and abs(m.max_drawdown_pct) < filters.max_drawdown
              and m.total_trades >= filters.min_trades)
    degradation = ((m.sharpe - o.sharpe) / abs(m.sharpe)
                   if math.isfinite(m.sharpe) and m.sharpe != 0 and math.isfinite(o.sharpe)
                   else float("nan"))
    finite = [v for v in regimes.values() if math.isfinite(v)]
    return {
        "is_sharpe": m.sharpe, "is_return": m.return_on_account, "is_trades": m.total_trades,
        "is_max_dd_pct": m.max_drawdown_pct, "is_win_rate": m.win_rate,
        "oos_sharpe": o.sharpe, "oos_return": o.return_on_account, "oos_trades": o.total_trades,
        "oos_max_dd_pct": o.max_drawdown_pct, "degradation": degradation,
        **{f"regime_sharpe_{k}": v for k, v in regimes.items()},
        "regime_weighted": regime_weighted(regimes, spec.regime_weights),
        "worst_regime": min(finite) if finite else float("nan"),
        "consistency": consistency_score, "plateau": plateau, "dsr": dsr,
        "passes_filters": bool(passes),
        "robustness": robustness_score(regimes, consistency_score, o.sharpe, plateau, dsr, spec),
    }


def per_bar_sharpe_variance(annual_sharpes: np.ndarray, bar_seconds: int) -> float:
    """Variance of the trials' per-bar Sharpe estimates, from annualised Sharpes."""
    x = np.asarray(annual_sharpes, dtype=float)
    x = x[np.isfinite(x)] / math.sqrt(SECONDS_PER_YEAR / bar_seconds)
    return float(x.var(ddof=1)) if x.shape[0] > 1 else 0.0
