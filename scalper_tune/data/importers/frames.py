"""Readers of OHLCV tables: generic CSV/Parquet, Binance kline CSV, freqtrade Feather/JSON.

Each returns the columns of one file (`ts` int64 ns plus OHLCV float64, and the book when the
file has all four book columns); validation happens once all files of a symbol are read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from scalper_tune.data.importers.timecol import epoch_to_ns, find_time_column, to_ns
from scalper_tune.data.market import BOOK, OHLCV
from scalper_tune.errors import DataError

KLINE_COLUMNS = ("open_time", "open", "high", "low", "close", "volume", "close_time",
                 "quote_volume", "count", "taker_buy_volume", "taker_buy_quote_volume", "ignore")
_ALIASES = {"vol": "volume", "o": "open", "h": "high", "l": "low", "c": "close", "v": "volume",
            "bid_price": "bid", "ask_price": "ask", "bid_qty": "bid_size", "ask_qty": "ask_size"}


def _read_error(path: Path, exc: Exception) -> DataError:
    return DataError(f"{path}: cannot read the file ({type(exc).__name__}: {exc}). "
                     "Check the file and --format.")


def frame_columns(frame: pd.DataFrame, origin: str) -> dict[str, np.ndarray]:
    """Canonical columns from a table with a time column and OHLCV (case-insensitive names;
    extra columns such as 'Adj Close' are ignored)."""
    if frame.shape[0] == 0:
        raise DataError(f"{origin}: the file has no data rows. Check that it is the right file.")
    time_col = find_time_column([str(c) for c in frame.columns], origin)
    lower: dict[str, str] = {}
    for c in frame.columns:
        key = str(c).lower().strip().replace(" ", "_")
        lower.setdefault(_ALIASES.get(key, key), c)
    missing = [c for c in OHLCV if c not in lower]
    if missing:
        raise DataError(f"{origin}: missing column(s) {', '.join(missing)} (found "
                        f"{', '.join(map(str, frame.columns))}). Rename the columns or use --format.")
    out = {"ts": to_ns(frame[time_col], origin)}
    for name in OHLCV + (BOOK if all(b in lower for b in BOOK) else ()):
        values = pd.to_numeric(frame[lower[name]], errors="coerce")
        bad = values.isna() & frame[lower[name]].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"{origin}: row {row + 1}: column {lower[name]!r} is not a number "
                            f"({frame[lower[name]].iloc[row]!r}). Repair that row.")
        out[name] = values.to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def read_ohlcv_csv(path: Path) -> dict[str, np.ndarray]:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty. Check that it is the right file.") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise _read_error(path, exc) from None
    return frame_columns(frame, str(path))


def read_ohlcv_parquet(path: Path) -> dict[str, np.ndarray]:
    try:
        frame = pd.read_parquet(path)
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise _read_error(path, exc) from None
    return frame_columns(frame, str(path))


def read_freqtrade_feather(path: Path) -> dict[str, np.ndarray]:
    try:
        frame = pd.read_feather(path)
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise _read_error(path, exc) from None
    return frame_columns(frame, str(path))


def read_freqtrade_json(path: Path) -> dict[str, np.ndarray]:
    """freqtrade's JSON candles: a list of [epoch_ms, open, high, low, close, volume]."""
    try:
        rows = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _read_error(path, exc) from None
    if not isinstance(rows, list) or not rows:
        raise DataError(f"{path}: expected a non-empty JSON list of [time, open, high, low, close, "
                        "volume] rows. Check --format.")
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) < 6:
            raise DataError(f"{path}: row {i + 1}: expected [time, open, high, low, close, volume], "
                            f"got {str(row)[:60]}. Repair that row.")
    try:
        table = np.array([r[:6] for r in rows], dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{path}: a row holds a value that is not a number. Repair the file.") from None
    out = {"ts": epoch_to_ns(np.array([r[0] for r in rows]), str(path), "time")}
    for j, name in enumerate(OHLCV, start=1):
        out[name] = table[:, j].copy()
    return out


def read_binance_klines(path: Path) -> dict[str, np.ndarray]:
    """Binance's 12-column kline dump (with or without a header row)."""
    try:
        frame = pd.read_csv(path, header=None, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty. Check that it is the right file.") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise _read_error(path, exc) from None
    if frame.shape[1] != len(KLINE_COLUMNS):
        raise DataError(f"{path}: a Binance kline file has {len(KLINE_COLUMNS)} columns, this one "
                        f"has {frame.shape[1]}. Use --format ohlcv-csv for other layouts.")
    if not re.fullmatch(r"\d+", str(frame.iloc[0, 0]).strip()):
        frame = frame.iloc[1:].reset_index(drop=True)
    frame.columns = list(KLINE_COLUMNS)
    return frame_columns(frame[list(KLINE_COLUMNS[:6])], str(path))
