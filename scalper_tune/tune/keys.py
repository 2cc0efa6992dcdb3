"""Keys for stored trial work, and atomic writes.

Every unit of trial work (a Phase 1 chunk, a refinement trial, a Phase 2/3 job) is stored under a
hash of what determines its result: its parameters, the run's data hash and cost model, and the
code version. A trial that Tune runs again (after a restore, a node loss or a retry) finds its
result and reuses it instead of recomputing."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

import pandas as pd

from scalper_tune import __version__

PACKAGE = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """The package version plus a hash of its source files (12 hex digits): stored work made by
    different code is never reused."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def work_key(*parts: object) -> str:
    """sha256 of the JSON of `parts` and the code version (16 hex digits)."""
    text = json.dumps([code_version(), *parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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
