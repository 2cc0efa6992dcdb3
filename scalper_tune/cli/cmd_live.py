"""Command `live`: paper trading on a live WebSocket feed."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
import dataclasses
from pathlib import Path

import pandas as pd

from scalper_tune.cli import options
from scalper_tune.config import DataSpec
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.params_file import ParamsFile
from scalper_tune.data import load
from scalper_tune.data.validate import format_ts
from scalper_tune.engine.backtest_report import write_trades_csv
from scalper_tune.errors import UsageError


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


@dataclass(frozen=True)
class LiveInputs:
    """The validated inputs of a live session."""

    symbols: list
    bar_s: int
    cfg: ParamsFile
    spec: FeatureSpec
    strategy: object  # a loaded bundle, or None (--params)
    gate: object  # the bundle's OnlineGate, or None


def _inputs(args: argparse.Namespace) -> LiveInputs:
    """--symbols, --bar, the timing flags, and --strategy (with its gate) or --params."""
    import re

    from scalper_tune.data.importers import parse_bar

    symbols = [s.upper() for s in options.symbols(args)]
    bad = [s for s in symbols if not re.fullmatch(r"[A-Z0-9]{2,20}", s)]
    if not symbols or bad:
        raise UsageError(f"--symbols {args.symbols!r}: give exchange symbols separated by commas, "
                         f"e.g. btcusdt,ethusdt" + (f" ({', '.join(bad)} is not one)" if bad
                                                     else "") + ".")
    bar_s = parse_bar(args.bar)
    if args.stale_after <= 0 or (args.duration is not None and args.duration <= 0):
        raise UsageError("--stale-after and --duration: must be positive seconds.")
    if not args.strategy:
        return LiveInputs(symbols, bar_s, options.params_file(args), FeatureSpec(), None, None)
    from scalper_tune.strategy import load_strategy

    if args.params:
        raise UsageError("give --strategy or --params, not both: the strategy holds its "
                         "parameters.")
    strategy = load_strategy(args.strategy)
    if strategy.bar_seconds != bar_s:
        raise UsageError(f"--bar {args.bar}: the strategy in {strategy.path} was tuned on "
                         f"{strategy.bar_seconds}-s bars; use --bar {strategy.bar_seconds}s.")
    cfg = ParamsFile(params=dict(strategy.params), costs=strategy.costs,
                     account=options.account(args, strategy.account))
    gate = (_online_gate(strategy, symbols, args.gate_window)
            if strategy.gated and not args.no_gate else None)
    return LiveInputs(symbols, bar_s, cfg, strategy.features, strategy, gate)


def _warm_up(session, args: argparse.Namespace, x: LiveInputs) -> None:
    """Fill the rolling feature state from --warmup (or say how long the runner will wait)."""
    from scalper_tune.data.market import exchange_name
    from scalper_tune.robustness.segments import warmup_bars

    if not args.warmup:
        need = warmup_bars(x.spec)
        print(f"no --warmup: the runner trades once every feature is defined, after {need:,} "
              f"bars ({need * x.bar_s / 3600:.1f} h of {x.bar_s}-s bars)")
        return
    warm = load(DataSpec(path=args.warmup))
    # dataset names such as BTC_USDT or BTC-USDT are the exchange's BTCUSDT
    named = {exchange_name(s): s for s in warm.symbols}
    missing = [s for s in x.symbols if s not in named]
    if warm.bar_seconds != x.bar_s or missing:
        raise UsageError(f"--warmup {args.warmup}: needs {x.bar_s}-s bars of "
                         f"{', '.join(x.symbols)} (it has {warm.bar_seconds}-s bars of "
                         f"{', '.join(warm.symbols)}).")
    n = session.warm_up(dataclasses.replace(
        warm, series={s: dataclasses.replace(warm[named[s]], symbol=s) for s in x.symbols}))
    print(f"warm-up: {n:,} bars from {args.warmup} (entries blocked)")


def _report(session, state, args: argparse.Namespace, x: LiveInputs) -> None:
    """The session's files, its closing lines, its MLflow run."""
    trades = session.trades()
    if args.trades_out:
        write_trades_csv(trades, args.trades_out)
    if args.bars_out:
        _write_bars(session, Path(args.bars_out))
    print(session.status_line())
    print(f"session end: {len(trades)} closed trade(s), equity {session.equity():.2f} $, "
          f"{len(session.counts.gaps)} reconnect(s), {state.stale_periods} stale period(s), "
          f"{session.counts.blocked_bars} bar(s) with entries blocked"
          + ("" if x.gate is None else f", gate closed on {session.counts.gate_closed} bar(s)"))
    if state.reconnects:  # failed connects count too: say so, with the last reason
        print(f"feed: {state.connects} connection(s) opened, {state.reconnects} lost or failed "
              f"(last: {state.errors[-1]})")
    for line in session.open_positions():
        print(f"open position: {line}")
    _log_live(args, session, x.cfg, x.symbols, state)


def _cmd_live(args: argparse.Namespace) -> int:
    import asyncio

    from scalper_tune.live.feed import stream_url
    from scalper_tune.live.runner import LiveRunner
    from scalper_tune.live.service import run_session
    from scalper_tune.live.session import LiveSession

    x = _inputs(args)
    switching = x.strategy.switching if x.gate is not None else None
    runner = LiveRunner(tuple(x.symbols), x.bar_s, x.cfg.params, x.cfg.costs, x.cfg.account,
                        x.spec, switching)
    session = LiveSession(runner, x.symbols, x.bar_s * 1_000_000_000,
                          int(args.stale_after * 1e9), gate=x.gate)
    _warm_up(session, args, x)
    url = stream_url(args.url, x.symbols)
    print(f"live paper session: {', '.join(x.symbols)} from {args.url}, {x.bar_s}-s bars on the "
          f"receiver's clock" + (f", {args.duration:g} s" if args.duration else
                                 ", until Ctrl-C"))
    state = asyncio.run(run_session(session, url, duration_s=args.duration,
                                    stale_after_s=args.stale_after))
    session.snapshot()
    _report(session, state, args, x)
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


def register(commands) -> None:
    """Add the command's parser to `commands` (argparse subparsers)."""
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
