"""The run folder `runs/<experiment>/<run-id>/`: phase tables (written atomically), the
experiment copy, `state.json` (MLflow run ids, which phases were logged), and the Tune storage."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from scalper_tune.config.experiment import LoadedExperiment
from scalper_tune.errors import ConfigError, DataError, UsageError
from scalper_tune.store import atomic_parquet, atomic_text


@dataclass
class RunFolder:
    path: Path

    @classmethod
    def open(cls, loaded: LoadedExperiment, resume: str | bool | None) -> "RunFolder":
        """A new run folder, or (resume) the named or latest one of this experiment; a resumed
        folder must have been started with the same experiment and search space."""
        exp = loaded.experiment
        base = Path(exp.output.runs_dir) / exp.name
        if resume:
            if isinstance(resume, str):
                path = Path(resume)
            else:
                runs = sorted(p for p in base.glob("*") if (p / "state.json").is_file()) \
                    if base.is_dir() else []
                if not runs:
                    raise UsageError(f"resume: no earlier run of {exp.name!r} under {base}. "
                                     "Start one without --resume.", param="resume")
                path = runs[-1]
            if not (path / "state.json").is_file():
                raise UsageError(f"resume {path}: not a run folder (no state.json).",
                                 param="resume")
            folder = cls(path.resolve())
            folder._check_same_experiment(loaded)
            logging.getLogger("scalper_tune.run").info(f"resuming {path}")
            return folder
        path = cls._new_path(base, exp.output.runs_dir)
        run_id = path.name
        shutil.copyfile(loaded.path, path / "experiment.yaml")
        folder = cls(path.resolve())
        folder.save_state({"experiment": exp.name, "created": run_id, "logged": [],
                           "config": result_settings(loaded)})
        return folder

    @staticmethod
    def _new_path(base: Path, runs_dir: str) -> Path:
        """A fresh `<UTC time>-<pid>` folder, created exclusively: runs started in the same
        second (other processes, or other hosts on shared storage) never share one."""
        stem = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + f"-{os.getpid()}"
        for n in range(1, 1000):
            path = base / (stem if n == 1 else f"{stem}-{n}")
            try:
                path.mkdir(parents=True)
                return path
            except FileExistsError:
                continue
            except OSError as exc:
                raise UsageError(f"output.runs_dir {runs_dir}: cannot create {path} "
                                 f"({exc.strerror}). Choose a writable folder.") from None
        raise UsageError(f"output.runs_dir {runs_dir}: too many runs named {stem}-*.")

    def _check_same_experiment(self, loaded: LoadedExperiment) -> None:
        stored = self.state().get("config")
        if stored is None:
            return
        now = result_settings(loaded)
        changed = [k for k in sorted(set(stored) | set(now)) if stored.get(k) != now.get(k)]
        if changed:
            raise ConfigError(
                f"--resume {self.path}: this run was started with a different experiment "
                f"(changed: {', '.join(changed)}). Resume with the settings it was started with "
                f"(a copy is {self.path / 'experiment.yaml'}), or start a new run without "
                "--resume.")

    def check_data(self, data_hash: str) -> None:
        """Record the data's hash, or (resume) refuse data that changed since the run began."""
        state = self.state()
        if state.get("data_hash") is None:
            state["data_hash"] = data_hash
            self.save_state(state)
        elif state["data_hash"] != data_hash:
            raise DataError(f"resume {self.path}: the market data changed since this run "
                            f"started (content hash {state['data_hash']}, now {data_hash}). "
                            "Restore the data it used, or start a new run without --resume.",
                            param="resume")

    def has(self, name: str) -> bool:
        return (self.path / name).is_file()

    def state(self) -> dict:
        return json.loads((self.path / "state.json").read_text())

    def save_state(self, state: dict) -> None:
        self.write_text(json.dumps(state, indent=2), "state.json")

    def write_text(self, text: str, name: str) -> None:
        atomic_text(text, self.path / name)

    def write_table(self, table: pd.DataFrame, name: str) -> None:
        atomic_parquet(table, self.path / name)

    def read_table(self, name: str) -> pd.DataFrame:
        path = self.path / name
        try:
            return pd.read_parquet(path)
        except (OSError, pa.ArrowException, ValueError) as exc:
            raise ConfigError(f"{path}: unreadable ({exc}). Delete it to recompute that phase, "
                              "then run again with --resume.") from None

    def check_tables(self) -> None:
        """Read every phase table present (a damaged one stops a resume before any work or
        MLflow logging)."""
        for name in ("phase1.parquet", "refine.parquet", "phase2.parquet", "phase3.parquet"):
            if self.has(name):
                self.read_table(name)


# settings that may change between a run and its resume: where and how wide it runs
RESUMABLE_CHANGES = ("ray", "description")


def result_settings(loaded: LoadedExperiment) -> dict:
    """What determines a run's results, per top-level key, as plain JSON values: the experiment
    (paths resolved) and its search space's grid and ranges."""
    exp = dataclasses.asdict(loaded.experiment)
    out = {k: v for k, v in exp.items() if k not in RESUMABLE_CHANGES}
    out["search_space"] = {"grid": loaded.space.grid,
                           "refine": {k: dataclasses.asdict(r) for k, r in
                                      loaded.space.refine.items()}}
    return json.loads(json.dumps(out, sort_keys=True, default=str))
