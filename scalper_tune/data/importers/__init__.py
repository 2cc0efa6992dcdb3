"""`data import`: files of any supported format -> one canonical dataset.

Formats: ohlcv-csv, ohlcv-parquet (generic tables with a time column), binance-klines (the
12-column dump), freqtrade (Feather or JSON, `PAIR_QUOTE-5m.feather`), binance-stream
(combined-stream recordings). `auto` tells them apart by extension and content.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from scalper_tune.data.calendars import (TWENTY_FOUR_SEVEN, ZONES, check_calendar, infer_calendar,
                                         outside_rows)
from scalper_tune.data.importers import binance_stream, frames
from scalper_tune.data.market import NS_PER_SECOND, MarketData, SymbolData
from scalper_tune.data.resample import resample
from scalper_tune.data.dataset_store import check_symbol
from scalper_tune.data.validate import format_ts, validate_columns
from scalper_tune.errors import DataError, UsageError

FORMATS = ("auto", "ohlcv-csv", "ohlcv-parquet", "binance-klines", "freqtrade", "binance-stream")
_EXTENSIONS = (".csv", ".parquet", ".feather", ".json", ".gz", ".txt", ".jsonl")
_BAR_RE = re.compile(r"^(\d+)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class ImportResult:
    market: MarketData
    notes: tuple[str, ...]


def parse_bar(text: str) -> int:
    """'5m' -> 300 (seconds)."""
    match = _BAR_RE.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"bar {text!r}: expected a size such as 1s, 30s, 1m, 5m, 1h or 1d.",
                         param="bar")
    return int(match.group(1)) * _UNIT_S[match.group(2)]


def expand_paths(paths: list[str]) -> list[Path]:
    """Files as given; folders expand to their data files (sorted)."""
    out: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in _EXTENSIONS
                           and p.name != "dataset.json")
            if not found:
                raise DataError(f"{path}: no data files in this folder (looked for "
                                f"{', '.join(_EXTENSIONS)}).")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise DataError(f"{path}: no such file or folder. Check the path.")
    return out


def detect_format(path: Path) -> str:
    """Tell the format from the extension and, for text files, the first line."""
    suffix = path.suffix.lower()
    if suffix == ".feather":
        return "freqtrade"
    if suffix == ".parquet":
        return "ohlcv-parquet"
    if suffix == ".json":
        return "freqtrade"
    first = _first_line(path)
    if re.match(r"^\d{15,20} \{", first):
        return "binance-stream"
    if suffix in (".gz", ".txt", ".jsonl"):
        raise DataError(f"{path}: cannot tell the format from its first line. Pass --format.")
    fields = [f.strip().lower() for f in first.split(",")]
    if len(fields) == 12 and (all(re.fullmatch(r"[\d.]+", f) for f in fields)
                              or "close_time" in fields):
        return "binance-klines"
    return "ohlcv-csv"


def _first_line(path: Path) -> str:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            return handle.readline().strip()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read the file ({exc}).") from None


def symbol_from_name(path: Path, fmt: str) -> str:
    """BTC_USDT-5m.feather -> BTC_USDT; BTCUSDT-5m-2024-01.csv -> BTCUSDT; AAPL.csv -> AAPL."""
    stem = path.name
    for suffix in (".gz", ".csv", ".parquet", ".feather", ".json", ".txt"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    if fmt in ("freqtrade", "binance-klines"):
        stem = re.split(r"-\d+[smhdwM]\b", stem)[0]
    return stem


_READERS: dict[str, Callable[[Path], dict[str, np.ndarray]]] = {
    "ohlcv-csv": frames.read_ohlcv_csv,
    "ohlcv-parquet": frames.read_ohlcv_parquet,
    "binance-klines": frames.read_binance_klines,
    "freqtrade": lambda p: (frames.read_freqtrade_json(p) if p.suffix.lower() == ".json"
                            else frames.read_freqtrade_feather(p)),
}


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    parts = sorted(parts, key=lambda c: int(c["ts"][0]))
    shared = set.intersection(*(set(p) for p in parts))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k in shared}


def import_files(paths: list[str], *, fmt: str = "auto", bar: str | None = None,
                 symbol: str | None = None, sort: bool = False,
                 drop_duplicates: bool = False, calendar: str = "auto",
                 timezone: str | None = None, extended_hours: bool = False) -> ImportResult:
    """Read, validate and combine files into a `MarketData` (nothing is written here).

    `calendar`: every symbol's trading calendar (24/7, XNYS), or `auto`: 24/7 for the crypto
    stream recordings, else XNYS where every bar lies inside its regular sessions (stated in
    the notes), else 24/7. Under a session calendar, bars outside its regular hours are refused
    with the first one, unless `extended_hours` keeps them. `timezone`: the files' times are
    wall-clock times of this zone (e.g. America/New_York), converted to UTC (DST included)."""
    if calendar != "auto":
        check_calendar(calendar, "--calendar")
    tz = _zone(timezone) if timezone else None
    if fmt not in FORMATS:
        raise UsageError(f"fmt {fmt!r}: choose one of {', '.join(FORMATS)}.", param="fmt")
    bar_s = parse_bar(bar) if bar else None
    files = expand_paths(paths)
    grouped: dict[str, list[tuple[Path, dict[str, np.ndarray]]]] = {}
    meta: dict[str, dict[str, str]] = {}
    used_formats = set()
    for path in files:
        kind = detect_format(path) if fmt == "auto" else fmt
        used_formats.add(kind)
        if kind == "binance-stream":
            venue, suffix = binance_stream.venue_of(path)
            bar_ns = (bar_s or 1) * NS_PER_SECOND
            for asset, cols in binance_stream.read_stream(path, bar_ns).items():
                name = check_symbol(asset + suffix, str(path))
                grouped.setdefault(name, []).append((path, cols))
                meta[name] = {"asset": asset, "venue": venue}
            continue
        name = check_symbol(symbol or symbol_from_name(path, kind), str(path))
        grouped.setdefault(name, []).append((path, _READERS[kind](path)))
        meta.setdefault(name, {"asset": name, "venue": kind})
    if symbol and len(grouped) > 1:
        raise UsageError(f"symbol {symbol}: given with files of {len(grouped)} symbols; "
                         "use --symbol only when all files hold one symbol.", param="symbol")

    series, notes, bars = {}, [], {}
    for name, items in grouped.items():
        origin = str(items[0][0]) if len(items) == 1 else f"{name} ({len(items)} files)"
        checked = validate_columns(_concat([c for _, c in items]), origin=origin, sort=sort,
                                   drop_duplicates=drop_duplicates)
        notes.extend(checked.notes)
        cols, native = checked.columns, checked.bar_seconds
        if tz is not None:
            cols = dict(cols, ts=local_to_utc(cols["ts"], tz, origin))
        if bar_s and bar_s != native and "binance-stream" not in used_formats:
            if bar_s < native or bar_s % native:
                raise UsageError(f"bar {bar}: {origin} has {native} s bars; --bar must be a "
                                 "multiple of the file's bar size (bars are never split).",
                                 param="bar")
            cols = resample(cols, bar_s * NS_PER_SECOND)
            notes.append(f"{name}: resampled {native} s bars to {bar_s} s")
            native = bar_s
        bars[name] = native
        series[name] = SymbolData(symbol=name, **cols)
        crypto = meta[name].get("venue", "").startswith("binance")
        meta[name] = dict(meta[name], **_calendar_meta(
            calendar, crypto, cols["ts"], native * NS_PER_SECOND, origin, extended_hours, name,
            notes, zoned=tz is not None))
    if len(set(bars.values())) > 1:
        listing = ", ".join(f"{s}={b}s" for s, b in sorted(bars.items()))
        raise DataError(f"mixed bar sizes across symbols ({listing}). Import them separately or "
                        "pass --bar to resample all to one size.")
    info = {"importer": sorted(used_formats), "files": [str(p) for p in files]}
    market = MarketData(bar_seconds=next(iter(bars.values())), series=dict(sorted(series.items())),
                        source="import", symbol_meta=meta, info=info)
    return ImportResult(market=market, notes=tuple(notes))


def _zone(name: str):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"timezone {name!r}: not a time zone name; use an IANA name such as "
                         "America/New_York or UTC.", param="timezone") from None


def local_to_utc(ts: np.ndarray, tz, origin: str) -> np.ndarray:
    """Wall-clock times of zone `tz` (read as if UTC) -> ns UTC, across DST changes; a time the
    change skips or repeats (02:00-03:00 local) is refused with its row."""
    local = pd.DatetimeIndex(ts.astype("datetime64[ns]"))
    try:
        aware = local.tz_localize(tz, ambiguous="raise", nonexistent="raise")
    except Exception:
        ambiguous = local.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        row = int(np.flatnonzero(ambiguous.isna())[0])
        raise DataError(f"{origin}: row {row + 1}: {local[row]} does not exist or is ambiguous in "
                        f"{tz} (a daylight-saving change); give times with a UTC offset.") from None
    return aware.tz_convert("UTC").tz_localize(None).as_unit("ns").asi8.copy()


def _fits_wall_clock(calendar: str, ts: np.ndarray, bar_ns: int, zone: str,
                     outside_utc: int) -> bool:
    """Whether most bars fall outside the sessions read as UTC but (nearly: at most 1 %) all
    inside them read as `zone`'s wall clock."""
    if outside_utc <= 0.5 * ts.size:
        return False
    try:
        local = local_to_utc(ts, _zone(zone), "")
    except DataError:  # a time a daylight-saving change skips: not that zone's wall clock
        return False
    outside = outside_rows(calendar, local, bar_ns).size
    return outside <= 0.01 * ts.size


