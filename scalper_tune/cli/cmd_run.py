"""Commands `run` (the tuning pipeline) and `check` (an experiment, before running it)."""

from __future__ import annotations

import argparse

from scalper_tune.config import load_experiment
from scalper_tune.data import load
from scalper_tune.data.dataset_store import check_writable
from scalper_tune.errors import UsageError


def _cmd_check(args: argparse.Namespace) -> int:
    from scalper_tune.robustness.data_check import bars_needed
    from scalper_tune.workflow.prepare import check, feature_spec, refine_windows

    loaded = load_experiment(args.experiment)
    exp, space = loaded.experiment, loaded.space
    data = exp.data
    source = (f"synthetic ({data.synthetic.assets} assets x {data.synthetic.bars:,} bars of "
              f"{data.synthetic.bar_seconds} s, crash {data.synthetic.crash})"
              if data.synthetic else f"{data.path} (format {data.format})")
    market = load(data)  # the data is reachable (a missing path fails in load_experiment)
    warmup = check(exp, market, refine_windows(space))  # too little data: DataError, exit 3
    needed = bars_needed(exp.walk_forward, warmup)
    spec = feature_spec(exp.features, refine_windows(space))
    print(f"{loaded.path}: ok")
    print(f"  experiment   {exp.name} (seed {exp.seed})")
    print(f"  data         {source}: {len(market.symbols)} symbols, "
          f"{min(len(market[s]) for s in market.symbols):,} bars or more (needs {needed:,}: a "
          f"{warmup:,}-bar warm-up for windows up to {max(spec.z_windows)} and baselines of "
          f"{spec.baseline_window} x {max(spec.timeframes)} bars, then {exp.walk_forward.folds} "
          f"folds, validation {exp.walk_forward.validation:.0%}, test {exp.walk_forward.test:.0%})")
    print(f"  search space {space.path}: grid of {space.grid_size:,} combinations over "
          f"{', '.join(space.grid)}; refine {', '.join(space.refine) or 'nothing'}")
    if exp.reoptimize is not None:
        print("  " + _steps_line(exp, market, warmup))
    return 0


def _steps_line(exp, market, warmup: int) -> str:
    """What walk-forward re-optimisation will cut the data into."""
    from scalper_tune.robustness.segments import step_sizes, usable_times

    r = exp.reoptimize
    size = step_sizes(usable_times(market, warmup).shape[0], exp.walk_forward, r.steps, r.oos)
    history = "each" if r.mode == "rolling" else "the first"
    s = size["folds_per_step"]
    return (f"walk-forward {r.steps} steps ({r.mode}) of {size['step']:,} bars ({s} fold"
            f"{'s' if s > 1 else ''} each; asked {size['nominal_step']:,}), {history} history "
            f"{size['history']:,} bars: {exp.walk_forward.folds} folds of {size['fold']:,} and a "
            f"validation of {size['validation']:,}, the folds on one grid so each is screened "
            f"once; the first {size['skip']:,} usable bars are skipped (walk_forward.test is "
            "not used: each step is its test)")


def _cmd_run(args: argparse.Namespace) -> int:
    from scalper_tune.workflow.prepare import check, refine_windows

    loaded = load_experiment(args.experiment)
    resume = args.resume if args.resume not in (None, "latest") else (args.resume == "latest")
    market = None
    if not resume:  # bad data, too little of it, an unwritable runs folder: before Ray starts
        exp = loaded.experiment
        market = load(exp.data)
        check(exp, market, refine_windows(loaded.space))
        check_writable(exp.output.runs_dir, "output.runs_dir")
    if args.executor == "local" and args.address:
        raise UsageError("--address: the local executor runs without Ray; drop --address or "
                         "use --executor ray.")
    from scalper_tune.tune.launch import run_experiment

    run_experiment(loaded, resume=resume or None, address=args.address, verbose=args.verbose,
                   market=market, executor=args.executor)
    return 0


def register(commands) -> None:
    """Add the command's parser to `commands` (argparse subparsers)."""
    run = commands.add_parser(
        "run", help="run the tuning pipeline of an experiment (the main job)",
        description="Phase 1 grid screen, Optuna+ASHA refinement, Phase 2 robustness and Phase 3 "
                    "stress as Ray Tune experiments; tables, best_config.yaml and MLflow runs.")
    run.add_argument("experiment", help="experiment YAML, e.g. experiments/grid.yaml")
    run.add_argument("--resume", nargs="?", const="latest", default=None, metavar="RUN_DIR",
                     help="continue the latest (or the named) run of this experiment")
    run.add_argument("--address", help="address of an existing Ray cluster (default: local Ray)")
    run.add_argument("--executor", choices=("ray", "local"), default="ray",
                     help="ray: phases as Ray Tune trials (default; clusters, node failures); "
                          "local: in this process without Ray (one machine, same results)")
    run.add_argument("--verbose", action="store_true", help="show Ray Tune's own output")
    run.set_defaults(func=_cmd_run)

    check = commands.add_parser("check", help="validate an experiment YAML and its search space",
                                description="Validate an experiment YAML file and the search "
                                            "space it names; print what it would run.")
    check.add_argument("experiment", help="experiment YAML file, e.g. experiments/grid.yaml")
    check.set_defaults(func=_cmd_check)
