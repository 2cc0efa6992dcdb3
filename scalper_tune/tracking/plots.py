"""PNG plots for finalist runs: equity curve, drawdown, per-regime Sharpe, Phase 1 heatmap."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def equity_and_drawdown(equity: pd.Series, out_dir: Path, stem: str) -> list[Path]:
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.plot(equity.index, equity.to_numpy(), lw=1)
    ax.set_title("Equity (marked to market, $)")
    ax.grid(alpha=0.3)
    equity_path = _save(fig, out_dir / f"{stem}_equity.png")
    eq = equity.to_numpy()
    fig, ax = plt.subplots(figsize=(9, 2.5))
    ax.fill_between(equity.index, eq - np.maximum.accumulate(eq), 0, color="tab:red", alpha=0.5)
    ax.set_title("Drawdown ($)")
    ax.grid(alpha=0.3)
    return [equity_path, _save(fig, out_dir / f"{stem}_drawdown.png")]


def regime_bars(sharpes: Mapping[str, float], out_dir: Path, stem: str) -> Path:
    names = list(sharpes)
    values = [sharpes[n] if np.isfinite(sharpes[n]) else 0.0 for n in names]
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(names, values, color=["tab:green" if v >= 0 else "tab:red" for v in values])
    ax.axhline(0, color="black", lw=0.8)
    ax.set_title("In-sample Sharpe by regime")
    return _save(fig, out_dir / f"{stem}_regimes.png")


def phase1_heatmap(table: pd.DataFrame, x: str, y: str, score: str, out_dir: Path) -> Path:
    pivot = table.pivot_table(index=y, columns=x, values=score, aggfunc="max")
    fig, ax = plt.subplots(figsize=(6, 4))
    im = ax.imshow(pivot.to_numpy(), cmap="viridis", aspect="auto", origin="lower")
    ax.set_xticks(range(len(pivot.columns)), [str(c) for c in pivot.columns])
    ax.set_yticks(range(len(pivot.index)), [str(i) for i in pivot.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"Phase 1: best {score} per cell")
    fig.colorbar(im)
    return _save(fig, out_dir / f"phase1_heatmap_{x}_{y}.png")
