"""The fitted models of a strategy bundle: what its entry gate applies to bars after the run's
data (live trading), saved with skops (no pickle) and checked by content hash on load.

    strategy/models/regime_classifier.skops   the regime classifier
    strategy/models/ml_gate.skops             the ML gate's meta-labelling model

Each is the model walk-forward would fit for the block after the run's data (fixed blocks from
the data's first bar): trained on every labelled bar (every trade) that ends before that block's
start minus the embargo. Where the data ends inside a block (the usual case), walk-forward applies
that block's own model to the rest of it, so the bundle also holds it (`*_current.skops`, trained
on what ended before that block's start), and the live gate applies the current block's model
until the next block's start, then the next block's. From the next block's start the bundle's
model is trained on everything known at the data's end; walk-forward would also have the labels
that close between the data's end and that start (a new run adds them). `strategy.yaml` records
per model its file, SHA-256, the block start and the training size; the ML gate also the
assets its verdict trades, the signal's z-window, the threshold and the input columns.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import skops.io as sio

from scalper_tune.features import Features
from scalper_tune.config.gate_settings import GateSettings
from scalper_tune.data.market import MarketData
from scalper_tune.errors import ConfigError
from scalper_tune.regime.ml_edge import SIGNAL_RICH, FittedGate, NextBlockGate, block_gates
from scalper_tune.regime.walkforward import NextBlockModel, block_models
from scalper_tune.robustness.segments import iso_utc

FOLDER = "models"
REGIME = "regime_classifier"
GATE = "ml_gate"
CURRENT = "_current"  # the model of the block that holds the data's end
KEYS = (REGIME, GATE, REGIME + CURRENT, GATE + CURRENT)
# the only types a bundle's model file may hold beyond skops' defaults
TRUSTED = ("scalper_tune.regime.classifier.RegimeClassifier",
           "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor")


@dataclass(frozen=True)
class GateModels:
    """The fitted models a gated strategy applies after its data (None: not used / none)."""

    regime: NextBlockModel | None = None
    gate: NextBlockGate | None = None
    regime_current: NextBlockModel | None = None  # for bars before regime.block_start
    gate_current: NextBlockGate | None = None  # for bars before gate.block_start

    def regime_at(self, ts: int) -> NextBlockModel | None:
        """The classifier walk-forward applies at bar time `ts` (ns)."""
        now = self.regime_current
        return now if now is not None and self.regime is not None and \
            ts < self.regime.block_start else self.regime

    def gate_at(self, ts: int) -> NextBlockGate | None:
        """The ML gate walk-forward applies at bar time `ts` (ns)."""
        now = self.gate_current
        return now if now is not None and self.gate is not None and \
            ts < self.gate.block_start else self.gate


def fit_models(settings: GateSettings, market: MarketData,
               features: Features) -> GateModels:
    """The models of the gate's `settings`, fitted on all of `market` as walk-forward would for
    the block after it (the same settings and seeds as the run's walk-forward fits)."""
    spec, out = settings.regime, {}
    if spec.classifier:  # the next block's model and the current block's (the data's end)
        out["regime"], out["regime_current"] = block_models(market, features, spec.block_days,
                                                            seed=settings.seed)
    if spec.ml_gate:
        out["gate"], out["gate_current"] = block_gates(
            market, features, SIGNAL_RICH, settings.costs, settings.account,
            spec.gate_min_accuracy, spec.gate_threshold, block_days=spec.gate_block_days,
            seed=settings.seed)
    return GateModels(**out)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_models(folder: Path, models: GateModels) -> dict:
    """Write the model files under `folder`/models (each atomically); returns strategy.yaml's
    `models` section."""
    out: dict = {}
    target = folder / FOLDER
    for suffix, m in (("", models.regime), (CURRENT, models.regime_current)):
        if m is not None:
            target.mkdir(parents=True, exist_ok=True)
            out[REGIME + suffix] = dict(_dump(m.model, target / f"{REGIME}{suffix}.skops", folder),
                                        block_start=iso_utc(m.block_start), rows=m.rows)
    for suffix, g in (("", models.gate), (CURRENT, models.gate_current)):
        if g is None:
            continue
        entry = {"file": None, "sha256": None}
        if g.fitted.model is not None:
            target.mkdir(parents=True, exist_ok=True)
            entry = _dump(g.fitted.model, target / f"{GATE}{suffix}.skops", folder)
        out[GATE + suffix] = dict(entry, columns=[bool(c) for c in g.fitted.columns],
                                  constant=_finite_or_none(g.fitted.constant),
                                  traded=list(g.traded), z_window=g.z_window,
                                  threshold=g.threshold, block_start=iso_utc(g.block_start),
                                  samples=g.samples)
    return out


def _dump(model, path: Path, folder: Path) -> dict:
    tmp = path.with_name(f".{path.name}.tmp")
    sio.dump(model, tmp)
    tmp.replace(path)
    return {"file": path.relative_to(folder).as_posix(), "sha256": sha256(path)}


def _finite_or_none(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def check_models(section: Mapping, folder: Path, name: str) -> None:
    """Every model file named in `section` exists and has its recorded SHA-256 (a ConfigError
    naming the file and the fix otherwise)."""
    for key, entry in section.items():
        if key not in KEYS or not isinstance(entry, dict):
            raise ConfigError(f"{name}: models.{key}: unknown model entry (expected one of "
                              f"{', '.join(KEYS)} as written by `run`).")
        if entry.get("file") is None:
            continue
        path = folder / str(entry["file"])
        if not path.is_file():
            raise ConfigError(f"{path}: model file of models.{key} is missing; copy the whole "
                              "strategy folder, or re-run the experiment to rewrite it.")
        if sha256(path) != entry.get("sha256"):
            raise ConfigError(f"{path}: content does not match its SHA-256 in {name} (the file "
                              "was changed or damaged); restore the bundle's original file or "
                              "re-run the experiment.")


def load_models(section: Mapping, folder: Path, name: str) -> GateModels:
    """The bundle's models (hashes checked first; only TRUSTED types are loaded)."""
    check_models(section, folder, name)
    out = {}
    for suffix, field_suffix in (("", ""), (CURRENT, "_current")):
        if REGIME + suffix in section:
            e = section[REGIME + suffix]
            out["regime" + field_suffix] = NextBlockModel(
                _load(folder / e["file"], name), _ns(e["block_start"]), int(e.get("rows", 0)))
        if GATE + suffix in section:
            e = section[GATE + suffix]
            model = None if e.get("file") is None else _load(folder / e["file"], name)
            constant = e.get("constant")
            fitted = FittedGate(model, np.asarray(e["columns"], dtype=bool),
                                float("nan") if constant is None else float(constant))
            out["gate" + field_suffix] = NextBlockGate(
                fitted, tuple(e.get("traded") or ()), int(e["z_window"]), float(e["threshold"]),
                _ns(e["block_start"]), int(e.get("samples", 0)))
    return GateModels(**out)


def _load(path: Path, name: str):
    untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED]
    if untrusted:
        raise ConfigError(f"{path}: holds types a bundle never contains ({', '.join(untrusted)});"
                          f" not loaded. Use the model files `run` wrote ({name}).")
    return sio.load(path, trusted=list(TRUSTED))


def _ns(iso: str) -> int:
    return int(np.datetime64(str(iso).rstrip("Z"), "ns").astype(np.int64))
