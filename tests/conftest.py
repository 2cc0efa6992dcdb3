"""Shared fixtures: an in-process CLI runner and small generated datasets."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from scalper_tune.cli import main
from scalper_tune.config import SyntheticSpec
from scalper_tune.data import generate

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"  # the larger optional set beside the repository
REPO_DATA = ROOT / "data"  # the real sample shipped with the repository (data/README.md)
SPOT_5M = REPO_DATA / "binance-spot-5m-2024-q1"  # BTC, ETH, SOL vs USDT, Jan-Mar 2024
FEED = REPO_DATA / "binance-feed-2024-08-08"  # spot BTCUSDT stream recording


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys):
    """Run `python -m scalper_tune ARGS` in-process; returns exit code and output."""

    def run(*args: str) -> CliResult:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def run_subprocess(*args: str, cwd: Path | None = None) -> CliResult:
    """The real entry point in a child process (for no-traceback and exit-code checks)."""
    proc = subprocess.run([sys.executable, "-m", "scalper_tune", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def synth_market():
    """The default synthetic market (11 assets x 100,000 one-minute bars, no crash)."""
    return generate(SyntheticSpec(bars=100_000))


@pytest.fixture(scope="session")
def crash_market():
    """The synthetic market with the 2022 crash scenario."""
    return generate(SyntheticSpec(bars=100_000, crash="2022"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED} is missing; CI must have ../shared/data beside the clone")
        pytest.skip("../shared/data is not present")
    return SHARED


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without Ray's address and authentication variables (a newcomer's
    shell), plus `extra`."""
    drop = ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def smoke_alone(tmp_path_factory) -> Path:
    """experiments/smoke.yaml run once, alone, in a fresh folder by the real entry point;
    returns its run folder (the reference for runs on clusters, side by side, on altered data);
    its output is in the folder's parent's parent's stdout.txt and stderr.txt."""
    folder = tmp_path_factory.mktemp("smoke-alone")
    proc = subprocess.run([sys.executable, "-m", "scalper_tune", "run",
                           str(ROOT / "experiments" / "smoke.yaml")], cwd=folder,
                          capture_output=True, text=True, timeout=600, env=clean_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (run,) = (folder / "runs" / "smoke").iterdir()
    (folder / "stdout.txt").write_text(proc.stdout)
    (folder / "stderr.txt").write_text(proc.stderr)
    return run


def run_local(folder: Path, experiment: Path, *extra: str) -> int:
    """`python -m scalper_tune run EXPERIMENT --executor local` in this process with `folder` as
    the working folder (runs/, mlruns/ and the feature cache go there); returns the exit code."""
    old = os.getcwd()
    folder.mkdir(parents=True, exist_ok=True)
    os.chdir(folder)
    try:
        return main(["run", str(experiment), "--executor", "local", *extra])
    finally:
        os.chdir(old)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """experiments/smoke.yaml run once on the local executor (in this process, no Ray): the
    reference of the inner loop's pipeline tests (tests/pipeline/test_executors.py shows it
    equals the Ray run `smoke_alone`); returns its run folder, under `<home>/runs/smoke/`."""
    home = tmp_path_factory.mktemp("smoke-local")
    assert run_local(home, ROOT / "experiments" / "smoke.yaml") == 0
    (run,) = (home / "runs" / "smoke").iterdir()
    return run


def replace_prices_from(start: str, out: Path, assets: int = 3, bars: int = 24_000) -> None:
    """The smoke market (synthetic, seed 7) with every bar from `start` (ISO time) on replaced
    by another market's bars (seed 99; same times; prices rescaled to continue from the last bar
    before `start`), written as a dataset to `out`."""
    import numpy as np
    import pandas as pd

    from scalper_tune.data import write_dataset
    from scalper_tune.data.market import SymbolData

    market = generate(SyntheticSpec(assets=assets, bars=bars, seed=7))
    other = generate(SyntheticSpec(assets=assets, bars=bars, seed=99))
    cut = int(pd.Timestamp(start).value)
    series = {}
    for s in market.symbols:
        a, b = market[s].columns(), other[s].columns()
        k = int(np.searchsorted(a["ts"], cut))
        scale = a["close"][k - 1] / b["close"][k - 1]
        cols = {}
        for name, values in a.items():
            new = values.copy()
            if name in ("open", "high", "low", "close", "bid", "ask"):
                new[k:] = b[name][k:] * scale
            elif name in ("volume", "bid_size", "ask_size", "regime"):
                new[k:] = b[name][k:]
            cols[name] = new
        series[s] = SymbolData(symbol=s, **cols)
    write_dataset(type(market)(bar_seconds=market.bar_seconds, series=series, source=market.source,
                               symbol_meta=market.symbol_meta, info=market.info), out)


@pytest.fixture
def run_log():
    """The progress lines logged on `scalper_tune.run` during the test."""
    import logging

    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    logger = logging.getLogger("scalper_tune.run")
    handler, old = Collect(logging.INFO), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(old)


@pytest.fixture(scope="session")
def ray_session():
    """One Ray instance for the whole test session (started by the first pipeline run)."""
    yield
    import ray

    if ray.is_initialized():
        ray.shutdown()
