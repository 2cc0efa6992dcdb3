"""The seed's regime-switching scalper, assembled from the Phase 2 candidates.

Choice (train only): for each regime, the judged candidate with the best pooled train Sharpe on
bars of that regime (`regime_sharpe_<regime>`, from the train folds); a regime where no
candidate's is above zero, or one the regime filter blocks, gets no entries. The choice reads
the train folds only, so the validation segment that decides whether to recommend the switcher
over the single best configuration has not shaped it (the same separation as the single
choice); the test segment is evaluated once, after that decision, and only reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from scalper_tune.config.experiment import Experiment
from scalper_tune.robustness.score import robustness
from scalper_tune.config.pipeline_spec import REGIMES
from scalper_tune.engine.regime_sets import Switching
from scalper_tune.workflow.choose import figures
from scalper_tune.workflow.screen import row_params


@dataclass(frozen=True)
class SwitchingChoice:
    """The switcher (None when no regime has a good candidate), which candidate each regime
    uses (its `source`, or None), and each regime's train Sharpe of that candidate."""

    switching: Switching | None
    sources: dict[str, str | None]
    train_sharpe: dict[str, float]


def choose_switching(phase2: pd.DataFrame, exp: Experiment) -> SwitchingChoice:
    """One Phase 2 candidate per regime (see the module docstring)."""
    judged = phase2[np.isfinite(phase2["robustness"].to_numpy(dtype=float))]
    blocked = set(exp.regime.block) if exp.regime.filter else set()
    sets: list[dict] = []
    keys: list[str] = []
    by_regime: list[int | None] = []
    sources: dict[str, str | None] = {}
    train: dict[str, float] = {}
    for regime in REGIMES:
        col = judged[f"regime_sharpe_{regime}"].to_numpy(dtype=float)
        ok = np.isfinite(col) & (col > 0.0)
        if regime in blocked or not ok.any():
            by_regime.append(None)
            sources[regime], train[regime] = None, math.nan
            continue
        best = int(np.flatnonzero(ok)[np.argmax(col[ok])])
        row = judged.iloc[best]
        if row["source"] not in keys:
            keys.append(row["source"])
            sets.append(row_params(row))
        by_regime.append(keys.index(row["source"]))
        sources[regime], train[regime] = row["source"], float(col[best])
    if not sets:
        return SwitchingChoice(None, sources, train)
    return SwitchingChoice(Switching(tuple(sets), tuple(by_regime)), sources, train)


def train_pick(phase2: pd.DataFrame, exp: Experiment) -> pd.Series:
    """The single candidate the Phase 2 rule picks without its validation part (regime-weighted
    Sharpe, consistency, DSR, plateau and floor: train only): the switcher's rival on equal
    terms. The chosen configuration's own validation Sharpe is selected (validation ranked it
    among the finalists), so comparing the switcher with it would favour the single choice."""
    judged = phase2[np.isfinite(phase2["robustness"].to_numpy(dtype=float))]
    regimes = judged[[f"regime_sharpe_{r}" for r in REGIMES]].to_numpy(dtype=float)
    score = robustness(regimes, judged["consistency"].to_numpy(dtype=float), np.nan,
                       judged["plateau"].to_numpy(dtype=float),
                       judged["dsr"].to_numpy(dtype=float), exp.robustness)
    return judged.iloc[int(np.argmax(np.where(np.isfinite(score), score, -np.inf)))]


def recommend(found: Mapping[str, float], rival_val_sharpe: float, min_trades: int) -> bool:
    """Recommend the switcher when, on validation, it makes `min_trades` trades
    (filters.min_trades pro rata to the validation's length) and its Sharpe is above that of the
    single configuration chosen on train (`train_pick`): both chosen on train, compared on
    validation."""
    sharpe = found["val_sharpe"]
    single = rival_val_sharpe if math.isfinite(rival_val_sharpe) else -math.inf
    return bool(math.isfinite(sharpe) and found["val_trades"] >= min_trades
                and sharpe > single)


def switching_table(choice: SwitchingChoice, found: Mapping[str, float],
                    recommended: bool, rival: Mapping | None = None) -> pd.DataFrame:
    """switching.parquet: one row per regime (the candidate it uses, its train Sharpe there),
    with the switcher's validation and test figures, its rival (`train_pick`: its source and
    validation Sharpe) and the recommendation on every row."""
    versus = ({} if rival is None else {"rival_source": str(rival["source"]),
                                        "rival_val_sharpe": float(rival["val_sharpe"])})
    rows = [dict(regime=r, source=choice.sources[r] or "no entries",
                 train_regime_sharpe=choice.train_sharpe[r], **found, **versus,
                 recommended=recommended)
            for r in REGIMES]
    return pd.DataFrame(rows)


NONE_GOOD = "no regime has a judged candidate with a positive train Sharpe"


def switcher_meta(table: pd.DataFrame | None, recommended: bool) -> dict:
    """best_config.yaml / strategy.yaml `meta.switching`: what each regime uses, the
    validation figures that decided, the test figures (reported only)."""
    if table is None:
        return {"built": False, "reason": NONE_GOOD}
    row = table.iloc[0]
    return {"built": True, "recommended": bool(recommended), "chosen_on": "train",
            "decided_on": "validation, against the single configuration chosen on train ("
                          + str(row.get("rival_source", "n/a")) + ")",
            "by_regime": {r["regime"]: (None if r["source"] == "no entries" else r["source"])
                          for _, r in table.iterrows()},
            "validation": figures(row, "val"), "test": figures(row, "test")}


def switching_line(table: pd.DataFrame | None, chosen: Mapping) -> str:
    """The summary's lines on the switcher."""
    if table is None:
        return f"Regime switching: not built ({NONE_GOOD})."
    row = table.iloc[0]
    uses = ", ".join(f"{r['regime']} {r['source']}" for _, r in table.iterrows())
    verdict = ("recommended (the strategy bundle switches)" if row["recommended"] else
               "not recommended (the strategy bundle holds the single choice)")
    return (f"Regime switching (one candidate per regime, chosen on train; switching.parquet): "
            f"{uses}\n"
            f"  validation Sharpe {row['val_sharpe']:.2f} with {int(row['val_trades'])} trades "
            f"against {row.get('rival_val_sharpe', float('nan')):.2f} for the single "
            f"configuration chosen on train ({row.get('rival_source', 'n/a')}; the chosen one's "
            f"{float(chosen['val_sharpe']):.2f} was selected on validation); test Sharpe "
            f"{row['test_sharpe']:.2f} (reported only); {verdict}")
