"""The canonical dataset on disk: round trip, atomic writes, hash verification."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from scalper_tune.config import SyntheticSpec
from scalper_tune.data import generate, load_dataset, write_dataset
from scalper_tune.errors import DataError, UsageError


@pytest.fixture(scope="module")
def small():
    return generate(SyntheticSpec(assets=3, bars=2000, crash="none"))


def test_round_trip_is_exact(small, tmp_path):
    write_dataset(small, tmp_path / "ds")
    back = load_dataset(tmp_path / "ds", verify=True)
    assert back.symbols == small.symbols and back.bar_seconds == small.bar_seconds
    assert back.content_hash() == small.content_hash()
    for s in small.symbols:
        for name, values in small[s].columns().items():
            np.testing.assert_array_equal(back[s].columns()[name], values)
    table = pq.read_table(tmp_path / "ds" / "SYN01.parquet")
    assert str(table.schema.field("ts").type) == "timestamp[ns, tz=UTC]"


def test_refuses_to_overwrite_without_force(small, tmp_path):
    write_dataset(small, tmp_path / "ds")
    with pytest.raises(UsageError, match="--force"):
        write_dataset(small, tmp_path / "ds")
    other = generate(SyntheticSpec(assets=2, bars=1000, seed=9))
    write_dataset(other, tmp_path / "ds", force=True)
    assert load_dataset(tmp_path / "ds").symbols == other.symbols


def test_failed_write_leaves_nothing_and_keeps_old(small, tmp_path, monkeypatch):
    write_dataset(small, tmp_path / "ds")
    before = sorted(p.name for p in (tmp_path / "ds").iterdir())

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(OSError):
        write_dataset(small, tmp_path / "ds", force=True)
    with pytest.raises(OSError):
        write_dataset(small, tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]  # no temp folders left
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == before


def test_verify_detects_changed_files(small, tmp_path):
    write_dataset(small, tmp_path / "ds")
    other = generate(SyntheticSpec(assets=3, bars=2000, seed=8))
    write_dataset(other, tmp_path / "other")
    (tmp_path / "ds" / "SYN02.parquet").write_bytes((tmp_path / "other" / "SYN02.parquet").read_bytes())
    load_dataset(tmp_path / "ds")  # still readable
    with pytest.raises(DataError, match="content hash"):
        load_dataset(tmp_path / "ds", verify=True)


def test_unknown_symbol_and_missing_folder(small, tmp_path):
    write_dataset(small, tmp_path / "ds")
    with pytest.raises(DataError, match="unknown symbol.*NOPE.*SYN01"):
        load_dataset(tmp_path / "ds", ["NOPE"])
    with pytest.raises(DataError, match="no such dataset folder"):
        load_dataset(tmp_path / "missing")
    (tmp_path / "ds" / "SYN01.parquet").write_bytes(b"garbage")
    with pytest.raises(DataError, match="SYN01.parquet: unreadable"):
        load_dataset(tmp_path / "ds")
