"""Is there enough data for the experiment? Checked before any work (and by `check`).

The segments need the features' warm-up, then `walk_forward.folds` train folds of at least
MIN_FOLD_BARS bars each, and validation and test segments of at least MIN_SEGMENT_BARS bars each.
"""

from __future__ import annotations

import math

from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.pipeline_spec import WalkForwardSpec
from scalper_tune.data.market import MarketData
from scalper_tune.errors import DataError
from scalper_tune.robustness.segments import usable_times, warmup_bars

MIN_FOLD_BARS = 500  # bars per train fold (a fold's Sharpe from fewer is noise)
MIN_SEGMENT_BARS = 500  # bars of the validation and of the test segment


def bars_needed(wf: WalkForwardSpec, warmup: int) -> int:
    """The fewest bars (per symbol, on one time axis) an experiment can run on."""
    train = 1.0 - wf.validation - wf.test
    after = max(math.ceil(wf.folds * MIN_FOLD_BARS / train),
                math.ceil(MIN_SEGMENT_BARS / wf.validation), math.ceil(MIN_SEGMENT_BARS / wf.test))
    return warmup + after


def _shape(market: MarketData) -> str:
    lengths = [len(market[s]) for s in market.symbols]
    n = len(lengths)
    size = f"{min(lengths):,}" if min(lengths) == max(lengths) else (
        f"{min(lengths):,}-{max(lengths):,}")
    return f"{n} symbol{'s' if n > 1 else ''} x {size} bars"


def check_enough_data(market: MarketData, wf: WalkForwardSpec, features: FeatureSpec) -> int:
    """Raise a DataError with the numbers and the fix when the data is too short for the
    experiment; returns the warm-up in bars."""
    warmup = warmup_bars(features)
    needed = bars_needed(wf, warmup)
    usable = usable_times(market, warmup).shape[0] if min(
        len(market[s]) for s in market.symbols) > warmup else 0
    if usable + warmup >= needed and usable > 0:
        return warmup
    raise DataError(
        f"{_shape(market)}: too little data for this experiment. {wf.folds} folds of at least "
        f"{MIN_FOLD_BARS} bars, validation {wf.validation:.0%} and test {wf.test:.0%} (at least "
        f"{MIN_SEGMENT_BARS} bars each) need at least {needed:,} bars per symbol after a "
        f"{warmup:,}-bar feature warm-up is included; the data has {usable:,} usable bars after "
        "it. Give more data, or set fewer walk_forward.folds, or shorter features windows "
        "(baseline_window, timeframes).")


def check_steps(market: MarketData, wf: WalkForwardSpec, features: FeatureSpec, steps: int,
                oos: float) -> int:
    """Walk-forward re-optimisation: every history's folds and validation and every step long
    enough (a DataError with the numbers and the fix); returns the warm-up in bars."""
    from scalper_tune.robustness.segments import step_sizes

    warmup = warmup_bars(features)
    n = usable_times(market, warmup).shape[0] if min(
        len(market[s]) for s in market.symbols) > warmup else 0
    size = step_sizes(n, wf, steps, oos)
    fix = ("Give more data, or set fewer reoptimize.steps, a smaller reoptimize.oos or fewer "
           "walk_forward.folds.")
    if size["fold"] < MIN_FOLD_BARS or size["validation"] < MIN_SEGMENT_BARS:
        raise DataError(f"{_shape(market)}: too few bars for {steps} re-optimisation steps: the "
                        f"first history ({size['history']:,} of {n:,} usable bars) gives folds "
                        f"of {size['fold']:,} bars and a validation of {size['validation']:,} "
                        f"(at least {MIN_FOLD_BARS} and {MIN_SEGMENT_BARS} needed). {fix}")
    if size["nominal_step"] < max(size["nominal_fold"], MIN_SEGMENT_BARS):
        raise DataError(f"{_shape(market)}: a re-optimisation step of {size['nominal_step']:,} "
                        f"bars is shorter than one train fold ({size['nominal_fold']:,} bars) or "
                        f"{MIN_SEGMENT_BARS} bars. {fix}")
    return warmup
