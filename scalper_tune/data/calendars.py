"""Trading calendars: when a symbol trades, and how many bars a year that makes.

A symbol's calendar is `24/7` (crypto: every bar of every day) or an exchange session calendar
from `exchange_calendars` (`XNYS` for US equities: 09:30-16:00 America/New_York on the
exchange's trading days, with its holidays and early closes, converted to UTC across daylight
saving changes). It is recorded per symbol in `dataset.json` (`symbol_meta.<symbol>.calendar`).

Annualisation: a 24/7 symbol has 365.25 x 86,400 / bar_seconds bars a year (525,960 one-minute
bars); a session symbol has SESSIONS_PER_YEAR (252) regular sessions of
session_seconds / bar_seconds bars (XNYS one-minute bars: 252 x 390 = 98,280).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from scalper_tune.errors import DataError

TWENTY_FOUR_SEVEN = "24/7"
SESSION_CALENDARS = ("XNYS",)
CALENDARS = (TWENTY_FOUR_SEVEN,) + SESSION_CALENDARS
SESSIONS_PER_YEAR = 252
REGULAR_SESSION_SECONDS = {"XNYS": 6.5 * 3600}
ZONES = {"XNYS": "America/New_York"}  # the exchange's wall clock
SECONDS_PER_YEAR = 365.25 * 86400
NS_PER_SECOND = 1_000_000_000


def check_calendar(name: str, where: str) -> str:
    """`name` if it is a known calendar, else a DataError saying which are."""
    if name not in CALENDARS:
        raise DataError(f"{where}: unknown calendar {name!r}; use one of {', '.join(CALENDARS)}.")
    return name


def bars_per_year(calendar: str, bar_seconds: int) -> float:
    """Bars of `bar_seconds` in a year of `calendar` (see the module docstring)."""
    if calendar == TWENTY_FOUR_SEVEN:
        return SECONDS_PER_YEAR / bar_seconds
    return SESSIONS_PER_YEAR * REGULAR_SESSION_SECONDS[calendar] / bar_seconds


def days_per_year(calendar: str) -> float:
    """Days a year on which `calendar` trades (for Sharpe ratios of daily equity)."""
    return 365.25 if calendar == TWENTY_FOUR_SEVEN else float(SESSIONS_PER_YEAR)


@dataclass(frozen=True)
class Sessions:
    """The sessions of a calendar over a span: open and close times (ns UTC), in order."""

    opens: np.ndarray
    closes: np.ndarray


SPAN = ("1990-01-02", "2035-12-31")  # the days a calendar is built for (once per process)


@functools.lru_cache(maxsize=4)
def _all_sessions(calendar: str) -> Sessions:
    import warnings

    with warnings.catch_warnings():  # exchange_calendars' own pandas deprecation warnings
        warnings.simplefilter("ignore")
        import exchange_calendars as xcals  # imported on use: slow to import

        cal = xcals.get_calendar(calendar, start=SPAN[0], end=SPAN[1])
    days = cal.sessions
    utc = lambda col: (col[days].dt.tz_convert(None).to_numpy().astype("datetime64[ns]")
                       .astype(np.int64))
    return Sessions(utc(cal.opens), utc(cal.closes))


def _known(calendar: str, start_ns: int, stop_ns: int) -> Sessions:
    """Every session of the calendar, after checking that it covers [start_ns, stop_ns)."""
    every = _all_sessions(calendar)
    if start_ns < every.opens[0] or stop_ns > every.closes[-1]:
        raise DataError(f"calendar {calendar}: known from {SPAN[0]} to {SPAN[1]} only; the data "
                        f"spans {_day(start_ns)} to {_day(stop_ns)}.")
    return every


def sessions(calendar: str, start_ns: int, stop_ns: int) -> Sessions:
    """The regular sessions of a session calendar that touch [start_ns, stop_ns)."""
    every = _known(calendar, start_ns, stop_ns)
    lo = max(0, int(np.searchsorted(every.closes, start_ns, side="right")) - 1)
    hi = int(np.searchsorted(every.opens, stop_ns, side="left")) + 1
    return Sessions(every.opens[lo:hi], every.closes[lo:hi])


def _day(ns: int) -> str:
    return np.datetime_as_string(np.datetime64(int(ns), "ns"), unit="D")


@dataclass(frozen=True)
class SessionBars:
    """Per bar of a session symbol: its session's number (-1: outside every regular session),
    the bars left in its session including itself (1 on the session's last bar), and whether
    it is the first bar of its session in the data (the bar after an overnight gap)."""

    session: np.ndarray  # int64
    bars_left: np.ndarray  # int64; 0 outside sessions
    first: np.ndarray  # bool


def session_bars(calendar: str, ts: np.ndarray, bar_ns: int) -> SessionBars:
    """Place every bar (open time `ts`, ns UTC) in its regular session. A bar is inside a
    session when it opens at or after the session's open and closes at or before its close;
    sessions are numbered over the calendar's whole span, so numbers compare across calls."""
    n = ts.shape[0]
    if calendar == TWENTY_FOUR_SEVEN or n == 0:
        return SessionBars(np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64),
                           np.zeros(n, dtype=bool))
    every = _known(calendar, int(ts[0]), int(ts[-1]) + bar_ns)
    k = np.searchsorted(every.opens, ts, side="right") - 1
    kk = np.maximum(k, 0)
    inside = (k >= 0) & (ts + bar_ns <= every.closes[kk])
    session = np.where(inside, kk, -1).astype(np.int64)
    left = np.where(inside, (every.closes[kk] - ts) // bar_ns, 0).astype(np.int64)
    first = inside.copy()
    first[1:] &= session[1:] != session[:-1]
    return SessionBars(session, left, first)


def outside_rows(calendar: str, ts: np.ndarray, bar_ns: int) -> np.ndarray:
    """Indices of bars outside every regular session (pre/after-market, weekends, holidays)."""
    return np.flatnonzero(session_bars(calendar, ts, bar_ns).session < 0)


def infer_calendar(ts: np.ndarray, bar_ns: int) -> str:
    """XNYS when every bar lies inside its regular sessions and the data spans more than one
    calendar day (unambiguous), else 24/7."""
    if ts.shape[0] < 2 or int(ts[-1] - ts[0]) < 86_400 * NS_PER_SECOND:
        return TWENTY_FOUR_SEVEN
    try:
        if outside_rows("XNYS", ts, bar_ns).size == 0:
            return "XNYS"
    except DataError:
        pass
    return TWENTY_FOUR_SEVEN


def session_bar_times(calendar: str, start_ns: int, n: int, bar_ns: int) -> tuple:
    """The open times of the first `n` regular-session bars at or after `start_ns` (a session
    holds floor((close - open) / bar) bars; early closes are shorter), with each bar's session
    number and its position in the session (0 at the open, towards 1 at the close)."""
    per_day = max(1, int(REGULAR_SESSION_SECONDS[calendar] * NS_PER_SECOND // bar_ns))
    days = int(n / per_day * 7 / 5 * 1.1) + 20  # calendar days that hold n bars, with margin
    s = sessions(calendar, start_ns, start_ns + days * 86_400 * NS_PER_SECOND)
    keep = s.opens >= start_ns
    opens, closes = s.opens[keep], s.closes[keep]
    counts = ((closes - opens) // bar_ns).astype(np.int64)
    k = int(np.searchsorted(np.cumsum(counts), n)) + 1
    opens, counts = opens[:k], counts[:k]
    session = np.repeat(np.arange(k), counts)[:n]
    within = (np.arange(session.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts)[:n])
    ts = opens[session] + within * bar_ns
    return ts.astype(np.int64), session, within / counts[session]


def session_of(calendar: str, ts: int, bar_ns: int) -> tuple[float, int]:
    """One bar's (session number, bars left in it including itself), as `session_bars` places
    it: (-1, -1) outside regular hours; (NaN, 0) for 24/7."""
    if calendar == TWENTY_FOUR_SEVEN:
        return float("nan"), 0
    placed = session_bars(calendar, np.array([ts], dtype=np.int64), bar_ns)
    session = int(placed.session[0])
    return float(session), int(placed.bars_left[0]) if session >= 0 else -1
