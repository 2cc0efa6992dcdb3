"""Market data: the canonical `MarketData`, the synthetic market, importers, validation, storage."""

from __future__ import annotations

from pathlib import Path

from scalper_tune.config.experiment import DataSpec
from scalper_tune.data.importers import import_files
from scalper_tune.data.market import MarketData, SymbolData
from scalper_tune.data.dataset_store import MANIFEST, load_dataset, write_dataset
from scalper_tune.data.synthetic import generate
from scalper_tune.errors import DataError


def load(spec: DataSpec) -> MarketData:
    """The market an experiment asks for: generated, read from a dataset, or imported from files."""
    if spec.synthetic is not None:
        market = generate(spec.synthetic)
        if spec.symbols:
            return load_subset(market, list(spec.symbols), "data.symbols")
        return market
    path = Path(spec.path)
    if spec.format in ("auto", "dataset") and (path / MANIFEST).is_file():
        return load_dataset(path, list(spec.symbols) or None)
    fmt = "auto" if spec.format == "dataset" else spec.format
    market = import_files([str(path)], fmt=fmt, bar=spec.bar).market
    return load_subset(market, list(spec.symbols), str(path)) if spec.symbols else market


def load_subset(market: MarketData, symbols: list[str], origin: str) -> MarketData:
    """Keep only `symbols` (an unknown one is a DataError naming the known ones)."""
    unknown = [s for s in symbols if s not in market.series]
    if unknown:
        raise DataError(f"{origin}: unknown symbol(s) {', '.join(unknown)}; the data has "
                        f"{', '.join(market.symbols)}.")
    return MarketData(bar_seconds=market.bar_seconds, source=market.source, info=market.info,
                      series={s: market.series[s] for s in symbols},
                      symbol_meta={s: market.symbol_meta.get(s, {}) for s in symbols})


__all__ = ["MarketData", "SymbolData", "generate", "import_files", "load", "load_dataset", "load_subset",
           "write_dataset"]
