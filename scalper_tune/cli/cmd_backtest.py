"""Commands `backtest` and `paper`: one parameter set or strategy bundle on a dataset."""

from __future__ import annotations

import argparse
import json

import pandas as pd

from scalper_tune.cli import options
from scalper_tune.config.values import json_safe, python_value
from scalper_tune.engine import prefilter
from scalper_tune.engine.backtest import backtest
from scalper_tune.engine.backtest_report import metrics_json, render_metrics, write_trades_csv
from scalper_tune.errors import UsageError
from scalper_tune.live.runner import paper_replay


def _cmd_backtest(args: argparse.Namespace) -> int:
    if args.engine == "prefilter" and args.trades_out:
        raise UsageError("--trades-out needs --engine event: the prefilter keeps summaries only.")
    x = options.inputs(args)
    cfg, market, features, switching = x.cfg, x.market, x.features, x.switching
    if args.engine == "prefilter" and switching is not None:
        raise UsageError("--engine prefilter runs one parameter set; this strategy switches "
                         "sets by regime: use --engine event (the default).")
    if args.engine == "prefilter":
        shared = prefilter.prepare(market, features, (int(cfg.params["z_window"]),),
                                   cfg.costs.spread_mult)
        summary, _ = prefilter.run(shared, pd.DataFrame([cfg.params]), cfg.costs, cfg.account)
        row = {k: python_value(v) for k, v in summary.iloc[0].items()}
        if args.json:
            print(json.dumps(json_safe(row), indent=2))
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
        x = options.strategy_inputs(args)
        cfg = x.cfg
        trades, _, metrics = paper_replay(x.market, cfg.params, cfg.costs, cfg.account,
                                          x.strategy.features, x.features, x.switching)
    else:
        cfg = options.params_file(args)
        market = options.data_market(args)
        trades, _, metrics = paper_replay(market, cfg.params, cfg.costs, cfg.account)
    if args.trades_out:
        write_trades_csv(trades, args.trades_out)
    print(metrics_json(metrics) if args.json else render_metrics(metrics))
    if args.trades_out and not args.json:
        print(f"wrote {len(trades)} trades to {args.trades_out}")
    return 0


def register(commands) -> None:
    """Add the command's parser to `commands` (argparse subparsers)."""
    bt = commands.add_parser(
        "backtest", help="backtest one parameter set (event engine or prefilter)",
        description="Backtest one parameter set on a dataset and print the metrics (the seed's "
                    "report, Sharpe, Sortino, Calmar, exposure, per-asset breakdown).")
    options.add_run_options(bt, strategy=True)
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
    options.add_run_options(paper, strategy=True)
    paper.add_argument("--json", action="store_true", help="print the metrics as JSON")
    paper.set_defaults(func=_cmd_paper)
