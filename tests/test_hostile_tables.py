"""Hostile tables (issue 22): a header longer than the sniff's sample, a pipe, an endless line,
a gzip bomb, a column of 10,000 categories, a Parquet file's named index.  Each refusal is one
line and exit 2, nothing of the user's changes, and memory stays bounded: the limits are
lowered (monkeypatched) where the real ones would take seconds to reach."""

from __future__ import annotations

import gzip
import io
import os
import threading
import tracemalloc

import numpy as np
import pandas as pd
import pytest

from _cli import one_error_line, run
from deltaprop.errors import UserError
from deltaprop.tabular import read as tabread
from deltaprop.tabular.read import read_table

MiB = 2**20


def _peak(call):
    """(what ``call()`` returned or raised, the peak of Python-traced memory while it ran)."""
    tracemalloc.start()
    try:
        try:
            got = call()
        except UserError as e:
            got = e
        return got, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _wide_csv(n_columns: int) -> bytes:
    header = ",".join(f"c{i}" for i in range(n_columns))
    rows = "\n".join(",".join(str((i + r) % 7) for i in range(n_columns)) for r in range(3))
    return f"{header}\n{rows}\n".encode()


def _fifo(tmp_path, chunks, name="pipe.csv"):
    """A named pipe that a thread fills with ``chunks`` (it stops when the reader goes away)."""
    path = tmp_path / name
    os.mkfifo(path)

    def write():
        try:
            with open(path, "wb") as f:
                for chunk in chunks:
                    f.write(chunk)
        except BrokenPipeError:
            pass

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return path, thread


# ---------------------------------------------------------------------- the sniff
def test_a_header_longer_than_the_sniffs_sample_is_read_whole(tmp_path):
    """12,000 columns c0 … c11999: a header of 76 KiB, past the 64 KiB sample; no column is
    cut, so none is 'named twice'."""
    data = _wide_csv(12_000)
    assert data.index(b"\n") > tabread.SAMPLE
    (tmp_path / "wide.csv").write_bytes(data)
    frame = read_table(tmp_path / "wide.csv")
    assert frame.shape == (3, 12_000) and frame.columns[-1] == "c11999"


def test_a_header_naming_a_column_twice_past_the_sample_is_still_refused(tmp_path):
    data = _wide_csv(12_000).replace(b",c11999\n", b",c11998\n", 1)
    (tmp_path / "twice.csv").write_bytes(data)
    with pytest.raises(UserError, match="names the column 'c11998' more than once"):
        read_table(tmp_path / "twice.csv")


@pytest.mark.parametrize("gz", [False, True])
def test_a_pipe_loses_nothing_to_the_sniff(tmp_path, gz):
    """DATA as a pipe (``<(cat d.csv)``): every row arrives, the first 64 KiB included."""
    rng = np.random.default_rng(0)
    whole = pd.DataFrame(rng.integers(0, 1000, size=(20_000, 4)), columns=list("abcd"))
    data = whole.to_csv(index=False).encode()
    assert len(data) > 4 * tabread.SAMPLE
    payload = gzip.compress(data) if gz else data
    path, thread = _fifo(tmp_path, [payload[i : i + 4096] for i in range(0, len(payload), 4096)])
    frame = read_table(path)
    thread.join()
    pd.testing.assert_frame_equal(frame, whole, check_dtype=False)


def test_standard_input_loses_nothing_to_the_sniff(monkeypatch):
    data = _wide_csv(12_000)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert read_table("-").shape == (3, 12_000)


# ---------------------------------------------------------------------- line and size limits
def test_a_line_past_the_limit_is_one_line_naming_it_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(tabread, "LINE_LIMIT", MiB)
    (tmp_path / "long.csv").write_bytes(b"a,y\n1,2\n" + b"x" * (3 * MiB) + b",1\n3,4\n")
    before = sorted(os.listdir(tmp_path))
    line = one_error_line(run("train", "long.csv", "--target", "y", cwd=tmp_path))
    assert "long.csv: line 3 is longer than 1 MiB" in line and "out of memory" not in line
    assert sorted(os.listdir(tmp_path)) == before


def test_an_endless_line_from_a_pipe_is_refused_at_the_limit_not_at_its_end(tmp_path, monkeypatch):
    """64 MiB of one line through a pipe: refused once the line passes 1 MiB, the memory held
    a few times that, never the line."""
    monkeypatch.setattr(tabread, "LINE_LIMIT", MiB)
    path, _ = _fifo(tmp_path, [b"a,b\n"] + [b"x" * MiB] * 64)
    error, peak = _peak(lambda: read_table(path))
    assert isinstance(error, UserError) and "is longer than 1 MiB" in str(error)
    assert peak < 4 * MiB, peak


