"""The tuning pipeline's sections of an experiment YAML (all optional, documented defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field

REGIMES = ("calm", "trending", "volatile", "toxic", "crash")


@dataclass(frozen=True)
class WalkForwardSpec:
    """The time axis after the feature warm-up, cut in three segments, in this order:
    train (cut into `folds` contiguous folds: Phase 1 and refinement see only these),
    `validation` (a fraction of the bars: Phase 2 ranks on train + validation, Phase 3 and the
    choice use validation only) and `test` (the last fraction: evaluated once, after the choice,
    and only reported). folds: even, 4-32 (also the CSCV partitions of the PBO)."""

    folds: int = 8
    validation: float = 0.2
    test: float = 0.2
    holdout: float | None = None  # replaced by validation and test; refused with a hint

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if self.holdout is not None:
            out.append(("holdout", "was split into walk_forward.validation (ranks and chooses) "
                                   "and walk_forward.test (reported only); set those instead"))
        if self.folds < 4 or self.folds % 2 or self.folds > 32:
            out.append(("folds", f"must be an even number from 4 to 32, got {self.folds}"))
        for key in ("validation", "test"):
            if not 0.05 <= getattr(self, key) <= 0.4:
                out.append((key, f"must be between 0.05 and 0.4, got {getattr(self, key)}"))
        if self.validation + self.test > 0.6:
            out.append(("test", "validation + test must leave at least 40 % of the bars to train "
                                f"on, got {self.validation + self.test:g}"))
        return out


REOPTIMIZE_MODES = ("rolling", "anchored")


@dataclass(frozen=True)
class ReoptimizeSpec:
    """Walk-forward re-optimisation: the bars after the feature warm-up are cut into a first
    history and `steps` equal out-of-sample steps (`oos`: the fraction of the bars the steps hold
    together). For step k the whole chain (Phase 1, refinement, Phase 2, Phase 3, the choice,
    the switcher) runs on the bars before step k, cut into train folds and validation as
    walk_forward says (its `test` is not used: step k is the test); the choice then trades step
    k from flat. mode: `rolling` (a history of fixed length before each step) or `anchored`
    (all bars before the step). size_for_stress: each step's choice trades at the largest
    position scale at which its stress scenarios stay within stress.max_drawdown
    (workflow/stress_sizing.py); false: at the size it was tuned at."""

    steps: int = 6
    mode: str = "rolling"
    oos: float = 0.5
    size_for_stress: bool = True

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if self.steps < 2:
            out.append(("steps", f"must be at least 2 (one step is the single chain), got "
                                  f"{self.steps}"))
        if self.mode not in REOPTIMIZE_MODES:
            out.append(("mode", f"must be rolling or anchored, got {self.mode!r}"))
        if not 0.1 <= self.oos <= 0.8:
            out.append(("oos", f"must be between 0.1 and 0.8, got {self.oos}"))
        return out


@dataclass(frozen=True)
class Phase1Spec:
    """chunk_size: combinations per Tune trial (a slice of a fixed shuffle of the grid, so chunks
    take about the same time: workflow/screen.chunk_members; on many trial slots keep at least
    3 chunks per slot);
    keep_top: combinations the event engine confirms;
    device: where the screen's kernel runs: "cpu", "gpu" (numba.cuda; an error without one) or
    "auto" (the GPU when one is usable, else the CPU); gpus_per_trial: the GPU share a Phase 1
    trial reserves on a GPU device (fractions let several trials share one GPU)."""

    chunk_size: int = 1024
    keep_top: int = 50
    device: str = "auto"
    gpus_per_trial: float = 1.0

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if not 1 <= self.chunk_size <= 100_000:
            out.append(("chunk_size", f"must be between 1 and 100000, got {self.chunk_size}"))
        if not 1 <= self.keep_top <= 10_000:
            out.append(("keep_top", f"must be between 1 and 10000, got {self.keep_top}"))
        if self.device not in ("auto", "cpu", "gpu"):
            out.append(("device", f"must be auto, cpu or gpu, got {self.device!r}"))
        if not 0.0 < self.gpus_per_trial <= 8.0:
            out.append(("gpus_per_trial", f"must be in (0, 8], got {self.gpus_per_trial}"))
        return out


@dataclass(frozen=True)
class RefineSpec:
    """Optuna TPE (seeded) + ASHA over the search space's refine ranges; trials: configurations;
    the rungs are the walk-forward folds."""

    enabled: bool = True
    trials: int = 40
    grace_folds: int = 2
    reduction_factor: int = 2

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if not 1 <= self.trials <= 100_000:
            out.append(("trials", f"must be between 1 and 100000, got {self.trials}"))
        if self.grace_folds < 1:
            out.append(("grace_folds", f"must be >= 1, got {self.grace_folds}"))
        if self.reduction_factor < 2:
            out.append(("reduction_factor", f"must be >= 2, got {self.reduction_factor}"))
        return out


@dataclass(frozen=True)
class FilterSpec:
    """The seed's filters: Sharpe above min_sharpe, drawdown below max_drawdown (fraction of the
    peak), at least min_trades closed trades. A screen on train in Phase 1 (the prefilter's
    per-sleeve figures), the verdict on validation for the finalists (event engine, portfolio);
    min_trades is also what makes a cell or trial judgeable at all."""

    min_sharpe: float = 2.5
    max_drawdown: float = 0.15
    min_trades: int = 30


@dataclass(frozen=True)
class RobustnessSpec:
    """regime_weights: weight of each regime's Sharpe in the score; min_regime_sharpe: the floor
    below which the worst regime costs a penalty; candidates: how many go to Phase 2;
    finalists: how many go to Phase 3."""

    regime_weights: dict[str, float] = field(default_factory=lambda: {
        "calm": 1.0, "trending": 1.0, "volatile": 1.0, "toxic": 0.5, "crash": 1.0})
    min_regime_sharpe: float = -1.0
    candidates: int = 20
    finalists: int = 5

    def problems(self) -> list[tuple[str, str]]:
        out = []
        for name, w in self.regime_weights.items():
            if name not in REGIMES:
                out.append(("regime_weights", f"unknown regime {name!r}; use {', '.join(REGIMES)}"))
            elif w < 0:
                out.append(("regime_weights", f"{name}: weight must be >= 0, got {w}"))
        if not sum(self.regime_weights.values()) > 0:
            out.append(("regime_weights", "at least one weight must be positive"))
        if self.finalists > self.candidates or self.finalists < 1:
            out.append(("finalists", f"must be between 1 and candidates ({self.candidates})"))
        return out


@dataclass(frozen=True)
class StressSpec:
    """Phase 3 scenarios: the 2022 crash (synthetic data only), fees x fee_mult, spreads x
    spread_mult, latency + latency_add events, the best asset removed. A finalist passes a
    scenario when its Sharpe stays >= min_sharpe and its drawdown <= max_drawdown."""

    enabled: bool = True
    fee_mult: float = 2.0
    spread_mult: float = 3.0
    latency_add: int = 2
    min_sharpe: float = 0.0
    max_drawdown: float = 0.3


@dataclass(frozen=True)
class SelectionSpec:
    """prior_trials: configurations tried before this experiment (earlier scans of the same
    idea); they count in the Deflated Sharpe Ratio's number of trials."""

    prior_trials: int = 0

    def problems(self) -> list[tuple[str, str]]:
        if self.prior_trials < 0:
            return [("prior_trials", f"must be >= 0, got {self.prior_trials}")]
        return []