def _calendar_meta(calendar: str, crypto: bool, ts: np.ndarray, bar_ns: int, origin: str,
                   extended_hours: bool, name: str, notes: list, zoned: bool = False) -> dict:
    """The symbol's calendar entries for dataset.json (see `import_files`); `zoned`: the
    times were converted from a --timezone."""
    if calendar == "auto":
        if crypto:
            return {"calendar": TWENTY_FOUR_SEVEN}
        calendar = infer_calendar(ts, bar_ns)
        if calendar != TWENTY_FOUR_SEVEN:
            notes.append(f"{name}: calendar {calendar} inferred (every bar inside its regular "
                         "hours on trading days); --calendar 24/7 to override")
        return {"calendar": calendar}
    if calendar == TWENTY_FOUR_SEVEN:
        return {"calendar": calendar}
    outside = outside_rows(calendar, ts, bar_ns)
    if outside.size and not extended_hours:
        row = int(outside[0])
        zone = ZONES.get(calendar)
        if not zoned and zone and _fits_wall_clock(calendar, ts, bar_ns, zone, outside.size):
            raise DataError(f"{origin}: {outside.size:,} of {ts.size:,} bars fall outside "
                            f"{calendar}'s regular hours read as UTC, but inside them read as "
                            f"{zone} wall-clock times: the file's times are the exchange's local "
                            f"time; pass --timezone {zone}.")
        raise DataError(f"{origin}: row {row + 1} ({format_ts(int(ts[row]))}) is outside "
                        f"{calendar}'s regular hours ({outside.size:,} bar(s) are); drop the pre- "
                        "and after-market bars, or pass --extended-hours to keep them (no entries "
                        "there).")
    if outside.size:
        notes.append(f"{name}: {outside.size:,} bars outside {calendar}'s regular hours kept "
                     "(--extended-hours)")
        return {"calendar": calendar, "extended_hours": "true"}
    return {"calendar": calendar}
