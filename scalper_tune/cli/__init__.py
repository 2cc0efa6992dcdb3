"""Command line: `python -m scalper_tune <command>` (or `scalper-tune`).

One module per command (`cmd_*.py`, its parser next to its handler); `options.py` holds what
they share. `main(argv)` maps user errors (`ScalperTuneError`) to a one-line message on stderr
and the documented exit code: 0 ok, 2 usage or config error, 3 data error, 4 causality
violation, 130 interrupted, 1 anything else.
"""

from __future__ import annotations

import argparse
import logging
import sys

from scalper_tune import __version__
from scalper_tune.errors import ScalperTuneError

# library parameters whose flag is not `--<param with dashes>`
FLAGS = {"fmt": "--format", "out_dir": "--out", "start/stop": "--from/--to", "market": "--data"}
COMMANDS = ("cmd_run", "cmd_audit", "cmd_backtest", "cmd_live", "cmd_stress", "cmd_regimes",
            "cmd_data")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="scalper_tune",
        description="Find robust settings for a causal scalping strategy on Ray Tune.")
    parser.add_argument("--version", action="version", version=f"scalper_tune {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"scalper_tune.cli.{name}").register(commands)
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
        print(f"error: {exc.for_cli(FLAGS)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0

