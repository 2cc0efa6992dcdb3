"""The on-disk feature cache: arrays as `.npy` files (never pickles), published atomically.

Layout: `<folder>/<key>/manifest.json` plus `<key>/<SYMBOL>/<feature>.npy`, where the key hashes
the dataset's content hash, the feature spec and the code that computes features (the package
version and a hash of the kernels' and features' source: store/keys.py), so an edited kernel
never serves stale features. A build writes into a
private temporary folder and renames it to `<key>` in one step: readers see a complete entry or
none, and two processes building the same key cannot corrupt each other (the loser discards its
copy). On load every file's size, dtype, shape and CRC-32 are checked against the manifest; a
truncated or corrupted entry is reported once, removed and rebuilt.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scalper_tune import __version__
from scalper_tune.features import Features
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.data.market import MarketData
from scalper_tune.features.compute import compute_market
from scalper_tune.store.keys import FEATURE_CODE, work_key

log = logging.getLogger("scalper_tune.features")


@dataclass(frozen=True)
class BuildResult:
    """Features per symbol, the cache key, and whether they came from the cache."""

    features: Features
    key: str
    hit: bool


def cache_key(market: MarketData, spec: FeatureSpec) -> str:
    """The store's key recipe over (dataset content hash, feature spec) and the feature code's
    version, 32 hex digits."""
    recipe = {"data": market.content_hash(), "spec": spec.to_dict()}
    if set(market.calendars()) != {"24/7"}:  # sessions change the features (the key of 24/7 data
        recipe["calendars"] = {s: market.calendar(s) for s in market.symbols}  # stays as it was)
    return work_key(recipe, code=FEATURE_CODE, length=32)


def _crc(array: np.ndarray) -> int:
    return zlib.crc32(memoryview(np.ascontiguousarray(array)).cast("B"))


class FeatureCache:
    """A folder of cached feature sets (see the module docstring)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._reported: set[str] = set()

    def load(self, key: str) -> Features | None:
        """The cached features for `key`, or None when absent or damaged (damage is logged once
        and the entry removed so that the caller rebuilds it)."""
        entry = self.folder / key
        manifest_path = entry / "manifest.json"
        if not manifest_path.is_file():
            return None
        try:
            manifest = json.loads(manifest_path.read_text())
            out: Features = {}
            for symbol, features in manifest["symbols"].items():
                out[symbol] = {}
                for name, meta in features.items():
                    path = entry / symbol / f"{name}.npy"
                    if path.stat().st_size != meta["bytes"]:
                        raise ValueError(f"{path}: size {path.stat().st_size}, expected {meta['bytes']}")
                    array = np.load(path, mmap_mode="r", allow_pickle=False)
                    if array.dtype.str != meta["dtype"] or list(array.shape) != meta["shape"]:
                        raise ValueError(f"{path}: dtype/shape differ from the manifest")
                    if _crc(array) != meta["crc32"]:
                        raise ValueError(f"{path}: checksum mismatch")
                    out[symbol][name] = array
            return out
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if key not in self._reported:
                self._reported.add(key)
                log.warning("feature cache entry %s is damaged (%s); rebuilding it", entry, exc)
            self._discard(entry)
            return None

    def store(self, key: str, features: Features) -> None:
        """Publish `features` under `key` atomically (a concurrent identical build may win)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=self.folder))
        try:
            manifest: dict = {"key": key, "version": __version__, "symbols": {}}
            for symbol, named in features.items():
                (tmp / symbol).mkdir()
                manifest["symbols"][symbol] = {}
                for name, array in named.items():
                    array = np.ascontiguousarray(array)
                    path = tmp / symbol / f"{name}.npy"
                    np.save(path, array, allow_pickle=False)
                    manifest["symbols"][symbol][name] = {
                        "dtype": array.dtype.str, "shape": list(array.shape),
                        "bytes": path.stat().st_size, "crc32": _crc(array)}
            (tmp / "manifest.json").write_text(json.dumps(manifest))
            try:
                os.rename(tmp, self.folder / key)
            except OSError:
                if not (self.folder / key / "manifest.json").is_file():
                    raise
                shutil.rmtree(tmp, ignore_errors=True)  # another process published it first
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _discard(self, entry: Path) -> None:
        trash = self.folder / f".trash-{entry.name}-{os.getpid()}"
        try:
            os.rename(entry, trash)
        except OSError:
            return
        shutil.rmtree(trash, ignore_errors=True)


def build(market: MarketData, spec: FeatureSpec | None = None,
          cache_dir: str | Path | None = "feature_cache") -> BuildResult:
    """Features of every symbol: from the cache when present and intact, else computed (Numba)
    and stored. `cache_dir=None` computes without caching."""
    spec = spec or FeatureSpec()
    key = cache_key(market, spec)
    if cache_dir is None:
        return BuildResult(compute_market(market, spec), key, hit=False)
    cache = FeatureCache(cache_dir)
    cached = cache.load(key)
    if cached is not None and set(cached) == set(market.symbols):
        return BuildResult(cached, key, hit=True)
    features = compute_market(market, spec)
    cache.store(key, features)
    return BuildResult(features, key, hit=False)
