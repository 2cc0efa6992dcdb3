"""Commands `ml-edge` (the ML-edge gate) and `regimes` (the classifier next to its baselines)."""

from __future__ import annotations

import argparse
import json

from scalper_tune.cli import options
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.values import json_safe
from scalper_tune.engine.backtest_report import write_trades_csv
from scalper_tune.errors import UsageError
from scalper_tune.features.cache import build as build_features


def _cmd_ml_edge(args: argparse.Namespace) -> int:
    from scalper_tune.regime.ml_edge import SIGNAL_RICH, ml_edge, summary
    from scalper_tune.regime.ml_edge_report import render as render_edge

    cfg = options.primary_params(args, SIGNAL_RICH)
    if not 0.0 < args.min_accuracy < 1.0:
        raise UsageError(f"--min-accuracy {args.min_accuracy}: must be between 0 and 1.")
    if args.permutation_test < 0:
        raise UsageError("--permutation-test: must be >= 0.")
    if args.block_days <= 0:
        raise UsageError(f"--block-days {args.block_days}: must be positive.")
    market, features = options.market_and_features(args, int(cfg.params["z_window"]))
    edges, taken = ml_edge(market, features, cfg.params, cfg.costs, cfg.account,
                           args.min_accuracy, args.threshold, args.block_days,
                           permutations=args.permutation_test, seed=args.seed)
    report = summary(edges, taken, cfg.account, args.min_accuracy, args.permutation_test)
    report["params_source"] = options.cfg_source(args)
    if args.trades_out:
        write_trades_csv(taken, args.trades_out)
    print(json.dumps(json_safe(report), indent=2) if args.json else render_edge(report))
    return 0


def _cmd_regimes(args: argparse.Namespace) -> int:
    from scalper_tune.workflow.regime_eval import evaluate_regimes
    from scalper_tune.workflow.regime_eval import render as render_regimes

    if not 1 <= args.splits <= 20:
        raise UsageError(f"--splits {args.splits}: must be between 1 and 20.")
    market = options.data_market(args)
    cache = options.cache_dir(args)
    features = build_features(market, FeatureSpec(), cache).features
    ev = evaluate_regimes(market, features, n_splits=args.splits, seed=args.seed)
    print(json.dumps(json_safe(ev.to_dict()), indent=2) if args.json else
          render_regimes(ev, str(args.data)))
    return 0


def register(commands) -> None:
    """Add the command's parser to `commands` (argparse subparsers)."""
    edge = commands.add_parser(
        "ml-edge", help="meta-labelling gate: trade only assets where a model shows an edge",
        description="For each trade of the primary strategy a classifier predicts, from features "
                    "known at the signal, whether it will be profitable. Per asset, out-of-sample "
                    "accuracy from purged, embargoed walk-forward splits; an asset is traded only "
                    "when it reaches --min-accuracy and beats the majority-class baseline.")
    options.add_run_options(edge)
    edge.add_argument("--min-accuracy", type=float, default=0.65,
                      help="minimum out-of-sample accuracy to trade an asset (default 0.65)")
    edge.add_argument("--threshold", type=float, default=0.5,
                      help="minimum predicted probability of profit to take a trade (default 0.5)")
    edge.add_argument("--block-days", type=float, default=7.0,
                      help="walk-forward block length in days (default 7): block k's model and "
                           "verdict use only trades known before it; the first block only trains")
    edge.add_argument("--permutation-test", type=int, nargs="?", const=200, default=0,
                      metavar="N",
                      help="refit with shuffled training labels N times (200 when N is not "
                           "given) and print each asset's p-value (never below 1/(N+1)); "
                           "tests the model's skill, not the splits")
    edge.add_argument("--run", metavar="RUN_DIR",
                      help="use this run's best_config.yaml as the primary strategy (default: "
                           "--params, else the documented signal-rich set)")
    edge.add_argument("--seed", type=int, default=7, help="model and permutation seed")
    edge.add_argument("--json", action="store_true", help="print the report as JSON")
    edge.set_defaults(func=_cmd_ml_edge)

    reg = commands.add_parser(
        "regimes", help="the regime classifier's accuracy next to its baselines",
        description="Walk-forward balanced accuracy and per-regime recall of the regime "
                    "classifier against the recorded regimes (else labels from realised "
                    "behaviour), next to three baselines in the same splits: the majority class, "
                    "the rule labeller and the classifier on the book columns alone.")
    reg.add_argument("--data", required=True, help="dataset folder (or files to import)")
    reg.add_argument("--splits", type=int, default=5,
                     help="test blocks after the first (training) block (default 5)")
    reg.add_argument("--symbols", help="comma-separated subset of symbols (default all)")
    reg.add_argument("--seed", type=int, default=7, help="model seed (default 7)")
    reg.add_argument("--json", action="store_true", help="print the figures as JSON")
    reg.add_argument("--feature-cache", default="feature_cache",
                     help="feature cache folder (default ./feature_cache)")
    reg.add_argument("--no-cache", action="store_true", help="compute features without caching")
    reg.set_defaults(func=_cmd_regimes)
