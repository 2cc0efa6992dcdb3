"""Time columns of any common kind -> int64 nanoseconds UTC."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scalper_tune.errors import DataError

TIME_NAMES = ("ts", "timestamp", "time", "date", "datetime", "open_time", "open time", "opentime")
_EPOCH_UNITS = ((1e11, "s", 10 ** 9), (1e14, "ms", 10 ** 6), (1e17, "us", 10 ** 3))


def find_time_column(columns: list[str], origin: str) -> str:
    """The name of the time column (case-insensitive match against the usual names)."""
    lower = {c.lower().strip(): c for c in columns}
    for name in TIME_NAMES:
        if name in lower:
            return lower[name]
    raise DataError(f"{origin}: no time column (looked for {', '.join(TIME_NAMES)}; found "
                    f"{', '.join(map(str, columns))}). Rename the time column to 'timestamp'.")


def epoch_to_ns(values: np.ndarray, origin: str, column: str) -> np.ndarray:
    """Epoch numbers in s, ms, us or ns (told apart by magnitude) -> int64 ns."""
    v = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(v)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"{origin}: row {row + 1}: column {column!r} is empty or not a number. "
                        "Repair or drop that row.")
    if v.shape[0] == 0:
        return v.astype(np.int64)
    magnitude = float(np.median(np.abs(v)))
    scale = 1
    for limit, _unit, factor in _EPOCH_UNITS:
        if magnitude < limit:
            scale = factor
            break
    raw = np.asarray(values)
    if raw.dtype.kind in "iu":
        return raw.astype(np.int64) * scale
    return np.round(v * scale).astype(np.int64)


def to_ns(series: pd.Series, origin: str) -> np.ndarray:
    """A pandas column of datetimes, ISO strings (with offsets) or epoch numbers -> int64 ns UTC."""
    column = str(series.name)
    if isinstance(series.dtype, pd.DatetimeTZDtype) or series.dtype.kind == "M":
        parsed = series if isinstance(series.dtype, pd.DatetimeTZDtype) else series.dt.tz_localize("UTC")
        if parsed.isna().any():
            row = int(np.flatnonzero(parsed.isna().to_numpy())[0])
            raise DataError(f"{origin}: row {row + 1}: column {column!r} is empty. Repair that row.")
        return _aware_to_ns(parsed)
    if series.dtype.kind in "iuf":
        return epoch_to_ns(series.to_numpy(), origin, column)
    text = series.astype("string").str.strip()
    numeric = pd.to_numeric(text, errors="coerce")
    if numeric.notna().all():
        return epoch_to_ns(numeric.to_numpy(dtype=np.float64), origin, column)
    parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    if parsed.isna().any():
        row = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise DataError(f"{origin}: row {row + 1}: cannot read time {text.iloc[row]!r} in column "
                        f"{column!r}. Use ISO 8601 (e.g. 2024-01-01T00:05:00+00:00) or epoch s/ms/ns.")
    return _aware_to_ns(parsed)


def _aware_to_ns(parsed: pd.Series) -> np.ndarray:
    naive = parsed.dt.tz_convert("UTC").dt.tz_localize(None).dt.as_unit("ns")
    return naive.to_numpy().astype("datetime64[ns]").view(np.int64)
