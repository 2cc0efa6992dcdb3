"""What several commands share: option groups, the parameters, strategy and market of a
command, --from/--to times."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
import dataclasses
from pathlib import Path

import pandas as pd

from scalper_tune.config import DataSpec
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.params_file import ParamsFile, load_params_file
from scalper_tune.data import load
from scalper_tune.errors import UsageError
from scalper_tune.features.cache import build as build_features


def time_arg(text: str, flag: str) -> int:
    """An ISO 8601 time (UTC when it has no offset) as ns since the epoch."""
    try:
        ts = pd.Timestamp(text)
    except ValueError:
        raise UsageError(f"{flag} {text}: expected an ISO 8601 time, e.g. "
                         "2024-03-01T00:00:00Z.") from None
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.value)


def symbols(args: argparse.Namespace) -> tuple[str, ...]:
    """--symbols a,b,c as a tuple (empty: every symbol)."""
    return tuple(s.strip() for s in (args.symbols or "").split(",") if s.strip())


def cache_dir(args: argparse.Namespace) -> str | None:
    """The feature cache folder (None with --no-cache)."""
    return None if args.no_cache else args.feature_cache


def data_market(args: argparse.Namespace):
    """The market of --data (the --symbols subset)."""
    return load(DataSpec(path=args.data, symbols=symbols(args)))


def market_and_features(args: argparse.Namespace, z_window: int):
    """The market of --data and its default features with `z_window`'s z-score."""
    market = data_market(args)
    base = FeatureSpec()
    spec = dataclasses.replace(base, z_windows=tuple(sorted(set(base.z_windows) | {z_window})))
    return market, build_features(market, spec, cache_dir(args)).features


def account(args: argparse.Namespace, default: float) -> float:
    """--account (checked: positive dollars), else `default`."""
    if args.account is None:
        return default
    if args.account <= 0:
        raise UsageError(f"--account {args.account}: must be a positive number of dollars.")
    return float(args.account)


def params_file(args: argparse.Namespace) -> ParamsFile:
    loaded = load_params_file(args.params) if args.params else ParamsFile()
    return dataclasses.replace(loaded, account=account(args, loaded.account))


@dataclass(frozen=True)
class Inputs:
    """What a command trades, validated once: the parameters, costs and account (`cfg`), the
    market and its features (with the strategy's entry gate), and the strategy bundle (None:
    --params)."""

    cfg: ParamsFile
    market: object
    features: dict
    strategy: object = None

    @property
    def switching(self):
        """A switching strategy's per-regime sets (None: one parameter set)."""
        return None if self.strategy is None else self.strategy.switching


def strategy_inputs(args: argparse.Namespace) -> Inputs:
    """--strategy DIR: the strategy, its ParamsFile, the market of its symbols and the features
    of its settings with its entry gate, for backtest, paper and stress."""
    from scalper_tune.strategy import load_strategy

    if args.params:
        raise UsageError("give --strategy or --params, not both: the strategy holds its "
                         "parameters.")
    if args.symbols:
        raise UsageError("--symbols: a strategy trades the symbols it was tuned on (its gate is "
                         "fitted across them); drop --symbols.")
    strategy = load_strategy(args.strategy)
    market, features = strategy.inputs(load(DataSpec(path=args.data)), cache_dir(args),
                                       args.data)
    cfg = ParamsFile(params=dict(strategy.params), costs=strategy.costs,
                     account=account(args, strategy.account))
    return Inputs(cfg, market, features, strategy)


def inputs(args: argparse.Namespace) -> Inputs:
    """--strategy, else --params and the default features; then the --from/--to window
    (features from all data before it)."""
    from scalper_tune.strategy import window

    if getattr(args, "strategy", None):
        x = strategy_inputs(args)
    else:
        cfg = params_file(args)
        x = Inputs(cfg, *market_and_features(args, int(cfg.params["z_window"])))
    start = time_arg(args.start, "--from") if getattr(args, "start", None) else None
    stop = time_arg(args.stop, "--to") if getattr(args, "stop", None) else None
    market, features = window(x.market, x.features, start, stop)
    if not any(len(market[s]) for s in market.symbols):
        raise UsageError(f"--from/--to: no bars of {args.data} in that window.")
    return Inputs(x.cfg, market, features, x.strategy)


def cfg_source(args: argparse.Namespace) -> str:
    if args.params:
        return str(args.params)
    if getattr(args, "run", None):
        return f"{args.run}/best_config.yaml"
    return "the documented signal-rich set (SIGNAL_RICH)"


def primary_params(args: argparse.Namespace, fallback: dict) -> ParamsFile:
    """--params, else the best_config.yaml of --run RUN_DIR, else `fallback`."""
    if args.params:
        return params_file(args)
    if getattr(args, "run", None):
        path = Path(args.run) / "best_config.yaml"
        if not path.is_file():
            raise UsageError(f"--run {args.run}: no best_config.yaml there (a run that judged "
                             "nothing writes none). Give --params FILE or another run folder.")
        loaded = load_params_file(path)
    else:
        loaded = ParamsFile(params=dict(fallback))
    return dataclasses.replace(loaded, account=account(args, loaded.account))


def add_run_options(cmd: argparse.ArgumentParser, strategy: bool = False) -> None:
    cmd.add_argument("--data", required=True, help="dataset folder (or files to import)")
    if strategy:
        cmd.add_argument("--strategy", metavar="DIR",
                         help="a run's strategy bundle (runs/<exp>/<id>/strategy): its "
                              "parameters, costs, feature settings and entry gate, applied as "
                              "the run scored them")
    cmd.add_argument("--params", help="parameter file (see examples/params.yaml); default: the "
                                      "documented defaults")
    cmd.add_argument("--symbols", help="comma-separated subset of symbols (default all)")
    cmd.add_argument("--account", type=float, help="account value in $ (default: the params "
                                                   "file's, else 1000)")
    cmd.add_argument("--trades-out", metavar="FILE.csv", help="write the trades to this CSV")
    cmd.add_argument("--feature-cache", default="feature_cache",
                     help="feature cache folder (default ./feature_cache)")
    cmd.add_argument("--no-cache", action="store_true", help="compute features without caching")

