"""The one key recipe for stored work: sha256 of (the code version, the data hash, the settings).

The code version is the package version plus a hash of the source files that compute the work:
the whole package for trial work, only the feature kernels and feature code for the feature cache
(`FEATURE_CODE`), so editing a kernel never serves stale results, and editing the CLI does not
throw the feature cache away."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from scalper_tune import __version__

PACKAGE = Path(__file__).resolve().parents[1]
ALL_CODE = ("",)
# what features depend on: the kernels, the feature code, the feature settings, the data model
FEATURE_CODE = ("kernels", "features", "config/feature_spec.py", "data/market.py")


@functools.lru_cache(maxsize=8)
def code_version(parts: tuple[str, ...] = ALL_CODE) -> str:
    """The package version plus a hash (12 hex digits) of the source files under `parts`
    (folders or files relative to the package; "" is the whole package)."""
    digest = hashlib.sha256()
    for part in parts:
        root = PACKAGE / part
        files = [root] if root.is_file() else sorted(root.rglob("*.py"))
        for path in files:
            digest.update(path.relative_to(PACKAGE).as_posix().encode())
            digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def work_key(*parts: object, code: tuple[str, ...] = ALL_CODE, length: int = 16) -> str:
    """sha256 of the JSON of `parts` and the code version of `code` (`length` hex digits)."""
    text = json.dumps([code_version(code), *parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def sub_key(run_key: str, *parts: object) -> str:
    """A key derived from a run's key, which already holds the code version: the same in every
    process of the run (a worker started after the source was edited included), so the driver
    always finds what its workers stored."""
    return work_key(run_key, *parts, code=())
