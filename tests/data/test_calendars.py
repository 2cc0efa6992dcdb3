"""Trading calendars: DST-correct sessions, holidays and early closes, bars per year, the import
of stock bars (inferred or given calendar, pre-market bars refused or kept, local times), and the
synthetic session market's stylized facts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from scalper_tune.config import SyntheticSpec
from scalper_tune.data import generate
from scalper_tune.data.calendars import bars_per_year, session_bars, sessions
from scalper_tune.data.market import MarketData, SymbolData

MIN = 60 * 10**9


def _ns(text: str) -> int:
    return int(pd.Timestamp(text).value)


def test_xnys_sessions_follow_new_york_time_across_both_dst_changes():
    s = sessions("XNYS", _ns("2024-03-07T00:00Z"), _ns("2024-11-06T00:00Z"))
    opens = {pd.Timestamp(o, tz="UTC").strftime("%Y-%m-%d"): pd.Timestamp(o, tz="UTC")
             for o in s.opens}
    # 09:30 New York: 14:30 UTC in winter (EST), 13:30 UTC in summer (EDT)
    assert opens["2024-03-08"].strftime("%H:%M") == "14:30"  # Friday before the March change
    assert opens["2024-03-11"].strftime("%H:%M") == "13:30"  # Monday after it
    assert opens["2024-11-01"].strftime("%H:%M") == "13:30"  # Friday before the November change
    assert opens["2024-11-04"].strftime("%H:%M") == "14:30"  # Monday after it


def test_holidays_and_early_closes():
    year = sessions("XNYS", _ns("2024-01-01T00:00Z"), _ns("2025-01-01T00:00Z"))
    days = [pd.Timestamp(o, tz="UTC").strftime("%Y-%m-%d") for o in year.opens]
    days = [d for d in days if d.startswith("2024")]
    assert len(days) == 252
    for holiday in ("2024-01-01", "2024-07-04", "2024-11-28", "2024-12-25"):
        assert holiday not in days
    # the day after Thanksgiving closes at 13:00 New York (18:00 UTC): 210 one-minute bars
    ts = _ns("2024-11-29T14:30Z") + np.arange(240, dtype=np.int64) * MIN
    placed = session_bars("XNYS", ts, MIN)
    assert (placed.session[:210] >= 0).all() and (placed.session[210:] == -1).all()
    assert placed.bars_left[0] == 210 and placed.bars_left[209] == 1


def _market(calendar: str) -> MarketData:
    ts = np.arange(10, dtype=np.int64) * MIN
    d = SymbolData("X", ts, *(np.ones(10),) * 5)
    return MarketData(bar_seconds=60, series={"X": d}, source="t",
                      symbol_meta={"X": {"calendar": calendar}})


def test_bars_per_year_from_the_calendar():
    assert bars_per_year("24/7", 60) == pytest.approx(525_960)
    assert bars_per_year("XNYS", 60) == pytest.approx(98_280)
    assert _market("24/7").bars_per_year() == pytest.approx(525_960)
    assert _market("XNYS").bars_per_year("X") == pytest.approx(98_280)


def _csv(path, times: list[str]) -> None:
    n = len(times)
    pd.DataFrame({"time": times, "open": np.full(n, 10.0), "high": np.full(n, 10.1),
                  "low": np.full(n, 9.9), "close": np.full(n, 10.0),
                  "volume": np.full(n, 100.0)}).to_csv(path, index=False)


def _session_times(day: str, bars: int, local: bool) -> list[str]:
    start = pd.Timestamp(f"{day} 09:30", tz="America/New_York")
    stamps = [start + pd.Timedelta(minutes=i) for i in range(bars)]
    if local:  # wall-clock New York times without an offset
        return [s.strftime("%Y-%m-%d %H:%M:%S") for s in stamps]
    return [s.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ") for s in stamps]


def test_import_infers_xnys_converts_local_times_and_refuses_pre_market_bars(cli, tmp_path):
    csv = tmp_path / "CSCO.csv"
    days = ("2024-03-08", "2024-03-11", "2024-11-01", "2024-11-04")
    _csv(csv, sum((_session_times(d, 30, local=True) for d in days), []))
    out = tmp_path / "stocks"
    result = cli("data", "import", csv, "--out", out, "--timezone", "America/New_York")
    assert result.code == 0, result.err
    assert "CSCO: calendar XNYS inferred" in result.out
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["symbol_meta"]["CSCO"]["calendar"] == "XNYS"
    from scalper_tune.data import load_dataset

    got = load_dataset(out)["CSCO"].ts
    firsts = [pd.Timestamp(got[i * 30], tz="UTC").strftime("%H:%M") for i in range(4)]
    assert firsts == ["14:30", "13:30", "13:30", "14:30"]
    # a pre-market bar under XNYS: refused with its row, or kept with --extended-hours
    early = tmp_path / "EARLY.csv"
    _csv(early, ["2024-03-08T14:00:00Z"] + _session_times("2024-03-08", 30, local=False))
    result = cli("data", "import", early, "--out", tmp_path / "e", "--calendar", "XNYS")
    assert result.code == 3 and "row 1 (2024-03-08 14:00:00 UTC) is outside XNYS" in result.err
    assert "--extended-hours" in result.err and len(result.err.strip().splitlines()) == 1
    result = cli("data", "import", early, "--out", tmp_path / "e", "--calendar", "XNYS",
                 "--extended-hours")
    assert result.code == 0, result.err
    meta = json.loads((tmp_path / "e" / "dataset.json").read_text())["symbol_meta"]["EARLY"]
    assert meta == {"asset": "EARLY", "venue": meta["venue"], "calendar": "XNYS",
                    "extended_hours": "true"}


def test_synthetic_sessions_have_overnight_gaps_and_a_u_shaped_volume():
    market = generate(SyntheticSpec(assets=2, bars=390 * 120, calendar="XNYS", seed=3))
    assert market.symbols == ("STK01", "STK02") and market.calendars() == ("XNYS",)
    for symbol in market.symbols:
        d = market[symbol]
        placed = session_bars("XNYS", d.ts, MIN)
        assert (placed.session >= 0).all()  # every bar inside a regular session
        first = np.flatnonzero(placed.first)[1:]
        last = np.flatnonzero(np.r_[placed.session[1:] != placed.session[:-1], True])
        gap = np.log(d.open[first] / d.close[first - 1])
        close_to_close = np.diff(np.log(d.close[last]))
        share = gap.var() / close_to_close.var()
        assert 0.08 < share < 0.4, share  # the night carries a real share of the variance
        position = np.arange(len(d)) - np.searchsorted(d.ts, d.ts[np.r_[0, first]])[
            np.cumsum(placed.first) - 1]
        v = d.volume
        midday = v[(position >= 150) & (position < 240)].mean()
        assert v[position < 30].mean() > 2 * midday and v[position >= 360].mean() > 1.5 * midday


def test_wall_clock_times_under_xnys_name_the_timezone(cli, tmp_path):
    """A vendor's naive New York times imported with --calendar XNYS: the error names
    --timezone America/New_York (not dropping bars); with it the import succeeds."""
    csv = tmp_path / "MSFT.csv"
    _csv(csv, sum((_session_times(d, 390, local=True) for d in ("2024-03-08", "2024-03-11")),
                  []))
    result = cli("data", "import", csv, "--out", tmp_path / "s", "--calendar", "XNYS")
    assert result.code == 3, result.err
    assert "pass --timezone America/New_York" in result.err
    assert "--extended-hours" not in result.err and len(result.err.strip().splitlines()) == 1
    result = cli("data", "import", csv, "--out", tmp_path / "s", "--calendar", "XNYS",
                 "--timezone", "America/New_York")
    assert result.code == 0, result.err