@dataclass(frozen=True)
class RaySpec:
    """address: an existing cluster (None: a local Ray); cpus_per_trial: Numba threads per trial;
    max_concurrent: Phase 1 trials at once (None: as many as CPUs allow); max_failures: retries
    of a failed trial (FailureConfig)."""

    address: str | None = None
    cpus_per_trial: int = 1
    max_concurrent: int | None = None
    max_failures: int = 2


@dataclass(frozen=True)
class RegimeSpec:
    """classifier: label regimes with the walk-forward scikit-learn classifier (else the causal
    rule labeller); filter: no entries where the predicted regime is in `block`; block_days:
    the classifier's walk-forward blocks (days from the data's first bar; the first block only
    trains; fixed blocks, so labels never depend on how much data follows). ml_gate: also gate
    entries with the meta-labelling model fitted on the trades of the documented signal-rich
    parameters (the primary strategy), walk forward in blocks of gate_block_days: in each block
    an asset trades only if the out-of-sample accuracy of the trades known before it reaches
    gate_min_accuracy and beats their baseline, and only on bars whose P(profit) reaches
    gate_threshold."""

    classifier: bool = True
    filter: bool = True
    block: tuple[str, ...] = ("toxic",)
    block_days: float = 14.0
    ml_gate: bool = False
    gate_min_accuracy: float = 0.65
    gate_threshold: float = 0.5
    gate_block_days: float = 7.0
    splits: int | None = None  # replaced by block_days; refused with a hint

    def problems(self) -> list[tuple[str, str]]:
        out = [("block", f"unknown regime {b!r}; use {', '.join(REGIMES)}")
               for b in self.block if b not in REGIMES]
        if self.splits is not None:
            out.append(("splits", "was replaced by regime.block_days (fixed walk-forward blocks "
                                  "in days, so labels never depend on data that follows)"))
        for key in ("block_days", "gate_block_days"):
            if not 0.01 <= getattr(self, key) <= 3650:
                out.append((key, f"must be between 0.01 and 3650 days, got {getattr(self, key)}"))
        return out
