"""The run folder `runs/<experiment>/<run-id>/`: phase tables (written atomically), the
experiment copy, `state.json` (MLflow run ids, which phases were logged), and the Tune storage."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from scalper_tune.config.experiment import Experiment
from scalper_tune.errors import ConfigError, UsageError
from scalper_tune.tracking.pipeline_log import PipelineTracker


@dataclass
class RunFolder:
    path: Path

    @classmethod
    def open(cls, exp: Experiment, exp_path: Path, resume: str | bool | None) -> "RunFolder":
        """A new run folder, or (resume) the named or latest one of this experiment."""
        base = Path(exp.output.runs_dir) / exp.name
        if resume:
            if isinstance(resume, str):
                path = Path(resume)
            else:
                runs = sorted(p for p in base.glob("*") if (p / "state.json").is_file()) \
                    if base.is_dir() else []
                if not runs:
                    raise UsageError(f"--resume: no earlier run of {exp.name!r} under {base}. "
                                     "Start one without --resume.")
                path = runs[-1]
            if not (path / "state.json").is_file():
                raise UsageError(f"--resume {path}: not a run folder (no state.json).")
            print(f"resuming {path}")
            return cls(path.resolve())
        run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + f"-{os.getpid()}"
        path = base / run_id
        try:
            path.mkdir(parents=True)
        except OSError as exc:
            raise UsageError(f"output.runs_dir {exp.output.runs_dir}: cannot create {path} "
                             f"({exc.strerror}). Choose a writable folder.") from None
        shutil.copyfile(exp_path, path / "experiment.yaml")
        folder = cls(path.resolve())
        folder.save_state({"experiment": exp.name, "created": run_id, "logged": []})
        return folder

    def has(self, name: str) -> bool:
        return (self.path / name).is_file()

    def state(self) -> dict:
        return json.loads((self.path / "state.json").read_text())

    def save_state(self, state: dict) -> None:
        self.write_text(json.dumps(state, indent=2), "state.json")

    def write_text(self, text: str, name: str) -> None:
        tmp = self.path / f".{name}.tmp"
        tmp.write_text(text)
        os.replace(tmp, self.path / name)

    def write_table(self, table: pd.DataFrame, name: str) -> None:
        tmp = self.path / f".{name}.tmp"
        table.to_parquet(tmp, index=False)
        os.replace(tmp, self.path / name)

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

    def tracker(self, exp: Experiment, data_hash: str) -> PipelineTracker:
        return PipelineTracker.for_run(self, exp, data_hash)
