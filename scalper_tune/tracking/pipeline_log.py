"""What the pipeline logs to MLflow, phase by phase, in batches. A resumed run reuses its parent
run and skips phases already logged (recorded in the run folder's state.json), so MLflow never
gets duplicate runs."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tempfile
from pathlib import Path
from typing import Mapping

import pandas as pd
from mlflow.entities import Dataset, DatasetInput, InputTag
from mlflow.exceptions import MlflowException

from scalper_tune.config.experiment import Experiment
from scalper_tune.config.pipeline_spec import REGIMES
from scalper_tune.config.strategy_params import PARAMS
from scalper_tune.config.values import python_value
from scalper_tune.data.market import MarketData
from scalper_tune.tracking import plots
from scalper_tune.tracking.mlflow_log import Tracker, tracking_uri
from scalper_tune.tracking.mlflow_store import RetryingClient, open_client

TOP_CHILDREN = 10
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")  # UI opens on runs
NOTE = "mlflow.note.content"  # a run's description in the UI


def _config_hash(exp: Experiment) -> str:
    text = json.dumps(dataclasses.asdict(exp), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _params(row) -> dict:
    return {k: python_value(row[k]) for k in PARAMS}


def open_store(exp: Experiment) -> RetryingClient:
    """The experiment's MLflow store, created or migrated under its lock (tracking/mlflow_store.py);
    opened before a run folder exists, so a busy store leaves nothing behind."""
    return open_client(tracking_uri(exp.output.mlflow_uri, exp.output.mlruns_dir))


class PipelineTracker:
    def __init__(self, folder, tracker: Tracker, state: dict):
        self.folder, self.t, self.state = folder, tracker, state
        self.tables = folder.path  # where the phase tables are (a walk-forward step's folder)

    def tables_at(self, path: Path) -> "PipelineTracker":
        """This tracker, reading the phase tables from `path` (walk-forward: the last step's)."""
        view = PipelineTracker(self.folder, self.t, self.state)
        view.tables = Path(path)
        return view

    @classmethod
    def for_run(cls, folder, exp: Experiment, data_hash: str,
                client: RetryingClient | None = None) -> "PipelineTracker":
        """The run folder's parent run: reopened on a resume, else started. `client`: the store
        opened earlier (open_store), else opened now."""
        state = folder.state()
        uri = tracking_uri(exp.output.mlflow_uri, exp.output.mlruns_dir)
        client = client or open_client(uri)
        if state.get("mlflow_parent"):
            tracker = Tracker(client, state["mlflow_experiment"], state["mlflow_parent"])
            client.update_run(tracker.parent, status="RUNNING")
        else:
            tracker = Tracker.start(client, uri, exp.name, exp.output.mlruns_dir,
                                    folder.path.name,
                                    {"data_hash": data_hash, "config_hash": _config_hash(exp),
                                     "run_folder": str(folder.path.resolve())})
            state.update(mlflow_uri=uri, mlflow_parent=tracker.parent,
                         mlflow_experiment=tracker.experiment_id)
            folder.save_state(state)
            tracker.log(tracker.parent, params={
                "seed": exp.seed, "account": exp.account, "folds": exp.walk_forward.folds,
                "validation": exp.walk_forward.validation, "test": exp.walk_forward.test})
        return cls(folder, tracker, state)

    def _tag_kind(self) -> None:
        """The experiment's kind tag, once: two runs started at once in a fresh store may both
        insert it (SQLite then refuses the second); the one that finds it set goes on."""
        key, value = EXPERIMENT_KIND
        client, experiment = self.t.client, self.t.experiment_id
        if client.get_experiment(experiment).tags.get(key) == value:
            return
        try:
            client.set_experiment_tag(experiment, key, value)
        except MlflowException:
            if client.get_experiment(experiment).tags.get(key) != value:
                raise

    def dataset(self, market: MarketData, data_hash: str, exp: Experiment) -> None:
        """The dataset as the parent run's MLflow input (name, content hash, source), so the runs
        table says what each run was tuned on; the experiment opens on its training runs."""
        if not self._once("dataset"):
            return
        self._tag_kind()
        data = exp.data
        source = (f"synthetic:{json.dumps(dataclasses.asdict(data.synthetic), sort_keys=True)}"
                  if data.synthetic is not None else str(data.path))
        name = (f"synthetic-{data.synthetic.assets}x{data.synthetic.bars}-seed{data.synthetic.seed}"
                if data.synthetic is not None else Path(str(data.path)).name)
        schema = json.dumps({"symbols": list(market.symbols), "bar_seconds": market.bar_seconds,
                             "rows": {s: len(market[s]) for s in market.symbols}})
        self.t.client.log_inputs(self.t.parent, datasets=[DatasetInput(
            Dataset(name=name, digest=data_hash[:36], source_type="local" if data.path else
                    "synthetic", source=source, schema=schema),
            tags=[InputTag("mlflow.data.context", "training")])])
        self._done("dataset")

    def _once(self, phase: str) -> bool:
        """True when `phase` still has to be logged for this run folder; then the runs of an
        attempt interrupted while logging it are deleted first, so MLflow has no duplicates."""
        if phase in self.state.get("logged", []):
            return False
        self.t.delete_leftovers(phase)
        return True

    def _done(self, phase: str) -> None:
        self.state.setdefault("logged", []).append(phase)
        self.folder.save_state(self.state)

    def _timing(self, timings: Mapping[str, float], phase: str) -> dict:
        return {k: v for k, v in timings.items() if k.startswith(phase)}

    def regimes(self, report, evaluation, spec, gate_edges=None) -> None:
        """The regime classifier's walk-forward accuracy next to its baselines (majority
        class, rule labeller, book columns only), its confusion matrix, and the ML gate's
        per-asset out-of-sample accuracy and blocks traded."""
        if (report is None and gate_edges is None) or not self._once("regimes"):
            return
        run = self.t.open_child("regimes", tags={"phase": "regimes"})
        metrics = {}
        if evaluation is not None:
            metrics["balanced_accuracy"] = evaluation.balanced_accuracy
            metrics.update({f"recall_{k}": v for k, v in evaluation.recall.items()})
            metrics.update({f"baseline_{k}": v for k, v in evaluation.baselines.items()})
            metrics.update({f"balanced_accuracy_fold{i}": v
                            for i, v in enumerate(evaluation.per_fold)})
            for seg, figs in evaluation.by_segment.items():  # the pooled figure mixes them
                metrics.update({f"{seg}_{'balanced_accuracy' if k == 'classifier' else k}": v
                                for k, v in figs.items() if k != "bars"})
        for e in gate_edges or []:
            metrics[f"gate_accuracy_{e.symbol}"] = e.accuracy
            metrics[f"gate_baseline_{e.symbol}"] = e.baseline
            metrics[f"gate_traded_{e.symbol}"] = float(e.traded)
            metrics[f"gate_blocks_traded_{e.symbol}"] = float(sum(b.traded for b in e.blocks))
        self.t.log(run, params={"classifier": "RegimeClassifier", "block_days": spec.block_days,
                                "filter": spec.filter, "block": ",".join(spec.block),
                                "labels": evaluation.labels if evaluation else "none"},
                   metrics=metrics)
        if report is not None and report.supervised:
            names = [REGIMES[k] for k in report.labels]
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "confusion_matrix.csv"
                pd.DataFrame(report.confusion, index=[f"true_{n}" for n in names],
                             columns=[f"pred_{n}" for n in names]).to_csv(path)
                self.t.artifacts(run, [path])
        self.t.finish(run)
        if evaluation is not None:
            self.t.log(self.t.parent,
                       metrics={"regime_balanced_accuracy": evaluation.balanced_accuracy})
        self._done("regimes")

    def phase1(self, table: pd.DataFrame, folder, grid, timings) -> None:
        """The screen on train: the table as an artifact, a heatmap, the top cells as runs."""
        if not self._once("phase1"):
            return
        run = self.t.open_child("phase1", tags={"phase": "phase1", "segment": "train"})
        best = table.loc[table["confirmed"]].sort_values("engine_robustness", ascending=False)
        self.t.log(run, params={"combinations": len(table)},
                   metrics={"best_train_robustness": best["engine_robustness"].max()
                            if len(best) else float("nan"),
                            "judged": int(table["judged"].sum()),
                            "passes_filters_train": int(table["passes_train"].sum()),
                            **self._timing(timings, "phase1")})
        with tempfile.TemporaryDirectory() as tmp:
            paths = [folder.path / "phase1.parquet"]
            axes = [a for a in ("z_window", "entry_z") if a in grid and len(grid[a]) > 1]
            if len(axes) == 2 and table["robustness_train"].notna().any():
                paths.append(plots.phase1_heatmap(table, axes[0], axes[1], "robustness_train",
                                                  Path(tmp)))
            self.t.artifacts(run, paths)
        for rank, (_, row) in enumerate(best.head(TOP_CHILDREN).iterrows(), start=1):
            self.t.child(f"phase1-top{rank:02d}", params=_params(row),
                         metrics={"train_robustness": row["robustness_train"],
                                  "engine_train_robustness": row["engine_robustness"],
                                  "train_consistency": row["consistency"],
                                  "train_sharpe": row["sharpe_train"], "train_trades": row["trades"]},
                         tags={"phase": "phase1", "segment": "train"}, parent=run)
        self.t.finish(run)
        self.t.log(self.t.parent, metrics=self._timing(timings, "phase1"))
        self._done("phase1")

    def refine(self, table: pd.DataFrame, timings) -> None:
        """One run per refinement trial: its train robustness (absent, with the reason as a
        tag, when it could not be judged) and fold Sharpes."""
        if table.empty or not self._once("refine"):
            return
        run = self.t.open_child("refine", tags={"phase": "refine", "segment": "train"})
        self.t.log(run, params={"trials": len(table)},
                   metrics={"best_train_robustness": table["robustness"].max(),
                            **self._timing(timings, "refine")})
        for _, row in table.iterrows():
            metrics = {"train_robustness": row["robustness"], "folds_done": row["folds_done"],
                       "train_trades": row["trades"]}
            metrics.update({f"train_{c}": row[c] for c in table.columns
                            if c.startswith("sharpe_f")})
            tags = {"phase": "refine", "segment": "train", "tune_trial_id": str(row["trial_id"])}
            if row["reason"]:
                tags["not_judged"] = row["reason"]
            self.t.child(f"refine-{int(row['trial_number']):03d}", params=_params(row),
                         metrics=metrics, parent=run, tags=tags)
        self.t.finish(run)
        self.t.log(self.t.parent, metrics=self._timing(timings, "refine"))
        self._done("refine")

    def phase2(self, table: pd.DataFrame, pbo: float, timings) -> None:
        if not self._once("phase2"):
            return
        run = self.t.open_child("phase2", tags={"phase": "phase2",
                                                "segment": "train + validation"})
        first = table.iloc[0] if len(table) else {}
        self.t.log(run, params={"candidates": len(table),
                                "pbo_rule": first.get("pbo_rule", "") if len(table) else ""},
                   metrics={"pbo": pbo, "best_robustness": table["robustness"].max(),
                            "n_trials": first.get("n_trials", float("nan")),
                            "n_effective": first.get("n_effective", float("nan")),
                            "dsr_obs_share": first.get("obs_share", float("nan")),
                            **self._timing(timings, "phase2")})
        self.t.artifacts(run, [self.tables / "phase2.parquet"])
        self.t.finish(run)
        self.t.log(self.t.parent, metrics={"pbo": pbo, **self._timing(timings, "phase2")})
        self._done("phase2")

    def phase3_and_finalists(self, phase2, phase3, test, equity, exp, timings, best) -> None:
        """The stress table, one run per finalist (figures named by segment, the validation
        equity curve, drawdown and regime plots, its stress rows), the chosen configuration on
        the parent run. `equity`: each
        finalist's validation equity curve by its Phase 2 index (the pipeline computes it)."""
        if not self._once("phase3"):
            return

        run = self.t.open_child("phase3", tags={"phase": "phase3", "segment": "validation"})
        self.t.log(run, metrics=self._timing(timings, "phase3"))
        paths = [self.tables / n for n in ("phase3.parquet", "test.parquet")
                 if (self.tables / n).is_file()]
        self.t.artifacts(run, paths)
        tests = {int(r["index"]): r for _, r in test.iterrows()}
        for rank, row in enumerate(phase2.head(exp.robustness.finalists).itertuples(), start=1):
            params = {k: getattr(row, k) for k in PARAMS}
            params = {k: python_value(v) for k, v in params.items()}
            metrics = {c: getattr(row, c) for c in phase2.columns
                       if isinstance(getattr(row, c), (int, float)) and c != "index"
                       and not c.startswith(("reg_", "sa_f", "m1", "m2", "m3", "m4"))}
            if row.index in tests:
                metrics.update({c: tests[row.index][c] for c in test.columns
                                if c.startswith("test_")})
            stress = phase3[phase3["index"] == row.index] if not phase3.empty else phase3
            for s in stress.itertuples():
                metrics[f"val_stress_{s.scenario}_sharpe"] = s.sharpe
                metrics[f"val_stress_{s.scenario}_passed"] = float(s.passed)
            child = self.t.child(f"finalist-{rank}", params=params, metrics=metrics,
                                 tags={"phase": "phase3", "source": row.source}, parent=run)
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp)
                paths = plots.equity_and_drawdown(equity[row.index], out, "finalist_validation")
                regimes = {c.replace("regime_sharpe_", ""): getattr(row, c)
                           for c in phase2.columns if c.startswith("regime_sharpe_")}
                paths.append(plots.regime_bars(regimes, out, "finalist_train"))
                if not stress.empty:
                    stress_path = out / "stress_validation.csv"
                    stress.to_csv(stress_path, index=False)
                    paths.append(stress_path)
                self.t.artifacts(child, paths)
        self.t.finish(run)
        meta = best["meta"]
        metrics = {"chosen_robustness": meta["robustness"], "chosen_dsr_train": meta["dsr"],
                   "n_trials": meta["n_trials"], "n_effective": meta["n_effective"]}
        for seg, figures in (("train", meta["train"]), ("val", meta["validation"]),
                             ("test", meta["test"])):
            metrics.update({f"chosen_{seg}_{k}": v for k, v in figures.items()
                            if isinstance(v, (int, float))})
        sw = meta.get("switching") or {}
        if sw.get("built"):  # the regime switcher next to the single choice
            metrics.update({f"switching_{seg}_{k}": v for seg, key in (("val", "validation"),
                                                                       ("test", "test"))
                            for k, v in sw[key].items() if isinstance(v, (int, float))})
        for seg, variants in (meta.get("gates") or {}).items():  # the entry gate's worth
            metrics.update({f"gate_{seg}_{variant}_{k}": v for variant, figs in variants.items()
                            for k, v in figs.items() if isinstance(v, (int, float))})
        self.t.log(self.t.parent, params={f"best_{k}": v for k, v in best["params"].items()},
                   metrics={k: v for k, v in metrics.items()
                            if v is not None and math.isfinite(float(v))})
        self.t.tag(self.t.parent, {"chosen": meta["source"],
                                   "passes_filters_validation": str(meta["passes_filters"]),
                                   "switching": ("recommended" if sw.get("recommended") else
                                                 "built, not recommended" if sw.get("built")
                                                 else "not built")})
        self.t.artifacts(self.t.parent, [self.folder.path / "best_config.yaml"])
        bundle = self.folder.path / "strategy"
        if bundle.is_dir():  # the strategy bundle, as `backtest --strategy` reads it
            self.t.artifact_dir(self.t.parent, bundle, "strategy")
        self._done("phase3")

    def walk_forward(self, table: pd.DataFrame, figures: Mapping, verdict) -> None:
        """Walk-forward re-optimisation: a nested run with the per-step table, the stitched
        out-of-sample equity and drawdown plots, each step's out-of-sample figures and the
        verdict; the stitched figures also on the parent run."""
        if not self._once("walk_forward"):
            return
        run = self.t.open_child("walk-forward", tags={"phase": "walk_forward",
                                                      "segment": "out-of-sample steps"})
        lo, hi = figures["sharpe_ci"]
        metrics = {"oos_sharpe": figures["sharpe"], "oos_sharpe_ci_low": lo,
                   "oos_sharpe_ci_high": hi, "oos_trades": figures["trades"],
                   "oos_return": figures["return"], "oos_max_drawdown": figures["max_drawdown"],
                   "wf_efficiency": figures["efficiency"],
                   "wf_choice_changes": figures["choice_changes"],
                   "deployable": float(verdict.deployable)}
        metrics = {k: float(v) for k, v in metrics.items()
                   if v is not None and math.isfinite(float(v))}
        steps = {f"step{int(r.step)}_oos_{k}": float(getattr(r, f"oos_{k}"))
                 for r in table.itertuples() for k in ("sharpe", "return", "trades")
                 if math.isfinite(float(getattr(r, f"oos_{k}")))}
        self.t.log(run, params={"steps": len(table)}, metrics=dict(metrics, **steps))
        self.t.tag(run, {"verdict": "deployable" if verdict.deployable else
                         "not deployable: " + "; ".join(verdict.reasons)})
        paths = [self.folder.path / n for n in ("walk_forward.parquet", "oos_equity.parquet")
                 if self.folder.has(n)]
        with tempfile.TemporaryDirectory() as tmp:
            if self.folder.has("oos_equity.parquet"):
                eq = pd.read_parquet(self.folder.path / "oos_equity.parquet")
                if len(eq):
                    paths += plots.equity_and_drawdown(eq.set_index("ts")["equity"], Path(tmp),
                                                       "oos_stitched")
            self.t.artifacts(run, paths)
        self.t.finish(run)
        for r in table.itertuples():
            self._step(run, r)
        self.t.log(self.t.parent, metrics=metrics)
        self._done("walk_forward")

    def _step(self, run: str, r) -> None:
        """One walk-forward step as a run nested in the walk-forward run: its choice (params,
        source), its history and out-of-sample dates, its selected validation Sharpe and its
        out-of-sample figures, its out-of-sample trades."""
        params = json.loads(r.params) if r.params else {}
        metrics = {"val_sharpe_selected": r.val_sharpe_selected, "oos_sharpe": r.oos_sharpe,
                   "oos_return": r.oos_return, "oos_trades": r.oos_trades}
        child = self.t.child(
            f"step-{int(r.step):02d}", params=dict(params, source=r.source),
            metrics={k: float(v) for k, v in metrics.items() if math.isfinite(float(v))},
            parent=run, tags={"phase": "walk_forward", "step": str(int(r.step)),
                              "segment": f"out-of-sample step {int(r.step)}",
                              "oos_start": r.start, "oos_end": r.end,
                              "history_start": r.history_start, "history_end": r.history_end,
                              "choice_changed": str(bool(r.changed)).lower(),
                              "switcher_recommended": str(bool(r.switcher_recommended)).lower()})
        trades = self.folder.path / "steps" / f"step_{int(r.step):02d}" / "oos_trades.parquet"
        if trades.is_file():
            self.t.artifacts(child, [trades])

    def close(self, timings: Mapping[str, float], summary: str = "",
              outcome: str = "chosen") -> None:
        """Timings on the parent run, the summary as its description, and the outcome."""
        self.t.log(self.t.parent, metrics=dict(timings))
        tags = {"outcome": outcome}
        if summary:
            tags[NOTE] = summary
        self.t.tag(self.t.parent, tags)
        self.t.finish(self.t.parent)
