"""The refinement's Optuna study written to `optuna.db` (SQLite) when the phase is done."""

from __future__ import annotations

from pathlib import Path

import optuna


def export_study(study: optuna.Study, db_path: Path) -> int:
    """Copy `study` into the SQLite file `db_path`, atomically; returns its number of trials."""
    tmp = db_path.with_name(f".{db_path.name}.tmp")
    tmp.unlink(missing_ok=True)
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp}")
    optuna.create_study(storage=storage, study_name="refine",
                        direction=study.direction).add_trials(study.trials)
    storage.engine.dispose()
    tmp.replace(db_path)
    return len(study.trials)
