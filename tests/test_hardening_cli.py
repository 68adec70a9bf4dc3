"""The command's promise of one line, kept at the edges: nested Parquet columns, a gzip'd file of
NULs, a run that diverges under its progress bar, numbers near 1e308, and a message that must
name only options the subcommand has."""

from __future__ import annotations

import gzip
import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import deltaprop as dp
from _cli import one_error_line, run


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": X.sum(axis=1)})
    frame.to_csv(tmp_path / "h.csv", index=False)
    return frame


def test_a_parquet_column_of_lists_is_one_line_naming_the_column(tmp_path):
    pytest.importorskip("pyarrow")
    pd.DataFrame({"a": [[1, 2], [3]] * 20, "y": [1.0, 2.0] * 20}).to_parquet(tmp_path / "n.parquet")
    line = one_error_line(run("train", "n.parquet", "--target", "y", cwd=tmp_path))
    assert "column 'a' holds lists" in line


def test_a_gzipped_file_of_nuls_is_called_binary(tmp_path):
    (tmp_path / "nul.csv.gz").write_bytes(gzip.compress(b"\0" * (1 << 20)))
    line = one_error_line(run("train", "nul.csv.gz", "--target", "y", cwd=tmp_path))
    assert "is a binary file" in line


def test_a_run_that_diverges_under_its_progress_bar_prints_only_the_error(tmp_path, table):
    args = ["train", "h.csv", "--target", "y", "--solver", "sgd", "--learning-rate", "1e6",
            "--epochs", "20", "--no-report", "--out", "d.dpm"]  # fmt: skip
    r = run(*args, cwd=tmp_path)
    # what the run inferred is told before the first epoch, then (off a terminal) one line per
    # epoch that ran; the error is the last line, alone, with no bar drawn over it
    lines = [line for line in r.stderr.splitlines()
             if not line.startswith("note: ") and not re.match(r"training \d+/20 loss ", line)]
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert r.stderr.splitlines()[-1] == lines[0]
    line = lines[0]
    # the estimator or the command may be the one to notice (a ValueError or the finite-loss check)
    assert ("diverged" in line or "non-finite" in line) and not (tmp_path / "d.dpm").exists()


def test_numbers_near_1e308_train_and_evaluate_without_runtime_warnings(tmp_path, table):
    big = table.assign(a=np.sign(table.a) * 1e308, y=np.clip(table.a * 5e307, -1.7e308, 1.7e308))
    big.to_csv(tmp_path / "big.csv", index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = run("train", "big.csv", "--target", "y", "--epochs", "3", "--no-report", "--out", "b.dpm",
                "--quiet", cwd=tmp_path)  # fmt: skip
        assert r.returncode == 0, r.stderr
        e = run("evaluate", "b.dpm", "big.csv", cwd=tmp_path)
        assert e.returncode == 0, e.stderr
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]
    metrics = dp.load(tmp_path / "b.dpm").history["metrics"]["train"]
    assert all(math.isfinite(v) for v in metrics.values()), metrics
    column = dp.load(tmp_path / "b.dpm").features.columns[0]
    assert math.isfinite(column.fill) and math.isfinite(column.mean)


def test_evaluate_names_no_option_it_does_not_have(tmp_path, table):
    assert run("train", "h.csv", "--target", "y", "--epochs", "2", "--no-report", "--out", "r.dpm",
               "--quiet", cwd=tmp_path).returncode == 0  # fmt: skip
    table.assign(y=["u", "v"] * 60).to_csv(tmp_path / "text.csv", index=False)
    line = one_error_line(run("evaluate", "r.dpm", "text.csv", cwd=tmp_path))
    assert "not numeric" in line and "--task" not in line
