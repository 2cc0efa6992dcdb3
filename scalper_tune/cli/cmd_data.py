"""Commands `data synth`, `data import` and `data inspect`: make, import and describe datasets."""

from __future__ import annotations

import argparse
import time

from scalper_tune.config import DataSpec, SyntheticSpec
from scalper_tune.config.synthetic_spec import CRASH_SCENARIOS
from scalper_tune.data import generate, import_files, load, load_dataset, write_dataset
from scalper_tune.data.dataset_store import check_out_dir
from scalper_tune.data.importers import FORMATS
from scalper_tune.data.inspect import render
from scalper_tune.errors import UsageError


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


def register(commands) -> None:
    """Add the command's parser to `commands` (argparse subparsers)."""
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
    synth.add_argument("--bar-seconds", type=int, default=60,
                       help="bar size in seconds (default 60)")
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
    imp.add_argument("--format", choices=FORMATS, default="auto",
                     help="input format (default auto)")
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
