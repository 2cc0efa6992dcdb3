"""Command `stress`: Phase 3's scenarios on one configuration."""

from __future__ import annotations

import argparse
import dataclasses
import json

from scalper_tune.cli import options
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.values import json_safe
from scalper_tune.data.validate import format_ts
from scalper_tune.errors import UsageError
from scalper_tune.features.cache import build as build_features
from scalper_tune.workflow.run_summary import render_stress


def _cmd_stress(args: argparse.Namespace) -> int:
    from scalper_tune.config.pipeline_spec import StressSpec
    from scalper_tune.engine.inputs import REGIME_LABEL
    from scalper_tune.robustness.rule_labels import market_labels
    from scalper_tune.robustness.segments import usable_times, warmup_bars
    from scalper_tune.workflow.stress import build_scenarios, run_stress

    block: tuple[int, ...] = ()
    stress_spec = StressSpec()
    if args.strategy:  # the bundle's features, gate and stress settings, as Phase 3 ran them
        strategy, cfg, market, features = options.strategy_inputs(args)
        spec, stress_spec = strategy.features, strategy.stress
        block = strategy.gate.blocked
        what = f"the strategy {args.strategy}"
    else:
        cfg = options.params_file(args)
        market = options.data_market(args)
        base = FeatureSpec()
        spec = dataclasses.replace(base, z_windows=tuple(sorted(
            set(base.z_windows) | {int(cfg.params["z_window"])})))
        cache = options.cache_dir(args)
        features = build_features(market, spec, cache).features
        labels = market_labels(market, features)
        features = {s: dict(features[s], **{REGIME_LABEL: labels[s].astype(float)})
                    for s in market.symbols}
        what = args.params or "the default parameters"
    times = usable_times(market, warmup_bars(spec))
    if times.shape[0] < 2:
        raise UsageError(f"--data {args.data}: too short for the {warmup_bars(spec):,}-bar "
                         "feature warm-up.")
    start = options.time_arg(args.start, "--from") if args.start else int(times[0])
    stop = options.time_arg(args.stop, "--to") if args.stop else int(times[-1]) + 1
    scenarios = build_scenarios(market, features, start, stop, spec, block)
    switching = strategy.switching if args.strategy else None
    rows = run_stress(scenarios, cfg.params, cfg.costs, cfg.account, stress_spec, switching)
    if args.json:
        print(json.dumps(json_safe({"scenarios": rows, "window": {
            "start": format_ts(start), "end": format_ts(stop)}}), indent=2))
    else:
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
