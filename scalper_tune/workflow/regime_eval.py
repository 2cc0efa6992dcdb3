"""How good is the regime classifier, next to what it would be without skill (`regimes` command).

In the same purged walk-forward splits as the classifier: the majority class of the training
labels, the causal rule labeller (robustness/rule_labels.py), and the same classifier restricted to
the book columns (spread, depth, imbalance): if the book alone scores like the classifier, the
regimes are read off the book, not learnt. Labels: the recorded truth where the data has it
(the synthetic market), else labels from realised future behaviour (walkforward.future_labels).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
from sklearn.metrics import balanced_accuracy_score, recall_score

from scalper_tune.features import Features
from scalper_tune.config.pipeline_spec import REGIMES
from scalper_tune.data.market import MarketData
from scalper_tune.regime.features import BOOK_COLUMNS, NAMES
from scalper_tune.regime.walkforward import RegimeReport, walk_forward_regimes
from scalper_tune.robustness.rule_labels import market_labels



@dataclass(frozen=True)
class RegimeEvaluation:
    """Out-of-sample figures over the test blocks (balanced accuracies are fractions)."""

    balanced_accuracy: float
    recall: Mapping[str, float]
    baselines: Mapping[str, float]
    labels: str  # "truth" or "realised"
    bars: int  # bars scored (all symbols, all test blocks)
    per_fold: list[float] = field(default_factory=list)
    # per named segment (train, validation, test): the classifier's and the baselines' balanced
    # accuracy over the scored bars inside it, and their count
    by_segment: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"balanced_accuracy": self.balanced_accuracy, "recall": dict(self.recall),
                "baselines": dict(self.baselines), "labels": self.labels, "bars": self.bars,
                "per_fold": list(self.per_fold),
                "by_segment": {k: dict(v) for k, v in self.by_segment.items()}}


def _score(truth: np.ndarray, guess: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return float(balanced_accuracy_score(truth, guess))


def evaluate_regimes(market: MarketData, features: Features, n_splits: int | None = 5,
                     seed: int = 7, block_days: float | None = None,
                     full: RegimeReport | None = None,
                     segments: Mapping[str, tuple[int, int]] | None = None) -> RegimeEvaluation:
    """The classifier's walk-forward balanced accuracy and per-regime recall, with the three
    baselines in the same test blocks (`n_splits` + 1 equal blocks, or fixed blocks of
    `block_days`; `full`: the classifier's report when it was run already, with keep_truth);
    with `segments` (name -> [start, stop) ns) also per segment (`by_segment`), since the
    pooled figure mixes the train, validation and test blocks."""
    full = full or walk_forward_regimes(market, features, n_splits=n_splits, seed=seed,
                                        keep_truth=True, block_days=block_days)
    book = walk_forward_regimes(market, features, n_splits=n_splits, seed=seed,
                                columns=[NAMES.index(c) for c in BOOK_COLUMNS], keep_truth=True,
                                block_days=block_days)
    rules = market_labels(market, features)
    truth, guess, book_guess, rule_guess, majority, times = [], [], [], [], [], []
    for s in market.symbols:
        scored = (full.predictions[s] >= 0) & (full.truth[s] >= 0)
        times.append(market[s].ts[scored])
        truth.append(full.truth[s][scored])
        guess.append(full.predictions[s][scored])
        book_guess.append(book.predictions[s][scored])
        rule_guess.append(rules[s][scored].astype(np.int64))
        majority.append(full.majority[s][scored])
    t = np.concatenate(truth)
    if t.size == 0:  # too little data for a test block: nothing scored
        nan = float("nan")
        return RegimeEvaluation(nan, {}, {"majority": nan, "rules": nan, "book_only": nan},
                                "truth" if full.supervised else "realised", 0, [])
    labels = sorted(int(v) for v in np.unique(t))
    recalls = recall_score(t, np.concatenate(guess), labels=labels, average=None,
                           zero_division=0)
    ts = np.concatenate(times)
    guesses = {"classifier": np.concatenate(guess), "majority": np.concatenate(majority),
               "rules": np.concatenate(rule_guess), "book_only": np.concatenate(book_guess)}
    by_segment = {}
    for name, (a, b) in (segments or {}).items():
        inside = (ts >= a) & (ts < b)
        by_segment[name] = dict({k: (_score(t[inside], g[inside]) if inside.any()
                                     else float("nan")) for k, g in guesses.items()},
                                bars=int(inside.sum()))
    return RegimeEvaluation(
        balanced_accuracy=_score(t, np.concatenate(guess)),
        recall={REGIMES[k]: float(r) for k, r in zip(labels, recalls)},
        baselines={"majority": _score(t, np.concatenate(majority)),
                   "rules": _score(t, np.concatenate(rule_guess)),
                   "book_only": _score(t, np.concatenate(book_guess))},
        labels="truth" if full.supervised else "realised", bars=int(t.shape[0]),
        per_fold=list(full.per_fold), by_segment=by_segment)


def render(ev: RegimeEvaluation, name: str) -> str:
    against = "the recorded truth" if ev.labels == "truth" else "labels from realised behaviour"
    lines = [f"regime classifier on {name}: walk-forward, out of sample, {ev.bars:,} bars scored "
             f"against {against}",
             f"  {'classifier (all inputs)':<28}{ev.balanced_accuracy:>8.1%}  balanced accuracy"]
    names = {"majority": "baseline: majority class", "rules": "baseline: rule labeller",
             "book_only": "baseline: book columns only"}
    for key, label in names.items():
        lines.append(f"  {label:<28}{ev.baselines[key]:>8.1%}")
    lines.append("  recall: " + ", ".join(f"{k} {v:.0%}" for k, v in ev.recall.items()))
    return "\n".join(lines)
