"""The canonical dataset on disk: a folder of `SYMBOL.parquet` plus `dataset.json`.

Writes are atomic: the dataset is written into a temporary sibling folder and renamed into place
at the end, so a failed import leaves nothing behind and never damages an existing dataset.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from scalper_tune.data.market import BOOK, OHLCV, REGIME_NAMES, MarketData, SymbolData
from scalper_tune.errors import DataError, UsageError

FORMAT = "scalper_tune.dataset"
FORMAT_VERSION = 1
MANIFEST = "dataset.json"
SYMBOL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_writable(folder: str | Path, key: str) -> None:
    """Refuse a folder that cannot be created or written (its first existing ancestor is not a
    writable folder), without creating anything."""
    path = Path(folder).resolve()
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        why = "is a file" if not probe.is_dir() else "is not writable"
        raise UsageError(f"{key} {folder}: cannot create {path} ({probe} {why}). Choose a "
                         "writable folder.")


def check_symbol(symbol: str, origin: str) -> str:
    """A symbol must be usable as a file name."""
    if not SYMBOL_RE.match(symbol):
        raise DataError(f"{origin}: symbol {symbol!r} is not valid: use letters, digits, '.', '_' or "
                        "'-' (at most 64). Pass --symbol NAME.")
    return symbol


def _table(series: SymbolData) -> pa.Table:
    arrays, names = [], []
    for name, values in series.columns().items():
        if name == "ts":
            arrays.append(pa.array(values.astype("datetime64[ns]"), type=pa.timestamp("ns", tz="UTC")))
        else:
            arrays.append(pa.array(values))
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


def manifest(market: MarketData) -> dict:
    """The `dataset.json` content (no wall-clock time in it: same data, same bytes)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "source": market.source,
        "bar_seconds": market.bar_seconds,
        "symbols": list(market.symbols),
        "rows": {s: len(market[s]) for s in market.symbols},
        "book": {s: market[s].has_book for s in market.symbols},
        "symbol_meta": {s: dict(market.symbol_meta.get(s, {})) for s in market.symbols},
        "regime_names": list(REGIME_NAMES) if any(market[s].regime is not None
                                                   for s in market.symbols) else [],
        "content_hash": market.compute_hash(),
        "info": market.info,
    }


def check_out_dir(out_dir: str | Path, *, force: bool = False) -> Path:
    """Refuse an output path that is a file, or a non-empty folder without `force` (call this
    before long work, so the user learns at once)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"out_dir {out}: exists and is not a folder. Choose another path.",
                         param="out_dir")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UsageError(f"out_dir {out}: the folder exists and is not empty. Choose a new folder or "
                         "pass --force to replace it.", param="out_dir")
    return out


def write_dataset(market: MarketData, out_dir: str | Path, *, force: bool = False) -> Path:
    """Write `market` to `out_dir` atomically; refuse to replace a folder unless `force`."""
    out = check_out_dir(out_dir, force=force)
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)
    except OSError as exc:
        raise UsageError(f"out_dir {out}: cannot write there ({exc.strerror}). "
                         "Choose a writable folder.", param="out_dir") from None
    try:
        for symbol in market.symbols:
            pq.write_table(_table(market[symbol]), tmp / f"{symbol}.parquet", compression="zstd")
        text = json.dumps(manifest(market), indent=2, sort_keys=False) + "\n"
        (tmp / MANIFEST).write_text(text)
        if out.exists():
            old = parent / f".{out.name}.old-{os.getpid()}"
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not folder.is_dir():
        raise DataError(f"{folder}: no such dataset folder. Create one with `scalper_tune data synth "
                        "--out DIR` or `scalper_tune data import ... --out DIR`.")
    if not path.is_file():
        raise DataError(f"{path}: missing. {folder} is not a scalper_tune dataset; import the files "
                        "with `scalper_tune data import`.")
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable ({exc}). Re-create the dataset.") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DataError(f"{path}: not a scalper_tune dataset manifest. Re-create the dataset.")
    if meta.get("format_version") != FORMAT_VERSION:
        raise DataError(f"{path}: format_version {meta.get('format_version')} is not supported "
                        f"(this version reads {FORMAT_VERSION}). Re-create the dataset.")
    return meta


def _read_symbol(path: Path, symbol: str) -> SymbolData:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"{path}: unreadable Parquet ({exc}). Re-create the dataset.") from None
    names = set(table.column_names)
    missing = [c for c in ("ts",) + OHLCV if c not in names]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}. Re-create the dataset.")
    cols: dict[str, np.ndarray] = {}
    cols["ts"] = table.column("ts").to_numpy().astype("datetime64[ns]").view(np.int64)
    for name in OHLCV + BOOK:
        if name in names:
            cols[name] = np.ascontiguousarray(table.column(name).to_numpy(), dtype=np.float64)
    if "regime" in names:
        cols["regime"] = np.ascontiguousarray(table.column("regime").to_numpy(), dtype=np.int8)
    return SymbolData(symbol=symbol, **cols)


def load_dataset(folder: str | Path, symbols: list[str] | None = None,
                 verify: bool = False) -> MarketData:
    """Read a canonical dataset; `symbols` picks a subset; `verify` re-checks the content hash."""
    folder = Path(folder)
    meta = _read_manifest(folder)
    available = list(meta.get("symbols", []))
    chosen = available if not symbols else symbols
    unknown = [s for s in chosen if s not in available]
    if unknown:
        raise DataError(f"{folder}: unknown symbol(s) {', '.join(unknown)}; the dataset has "
                        f"{', '.join(available)}.")
    series = {}
    for symbol in chosen:
        path = folder / f"{symbol}.parquet"
        if not path.is_file():
            raise DataError(f"{path}: missing (listed in {MANIFEST}). Re-create the dataset.")
        series[symbol] = _read_symbol(path, symbol)
    whole = not symbols or list(symbols) == available
    market = MarketData(bar_seconds=int(meta["bar_seconds"]), series=series,
                        source=str(meta.get("source", "")),
                        symbol_meta=meta.get("symbol_meta", {}), info=meta.get("info", {}),
                        stored_hash=meta.get("content_hash") if whole and not verify else None)
    if verify and whole and market.compute_hash() != meta.get("content_hash"):
        raise DataError(f"{folder}: content hash differs from {MANIFEST}: the files were changed "
                        "after the dataset was written. Re-create or re-import it.")
    return market
