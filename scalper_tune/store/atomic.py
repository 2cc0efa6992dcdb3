"""Atomic writes: a temporary file beside the target, then a rename, so a reader (or a resumed
run after a kill) sees the old file or the new one, never half of one."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def atomic_parquet(table: pd.DataFrame, path: Path) -> None:
    """Write `table` to a temporary file beside `path`, then rename it into place."""
    tmp = _tmp(path)
    table.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def atomic_json(data: object, path: Path) -> None:
    """Write `data` as JSON (NaN allowed) to a temporary file, then rename it into place."""
    tmp = _tmp(path)
    tmp.write_text(json.dumps(data, default=float))
    os.replace(tmp, path)


def atomic_text(text: str, path: Path) -> None:
    tmp = _tmp(path)
    tmp.write_text(text)
    os.replace(tmp, path)
