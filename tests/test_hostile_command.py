"""The command against hostile inputs and careless paths (issue 22): no output overwrites an
input or another output, a model file's options are validated like the command line and its
paths never obeyed, text from files reaches the terminal escaped, and a model whose weights
overflow refuses to predict."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import deltaprop as dp
from _cli import one_error_line, run


def _files(path):
    return {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": X.sum(axis=1)})
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_csv(tmp_path / "v.csv", index=False)
    return frame


FAST = ["--epochs", "2", "--hidden", "3", "--no-report", "-q"]


# ---------------------------------------------------------------------- outputs never clash
@pytest.mark.parametrize(
    "args, expected",
    [
        (["--validation-data", "v.csv", "--out", "v.csv"], "--out v.csv is the same file as --validation"),
        (["--validation-data", "v.csv", "--report", "./v.csv"], "--report ./v.csv is the same file as"),
        (["--validation-data", "v.csv", "--metrics-json", "v.csv"], "is the same file as --validation-data"),
        (["--out", "m.dpm", "--metrics-json", "m.dpm"], "--metrics-json m.dpm is the same file as --out"),
        (["--report", "r.html", "--metrics-json", "r.html"], "--metrics-json r.html is the same file as"),
        (["--out", "m.dpm", "--report", "m.ckpt.dpm"], "--report m.ckpt.dpm is the same file as the check"),
        (["--out", "m.dpm", "--report", ".m.dpm.lock"], "is the same file as the lock"),
        (["--out", "d.csv"], "--out d.csv is the same file as DATA"),
        (["--out", "newdir/"], "names a directory that does not exist"),
    ],
)
def test_an_output_that_is_an_input_or_another_output_is_refused_before_any_work(tmp_path, table, args,
                                                                                  expected):
    before = _files(tmp_path)
    cmd = ["train", "d.csv", "--target", "y", "--epochs", "2", "--hidden", "3", *args]
    line = one_error_line(run(*cmd, cwd=tmp_path))
    assert expected in line, line
    assert _files(tmp_path) == before
    assert not (tmp_path / "newdir").exists()


def test_an_output_naming_an_input_through_a_link_is_refused(tmp_path, table):
    (tmp_path / "alias.csv").symlink_to(tmp_path / "v.csv")
    before = _files(tmp_path)
    line = one_error_line(run("train", "d.csv", "--target", "y", *FAST, "--validation-data", "v.csv",
                               "--metrics-json", "alias.csv", cwd=tmp_path))
    assert "--metrics-json alias.csv is the same file as --validation-data v.csv" in line
    assert _files(tmp_path) == before


# ---------------------------------------------------------------------- --resume obeys no file
def _forged(tmp_path, change):
    """d.dpm trained on d.csv, its history's run changed by ``change(run)``."""
    r = run("train", "d.csv", "--target", "y", *FAST, "--out", "d.dpm", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    model = dp.load(tmp_path / "d.dpm")
    change(model.history["run"])
    dp.save(model, tmp_path / "d.dpm")


def _resume(tmp_path, *extra):
    return run("train", "d.csv", "--target", "y", "--epochs", "4", "--no-report", "--out", "d.dpm",
               "--resume", *extra, cwd=tmp_path)


def test_resume_never_takes_a_path_or_an_unknown_setting_from_the_file(tmp_path, table):
    (tmp_path / "victim.txt").write_text("mine")

    def forge(r):
        r["options"].update(metrics_json="victim.txt", report="victim.txt", out="victim.txt",
                            validation_data="missing.csv", frobnicate=1)
        del r["options"]["hidden"]  # a missing setting takes its default

    _forged(tmp_path, forge)
    r = _resume(tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "victim.txt").read_text() == "mine"
    assert "--resume ignores 5 setting(s)" in r.stderr and "'frobnicate'" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("learning_rate", -1.0, "--learning-rate"),
        ("activation", "evil", "--activation"),
        ("hidden", [0, -3], "--hidden"),
        ("early_stopping", "yes", "--early-stopping"),
        ("seed", {"a": 1}, "--seed"),
        ("dropout", 1.5, "--dropout"),
    ],
)
def test_resume_validates_each_setting_of_the_file_as_the_command_line_does(tmp_path, table, key, value,
                                                                            expected):
    _forged(tmp_path, lambda r: r["options"].update({key: value}))
    before = _files(tmp_path)
    line = one_error_line(_resume(tmp_path))
    assert expected in line and "train afresh without --resume" in line, line
    assert _files(tmp_path) == before


