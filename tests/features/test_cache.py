"""The feature cache: hit, miss, damaged files, concurrent writers, no pickles."""

from __future__ import annotations

import logging
import multiprocessing
from pathlib import Path

import numpy as np
import pytest

from scalper_tune.config import SyntheticSpec
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.data import generate
from scalper_tune.features.cache import build, cache_key

SPEC = FeatureSpec(baseline_window=50, spread_window=50, z_windows=(20, 40))


@pytest.fixture(scope="module")
def market():
    return generate(SyntheticSpec(assets=2, bars=2000))


def _equal(a, b):
    assert set(a) == set(b)
    for s in a:
        assert set(a[s]) == set(b[s])
        for name in a[s]:
            np.testing.assert_array_equal(np.asarray(a[s][name]), np.asarray(b[s][name]))


def test_miss_then_hit(market, tmp_path):
    cold = build(market, SPEC, tmp_path)
    warm = build(market, SPEC, tmp_path)
    assert not cold.hit and warm.hit and cold.key == warm.key
    _equal(cold.features, warm.features)
    files = list((tmp_path / cold.key).rglob("*"))
    assert all(p.suffix in (".npy", ".json") for p in files if p.is_file())
    assert not list(tmp_path.glob(".tmp-*"))


def test_key_depends_on_data_spec(market, tmp_path):
    other_data = generate(SyntheticSpec(assets=2, bars=2000, seed=8))
    keys = {cache_key(market, SPEC), cache_key(other_data, SPEC),
            cache_key(market, FeatureSpec(baseline_window=60, spread_window=50, z_windows=(20, 40)))}
    assert len(keys) == 3
    build(market, SPEC, tmp_path)
    assert not build(other_data, SPEC, tmp_path).hit


@pytest.mark.parametrize("damage", ["truncate", "flip", "manifest"])
def test_damaged_entry_is_reported_once_and_rebuilt(market, tmp_path, caplog, damage):
    first = build(market, SPEC, tmp_path)
    entry = tmp_path / first.key
    target = entry / "SYN02" / "price_z_w20.npy"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:-100])
    elif damage == "flip":
        raw = bytearray(target.read_bytes())
        raw[-8] ^= 0xFF
        target.write_bytes(bytes(raw))
    else:
        (entry / "manifest.json").write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="scalper_tune.features"):
        again = build(market, SPEC, tmp_path)
    assert not again.hit
    damaged = [r for r in caplog.records if "damaged" in r.getMessage()]
    assert len(damaged) == 1 and first.key in damaged[0].getMessage()
    _equal(first.features, again.features)
    assert build(market, SPEC, tmp_path).hit  # the rebuilt entry is good


def _build_in_child(args):
    folder, bars = args
    market = generate(SyntheticSpec(assets=2, bars=bars))
    result = build(market, SPEC, folder)
    return result.key, float(np.nansum(result.features["SYN01"]["price_z_w20"]))


def test_concurrent_writers_do_not_corrupt(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.map(_build_in_child, [(str(tmp_path), 3000)] * 4)
    assert len({r for r in results}) == 1
    entries = [p for p in Path(tmp_path).iterdir() if not p.name.startswith(".")]
    assert len(entries) == 1 and not list(Path(tmp_path).glob(".tmp-*"))
    market = generate(SyntheticSpec(assets=2, bars=3000))
    assert build(market, SPEC, tmp_path).hit


def test_no_cache_dir_computes_only(market, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = build(market, SPEC, None)
    assert not result.hit and not any(tmp_path.iterdir())


def test_editing_a_kernel_makes_the_cache_miss(tmp_path, monkeypatch):
    """The cache key holds a hash of the feature code: an edited kernel is never served stale
    features; an edit elsewhere (the CLI) keeps the cache."""
    import shutil

    from scalper_tune.store import keys

    copy = tmp_path / "pkg"
    shutil.copytree(keys.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(keys, "PACKAGE", copy)
    keys.code_version.cache_clear()
    try:
        market = generate(SyntheticSpec(assets=1, bars=3000))
        spec = FeatureSpec(z_windows=(40,))
        first = cache_key(market, spec)
        assert not build(market, spec, tmp_path / "fc").hit
        assert build(market, spec, tmp_path / "fc").hit
        kernel = copy / "kernels" / "rolling_nb.py"
        kernel.write_text(kernel.read_text() + "\n# an edit\n")
        keys.code_version.cache_clear()
        edited = cache_key(market, spec)
        assert edited != first
        assert not build(market, spec, tmp_path / "fc").hit  # a miss: recomputed
        cli_file = copy / "cli" / "__init__.py"
        cli_file.write_text(cli_file.read_text() + "\n# an edit\n")
        keys.code_version.cache_clear()
        assert cache_key(market, spec) == edited
    finally:
        keys.code_version.cache_clear()