def test_a_gzip_of_one_long_line_is_refused_while_it_unzips(tmp_path, monkeypatch):
    monkeypatch.setattr(tabread, "LINE_LIMIT", MiB)
    (tmp_path / "line.csv.gz").write_bytes(gzip.compress(b"a,y\n" + b"7" * (32 * MiB)))
    error, peak = _peak(lambda: read_table(tmp_path / "line.csv.gz"))
    assert isinstance(error, UserError) and "line 2 is longer than 1 MiB" in str(error)
    assert peak < 4 * MiB, peak


def test_a_gzip_bomb_of_short_lines_is_refused_past_its_ratio(tmp_path, monkeypatch):
    """Short lines (no line limit met): the unzipped size is limited to GZIP_RATIO times the
    file's plus GZIP_SLACK (lowered here to 1 MiB)."""
    monkeypatch.setattr(tabread, "GZIP_SLACK", MiB)
    body = gzip.compress(b"a,y\n" + b"1,2\n" * (8 * MiB))  # 32 MiB from ~32 KiB
    (tmp_path / "bomb.csv.gz").write_bytes(body)
    limit = tabread.GZIP_RATIO * len(body) + MiB
    assert limit < 32 * MiB
    line = one_error_line(run("train", "bomb.csv.gz", "--target", "y", cwd=tmp_path))
    assert f"bomb.csv.gz expands to more than {limit / MiB:,.0f} MiB when unzipped" in line
    assert f"at most {tabread.GZIP_RATIO} times its size" in line


def test_a_gzip_within_its_ratio_reads_as_the_plain_file(tmp_path):
    whole = pd.DataFrame({"a": np.arange(5000) % 13, "y": np.arange(5000) * 0.5})
    (tmp_path / "t.csv.gz").write_bytes(gzip.compress(whole.to_csv(index=False).encode()))
    pd.testing.assert_frame_equal(read_table(tmp_path / "t.csv.gz"), whole)


# ---------------------------------------------------------------------- categories
def test_a_column_of_10000_categories_is_refused_in_one_line_with_memory_near_the_tables(tmp_path):
    """The issue's 364 KiB CSV: 20,000 rows, a column of 10,000 categories (dense one-hot
    would be 1.6 GB); refused before any one-hot, suggesting --drop."""
    from deltaprop.tabular.encode import MAX_CATEGORIES

    rng = np.random.default_rng(0)
    n = 20_000
    pd.DataFrame({"k": [f"k{i}" for i in rng.permutation(np.arange(n) % 10_000)],
                  "x": rng.normal(size=n).round(3), "y": rng.normal(size=n).round(3)}).to_csv(
        tmp_path / "cats.csv", index=False)
    before = sorted(os.listdir(tmp_path))
    r, peak = _peak(lambda: run("train", "cats.csv", "--target", "y", "--out", "c.dpm", cwd=tmp_path))
    line = one_error_line(r)
    assert f"column 'k' has 10,000 distinct values, more than the {MAX_CATEGORIES:,}" in line
    assert "--drop k" in line
    assert sorted(os.listdir(tmp_path)) == before
    assert peak < 100 * MiB, peak


def test_a_column_at_the_cap_is_one_hot_encoded(tmp_path, monkeypatch):
    from deltaprop.tabular import encode
    from deltaprop.tabular.encode import FeatureEncoder

    monkeypatch.setattr(encode, "MAX_CATEGORIES", 30)
    frame = pd.DataFrame({"k": [f"k{i % 30}" for i in range(90)]})
    assert FeatureEncoder().fit(frame, ["k"]).n_inputs == 30
    with pytest.raises(UserError, match="'k' has 31 distinct values, more than the 30"):
        FeatureEncoder().fit(pd.DataFrame({"k": [f"k{i % 31}" for i in range(93)]}), ["k"])


# ---------------------------------------------------------------------- Parquet
def test_a_parquet_files_named_index_is_kept_as_a_column_with_a_note(tmp_path):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"id": [10, 20, 30], "x": [1.0, 2.0, 3.0]}).set_index("id")
    frame.to_parquet(tmp_path / "i.parquet")
    got = read_table(tmp_path / "i.parquet")
    assert list(got.columns) == ["id", "x"] and got["id"].tolist() == [10, 20, 30]
    (note,) = got.attrs["deltaprop_notes"]
    assert "index 'id'" in note and "--drop" in note
    frame.reset_index().to_parquet(tmp_path / "plain.parquet")
    plain = read_table(tmp_path / "plain.parquet")
    assert list(plain.columns) == ["id", "x"] and plain.attrs["deltaprop_notes"] == []
