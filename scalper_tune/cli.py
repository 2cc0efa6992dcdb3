"""Command line: `python -m scalper_tune <command>` (or `scalper-tune`).

Each command is a small function over the library; `main(argv)` maps user errors
(`ScalperTuneError`) to a one-line message on stderr and the documented exit code:
0 ok, 2 usage or config error, 3 data error, 4 causality violation, 1 anything else.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path

import pandas as pd

from scalper_tune import __version__
from scalper_tune.config import DataSpec, SyntheticSpec, load_experiment
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.params_file import ParamsFile, load_params_file
from scalper_tune.config.synthetic_spec import CRASH_SCENARIOS
from scalper_tune.data import generate, import_files, load, load_dataset, write_dataset
from scalper_tune.data.importers import FORMATS
from scalper_tune.data.inspect import render
from scalper_tune.data.dataset_store import check_out_dir, check_writable
from scalper_tune.engine import prefilter
from scalper_tune.engine.trade_audit import audit_trades
from scalper_tune.engine.backtest import backtest
from scalper_tune.engine.backtest_report import metrics_json, plain, render_metrics, write_trades_csv
from scalper_tune.errors import ScalperTuneError, UsageError
from scalper_tune.features.feature_audit import audit, load_user_feature
from scalper_tune.features.feature_audit import render as render_audit
from scalper_tune.features.cache import build as build_features
from scalper_tune.data.validate import format_ts
from scalper_tune.live.runner import paper_replay
from scalper_tune.workflow.run_summary import render_stress


def _cmd_synth(args: argparse.Namespace) -> int:
    spec = SyntheticSpec(assets=args.assets, bars=args.bars, bar_seconds=args.bar_seconds,
                         seed=args.seed, crash=args.crash, start=args.start, venues=args.venues,
                         calendar=args.calendar)
    for key, message in spec.problems():
        raise UsageError(f"--{key.replace('_', '-')}: {message}.")
    check_out_dir(args.out, force=args.force)
    started = time.perf_counter()
    market = generate(spec)
    out = write_dataset(market, args.out, force=args.force)
    elapsed = time.perf_counter() - started
    print(f"wrote {out}: {len(market.symbols)} symbols ({spec.assets} assets on {spec.venues} "
          f"venue{'s' if spec.venues > 1 else ''}) x {spec.bars:,} bars of {spec.bar_seconds} s "
          f"(seed {spec.seed}, crash {spec.crash}, calendar {spec.calendar}) in {elapsed:.1f} s")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    check_out_dir(args.out, force=args.force)
    result = import_files(args.paths, fmt=args.format, bar=args.bar, symbol=args.symbol,
                          sort=args.sort, drop_duplicates=args.drop_duplicates,
                          calendar=args.calendar, timezone=args.timezone,
                          extended_hours=args.extended_hours)
    for note in result.notes:
        print(note)
    out = write_dataset(result.market, args.out, force=args.force)
    market = result.market
    rows = sum(len(market[s]) for s in market.symbols)
    print(f"wrote {out}: {len(market.symbols)} symbol(s), {rows:,} bars of "
          f"{market.bar_seconds} s ({', '.join(market.info['importer'])})")
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    from scalper_tune.data.facts import render_facts, stylized_facts

    market = load(DataSpec(path=args.dir))
    if args.verify and market.stored_hash is not None:
        market = load_dataset(args.dir, verify=True)
    print(render(market, args.dir))
    if args.facts:
        print(render_facts(stylized_facts(market)))
    return 0


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
    spec = feature_spec(exp, refine_windows(space))
    print(f"{loaded.path}: ok")
    print(f"  experiment   {exp.name} (seed {exp.seed})")
    print(f"  data         {source}: {len(market.symbols)} symbols, "
          f"{min(len(market[s]) for s in market.symbols):,} bars or more (needs {needed:,}: a "
          f"{warmup:,}-bar warm-up for windows up to {max(spec.z_windows)} and baselines of "
          f"{spec.baseline_window} x {max(spec.timeframes)} bars, then {exp.walk_forward.folds} "
          f"folds, validation {exp.walk_forward.validation:.0%}, test {exp.walk_forward.test:.0%})")
    print(f"  search space {space.path}: grid of {space.grid_size:,} combinations over "
          f"{', '.join(space.grid)}; refine {', '.join(space.refine) or 'nothing'}")
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    symbols = tuple(s for s in (args.symbols or "").split(",") if s)
    exp = load_experiment(args.experiment).experiment if args.experiment else None
    strategy = None
    gate = exp.gate if exp is not None else None  # what audit_regimes recomputes
    base = exp.features if exp is not None else FeatureSpec()
    if args.strategy:
        from scalper_tune.strategy import check_market, load_strategy

        if args.experiment or args.params or not args.data:
            raise UsageError("audit --strategy DIR needs --data DIR and neither --experiment nor "
                             "--params: the strategy holds its settings and parameters.")
        strategy = load_strategy(args.strategy)
        market = check_market(strategy, load(DataSpec(path=args.data)), args.data)
        gate, base = strategy.gate, strategy.features
    elif args.data:
        data = DataSpec(path=args.data, symbols=symbols)
    elif exp is not None:
        data = dataclasses.replace(exp.data, symbols=symbols or exp.data.symbols)
    else:
        raise UsageError("audit: give --data DIR or --experiment EXP.yaml (its data).")
    if strategy is None:
        market = load(data)
    user = dict(load_user_feature(spec) for spec in args.feature)
    if args.cuts < 1:
        raise UsageError(f"--cuts {args.cuts}: must be at least 1.")
    from scalper_tune.regime.ml_edge import SIGNAL_RICH

    # the engine check compares trades: by default the signal-rich set, which makes many
    cfg = _primary_params(args, SIGNAL_RICH)
    if strategy is not None:
        cfg = ParamsFile(params=dict(strategy.params), costs=strategy.costs,
                         account=strategy.account)
    elif exp is not None and not args.params:
        cfg = dataclasses.replace(cfg, costs=exp.costs)
    rows = audit(market, base, user, cuts=args.cuts, seed=args.seed)
    if not args.no_engine:
        spec = dataclasses.replace(base, z_windows=(int(cfg.params["z_window"]),))
        rows.append(audit_trades(market, spec, cfg.params, cfg.costs, args.cuts, args.seed))
    if gate is not None:
        from scalper_tune.workflow.gate_audit import audit_regimes

        rows += audit_regimes(gate, market, base, args.cuts, args.seed)
    source = args.data or f"the data of {args.experiment}"
    print(f"causality audit of {source}: {len(market.symbols)} symbol(s), {args.cuts} cut(s), "
          f"seed {args.seed}")
    print(render_audit(rows))
    engine = next((r for r in rows if r.feature == "engine trades"), None)
    if engine is not None and engine.detail.startswith("0 trades"):
        raise UsageError("nothing to check: the parameters make no trades before any cut; give "
                         "--params or more data.")
    return 4 if any(r.violations for r in rows) else 0


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


def _cmd_stress(args: argparse.Namespace) -> int:
    from scalper_tune.workflow.stress import build_scenarios, run_stress
    from scalper_tune.config.pipeline_spec import StressSpec
    from scalper_tune.robustness.rule_labels import market_labels
    from scalper_tune.robustness.segments import usable_times, warmup_bars
    from scalper_tune.engine.inputs import REGIME_LABEL

    block: tuple[int, ...] = ()
    stress_spec = StressSpec()
    if args.strategy:  # the bundle's features, gate and stress settings, as Phase 3 ran them
        strategy, cfg, market, features = _strategy_inputs(args)
        spec, stress_spec = strategy.features, strategy.stress
        block = strategy.gate.blocked
        what = f"the strategy {args.strategy}"
    else:
        cfg = _params_file(args)
        symbols = tuple(s for s in (args.symbols or "").split(",") if s)
        market = load(DataSpec(path=args.data, symbols=symbols))
        base = FeatureSpec()
        spec = dataclasses.replace(base, z_windows=tuple(sorted(
            set(base.z_windows) | {int(cfg.params["z_window"])})))
        cache = None if args.no_cache else args.feature_cache
        features = build_features(market, spec, cache).features
        labels = market_labels(market, features)
        features = {s: dict(features[s], **{REGIME_LABEL: labels[s].astype(float)})
                    for s in market.symbols}
        what = args.params or "the default parameters"
    times = usable_times(market, warmup_bars(spec))
    if times.shape[0] < 2:
        raise UsageError(f"--data {args.data}: too short for the {warmup_bars(spec):,}-bar "
                         "feature warm-up.")
    start = _time_arg(args.start, "--from") if args.start else int(times[0])
    stop = _time_arg(args.stop, "--to") if args.stop else int(times[-1]) + 1
    scenarios = build_scenarios(market, features, start, stop, spec, block)
    switching = strategy.switching if args.strategy else None
    rows = run_stress(scenarios, cfg.params, cfg.costs, cfg.account, stress_spec, switching)
    if args.json:
        print(json.dumps(plain({"scenarios": rows, "window": {
            "start": format_ts(start), "end": format_ts(stop)}}), indent=2))
    else:
        print(f"stress scenarios of {what} on {args.data} "
              f"from {format_ts(start)[:19]} to {format_ts(stop)[:19]} UTC")
        print(render_stress(rows))
    return 0


def _time_arg(text: str, flag: str) -> int:
    """An ISO 8601 time (UTC when it has no offset) as ns since the epoch."""
    try:
        ts = pd.Timestamp(text)
    except ValueError:
        raise UsageError(f"{flag} {text}: expected an ISO 8601 time, e.g. "
                         "2024-03-01T00:00:00Z.") from None
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.value)


def _market_and_features(args: argparse.Namespace, z_window: int):
    symbols = tuple(s for s in (args.symbols or "").split(",") if s)
    market = load(DataSpec(path=args.data, symbols=symbols))
    base = FeatureSpec()
    spec = dataclasses.replace(base, z_windows=tuple(sorted(set(base.z_windows) | {z_window})))
    cache = None if args.no_cache else args.feature_cache
    return market, build_features(market, spec, cache).features


def _account(args: argparse.Namespace, default: float) -> float:
    """--account (checked: positive dollars), else `default`."""
    if args.account is None:
        return default
    if args.account <= 0:
        raise UsageError(f"--account {args.account}: must be a positive number of dollars.")
    return float(args.account)


def _params_file(args: argparse.Namespace) -> ParamsFile:
    loaded = load_params_file(args.params) if args.params else ParamsFile()
    return dataclasses.replace(loaded, account=_account(args, loaded.account))


def _strategy_inputs(args: argparse.Namespace):
    """--strategy DIR: (the strategy, its ParamsFile, the market of its symbols, the features of
    its settings with its entry gate), for backtest, paper and audit."""
    from scalper_tune.strategy import load_strategy

    if args.params:
        raise UsageError("give --strategy or --params, not both: the strategy holds its "
                         "parameters.")
    if args.symbols:
        raise UsageError("--symbols: a strategy trades the symbols it was tuned on (its gate is "
                         "fitted across them); drop --symbols.")
    strategy = load_strategy(args.strategy)
    market, features = strategy.inputs(load(DataSpec(path=args.data)),
                                       None if args.no_cache else args.feature_cache, args.data)
    cfg = ParamsFile(params=dict(strategy.params), costs=strategy.costs,
                     account=_account(args, strategy.account))
    return strategy, cfg, market, features


def _inputs(args: argparse.Namespace):
    """(ParamsFile, market, features) from --strategy, else --params and the default features;
    then the --from/--to window (features from all data before it)."""
    from scalper_tune.strategy import window

    switching = None
    if getattr(args, "strategy", None):
        strategy, cfg, market, features = _strategy_inputs(args)
        switching = strategy.switching
    else:
        cfg = _params_file(args)
        market, features = _market_and_features(args, int(cfg.params["z_window"]))
    start = _time_arg(args.start, "--from") if getattr(args, "start", None) else None
    stop = _time_arg(args.stop, "--to") if getattr(args, "stop", None) else None
    market, features = window(market, features, start, stop)
    if not any(len(market[s]) for s in market.symbols):
        raise UsageError(f"--from/--to: no bars of {args.data} in that window.")
    return cfg, market, features, switching


def _cmd_backtest(args: argparse.Namespace) -> int:
    if args.engine == "prefilter" and args.trades_out:
        raise UsageError("--trades-out needs --engine event: the prefilter keeps summaries only.")
    cfg, market, features, switching = _inputs(args)
    if args.engine == "prefilter" and switching is not None:
        raise UsageError("--engine prefilter runs one parameter set; this strategy switches "
                         "sets by regime: use --engine event (the default).")
    if args.engine == "prefilter":
        shared = prefilter.prepare(market, features, (int(cfg.params["z_window"]),),
                                   cfg.costs.spread_mult)
        summary, _ = prefilter.run(shared, pd.DataFrame([cfg.params]), cfg.costs, cfg.account)
        row = {k: (v.item() if hasattr(v, "item") else v) for k, v in summary.iloc[0].items()}
        if args.json:
            print(json.dumps(plain(row), indent=2))
        else:
            for key, value in row.items():
                print(f"{key:<20}{value}")
        return 0
    result = backtest(market, features, cfg.params, cfg.costs, cfg.account,
                      switching=switching)
    if args.trades_out:
        write_trades_csv(result.trades, args.trades_out)
    print(metrics_json(result.metrics) if args.json else render_metrics(result.metrics))
    if args.trades_out and not args.json:
        print(f"wrote {len(result.trades)} trades to {args.trades_out}")
    return 0


def _cmd_paper(args: argparse.Namespace) -> int:
    if args.strategy:
        strategy, cfg, market, features = _strategy_inputs(args)
        trades, _, metrics = paper_replay(market, cfg.params, cfg.costs, cfg.account,
                                          strategy.features, features, strategy.switching)
    else:
        cfg = _params_file(args)
        symbols = tuple(s for s in (args.symbols or "").split(",") if s)
        market = load(DataSpec(path=args.data, symbols=symbols))
        trades, _, metrics = paper_replay(market, cfg.params, cfg.costs, cfg.account)
    if args.trades_out:
        write_trades_csv(trades, args.trades_out)
    print(metrics_json(metrics) if args.json else render_metrics(metrics))
    if args.trades_out and not args.json:
        print(f"wrote {len(trades)} trades to {args.trades_out}")
    return 0


def _online_gate(strategy, symbols: list[str], window: int):
    """The bundle's entry gate for live bars from its saved models (a usage error when the
    bundle has none: written before they were saved, or too little data to fit them)."""
    from scalper_tune.data.market import exchange_name
    from scalper_tune.live.gate import OnlineGate

    if window < 100:
        raise UsageError(f"--gate-window {window}: give at least 100 bars (default 20000).")
    models = strategy.gate_models()
    g = strategy.regime
    if (g.classifier and models.regime is None) or (g.ml_gate and models.gate is None):
        raise UsageError(f"live: the strategy in {strategy.path} has an entry gate but no saved "
                         "model for it (bundles from before models were saved, or too little "
                         "data to fit one); re-run the experiment, or pass --no-gate to paper-"
                         "trade its parameters without the gate (not what was scored).")
    parts = []
    if models.regime is not None:
        parts.append(f"regime classifier fitted on {models.regime.rows:,} bars before "
                     f"{format_ts(models.regime.block_start)}")
    if g.filter and g.block:
        parts.append(f"no entries in {', '.join(g.block)}")
    if models.gate is not None:
        traded = [s for s in symbols if s in {exchange_name(t) for t in models.gate.traded}]
        parts.append(f"ML gate trades {', '.join(traded) or 'none of these symbols'}")
    if strategy.mode == "switching":
        parts.append("parameter set by regime (switching)")
    print(f"entry gate: {'; '.join(parts)}; inputs over the last {window:,} bars")
    return OnlineGate(strategy, models, symbols, window)


def _cmd_live(args: argparse.Namespace) -> int:
    import asyncio
    import re

    from scalper_tune.data.importers import parse_bar
    from scalper_tune.live.feed import stream_url
    from scalper_tune.live.runner import LiveRunner
    from scalper_tune.live.service import run_session
    from scalper_tune.live.session import LiveSession
    from scalper_tune.robustness.segments import warmup_bars

    symbols = [s.strip().upper() for s in (args.symbols or "").split(",") if s.strip()]
    bad = [s for s in symbols if not re.fullmatch(r"[A-Z0-9]{2,20}", s)]
    if not symbols or bad:
        raise UsageError(f"--symbols {args.symbols!r}: give exchange symbols separated by commas, "
                         f"e.g. btcusdt,ethusdt" + (f" ({', '.join(bad)} is not one)" if bad
                                                     else "") + ".")
    bar_s = parse_bar(args.bar)
    if args.stale_after <= 0 or (args.duration is not None and args.duration <= 0):
        raise UsageError("--stale-after and --duration: must be positive seconds.")
    spec, strategy, gate = FeatureSpec(), None, None
    if args.strategy:
        from scalper_tune.strategy import load_strategy

        if args.params:
            raise UsageError("give --strategy or --params, not both: the strategy holds its "
                             "parameters.")
        strategy = load_strategy(args.strategy)
        if strategy.bar_seconds != bar_s:
            raise UsageError(f"--bar {args.bar}: the strategy in {strategy.path} was tuned on "
                             f"{strategy.bar_seconds}-s bars; use --bar {strategy.bar_seconds}s.")
        if strategy.gated and not args.no_gate:
            gate = _online_gate(strategy, symbols, args.gate_window)
        cfg = ParamsFile(params=dict(strategy.params), costs=strategy.costs,
                         account=_account(args, strategy.account))
        spec = strategy.features
    else:
        cfg = _params_file(args)
    switching = strategy.switching if gate is not None else None
    runner = LiveRunner(tuple(symbols), bar_s, cfg.params, cfg.costs, cfg.account, spec,
                        switching)
    bar_ns = bar_s * 1_000_000_000
    session = LiveSession(runner, symbols, bar_ns, int(args.stale_after * 1e9), gate=gate)
    if args.warmup:
        from scalper_tune.data.market import exchange_name

        warm = load(DataSpec(path=args.warmup))
        # dataset names such as BTC_USDT or BTC-USDT are the exchange's BTCUSDT
        named = {exchange_name(s): s for s in warm.symbols}
        missing = [s for s in symbols if s not in named]
        if warm.bar_seconds != bar_s or missing:
            raise UsageError(f"--warmup {args.warmup}: needs {bar_s}-s bars of "
                             f"{', '.join(symbols)} (it has {warm.bar_seconds}-s bars of "
                             f"{', '.join(warm.symbols)}).")
        n = session.warm_up(dataclasses.replace(
            warm, series={s: dataclasses.replace(warm[named[s]], symbol=s) for s in symbols}))
        print(f"warm-up: {n:,} bars from {args.warmup} (entries blocked)")
    else:
        need = warmup_bars(spec)
        print(f"no --warmup: the runner trades once every feature is defined, after {need:,} "
              f"bars ({need * bar_s / 3600:.1f} h of {bar_s}-s bars)")
    url = stream_url(args.url, symbols)
    print(f"live paper session: {', '.join(symbols)} from {args.url}, {bar_s}-s bars on the "
          f"receiver's clock" + (f", {args.duration:g} s" if args.duration else
                                 ", until Ctrl-C"))
    state = asyncio.run(run_session(session, url, duration_s=args.duration,
                                    stale_after_s=args.stale_after))
    session.snapshot()
    trades = session.trades()
    if args.trades_out:
        write_trades_csv(trades, args.trades_out)
    if args.bars_out:
        _write_bars(session, Path(args.bars_out))
    print(session.status_line())
    print(f"session end: {len(trades)} closed trade(s), equity {session.equity():.2f} $, "
          f"{len(session.counts.gaps)} reconnect(s), {state.stale_periods} stale period(s), "
          f"{session.counts.blocked_bars} bar(s) with entries blocked"
          + ("" if gate is None else f", gate closed on {session.counts.gate_closed} bar(s)"))
    if state.reconnects:  # failed connects count too: say so, with the last reason
        print(f"feed: {state.connects} connection(s) opened, {state.reconnects} lost or failed "
              f"(last: {state.errors[-1]})")
    for line in session.open_positions():
        print(f"open position: {line}")
    _log_live(args, session, cfg, symbols, state)
    return 0


def _write_bars(session, path: Path) -> None:
    from scalper_tune.store import atomic_parquet

    market = session.bars_market()
    frames = [pd.DataFrame(dict(symbol=s, **market[s].columns())) for s in market.symbols]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    atomic_parquet(table, path)


def _log_live(args, session, cfg: ParamsFile, symbols, state) -> None:
    from scalper_tune.tracking.live_log import log_live_session

    counts = {"frames": session.counts.frames, "reconnects": len(session.counts.gaps),
              "stale_periods": state.stale_periods, "blocked_bars": session.counts.blocked_bars,
              "gate_closed_bars": session.counts.gate_closed,
              **{f"skipped_{k.replace(' ', '_')}": v for k, v in session.counts.skipped.items()}}
    files = [Path(p) for p in (args.trades_out, args.bars_out) if p]
    log_live_session(args.mlruns, dict(cfg.params, symbols=",".join(symbols), bar=args.bar),
                     [e for e, _ in session.history], [n for _, n in session.history], counts,
                     files, {"url": args.url})


def _cmd_ml_edge(args: argparse.Namespace) -> int:
    from scalper_tune.regime.ml_edge import SIGNAL_RICH, ml_edge, summary
    from scalper_tune.regime.ml_edge_report import render as render_edge

    cfg = _primary_params(args, SIGNAL_RICH)
    if not 0.0 < args.min_accuracy < 1.0:
        raise UsageError(f"--min-accuracy {args.min_accuracy}: must be between 0 and 1.")
    if args.permutation_test < 0:
        raise UsageError("--permutation-test: must be >= 0.")
    if args.block_days <= 0:
        raise UsageError(f"--block-days {args.block_days}: must be positive.")
    market, features = _market_and_features(args, int(cfg.params["z_window"]))
    edges, taken = ml_edge(market, features, cfg.params, cfg.costs, cfg.account,
                           args.min_accuracy, args.threshold, args.block_days,
                           permutations=args.permutation_test, seed=args.seed)
    report = summary(edges, taken, cfg.account, args.min_accuracy, args.permutation_test)
    report["params_source"] = cfg_source(args)
    if args.trades_out:
        write_trades_csv(taken, args.trades_out)
    print(json.dumps(plain(report), indent=2) if args.json else render_edge(report))
    return 0


def cfg_source(args: argparse.Namespace) -> str:
    if args.params:
        return str(args.params)
    if getattr(args, "run", None):
        return f"{args.run}/best_config.yaml"
    return "the documented signal-rich set (SIGNAL_RICH)"


def _primary_params(args: argparse.Namespace, fallback: dict) -> ParamsFile:
    """--params, else the best_config.yaml of --run RUN_DIR, else `fallback`."""
    if args.params:
        return _params_file(args)
    if getattr(args, "run", None):
        path = Path(args.run) / "best_config.yaml"
        if not path.is_file():
            raise UsageError(f"--run {args.run}: no best_config.yaml there (a run that judged "
                             "nothing writes none). Give --params FILE or another run folder.")
        loaded = load_params_file(path)
    else:
        loaded = ParamsFile(params=dict(fallback))
    if args.account is not None:
        if args.account <= 0:
            raise UsageError(f"--account {args.account}: must be a positive number of dollars.")
        loaded = dataclasses.replace(loaded, account=float(args.account))
    return loaded


def _cmd_regimes(args: argparse.Namespace) -> int:
    from scalper_tune.workflow.regime_eval import evaluate_regimes, render as render_regimes

    if not 1 <= args.splits <= 20:
        raise UsageError(f"--splits {args.splits}: must be between 1 and 20.")
    symbols = tuple(s for s in (args.symbols or "").split(",") if s)
    market = load(DataSpec(path=args.data, symbols=symbols))
    cache = None if args.no_cache else args.feature_cache
    features = build_features(market, FeatureSpec(), cache).features
    ev = evaluate_regimes(market, features, n_splits=args.splits, seed=args.seed)
    print(json.dumps(plain(ev.to_dict()), indent=2) if args.json else
          render_regimes(ev, str(args.data)))
    return 0


def _add_run_options(cmd: argparse.ArgumentParser, strategy: bool = False) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scalper_tune",
        description="Find robust settings for a causal scalping strategy on Ray Tune.")
    parser.add_argument("--version", action="version", version=f"scalper_tune {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

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

    bt = commands.add_parser(
        "backtest", help="backtest one parameter set (event engine or prefilter)",
        description="Backtest one parameter set on a dataset and print the metrics (the seed's "
                    "report, Sharpe, Sortino, Calmar, exposure, per-asset breakdown).")
    _add_run_options(bt, strategy=True)
    bt.add_argument("--engine", choices=("event", "prefilter"), default="event",
                    help="event: the event-driven engine (default); prefilter: the fast "
                         "vectorized screen (summary only)")
    bt.add_argument("--from", dest="start", metavar="ISO",
                    help="trade only from this bar time on (features still use all data before)")
    bt.add_argument("--to", dest="stop", metavar="ISO",
                    help="trade only before this bar time (exclusive)")
    bt.add_argument("--json", action="store_true", help="print the metrics as JSON")
    bt.set_defaults(func=_cmd_backtest)

    paper = commands.add_parser(
        "paper", help="replay a dataset through the live runner and paper broker",
        description="Feed a dataset bar by bar, as a live feed would, through the live runner "
                    "(rolling feature state, the backtest's strategy step, an in-memory paper "
                    "broker with the same cost model). Its trades equal `backtest`'s.")
    _add_run_options(paper, strategy=True)
    paper.add_argument("--json", action="store_true", help="print the metrics as JSON")
    paper.set_defaults(func=_cmd_paper)

    live = commands.add_parser(
        "live", help="paper-trade on a live WebSocket feed (Binance combined streams)",
        description="Connect to the combined trade and bookTicker streams, build bars on the "
                    "receiver's clock (as `data import --format binance-stream` does), run the "
                    "live runner and the paper broker; reconnects with backoff, blocks entries "
                    "on a stale feed, skips malformed frames. Paper only: no real orders.")
    live.add_argument("--symbols", required=True, help="exchange symbols, e.g. btcusdt,ethusdt")
    live.add_argument("--strategy", metavar="DIR", help="a run's strategy bundle")
    live.add_argument("--params", help="parameter file (default: the documented defaults)")
    live.add_argument("--url", default="wss://stream.binance.com:9443/stream",
                      help="combined-stream endpoint (default: Binance spot)")
    live.add_argument("--bar", default="1s", help="bar size on the receiver's clock (default 1s)")
    live.add_argument("--duration", type=float, help="stop after this many seconds")
    live.add_argument("--stale-after", type=float, default=10.0,
                      help="seconds without a message before entries are blocked (default 10)")
    live.add_argument("--warmup", metavar="DIR",
                      help="dataset of the same symbols and bar size, ending before the session, "
                           "that fills the rolling feature state first")
    live.add_argument("--no-gate", action="store_true",
                      help="trade a gated strategy's parameters without its entry gate")
    live.add_argument("--gate-window", type=int, default=20_000, metavar="BARS",
                      help="bars of history the entry gate recomputes its inputs over at each "
                           "bar (default 20000; exact while warm-up + session fit in it)")
    live.add_argument("--account", type=float, help="account value in $")
    live.add_argument("--trades-out", metavar="FILE.csv", help="write the closed trades here")
    live.add_argument("--bars-out", metavar="FILE.parquet", help="write the bars it built here")
    live.add_argument("--mlruns", default="mlruns", help="MLflow store folder (default ./mlruns)")
    live.set_defaults(func=_cmd_live)

    stress = commands.add_parser(
        "stress", help="stress scenarios of one parameter set (Phase 3's table)",
        description="Run every stress scenario on one configuration, a tuned one or a hand-picked "
                    "one: a 2022-style crash (synthetic data: another seed; real data: a crash "
                    "overlay on the window), fees x2, spreads x3, latency +2 events, the best "
                    "asset removed; with Phase 3's pass/fail verdict and reason.")
    _add_run_options(stress, strategy=True)
    stress.add_argument("--from", dest="start", metavar="ISO",
                        help="first bar time to evaluate (default: after the feature warm-up)")
    stress.add_argument("--to", dest="stop", metavar="ISO",
                        help="end of the evaluated window, exclusive (default: the data's end)")
    stress.add_argument("--json", action="store_true", help="print the table as JSON")
    stress.set_defaults(func=_cmd_stress)

    edge = commands.add_parser(
        "ml-edge", help="meta-labelling gate: trade only assets where a model shows an edge",
        description="For each trade of the primary strategy a classifier predicts, from features "
                    "known at the signal, whether it will be profitable. Per asset, out-of-sample "
                    "accuracy from purged, embargoed walk-forward splits; an asset is traded only "
                    "when it reaches --min-accuracy and beats the majority-class baseline.")
    _add_run_options(edge)
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

    data = commands.add_parser("data", help="create, import and inspect market datasets",
                               description="Create, import and inspect canonical datasets "
                                           "(a folder of SYMBOL.parquet plus dataset.json).")
    data_commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)

    synth = data_commands.add_parser("synth", help="generate the synthetic market",
                                     description="Generate the seeded synthetic market (regimes, "
                                                 "L1 book, optional 2022-style crash).")
    synth.add_argument("--out", required=True, help="output dataset folder")
    synth.add_argument("--assets", type=int, default=11, help="number of symbols (default 11)")
    synth.add_argument("--bars", type=int, default=100_000, help="bars per symbol (default 100000)")
    synth.add_argument("--bar-seconds", type=int, default=60, help="bar size in seconds (default 60)")
    synth.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    synth.add_argument("--crash", choices=CRASH_SCENARIOS, default="none",
                       help="crash scenario: 2022 adds a ~65%% drawdown over months and a "
                            "~99%% single-asset collapse in days (default none)")
    synth.add_argument("--start", default="2022-01-01T00:00:00Z",
                       help="time of the first bar, ISO 8601 UTC")
    synth.add_argument("--venues", type=int, default=1, choices=(1, 2),
                       help="2: every asset also on a perpetual venue (SYN01-PERP), with a basis, "
                            "lead-lag and staggered liquidity gaps (default 1)")
    synth.add_argument("--calendar", default="24/7", choices=("24/7", "XNYS"),
                       help="24/7 (crypto, default) or XNYS: US stock sessions with overnight "
                            "gaps, opening and closing bursts and a U-shaped volume profile")
    synth.add_argument("--force", action="store_true", help="replace an existing --out folder")
    synth.set_defaults(func=_cmd_synth)

    imp = data_commands.add_parser("import", help="import OHLCV, kline, freqtrade or stream files",
                                   description="Import files into a canonical dataset. Bad rows "
                                               "are refused (exit 3) and nothing is written.")
    imp.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to import")
    imp.add_argument("--out", required=True, help="output dataset folder")
    imp.add_argument("--format", choices=FORMATS, default="auto", help="input format (default auto)")
    imp.add_argument("--bar", help="bar size: aggregation for binance-stream (default 1s), "
                                   "resampling for OHLCV files (e.g. 5m)")
    imp.add_argument("--symbol", help="symbol name when the file name does not tell")
    imp.add_argument("--sort", action="store_true", help="sort unsorted rows (prints the count)")
    imp.add_argument("--drop-duplicates", action="store_true",
                     help="keep the first row of each duplicate timestamp (prints the count)")
    imp.add_argument("--force", action="store_true", help="replace an existing --out folder")
    imp.add_argument("--calendar", default="auto", metavar="24/7|XNYS|auto",
                     help="the symbols' trading calendar (default auto: 24/7 for crypto streams, "
                          "XNYS when every bar lies in its regular hours, else 24/7)")
    imp.add_argument("--timezone", metavar="TZ",
                     help="the files' times are wall-clock times of this zone (e.g. "
                          "America/New_York; default: UTC or their own offsets)")
    imp.add_argument("--extended-hours", action="store_true",
                     help="under a session calendar, keep bars outside its regular hours")
    imp.set_defaults(func=_cmd_import)

    inspect = data_commands.add_parser("inspect", help="summarize a dataset per symbol",
                                       description="Rows, first/last time, bar size, gaps and "
                                                   "book columns per symbol.")
    inspect.add_argument("dir", help="dataset folder (or raw files to read as `data import` "
                                     "would)")
    inspect.add_argument("--verify", action="store_true",
                         help="also check the content hash against dataset.json")
    inspect.add_argument("--facts", action="store_true",
                         help="also print the stylized facts of 5-minute returns (autocorrelation,"
                              " kurtosis, volatility clustering, std) to compare with other data")
    inspect.set_defaults(func=_cmd_inspect)
    return parser


class _Stdout(logging.Handler):
    """Progress lines (INFO) on the current sys.stdout; warnings and errors go to stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        stream = sys.stdout if record.levelno < logging.WARNING else sys.stderr
        print(record.getMessage() if record.levelno < logging.WARNING
              else f"warning: {record.getMessage()}", file=stream, flush=True)


def _setup_logging() -> None:
    logger = logging.getLogger("scalper_tune")
    if not any(isinstance(h, _Stdout) for h in logger.handlers):
        logger.addHandler(_Stdout())
    logger.setLevel(logging.INFO)
    logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code (user mistakes print one line, no traceback)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging()
    try:
        return int(args.func(args))
    except ScalperTuneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
