"""Hostile inputs to a cluster run (issue 22): an output naming an input partition, a run
already writing the same --out, local:N past the machine, empty partitions, a partition whose
targets are all missing, and a bad partition's worker traceback.  Each refusal is one line,
exit 2, and leaves every file of the user's as it was."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dask")
pytest.importorskip("distributed")

import pandas as pd  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from _cli import one_error_line, run  # noqa: E402
from deltaprop.files import OutputLock  # noqa: E402


def _parts(tmp_path, n=3, rows=30):
    rng = np.random.default_rng(0)
    for k in range(n):
        frame = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows)})
        frame.assign(y=frame.a - frame.b).to_csv(tmp_path / f"p{k}.csv", index=False)
    return {p.name: p.read_bytes() for p in tmp_path.iterdir()}


def _unchanged(tmp_path, before) -> None:
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("count", ["0", "-1", "100000", "two"])
def test_local_n_past_the_machine_or_below_one_is_refused_before_any_worker_starts(tmp_path, count):
    before = _parts(tmp_path)
    line = one_error_line(run("train", "p*.csv", "--target", "y", "--scheduler", f"local:{count}",
                               cwd=tmp_path))
    assert f"local:{count}" in line and f"1 to {2 * (os.cpu_count() or 1)}" in line
    _unchanged(tmp_path, before)


@pytest.mark.parametrize("flag, spelling", [("--out", "p1.csv"), ("--report", "./p2.csv"),
                                            ("--metrics-json", "link.csv"), ("--out", "hard.csv")])
def test_an_output_naming_an_input_partition_by_any_spelling_is_refused(tmp_path, flag, spelling):
    """The outputs are compared with the files the glob matched, by identity: a path written
    another way, a symbolic link and a hard link to a partition are that partition."""
    _parts(tmp_path)
    (tmp_path / "link.csv").symlink_to(tmp_path / "p0.csv")
    os.link(tmp_path / "p0.csv", tmp_path / "hard.csv")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    args = ["train", "p*.csv", "--target", "y", "--scheduler", "local:1", flag, spelling]
    if flag != "--out":
        args += ["--out", "m.dpm"]
    line = one_error_line(run(*args, cwd=tmp_path))
    assert f"{flag} {Path(spelling)} is the same file as DATA" in line
    _unchanged(tmp_path, before)


def test_a_second_run_writing_the_same_out_is_refused_while_the_first_holds_it(tmp_path):
    before = _parts(tmp_path)
    (tmp_path / "m.dpm").write_bytes(b"the first run's model")
    before["m.dpm"] = b"the first run's model"
    with OutputLock(tmp_path / "m.dpm", "--out"):
        line = one_error_line(run("train", "p*.csv", "--target", "y", "--scheduler", "local:1",
                                   "--out", "m.dpm", cwd=tmp_path))
        assert "being written by another deltaprop run" in line
        before[".m.dpm.lock"] = (tmp_path / ".m.dpm.lock").read_bytes()
        _unchanged(tmp_path, before)


def _train_table(tmp_path, impute=False):
    from deltaprop import MLPRegressor
    from deltaprop.distributed.tables import train_table

    def make_estimator(task, n_rows):
        return MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=5)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return train_table(str(tmp_path / "p*.csv"), ["y"], make_estimator, impute=impute)


def test_empty_partitions_are_skipped_with_a_note(tmp_path):
    """A file of a header alone, and a file of no bytes, are left out with a note each; the
    other files train as they would alone."""
    _parts(tmp_path, 2)
    (tmp_path / "p2.csv").write_text("a,b,y\n")
    (tmp_path / "p3.csv").write_bytes(b"")
    done = _train_table(tmp_path)
    assert done.rows == 60 and [os.path.basename(f) for f in done.files] == ["p0.csv", "p1.csv"]
    assert any("skipped" in n and "p2.csv" in n for n in done.notes), done.notes
    assert any("skipped" in n and "p3.csv" in n for n in done.notes), done.notes


def test_every_partition_empty_is_one_line():
    from deltaprop.distributed.tables import ClusterTable
    from deltaprop.errors import UserError

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "p0.csv").write_text("a,y\n")
        with pytest.raises(UserError, match=r"every file has no data rows \(1 file\(s\)\)"):
            ClusterTable(str(Path(d) / "p*.csv"))


def test_a_partition_whose_targets_are_all_missing_is_skipped_under_impute(tmp_path):
    """Under --impute the rows without a target are left out; a file left with none is
    skipped with a note (not scikit-learn's '0 sample(s)' error)."""
    _parts(tmp_path, 3)
    frame = pd.read_csv(tmp_path / "p1.csv").assign(y=np.nan)
    frame.to_csv(tmp_path / "p1.csv", index=False)
    done = _train_table(tmp_path, impute=True)
    assert done.rows == 60 and len(done.outputs) == 60
    assert any("p1.csv" in n and "no row with a target" in n for n in done.notes), done.notes


def test_a_bad_partition_prints_one_line_and_no_worker_traceback(tmp_path, capfd):
    """The worker's 'Compute Failed … Traceback' (Dask's log, written by the worker process to
    the terminal) stays off it: the one line naming the file is all the user sees."""
    _parts(tmp_path, 2)
    pd.read_csv(tmp_path / "p1.csv").drop(columns="y").to_csv(tmp_path / "p1.csv", index=False)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    r = run("train", "p*.csv", "--target", "y", "--scheduler", "local:1", "--out", "m.dpm", cwd=tmp_path)
    line = one_error_line(r)
    assert "p1.csv" in line and "'y'" in line
    captured = capfd.readouterr()
    for text in (captured.out, captured.err):
        assert "Traceback" not in text and "Compute Failed" not in text, text
    _unchanged(tmp_path, before)


def test_a_partitions_parquet_index_is_a_column_on_the_cluster_too_with_a_note(tmp_path):
    pytest.importorskip("pyarrow")
    from deltaprop.distributed.tables import ClusterTable

    for k in range(2):
        pd.DataFrame({"id": [3 * k, 3 * k + 1], "x": [1.0, 2.0]}).set_index("id").to_parquet(
            tmp_path / f"p{k}.parquet")
    table = ClusterTable(str(tmp_path / "p*.parquet"))
    assert table.columns == ["id", "x"]
    assert [n for n in table.notes if "index 'id'" in n] == [n for n in table.notes if "p0.parquet" in n or
                                                             "p1.parquet" in n] and len(table.notes) == 2


def test_an_out_in_a_missing_directory_is_named_before_the_lock(tmp_path):
    before = _parts(tmp_path)
    line = one_error_line(run("train", "p*.csv", "--target", "y", "--scheduler", "local:1",
                               "--out", "nodir/m.dpm", cwd=tmp_path))
    assert "the directory nodir for the model file does not exist" in line
    _unchanged(tmp_path, before)


def test_the_cluster_applies_the_task_rules_of_one_machine(tmp_path):
    """--class-weight on a regression was taken silently on a cluster; one machine refuses it
    (train.check_task, which the cluster now calls), and says which task it read."""
    before = _parts(tmp_path, 2)
    line = one_error_line(run("train", "p*.csv", "--target", "y", "--class-weight", "balanced",
                               "--scheduler", "local:1", "--out", "m.dpm", cwd=tmp_path))
    assert "--class-weight needs a classification" in line
    _unchanged(tmp_path, before)
    r = run("train", "p*.csv", "--target", "y", "--epochs", "2", "--no-report", "--scheduler", "local:1",
            "--out", "m.dpm", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("target 'y' holds numbers, so this is a regression") == 1, r.stderr
    assert "Warning" not in r.stderr