@pytest.mark.parametrize("rows", [[-1, 3], [2, 2, 5]])
def test_negative_or_repeated_validation_rows_are_a_malformed_file(tmp_path, table, rows):
    _forged(tmp_path, lambda r: r.update(validation_rows=np.array(rows, dtype=np.int64)))
    line = one_error_line(_resume(tmp_path))
    assert "validation rows are malformed" in line, line


def test_the_run_options_recorded_are_those_the_model_format_names():
    from deltaprop.command.commands import train
    from deltaprop.command.train import TrainOptions
    from deltaprop.files.codec import RUN_OPTIONS

    assert list(TrainOptions("d.csv").model_options()) == list(RUN_OPTIONS)
    assert set(RUN_OPTIONS) <= {p.name for p in train.params}
    assert not {"out", "report", "metrics_json", "validation_data", "resume"} & set(RUN_OPTIONS)


# ---------------------------------------------------------------------- text from files, escaped
ESC = "\x1b[2J\x1b]0;owned\x07"


def test_text_from_a_table_or_a_model_file_reaches_the_terminal_escaped(tmp_path):
    from forge import entries_of, forge_checksums, zip_of

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"a{ESC}": rng.normal(size=40), f"kind{ESC}": [f"k{ESC}{i % 3}" for i in range(40)],
                          "y": rng.normal(size=40)})
    frame.to_csv(tmp_path / "d.csv", index=False)
    r = run("train", "d.csv", "--target", "y", "--epochs", "2", "--hidden", "3", "--no-report",
            "--out", "m.dpm", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout + r.stderr and "\\x1b" in r.stderr, r.stderr  # told, escaped
    model = dp.load(tmp_path / "m.dpm")
    model.history["run"]["data"] = ESC
    model.history["stop_reason"] = f"[/bold]{ESC}"
    dp.save(model, tmp_path / "m.dpm")
    forged = forge_checksums(entries_of((tmp_path / "m.dpm").read_bytes()),
                             lambda doc: doc.update(deltaprop_version=f"[/bold]{ESC}"))
    (tmp_path / "m.dpm").write_bytes(zip_of(forged))
    r = run("info", "m.dpm", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout + r.stderr and "\x07" not in r.stdout
    assert "written by deltaprop [/bold]\\x1b[2J" in r.stdout, r.stdout
    assert "stopped: [/bold]\\x1b[2J" in r.stdout and "on \\x1b[2J" in r.stdout
    assert "a\\x1b[2J" in r.stdout and "k\\x1b[2J" in r.stdout  # a column and a category
    r = run("evaluate", "m.dpm", "d.csv", cwd=tmp_path)
    assert r.returncode == 0 and "\x1b" not in r.stdout + r.stderr, r.stderr


# ---------------------------------------------------------------------- weights that overflow
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_a_model_whose_weights_overflow_refuses_to_predict_in_one_line(tmp_path, table, task):
    import warnings

    table.assign(c=np.where(table.y > 0, "up", "down")).to_csv(tmp_path / "d.csv", index=False)
    target = "y" if task == "regression" else "c"
    r = run("train", "d.csv", "--target", target, *FAST, "--out", "m.dpm", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    model = dp.load(tmp_path / "m.dpm")
    model.network_.W[2][:] = 1e308
    dp.save(model, tmp_path / "m.dpm")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for command in ("predict", "evaluate"):
            line = one_error_line(run(command, "m.dpm", "d.csv", cwd=tmp_path))
            assert re.search(r": [1-9]\d* of 60 row\(s\) predict a number that is not finite", line), line
            assert "weights are too large (up to 1e+308)" in line, line
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]
