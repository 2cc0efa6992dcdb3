"""`Dataset`: market data for the public API, from the synthetic market or from files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scalper_tune.config.experiment import DataSpec
from scalper_tune.config.synthetic_spec import SyntheticSpec
from scalper_tune.data import load
from scalper_tune.data.market import MarketData
from scalper_tune.errors import ConfigError


@dataclass(frozen=True)
class Dataset:
    """A market (symbols on one bar size), its name and content hash.

    `Dataset.synthetic(assets=3, bars=20_000, seed=7)` generates the built-in market;
    `Dataset.load("datasets/binance-5m")` reads a dataset folder or imports raw files (any
    format `data import` reads)."""

    market: MarketData
    name: str

    @classmethod
    def synthetic(cls, assets: int = 11, bars: int = 100_000, bar_seconds: int = 60,
                  seed: int = 7, crash: str = "none") -> "Dataset":
        spec = SyntheticSpec(assets=assets, bars=bars, bar_seconds=bar_seconds, seed=seed,
                             crash=crash)
        for key, message in spec.problems():
            raise ConfigError(f"Dataset.synthetic: {key}: {message}.")
        return cls(load(DataSpec(synthetic=spec)), f"synthetic-{assets}x{bars}-seed{seed}")

    @classmethod
    def load(cls, path: str | Path, format: str = "auto", bar: str | None = None,
             symbols: tuple[str, ...] = ()) -> "Dataset":
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"Dataset.load: {path} not found.")
        spec = DataSpec(path=str(path.resolve()), format=format, bar=bar, symbols=tuple(symbols))
        return cls(load(spec), path.name)

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.market.symbols

    @property
    def bar_seconds(self) -> int:
        return self.market.bar_seconds

    @property
    def hash(self) -> str:
        return self.market.content_hash()
