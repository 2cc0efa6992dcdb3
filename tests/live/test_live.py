"""Live paper trading: the live bar builder equals the importer on the recording, the live runner
on those bars equals `paper`, and `live` over a real socket (a replay server on 127.0.0.1 that
drops the connection twice, stalls once and sends malformed frames) ends cleanly with every
traded unit in its bars and no bar twice."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import shutil
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest
import yaml
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.config.strategy_params import default_params
from scalper_tune.data.importers import import_files
from scalper_tune.data.market import MarketData
from scalper_tune.engine.inputs import ENTRY_MASK
from scalper_tune.live.runner import LiveRunner, paper_replay
from scalper_tune.live.session import LiveSession
from tests.conftest import FEED as FEED_DIR

NS = 1_000_000_000
FEED = FEED_DIR / "btcusdt_20240808.gz"
SPEC = FeatureSpec(vol_window=5, baseline_window=20, timeframes=(1,), z_windows=(10,),
                   spread_window=20, cross_window=20, atr_window=5, imbalance_window=5)
PARAMS = dict(default_params(), z_window=10, entry_z=1.0, vol_z_min=-5.0, imbalance_min=0.0,
              max_hold=20, stop_loss=0.001, ou_exit_frac=0.5)


def _lines() -> list[tuple[int, str]]:
    with gzip.open(FEED, "rt") as handle:
        return [(int(h), body) for h, _, body in (line.strip().partition(" ") for line in handle)
                if body]


def _session(stale_after_s: float = 60.0, spec: FeatureSpec = SPEC) -> LiveSession:
    runner = LiveRunner(("BTCUSDT",), 1, PARAMS, spec=spec)
    return LiveSession(runner, ["BTCUSDT"], NS, int(stale_after_s * NS), say=lambda _: None)


def test_live_bars_equal_the_importers_and_trades_equal_paper():
    session = _session()
    for t, body in _lines():
        session.on_frame(t, body)
    session.finish()
    live = session.bars_market()["BTCUSDT"].columns()
    imported = import_files([str(FEED)], fmt="binance-stream", bar="1s").market
    for name, values in imported["BTCUSDT"].columns().items():
        np.testing.assert_array_equal(live[name], values, err_msg=name)
    assert session.counts.skipped == {}  # depth messages move the clock, they are not skipped
    # the live runner fed those bars trades exactly as `paper` on the imported dataset
    trades, _, _ = paper_replay(imported, PARAMS, spec=SPEC)
    assert len(trades) > 5
    pd.testing.assert_frame_equal(session.trades().reset_index(drop=True),
                                  trades.reset_index(drop=True))


def test_a_warmed_up_session_trades_as_paper_with_the_warm_up_blocked():
    """--warmup: the first 120 bars of the recording as a dataset fill the rolling state with
    entries blocked; the session then gets the frames after them. Its trades equal `paper` on
    the whole recording with entries blocked on those 120 bars."""
    imported = import_files([str(FEED)], fmt="binance-stream", bar="1s").market
    warm_bars = 120
    cut = int(imported["BTCUSDT"].ts[warm_bars])
    warm = MarketData(bar_seconds=1, source="warm-up",
                      series={"BTCUSDT": imported["BTCUSDT"].head(warm_bars)})
    session = _session()
    assert session.warm_up(warm) == warm_bars
    for t, body in _lines():
        if t >= cut:
            session.on_frame(t, body)
    session.finish()
    mask = np.arange(len(imported["BTCUSDT"])) >= warm_bars
    trades, _, _ = paper_replay(imported, PARAMS, spec=SPEC,
                                gate={"BTCUSDT": {ENTRY_MASK: mask.astype(float)}})
    assert len(trades) > 5
    pd.testing.assert_frame_equal(session.trades().reset_index(drop=True),
                                  trades.reset_index(drop=True))


def test_bad_frames_are_counted_and_skipped():
    session = _session()
    lines = _lines()[:2000]
    t0 = lines[0][0]
    bad = ["not json", json.dumps({"stream": "btcusdt@trade", "data": {"p": "x", "q": "1",
                                                                     "T": 1}}),
           json.dumps({"stream": "dogeusdt@trade", "data": {}}), json.dumps({"result": None}),
           json.dumps({"stream": "btcusdt@trade", "data": {"p": "1", "q": "1", "T": 0}})]
    for i, (t, body) in enumerate(lines):
        session.on_frame(t, body)
        if i == 1000:
            for frame in bad:
                session.on_frame(t, frame)
    assert session.counts.skipped == {"not JSON": 1, "malformed": 1, "unknown stream": 1,
                                      "out of order": 1}
    assert session.counts.control >= 1  # {"result": null} (and the recording's REST snapshot)
    assert "4 frame(s) skipped" in session.status_line()
    assert lines[-1][0] > t0


class ReplayServer:
    """Serves the recording's frames in order at `speed` x their recorded pace to whoever is
    connected (a reconnecting client continues where the feed is); closes the connection after
    the frames numbered in `drops`, pauses `stall_s` after frame `stall_at`, and slips malformed
    frames in after frame `bad_at`."""

    def __init__(self, lines, speed: float, drops=(), stall_at=-1, stall_s=0.0, bad_at=-1):
        self.lines, self.speed = lines, speed
        self.drops, self.stall_at, self.stall_s, self.bad_at = set(drops), stall_at, stall_s, bad_at
        self.i, self.sent_volume, self.done = 0, 0.0, threading.Event()
        self.connections = 0
        self.loop = asyncio.new_event_loop()
        self.port = None
        started = threading.Event()

        def main():
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self._serve(started))

        self.thread = threading.Thread(target=main, daemon=True)
        self.thread.start()
        assert started.wait(10)

    async def _serve(self, started):
        self.stop = asyncio.Event()
        async with serve(self._handler, "127.0.0.1", 0) as server:
            self.port = server.sockets[0].getsockname()[1]
            started.set()
            await self.stop.wait()

    async def _handler(self, ws):
        self.connections += 1
        if self.connections == 1:
            self.t0, self.start = self.lines[0][0], time.monotonic()
        while self.i < len(self.lines):
            t, body = self.lines[self.i]
            wait = self.start + (t - self.t0) / NS / self.speed - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                await ws.send(body)
            except ConnectionClosed:  # the client left: the frame was not delivered
                return
            message = json.loads(body)
            if message.get("stream") == "btcusdt@trade":
                self.sent_volume += float(message["data"]["q"])
            self.i += 1
            if self.i == self.bad_at:
                for frame in ("{broken", json.dumps({"stream": "btcusdt@bookTicker",
                                                     "data": {"b": "1"}})):
                    await ws.send(frame)
            if self.i == self.stall_at:
                await asyncio.sleep(self.stall_s)
                self.start += self.stall_s
            if self.i in self.drops:
                self.drops.discard(self.i)
                await ws.close()
                return
        self.done.set()
        # everything sent: Ctrl-C to the client (this process), as a user stops a session
        await asyncio.sleep(1.0)
        os.kill(os.getpid(), signal.SIGINT)
        await ws.wait_closed()

    def close(self):
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)


@pytest.mark.slow
def test_live_over_a_socket_survives_drops_a_stall_and_bad_frames(cli, tmp_path):
    # the streams the client subscribes to, first 12,000 frames (about 2 minutes of the
    # recording) at x60: about 2 s; two drops, a 1.5 s stall, two bad frames; then Ctrl-C
    lines = [(t, b) for t, b in _lines() if '@depth' not in b[:40]][:12_000]
    n = len(lines)
    server = ReplayServer(lines, speed=60.0, drops=(n // 4, n // 2), stall_at=3 * n // 4,
                          stall_s=1.5, bad_at=n // 3)
    try:
        bars_out, trades_out = tmp_path / "bars.parquet", tmp_path / "trades.csv"
        result = cli("live", "--symbols", "btcusdt", "--url", f"ws://127.0.0.1:{server.port}/stream",
                     "--duration", "60", "--stale-after", "0.5", "--bars-out", bars_out,
                     "--trades-out", trades_out, "--mlruns", tmp_path / "mlruns")
        assert server.done.is_set(), f"the client stopped before the feed ended ({server.i}/{n})"
    finally:
        server.close()
    assert result.code == 0, result.out + result.err
    bars = pd.read_parquet(bars_out)
    assert bars["ts"].is_unique and bars["ts"].is_monotonic_increasing
    assert bars["volume"].sum() == pytest.approx(server.sent_volume, rel=1e-12)
    out = result.out
    assert out.count("reconnected after") == 2
    assert "stale feed: no message for" in out
    assert "2 reconnect(s)" in out and "2 frame(s) skipped (1 malformed, 1 not JSON)" in out
    assert "bar(s) with entries blocked" in out and " 0 bar(s) with entries blocked" not in out
    assert pd.read_csv(trades_out).empty or pd.read_csv(trades_out)["exit_time"].is_unique
    # the session is an MLflow run with its counts and files
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    (exp,) = [e for e in client.search_experiments() if e.name == "live"]
    (run,) = client.search_runs([exp.experiment_id])
    assert run.data.metrics["reconnects"] == 2 and run.data.metrics["skipped_not_JSON"] == 1
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == {"bars.parquet",
                                                                        "trades.csv"}


def test_bad_symbols_and_a_gated_strategy_are_refused(cli, smoke_run):
    result = cli("live", "--symbols", "btc/usdt", "--duration", "1")
    assert result.code == 2 and "--symbols 'btc/usdt'" in result.err
    assert len(result.err.strip().splitlines()) == 1
    result = cli("live", "--symbols", "btcusdt", "--url", "not-a-url", "--duration", "30")
    assert result.code == 2 and "--url not-a-url: no WebSocket stream there" in result.err
    bundle = smoke_run / "strategy"
    result = cli("live", "--symbols", "syn01", "--strategy", bundle, "--duration", "1")
    assert result.code == 2 and "was tuned on 60-s bars; use --bar 60s" in result.err
    # the account check of backtest and paper, also with a strategy
    result = cli("live", "--symbols", "syn01", "--strategy", bundle, "--bar", "60s",
                 "--account", "-5", "--duration", "1")
    assert result.code == 2 and "--account -5" in result.err, result.err

def test_a_gated_strategy_runs_with_its_saved_models_and_a_bundle_without_them_is_refused(
        cli, smoke_run, tmp_path):
    bundle = smoke_run / "strategy"
    url = "ws://127.0.0.1:9/stream"  # nothing listens there: the session retries, then ends
    result = cli("live", "--symbols", "syn01", "--strategy", bundle, "--bar", "60s", "--url", url,
                 "--duration", "1", "--mlruns", tmp_path / "mlruns")
    assert result.code == 0, result.err
    assert "entry gate: regime classifier fitted on 7,200 bars before 2022-01-21" in result.out
    assert "no entries in toxic" in result.out
    # a bundle written before models were saved, and one whose model file was altered
    old = tmp_path / "old"
    shutil.copytree(bundle, old)
    raw = yaml.safe_load((old / "strategy.yaml").read_text())
    del raw["models"]
    (old / "strategy.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    result = cli("live", "--symbols", "syn01", "--strategy", old, "--bar", "60s")
    assert result.code == 2 and "has an entry gate but no saved model" in result.err
    assert "--no-gate" in result.err and len(result.err.strip().splitlines()) == 1
    damaged = tmp_path / "damaged"
    shutil.copytree(bundle, damaged)
    with open(damaged / "models" / "regime_classifier.skops", "ab") as f:
        f.write(b"x")
    for command in (("live", "--symbols", "syn01", "--bar", "60s"),
                    ("backtest", "--data", tmp_path / "not-read")):
        result = cli(*command, "--strategy", damaged)
        assert result.code == 2 and "does not match its SHA-256" in result.err, command
        assert "regime_classifier.skops" in result.err
