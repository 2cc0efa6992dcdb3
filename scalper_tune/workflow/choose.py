"""The choice and what is reported of it.

The chosen configuration is the best-ranked finalist (Phase 2 robustness, train + validation)
that passes every stress scenario and the seed's filters on validation; else the best that
passes the stress scenarios; else the best-ranked. The test segment is evaluated only after that
choice is fixed, for the finalists (the chosen one among them), and only reported
(`best_config.yaml` `meta.test`, `test.parquet`): nothing that chooses reads it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping

import numpy as np
import pandas as pd

from scalper_tune.config.experiment import Experiment
from scalper_tune.robustness.segments import Segments
from scalper_tune.workflow.screen import row_params

SCHEMA_VERSION = 1


def finalists(phase2: pd.DataFrame, n: int) -> pd.DataFrame:
    """The best `n` (robustness.finalists) judged candidates."""
    judged = phase2[np.isfinite(phase2["robustness"].to_numpy(dtype=float))]
    return judged.head(n)


def choose(phase2: pd.DataFrame, phase3: pd.DataFrame, exp: Experiment) -> tuple[pd.Series, bool]:
    """(the chosen Phase 2 row, whether it passes every stress scenario)."""
    top = finalists(phase2, exp.robustness.finalists)
    if phase3.empty:
        return top.iloc[0], False
    passing = phase3.groupby("index")["passed"].all()
    stress_ok = top["index"].map(passing).fillna(False).astype(bool)
    for pick in (top[stress_ok & top["passes_filters"].astype(bool)], top[stress_ok]):
        if not pick.empty:
            return pick.iloc[0], True
    return top.iloc[0], False


def figures(row: Mapping, prefix: str) -> dict:
    """{sharpe, return, max_drawdown, trades} of a segment (None where undefined)."""
    return {"sharpe": _f(row[f"{prefix}_sharpe"]), "return": _f(row[f"{prefix}_return"]),
            "max_drawdown": _f(row[f"{prefix}_max_dd_pct"]),
            "trades": int(row[f"{prefix}_trades"])}


def best_config(chosen: pd.Series, passes_stress: bool, test: Mapping, exp: Experiment,
                segments: Segments) -> dict:
    """The content of best_config.yaml: loadable by `backtest --params` and `paper --params`;
    every figure in `meta` names its segment."""
    return {
        "schema_version": SCHEMA_VERSION,
        "params": row_params(chosen),
        "costs": dataclasses.asdict(exp.costs),
        "account": exp.account,
        "meta": {
            "experiment": exp.name, "source": chosen["source"],
            "robustness": _f(chosen["robustness"]), "robustness_segments": "train + validation",
            "dsr": _f(chosen["dsr"]), "dsr_segment": "train",
            "dsr_statistic": "the prefilter screen's pooled per-bar Sharpe (as for every trial)",
            "n_trials": int(chosen["n_trials"]), "n_effective": int(chosen["n_effective"]),
            "dsr_observations": {"pooled_sleeve_bars": int(chosen["n_obs"]),
                                 "effective": int(chosen.get("n_obs_effective", chosen["n_obs"])),
                                 "rule": "pooled sleeve-bars x S_eff / S (the participation "
                                         "ratio of the sleeves' return correlations)"},
            "pbo": _f(chosen["pbo"]), "pbo_rule": chosen["pbo_rule"],
            "passes_filters": bool(chosen["passes_filters"]), "filters_segment": "validation",
            "filters_min_trades": int(chosen.get("val_min_trades", exp.filters.min_trades)),
            "passes_stress": bool(passes_stress), "stress_segment": "validation",
            "segments": segments.iso(),
            "train": figures(chosen, "train"),
            "validation": figures(chosen, "val"),
            "test": dict(test),
        },
    }


def _f(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


