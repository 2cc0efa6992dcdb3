"""Command `audit`: prove features, trades, regime labels and the entry mask causal."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
import dataclasses

from scalper_tune.cli import options
from scalper_tune.config import DataSpec, load_experiment
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.params_file import ParamsFile
from scalper_tune.data import load
from scalper_tune.errors import UsageError
from scalper_tune.features.feature_audit import load_user_feature
from scalper_tune.features.feature_audit import render as render_audit


@dataclass(frozen=True)
class AuditInputs:
    """What `audit` checks: the market, its feature settings, the gate (None: no regime
    labels or mask to check) and the parameters of the engine check."""

    market: object
    features: FeatureSpec
    gate: object
    cfg: ParamsFile
    source: str


def _inputs(args: argparse.Namespace) -> AuditInputs:
    """--strategy (its data, features, gate, parameters), else --experiment and/or --data."""
    if args.cuts < 1:
        raise UsageError(f"--cuts {args.cuts}: must be at least 1.")
    if args.strategy:
        from scalper_tune.strategy import check_market, load_strategy

        if args.experiment or args.params or not args.data:
            raise UsageError("audit --strategy DIR needs --data DIR and neither --experiment nor "
                             "--params: the strategy holds its settings and parameters.")
        strategy = load_strategy(args.strategy)
        market = check_market(strategy, load(DataSpec(path=args.data)), args.data)
        cfg = ParamsFile(params=dict(strategy.params), costs=strategy.costs,
                         account=strategy.account)
        return AuditInputs(market, strategy.features, strategy.gate, cfg, args.data)
    exp = load_experiment(args.experiment).experiment if args.experiment else None
    if args.data:
        data = DataSpec(path=args.data, symbols=options.symbols(args))
    elif exp is not None:
        data = dataclasses.replace(exp.data, symbols=options.symbols(args) or exp.data.symbols)
    else:
        raise UsageError("audit: give --data DIR or --experiment EXP.yaml (its data).")
    from scalper_tune.regime.ml_edge import SIGNAL_RICH

    # the engine check compares trades: by default the signal-rich set, which makes many
    cfg = options.primary_params(args, SIGNAL_RICH)
    if exp is not None and not args.params:
        cfg = dataclasses.replace(cfg, costs=exp.costs)
    return AuditInputs(load(data), exp.features if exp is not None else FeatureSpec(),
                       exp.gate if exp is not None else None, cfg,
                       args.data or f"the data of {args.experiment}")


def _cmd_audit(args: argparse.Namespace) -> int:
    from scalper_tune.workflow.gate_audit import audit_all

    x = _inputs(args)
    user = dict(load_user_feature(spec) for spec in args.feature)
    rows = audit_all(x.market, x.features, user, None if args.no_engine else x.cfg, x.gate,
                     args.cuts, args.seed)
    print(f"causality audit of {x.source}: {len(x.market.symbols)} symbol(s), {args.cuts} "
          f"cut(s), seed {args.seed}")
    print(render_audit(rows))
    engine = next((r for r in rows if r.feature == "engine trades"), None)
    if engine is not None and engine.detail.startswith("0 trades"):
        raise UsageError("nothing to check: the parameters make no trades before any cut; give "
                         "--params or more data.")
    return 4 if any(r.violations for r in rows) else 0


def register(commands) -> None:
    """Add the command's parser to `commands` (argparse subparsers)."""
    aud = commands.add_parser(
        "audit", help="prove features are causal (exit 4 on look-ahead)",
        description="Recompute every built-in feature (and each --feature) on the data truncated "
                    "at random cut times and compare with the full-data values before the cut. "
                    "Exit 4 if any feature looks ahead, 0 if none.")
    aud.add_argument("--data", help="dataset folder (or files to import); default: the data of "
                                     "--experiment")
    aud.add_argument("--experiment", metavar="EXP.yaml",
                     help="use this experiment's feature settings, costs and data, and also "
                          "check its regime labels and entry mask (regime filter, ML gate)")
    aud.add_argument("--strategy", metavar="DIR",
                     help="a run's strategy bundle: its feature settings, parameters and entry "
                          "gate (regime labels, entry mask) are audited on --data")
    aud.add_argument("--feature", action="append", default=[], metavar="MODULE:FUNCTION",
                     help="a user feature importable from the current folder: takes a mapping of "
                          "column arrays (ts, open, high, low, close, volume, book columns) and "
                          "returns one float per bar; repeatable")
    aud.add_argument("--cuts", type=int, default=20, help="random cut points (default 20)")
    aud.add_argument("--seed", type=int, default=7, help="seed of the cut points (default 7)")
    aud.add_argument("--symbols", help="comma-separated subset of symbols (default all)")
    aud.add_argument("--params", help="parameter file for the engine check (default: the "
                                      "signal-rich set, which trades often)")
    aud.add_argument("--no-engine", action="store_true",
                     help="check features only, not the backtest's trades")
    aud.set_defaults(account=None, run=None)
    aud.set_defaults(func=_cmd_audit)
