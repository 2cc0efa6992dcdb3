"""Bad data is refused through the real CLI: file, row and reason; exit 3; nothing written."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from tests.conftest import run_subprocess

HEADER = "timestamp,open,high,low,close,volume\n"


def _rows(n=6):
    return [[f"2024-03-01T00:{5 * i:02d}:00Z", 100.0, 101.0, 99.0, 100.5, 10.0] for i in range(n)]


def _csv(rows, header=HEADER):
    return header + "".join(",".join(map(str, r)) + "\n" for r in rows)


def _swap(rows, i, j):
    rows[i], rows[j] = rows[j], rows[i]
    return rows


def _set(rows, i, col, value):
    rows[i][col] = value
    return rows


CASES = {
    "unsorted": ("X.csv", _csv(_swap(_rows(), 2, 3)), ["X.csv", "row 4", "not sorted", "--sort"]),
    "duplicate": ("X.csv", _csv(_set(_rows(), 4, 0, "2024-03-01T00:15:00Z")),
                  ["row 5", "duplicate timestamp", "--drop-duplicates"]),
    "non_positive": ("X.csv", _csv(_set(_rows(), 2, 3, -1.0)), ["row 3", "non-positive price: low"]),
    "high_below_low": ("X.csv", _csv(_set(_rows(), 1, 2, 98.0)), ["row 2", "high < low"]),
    "close_outside": ("X.csv", _csv(_set(_rows(), 3, 4, 150.0)),
                      ["row 4", "close=150 outside [low, high]"]),
    "nan_close": ("X.csv", _csv(_set(_rows(), 2, 4, "")), ["row 3", "close is NaN"]),
    "text_price": ("X.csv", _csv(_set(_rows(), 2, 1, "abc")), ["row 3", "'open' is not a number"]),
    "missing_column": ("X.csv", "timestamp,open,high,low,close\n2024-03-01T00:00:00Z,1,1,1,1\n",
                       ["X.csv", "missing column(s) volume"]),
    "no_time_column": ("X.csv", "a,open,high,low,close,volume\n1,1,1,1,1,1\n", ["no time column"]),
    "empty_file": ("X.csv", "", ["X.csv", "empty"]),
    "header_only": ("X.csv", HEADER, ["X.csv", "no data rows"]),
    "bad_time": ("X.csv", _csv(_set(_rows(), 3, 0, "yesterday")), ["row 4", "cannot read time"]),
    "mixed_bars": ("X.csv", _csv(_set(_rows(), 5, 0, "2024-03-01T00:22:00Z")),
                   ["row 6", "mixed bar sizes", "--bar"]),
    "garbage_parquet": ("X.parquet", b"\x00not parquet at all", ["X.parquet", "cannot read"]),
    "bad_json": ("X_USDT-5m.json", "[[1, 2, 3]]", ["row 1", "expected [time, open"]),
    "truncated_stream": ("btcusdt_x.gz", None, ["btcusdt_x.gz", "cannot read the recording"]),
    "malformed_stream": ("btcusdt_y.gz", None, ["btcusdt_y.gz", "line 1: malformed trade"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_file_is_refused(cli, tmp_path, case):
    name, content, expected = CASES[case]
    src = tmp_path / "src"
    src.mkdir()
    path = src / name
    if name == "btcusdt_y.gz":
        path.write_bytes(gzip.compress(b'1723161254087891268 {"stream":"btcusdt@trade","data":{}}\n'))
    elif content is None:  # a gzip recording cut in the middle
        line = b'1723161254087891268 {"stream":"btcusdt@trade","data":{"p":"1.5","q":"2"}}\n'
        blob = gzip.compress(line * 500)
        path.write_bytes(blob[: len(blob) // 2])
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    out = tmp_path / "out"
    result = cli("data", "import", path, "--out", out)
    assert result.code == 3, (result.out, result.err)
    for text in expected:
        assert text in result.err, (text, result.err)
    assert "Traceback" not in result.err and result.err.count("\n") == 1
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]  # no temp folder left over


def test_missing_path_is_a_data_error(cli, tmp_path):
    result = cli("data", "import", tmp_path / "nope.csv", "--out", tmp_path / "out")
    assert result.code == 3 and "no such file" in result.err


def test_repairs_are_explicit_and_counted(cli, tmp_path):
    rows = _swap(_rows(), 2, 3)
    rows.append(list(rows[-1]))
    (tmp_path / "X.csv").write_text(_csv(rows))
    result = cli("data", "import", tmp_path / "X.csv", "--out", tmp_path / "out", "--sort",
                 "--drop-duplicates")
    assert result.code == 0, result.err
    assert "sorted" in result.out and "dropped 1 duplicate" in result.out


def test_existing_output_is_kept(cli, tmp_path):
    (tmp_path / "X.csv").write_text(_csv(_rows()))
    assert cli("data", "import", tmp_path / "X.csv", "--out", tmp_path / "out").code == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    (tmp_path / "X.csv").write_text(_csv(_set(_rows(), 1, 2, 98.0)))
    result = cli("data", "import", tmp_path / "X.csv", "--out", tmp_path / "out", "--force")
    assert result.code == 3
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before
    again = cli("data", "import", tmp_path / "X.csv", "--out", tmp_path / "out")
    assert again.code == 2 and "--force" in again.err


def test_usage_errors_exit_2(cli, tmp_path):
    (tmp_path / "X.csv").write_text(_csv(_rows()))
    finer = cli("data", "import", tmp_path / "X.csv", "--out", tmp_path / "o", "--bar", "1m")
    assert finer.code == 2 and "multiple of the file's bar size" in finer.err
    assert cli("data", "import", tmp_path / "X.csv", "--out", tmp_path / "o", "--bar", "5x").code == 2
    assert cli("data", "import", tmp_path / "X.csv", "--out", tmp_path / "o",
               "--format", "excel").code == 2
    assert cli("data", "synth", "--out", tmp_path / "s", "--assets", "0").code == 2
    assert not (tmp_path / "o").exists() and not (tmp_path / "s").exists()


def test_real_process_prints_one_line_no_traceback(tmp_path):
    (tmp_path / "X.csv").write_text(_csv(_set(_rows(), 1, 2, 98.0)))
    result = run_subprocess("data", "import", tmp_path / "X.csv", "--out", tmp_path / "out")
    assert result.code == 3
    assert result.err.startswith("error: ") and "Traceback" not in result.err
    assert "high < low" in result.err


def test_mixed_bar_sizes_across_symbols(cli, tmp_path):
    (tmp_path / "A.csv").write_text(_csv(_rows()))
    hourly = [[f"2024-03-01T{i:02d}:00:00Z", 100.0, 101.0, 99.0, 100.5, 10.0] for i in range(6)]
    (tmp_path / "B.csv").write_text(_csv(hourly))
    result = cli("data", "import", tmp_path / "A.csv", tmp_path / "B.csv", "--out", tmp_path / "o")
    assert result.code == 3 and "mixed bar sizes across symbols" in result.err
    ok = cli("data", "import", tmp_path / "A.csv", tmp_path / "B.csv", "--out", tmp_path / "o",
             "--bar", "1h")
    assert ok.code == 0, ok.err


def test_crossed_book_refused(cli, tmp_path):
    frame = pd.DataFrame(_rows(), columns=["timestamp", "open", "high", "low", "close", "volume"])
    frame["bid"], frame["ask"] = 100.4, 100.6
    frame["bid_size"], frame["ask_size"] = 1.0, 1.0
    frame.loc[2, "bid"] = 100.7
    frame.to_csv(tmp_path / "X.csv", index=False)
    result = cli("data", "import", tmp_path / "X.csv", "--out", tmp_path / "o")
    assert result.code == 3 and "row 3" in result.err and "crossed" in result.err


def test_gaps_are_reported_not_filled(cli, tmp_path):
    rows = _rows(8)
    del rows[3:5]  # two missing bars
    (tmp_path / "X.csv").write_text(_csv(rows))
    assert cli("data", "import", tmp_path / "X.csv", "--out", tmp_path / "o").code == 0
    result = cli("data", "inspect", tmp_path / "o", "--verify")
    assert result.code == 0
    line = next(x for x in result.out.splitlines() if x.startswith("X "))
    assert line.split()[1] == "6"  # rows: nothing invented
    assert line.split()[-5:-3] == ["1", "2"]  # one gap, two bars long
