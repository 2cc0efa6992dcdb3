"""Every importer on the shipped real sample (data/), the larger shared set when present, and
hand-made files."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from scalper_tune.data import load_dataset
from scalper_tune.data.importers import detect_format, import_files
from tests.conftest import FEED, SPOT_5M

T0 = pd.Timestamp("2024-03-01T00:00:00Z")


def _bars(n=6, step="5min"):
    ts = pd.date_range(T0, periods=n, freq=step).as_unit("ns")
    close = 100 + np.arange(n, dtype=float)
    return pd.DataFrame({"ts": ts, "open": close - 0.5, "high": close + 1, "low": close - 1,
                         "close": close, "volume": np.full(n, 10.0)})


def test_freqtrade_feather_real_files(cli, tmp_path):
    src = SPOT_5M
    result = cli("data", "import", src, "--out", tmp_path / "ds")
    assert result.code == 0, result.err
    market = load_dataset(tmp_path / "ds", verify=True)
    assert market.symbols == ("BTC_USDT", "ETH_USDT", "SOL_USDT")
    assert market.bar_seconds == 300
    btc = market["BTC_USDT"]
    raw = pd.read_feather(src / "BTC_USDT-5m.feather")
    assert len(btc) == len(raw)
    np.testing.assert_array_equal(btc.close, raw["close"].to_numpy())
    assert btc.ts[0] == T0.replace(month=1).value and not btc.has_book
    inspect = cli("data", "inspect", tmp_path / "ds")
    assert inspect.code == 0 and "BTC_USDT" in inspect.out and "300" in inspect.out


def test_binance_stream_shipped_recording(cli, tmp_path):
    result = cli("data", "import", FEED, "--out", tmp_path / "ds", "--bar", "1s")
    assert result.code == 0, result.err
    market = load_dataset(tmp_path / "ds")
    assert market.symbols == ("BTCUSDT",) and market.bar_seconds == 1
    d = market["BTCUSDT"]
    assert d.has_book and 300 <= len(d) <= 420 and 50_000 < np.median(d.close) < 70_000


def test_binance_stream_real_files(cli, shared_data, tmp_path):
    src = shared_data / "binance-feed-2024-08-08"
    result = cli("data", "import", src, "--out", tmp_path / "ds", "--bar", "5s")
    assert result.code == 0, result.err
    market = load_dataset(tmp_path / "ds")
    assert set(market.symbols) == {"BTCUSDT", "BTCUSDT-PERP", "ETHUSDT"}
    assert market.bar_seconds == 5
    assert market.symbol_meta["BTCUSDT-PERP"] == {"asset": "BTCUSDT", "venue": "binance-usdm",
                                                  "calendar": "24/7"}
    assert market.symbol_meta["BTCUSDT"] == {"asset": "BTCUSDT", "venue": "binance-spot",
                                             "calendar": "24/7"}
    for symbol in market.symbols:
        d = market[symbol]
        assert d.has_book and 60 <= len(d) <= 80  # ~6 minutes of 5 s bars
        ok = np.isfinite(d.bid)
        assert ok.mean() > 0.95 and np.all(d.bid[ok] < d.ask[ok])
        assert np.all(np.diff(d.ts) == 5 * 10**9)
        assert 50_000 < np.median(d.close) < 70_000 if symbol.startswith("BTC") else True
    # volume adds up to the traded quantity in the recording
    qty = 0.0
    with gzip.open(src / "ethusdt_20240808.gz", "rt") as fh:
        for line in fh:
            msg = json.loads(line.split(" ", 1)[1])
            if msg.get("stream") == "ethusdt@trade":
                qty += float(msg["data"]["q"])
    assert market["ETHUSDT"].volume.sum() == pytest.approx(qty, rel=1e-9)


@pytest.mark.parametrize("unit,scale", [("s", 10**9), ("ms", 10**6), ("ns", 1)])
def test_generic_csv_epoch_units(tmp_path, unit, scale):
    frame = _bars()
    frame["ts"] = frame["ts"].astype("int64") // scale
    frame.to_csv(tmp_path / "AAPL.csv", index=False)
    market = import_files([str(tmp_path / "AAPL.csv")]).market
    assert market.symbols == ("AAPL",) and market.bar_seconds == 300
    assert market["AAPL"].ts[0] == T0.value


def test_generic_csv_iso_offsets_case_and_extra_columns(tmp_path):
    frame = _bars()
    text = pd.DataFrame({
        "Date": [t.tz_convert("America/New_York").isoformat() for t in frame["ts"]],
        "Open": frame["open"], "HIGH": frame["high"], "Low": frame["low"],
        "Close": frame["close"], "Adj Close": frame["close"] * 0.99, "Volume": frame["volume"]})
    text.to_csv(tmp_path / "spy_daily.csv", index=False)
    market = import_files([str(tmp_path / "spy_daily.csv")], symbol="SPY").market
    assert market.symbols == ("SPY",)
    np.testing.assert_array_equal(market["SPY"].ts, frame["ts"].astype("int64").to_numpy())
    np.testing.assert_array_equal(market["SPY"].close, frame["close"].to_numpy())


def test_generic_parquet_with_book(tmp_path):
    frame = _bars()
    frame["bid"] = frame["close"] - 0.01
    frame["ask"] = frame["close"] + 0.01
    frame["bid_size"] = 1.0
    frame["ask_size"] = 2.0
    frame.to_parquet(tmp_path / "X.parquet")
    assert detect_format(tmp_path / "X.parquet") == "ohlcv-parquet"
    market = import_files([str(tmp_path / "X.parquet")]).market
    assert market["X"].has_book
    np.testing.assert_array_equal(market["X"].ask, frame["ask"].to_numpy())


def _kline_rows(frame, ts_scale=10**6):
    rows = []
    for _, r in frame.iterrows():
        t = r["ts"].value // ts_scale
        rows.append([t, r["open"], r["high"], r["low"], r["close"], r["volume"],
                     t + 299_999, 1000.0, 5, 4.0, 400.0, 0])
    return rows


@pytest.mark.parametrize("header", [False, True])
def test_binance_klines(tmp_path, header):
    frame = _bars(12)
    rows = _kline_rows(frame)
    cols = ["open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume",
            "count", "taker_buy_volume", "taker_buy_quote_volume", "ignore"]
    a = pd.DataFrame(rows[:6], columns=cols)
    b = pd.DataFrame(rows[6:], columns=cols)
    # monthly dump files given out of order: files are ordered by their first time
    a.to_csv(tmp_path / "BTCUSDT-5m-2024-03.csv", index=False, header=header)
    b.to_csv(tmp_path / "BTCUSDT-5m-2024-04.csv", index=False, header=header)
    assert detect_format(tmp_path / "BTCUSDT-5m-2024-03.csv") == "binance-klines"
    market = import_files([str(tmp_path / "BTCUSDT-5m-2024-04.csv"),
                           str(tmp_path / "BTCUSDT-5m-2024-03.csv")]).market
    assert market.symbols == ("BTCUSDT",) and len(market["BTCUSDT"]) == 12
    np.testing.assert_array_equal(market["BTCUSDT"].close, frame["close"].to_numpy())


def test_binance_klines_microseconds(tmp_path):
    frame = _bars()
    pd.DataFrame(_kline_rows(frame, ts_scale=10**3)).to_csv(tmp_path / "ETHUSDT-5m-2025-01.csv",
                                                            index=False, header=False)
    market = import_files([str(tmp_path / "ETHUSDT-5m-2025-01.csv")]).market
    assert market["ETHUSDT"].ts[0] == T0.value


def test_freqtrade_json(tmp_path):
    frame = _bars()
    rows = [[int(t.value // 10**6), o, h, lo, c, v] for t, o, h, lo, c, v in frame.itertuples(index=False)]
    (tmp_path / "SOL_USDT-5m.json").write_text(json.dumps(rows))
    market = import_files([str(tmp_path / "SOL_USDT-5m.json")]).market
    assert market.symbols == ("SOL_USDT",)
    np.testing.assert_array_equal(market["SOL_USDT"].high, frame["high"].to_numpy())


def test_resample_to_coarser_bar(tmp_path):
    src = SPOT_5M / "BTC_USDT-5m.feather"
    market = import_files([str(src)], bar="1h").market
    raw = pd.read_feather(src).set_index("date")
    hourly = raw.resample("1h").agg({"open": "first", "high": "max", "low": "min",
                                     "close": "last", "volume": "sum"}).dropna()
    d = market["BTC_USDT"]
    assert market.bar_seconds == 3600 and len(d) == len(hourly)
    np.testing.assert_allclose(d.high, hourly["high"].to_numpy())
    np.testing.assert_allclose(d.volume, hourly["volume"].to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(d.close, hourly["close"].to_numpy())
