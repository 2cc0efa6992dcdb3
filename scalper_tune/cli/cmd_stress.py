"""Command `stress`: Phase 3's scenarios on one configuration."""

from __future__ import annotations

import argparse
import dataclasses
import json

from scalper_tune.cli import options
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.values import json_safe
from scalper_tune.data.validate import format_ts
from scalper_tune.features.cache import build as build_features
from scalper_tune.workflow.run_summary import render_stress


def _labelled_inputs(args: argparse.Namespace):
    """--params on --data: (its ParamsFile, market, the default features with its z-window and
    the rule labeller's regime labels, their FeatureSpec)."""
    from scalper_tune.engine.inputs import REGIME_LABEL
    from scalper_tune.robustness.rule_labels import market_labels

    cfg = options.params_file(args)
    market = options.data_market(args)
    base = FeatureSpec()
    spec = dataclasses.replace(base, z_windows=tuple(sorted(
        set(base.z_windows) | {int(cfg.params["z_window"])})))
    features = build_features(market, spec, options.cache_dir(args)).features
    labels = market_labels(market, features)
    return cfg, market, {s: dict(features[s], **{REGIME_LABEL: labels[s].astype(float)})
                         for s in market.symbols}, spec


def _cmd_stress(args: argparse.Namespace) -> int:
    from scalper_tune.config.pipeline_spec import StressSpec
    from scalper_tune.workflow.stress import stress_window

    strategy = None
    if args.strategy:  # the bundle's features, gate and stress settings, as Phase 3 ran them
        x = options.strategy_inputs(args)
        strategy, cfg, market, features = x.strategy, x.cfg, x.market, x.features
        spec, stress, block = strategy.features, strategy.stress, strategy.gate.blocked
    else:
        cfg, market, features, spec = _labelled_inputs(args)
        stress, block = StressSpec(), ()
    start = options.time_arg(args.start, "--from") if args.start else None
    stop = options.time_arg(args.stop, "--to") if args.stop else None
    rows, start, stop = stress_window(market, features, spec, cfg.params, cfg.costs, cfg.account,
                                      stress, block, start, stop,
                                      strategy.switching if strategy else None)
    if args.json:
        print(json.dumps(json_safe({"scenarios": rows, "window": {
            "start": format_ts(start), "end": format_ts(stop)}}), indent=2))
    else:
        what = f"the strategy {args.strategy}" if strategy else (args.params or
                                                                 "the default parameters")
        print(f"stress scenarios of {what} on {args.data} "
              f"from {format_ts(start)[:19]} to {format_ts(stop)[:19]} UTC")
        print(render_stress(rows))
    return 0


def register(commands) -> None:
    """Add the command's parser to `commands` (argparse subparsers)."""
    stress = commands.add_parser(
        "stress", help="stress scenarios of one parameter set (Phase 3's table)",
        description="Run every stress scenario on one configuration, a tuned one or a hand-picked "
                    "one: a 2022-style crash (synthetic data: another seed; real data: a crash "
                    "overlay on the window), fees x2, spreads x3, latency +2 events, the best "
                    "asset removed; with Phase 3's pass/fail verdict and reason.")
    options.add_run_options(stress, strategy=True)
    stress.add_argument("--from", dest="start", metavar="ISO",
                        help="first bar time to evaluate (default: after the feature warm-up)")
    stress.add_argument("--to", dest="stop", metavar="ISO",
                        help="end of the evaluated window, exclusive (default: the data's end)")
    stress.add_argument("--json", action="store_true", help="print the table as JSON")
    stress.set_defaults(func=_cmd_stress)
