"""A folder of stored work units, each under its key: a unit that is asked for again (a trial
Tune runs again after a restore, a node loss or a retry) is read back instead of recomputed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pandas as pd

from scalper_tune.store.atomic import atomic_json, atomic_parquet


class WorkStore:
    """Stored results under `folder`, named `<stem>_<key>.<json|parquet>`."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def path(self, stem: str, key: str, suffix: str) -> Path:
        return self.folder / f"{stem}_{key}.{suffix}"

    def json(self, stem: str, key: str, compute: Callable[[], object]) -> tuple[object, bool]:
        """(the stored JSON value, True) or (compute() stored atomically, False)."""
        path = self.path(stem, key, "json")
        if path.is_file():
            return json.loads(path.read_text()), True
        value = compute()
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_json(value, path)
        return value, False

    def table(self, stem: str, key: str,
              compute: Callable[[], pd.DataFrame]) -> tuple[pd.DataFrame, bool]:
        """(the stored table, True) or (compute() stored atomically, False)."""
        path = self.path(stem, key, "parquet")
        if path.is_file():
            return pd.read_parquet(path), True
        table = compute()
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_parquet(table, path)
        return table, False
