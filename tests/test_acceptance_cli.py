"""Acceptance tests of the ``deltaprop`` command on files and mistakes a new user brings.

Each test runs the command in this process (click's CliRunner, see ``_cli.py``) on tiny CSV
files written here, with few epochs and no report; each pins a bug found by trying the
command as a new user would.  Tests share one trained model (``trained``) and call the
command as few times as the bug needs.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _cli import run

FAST = ["--epochs", "5", "--hidden", "8", "--no-report", "--quiet"]
#: as short a run, for tests that read what train prints (so not --quiet)
SHORT = ["--epochs", "3", "--hidden", "4", "--no-report"]


def table(n=40, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = rng.normal(size=n)
    return pd.DataFrame({"a": a, "b": b, "y": 2 * a - b + rng.normal(scale=0.1, size=n)})


def files(directory):
    return {p.name: p.read_bytes() for p in Path(directory).iterdir() if p.is_file()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A folder with d.csv and d.dpm, a regression of y on a and b (tests must not change them)."""
    folder = tmp_path_factory.mktemp("trained")
    table().to_csv(folder / "d.csv", index=False)
    r = run("train", "d.csv", "--target", "y", *FAST, cwd=folder)
    assert r.returncode == 0, r.stderr
    return folder


def test_huge_values_are_scaled_without_overflow(tmp_path):
    """Numbers near 1e300 train like any others (their square overflowed: inf scale, crash)."""
    frame = table()
    frame["a"] *= 1e300
    frame["y"] *= 1e300
    frame.to_csv(tmp_path / "big.csv", index=False)
    r = run(
        "train", "big.csv", "--target", "y", "--epochs", "5", "--hidden", "8", "--no-report", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    told = [line for line in r.stderr.splitlines()
            if not line.startswith("note: ") and not re.match(r"training \d+/5 loss ", line)]
    assert told == [], r.stderr  # the notes, then one line per epoch; no overflow warnings
    assert "R²" in r.stdout and "nan" not in r.stdout and "inf" not in r.stdout, r.stdout


def test_predict_errors_name_a_fix_that_predict_can_take(trained, tmp_path):
    """predict has no --impute: a bad value there says to train with --impute, not to pass it."""
    for name, value in [("text.csv", "x"), ("inf.csv", "inf")]:
        frame = table().astype(str)
        frame.loc[2, "a"] = value
        frame.to_csv(tmp_path / name, index=False)
        r = run("predict", trained / "d.dpm", name, "--out", "p.csv", cwd=tmp_path)
        assert r.returncode == 2
        assert len(r.stderr.splitlines()) == 1 and "row 3" in r.stderr, r.stderr
        assert "train the model with --impute" in r.stderr and "pass --impute" not in r.stderr
        assert not (tmp_path / "p.csv").exists()


def test_explain_out_never_overwrites_its_inputs(trained):
    """explain --out naming the data or the model file was written over them (the data lost)."""
    before = files(trained)
    clashes = [("d.csv", "is the same file as --data d.csv"), ("d.dpm", "is the same file as MODEL d.dpm")]
    for out, expected in clashes:
        r = run("explain", "d.dpm", "-w", "2:1,1", "-d", "d.csv", "--row", "1", "--out", out, cwd=trained)
        assert r.returncode == 2 and expected in r.stderr, r.stderr
        assert len(r.stderr.splitlines()) == 1
    assert files(trained) == before


def test_a_directory_as_output_suggests_a_file_name_of_its_kind(trained, tmp_path):
    """--report DIR and predict --out DIR suggested 'DIR/model.dpm', a model name, for them too."""
    (tmp_path / "outdir").mkdir()
    r = run("train", trained / "d.csv", "--target", "y", "--report", "outdir", "--quiet", cwd=tmp_path)
    assert r.returncode == 2 and "e.g. outdir/report.html" in r.stderr, r.stderr
    r = run("predict", trained / "d.dpm", trained / "d.csv", "--out", "outdir", cwd=tmp_path)
    assert r.returncode == 2 and "e.g. outdir/predictions.csv" in r.stderr, r.stderr
    assert [p.name for p in tmp_path.rglob("*")] == ["outdir"]


def test_info_lines_are_not_broken_when_piped(trained):
    """Piped, rich wrapped 'info' at 80 columns: 'loss' and 'squared_error' on two lines."""
    r = run("info", "d.dpm", cwd=trained)
    assert r.returncode == 0, r.stderr
    line = next(line for line in r.stdout.splitlines() if line.startswith("network:"))
    assert line.endswith("loss squared_error, float64)"), r.stdout


def test_class_codes_0_1_2_as_target_are_a_classification_with_a_note(tmp_path):
    """A target of a few whole numbers (class codes 0/1/2, digits 0-9) became a regression:
    R² instead of accuracy.  At most 20 distinct whole numbers are classes, and a note says
    how to get the regression."""
    frame = table(n=30)
    frame["code"] = np.digitize(frame["y"], [-1.0, 1.0])  # 0, 1, 2
    frame.drop(columns=["y"]).to_csv(tmp_path / "codes.csv", index=False)
    r = run("train", "codes.csv", "--target", "code", *SHORT, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "note: target 'code' holds 3 distinct whole numbers (at most 20)" in r.stderr
    assert "--task regression" in r.stderr
    assert "trained classification model" in r.stdout and "accuracy" in r.stdout
    r = run("train", "codes.csv", "--target", "code", "--task", "regression", *SHORT, cwd=tmp_path)
    assert r.returncode == 0 and "trained regression model" in r.stdout and "class codes" not in r.stderr


def test_bad_tables_and_arguments_are_one_line_exit_2_and_write_nothing(tmp_path):
    # pandas silently renamed the second 'a' to 'a.1', a column the user never wrote
    (tmp_path / "dup.csv").write_text("a;b; a;y\n1;2;3;4\n5;6;7;8\n9;1;2;3\n", encoding="utf-8")
    table().to_csv(tmp_path / "d.csv", index=False)
    cases = [
        (["dup.csv", "--target", "y"], "names the column 'a' more than once"),
        # scikit-learn's split refused this seed: an 'internal error', exit 1
        (["d.csv", "--target", "y", "--seed", "-1"], "--seed"),
        # --target took d.csv as a second target; the error said only 'missing argument DATA'
        (["--target", "y", "d.csv"], "put DATA first: deltaprop train DATA --target COL"),
    ]
    for args, expected in cases:
        r = run("train", *args, *FAST, cwd=tmp_path)
        assert r.returncode == 2, (args, r.stderr)
        assert len(r.stderr.splitlines()) == 1 and expected in r.stderr, (args, r.stderr)
    assert sorted(files(tmp_path)) == ["d.csv", "dup.csv"]


def test_numbers_with_commas_are_refused_with_the_fix(tmp_path):
    """'1,257' or '0,5' read as text: the column became categories (or was dropped as an
    identifier), and such a target a classification with a class per row."""
    frame = table(n=30)
    thousands = frame.assign(money=[f"{1000 + int(abs(v) * 1e5):,}" for v in frame["a"]])
    thousands.to_csv(tmp_path / "money.csv", index=False)
    r = run("train", "money.csv", "--target", "y", *FAST, cwd=tmp_path)
    assert r.returncode == 2 and "column 'money' holds numbers written with thousands" in r.stderr, r.stderr
    assert "remove them" in r.stderr and "--categorical money" in r.stderr
    frame.to_csv(tmp_path / "euro.csv", sep=";", decimal=",", index=False)
    r = run("train", "euro.csv", "--target", "y", *FAST, cwd=tmp_path)
    assert r.returncode == 2 and "decimal commas" in r.stderr and len(r.stderr.splitlines()) == 1
    assert sorted(files(tmp_path)) == ["euro.csv", "money.csv"]


def test_info_describes_a_bare_network_saved_from_python(tmp_path):
    """info refused a Network saved with deltaprop.save, though its architecture is all there."""
    import deltaprop as dp

    dp.save(dp.Network([2, 3, 1]), tmp_path / "n.dpm")
    r = run("info", "n.dpm", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "2 → 3 → 1" in r.stdout and "parameters: 13" in r.stdout and "bare Network" in r.stdout


def test_resume_refuses_model_options_it_would_ignore(tmp_path):
    """--resume --hidden 4 on a 3-unit run trained on silently with 3 units."""
    table().to_csv(tmp_path / "d.csv", index=False)
    r = run(
        "train", "d.csv", "--target", "y", "--epochs", "3", "--hidden", "3", "--no-report", "-q", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    before = files(tmp_path)
    r = run("train", "d.csv", "--epochs", "6", "--resume", "--hidden", "4", "-q", cwd=tmp_path)
    assert r.returncode == 2 and "a different --hidden" in r.stderr, r.stderr
    assert files(tmp_path) == before
    r = run("train", "d.csv", "--epochs", "6", "--resume", "--hidden", "3", "--no-report", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr


def test_task_detection_of_a_target_with_a_typo_and_a_boolean_target(tmp_path):
    """A numeric target with one typo became a classification with a class per value, and a
    boolean Parquet target a regression on 0/1."""
    frame = table().astype(str)
    frame.loc[5, "y"] = "12.5x"
    frame.to_csv(tmp_path / "typo.csv", index=False)
    r = run("train", "typo.csv", "--target", "y", *FAST, cwd=tmp_path)
    assert r.returncode == 2 and "row 6 (line 7 of typo.csv) is '12.5x'" in r.stderr, r.stderr
    assert not (tmp_path / "typo.dpm").exists()
    frame = table()
    frame["flag"] = frame.pop("y") > 0
    frame.to_parquet(tmp_path / "flags.parquet")
    r = run("train", "flags.parquet", "--target", "flag", *SHORT, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "trained classification model" in r.stdout and "accuracy" in r.stdout, r.stdout


def test_class_codes_match_across_csv_and_parquet(tmp_path):
    """Classes 0/1/2 trained from CSV (text '1') never matched the integers of a Parquet file:
    evaluate said accuracy 0, and a --categorical code became an unseen category."""
    frame = table()
    frame["code"] = np.digitize(frame.pop("y"), [-1.0, 1.0])
    frame["group"] = np.arange(len(frame)) % 3
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet")
    args = ["--target", "code", "--task", "classification", "--categorical", "group"]
    r = run("train", "d.csv", *args, *FAST, cwd=tmp_path)
    assert r.returncode == 0, r.stderr

    def metrics(out):
        return [
            line.split("│")[2].strip()
            for line in out.splitlines()
            if "│" in line and line.split("│")[1].strip() in ("accuracy", "log-loss")
        ]

    csv = run("evaluate", "d.dpm", "d.csv", cwd=tmp_path)
    pq = run("evaluate", "d.dpm", "d.parquet", cwd=tmp_path)
    assert csv.returncode == pq.returncode == 0, pq.stderr
    assert "never saw" not in pq.stderr and "not seen in training" not in pq.stderr, pq.stderr
    assert metrics(csv.stdout) == metrics(pq.stdout) and len(metrics(csv.stdout)) == 2
    csv = run("predict", "d.dpm", "d.csv", "--proba", cwd=tmp_path)
    pq = run("predict", "d.dpm", "d.parquet", "--proba", cwd=tmp_path)
    assert pq.returncode == 0 and pq.stderr == "", pq.stderr
    assert csv.stdout == pq.stdout


def test_names_with_square_brackets_are_printed_as_written(tmp_path):
    """rich read '[/b]' in a column name as markup (info: internal error) and '[red]' in a
    file name as a colour (evaluate printed 'd.csv')."""
    frame = table()
    frame["[/b]g"] = np.where(frame["a"] > 0, "up", "down")
    frame.to_csv(tmp_path / "d[red].csv", index=False)
    r = run("train", "d[red].csv", "--target", "y", "--out", "m[1].dpm", *FAST, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = run("info", "m[1].dpm", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("m[1].dpm") and "[/b]g" in r.stdout
    r = run("evaluate", "m[1].dpm", "d[red].csv", cwd=tmp_path)
    assert r.returncode == 0 and "d[red].csv" in r.stdout, r.stdout + r.stderr


def test_default_model_name_keeps_every_dot_of_the_data_name():
    from deltaprop.command.train import default_out

    assert str(default_out("data/houses.2024.csv")) == "houses.2024.dpm"
    assert str(default_out("houses.csv.gz")) == "houses.dpm"
    assert str(default_out("houses.parquet")) == "houses.dpm"


def test_a_run_worse_than_a_constant_says_so(tmp_path):
    # Adam with a huge learning rate: the loss stays finite (no 'diverged' error), the model is useless
    from deltaprop.command.train import TrainOptions, train

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    frame["y"] = frame.a - 2 * frame.b
    frame.to_csv(tmp_path / "d.csv", index=False)
    result = train(TrainOptions(data=str(tmp_path / "d.csv"), targets=("y",), epochs=10,
                                learning_rate=1e9, out=str(tmp_path / "m.dpm"), no_report=True,
                                quiet=True))
    assert any("worse than a constant" in note for note in result.notes), result.notes
    # the loss grew, finite, far above the initial weights' loss: a note says so
    assert any(note.startswith("training blew up (the loss grew from") for note in result.notes), result.notes


# ---------------------------------------------------------------------- as a newcomer meets it
def classes_table(n=120, seed=3):
    """Two numeric inputs and a 3-class text label (class 'c' rare)."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    label = np.where(a > 0.8, "c", np.where(b > 0, "a", "b"))
    return pd.DataFrame({"a": a, "b": b, "label": label})


def test_training_says_why_it_stopped_and_no_early_stopping_trains_every_epoch(tmp_path):
    """'--no-early-stopping --epochs 50' stopped at 23 on a hidden training-loss rule, and
    the output said only '23 epoch(s)'."""
    from deltaprop.command.train import TrainOptions, train

    table(n=60).to_csv(tmp_path / "d.csv", index=False)
    common = dict(data=str(tmp_path / "d.csv"), targets=("y",), no_report=True, quiet=True, hidden=(4,))
    # a learning rate so small that the training loss barely moves: the tolerance rule would fire
    result = train(TrainOptions(**common, epochs=40, patience=2, learning_rate=1e-7,
                                early_stopping=False, out=str(tmp_path / "a.dpm")))
    assert result.epochs == 40 and len(result.model.history["loss_curve"]) == 40
    assert result.stop_reason == "reached the epoch limit (--epochs 40)"
    result = train(TrainOptions(**common, epochs=200, patience=2, learning_rate=0.3,
                                out=str(tmp_path / "b.dpm")))
    assert result.stopped_early and result.epochs < 200
    expected = "early stopping: the validation loss did not improve by 0.0001 for 2 epochs"
    assert result.stop_reason.startswith(expected)
    assert f"(best epoch {result.best_epoch}," in result.stop_reason
    result = train(TrainOptions(**common, epochs=200, patience=2, learning_rate=1e-7,
                                out=str(tmp_path / "c.dpm"), validation_fraction=0.0))
    assert result.epochs < 200 and "training loss did not improve" in result.stop_reason
    r = run("train", "d.csv", "--target", "y", "--epochs", "3", "--no-report", "--hidden", "4", cwd=tmp_path)
    assert r.returncode == 0 and "stopped: reached the epoch limit (--epochs 3)" in r.stdout, r.stdout
    r = run("info", "d.dpm", cwd=tmp_path)
    assert "stopped: reached the epoch limit (--epochs 3)" in r.stdout


def test_metrics_json_evaluate_json_and_the_classification_metrics(tmp_path):
    import json

    classes_table().to_csv(tmp_path / "c.csv", index=False)
    r = run("train", "c.csv", "--target", "label", *FAST, "--metrics-json", "m.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "m.json").read_text())
    names = ["accuracy", "balanced accuracy", "macro F1", "ROC AUC", "log-loss"]
    assert list(doc["metrics"]["train"]) == names and list(doc["metrics"]["validation"]) == names
    assert doc["epochs"] == 5 and doc["stop_reason"] == "reached the epoch limit (--epochs 5)"
    r = run("evaluate", "c.dpm", "c.csv", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["rows"] == 120 and list(got["metrics"]) == names
    assert all(0 <= got["metrics"][k] <= 1 for k in names[:4])


def test_regression_metrics_include_rmse(trained):
    import json

    r = run("evaluate", "d.dpm", "d.csv", "--json", cwd=trained)
    assert r.returncode == 0, r.stderr
    metrics = json.loads(r.stdout)["metrics"]
    assert list(metrics) == ["RMSE", "R²", "MAE"]
    assert metrics["RMSE"] >= metrics["MAE"] > 0


def test_class_weight_dtype_and_validation_data(tmp_path):
    import json

    import deltaprop as dp

    frame = classes_table(n=160)
    frame[:120].to_csv(tmp_path / "train.csv", index=False)
    frame[120:].to_csv(tmp_path / "val.csv", index=False)
    r = run("train", "train.csv", "--target", "label", *FAST, "--class-weight", "balanced", "--dtype",
            "float32", "--validation-data", "val.csv", "--metrics-json", "m.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    model = dp.load(tmp_path / "train.dpm")
    assert model.estimator.class_weight == "balanced"
    assert model.network_.dtype == np.float32
    assert len(model.history["run"]["validation_rows"]) == 0  # every row of train.csv trained
    validation = json.loads((tmp_path / "m.json").read_text())["metrics"]["validation"]
    r = run("evaluate", "train.dpm", "val.csv", "--json", cwd=tmp_path)
    assert json.loads(r.stdout)["metrics"] == pytest.approx(validation)
    r = run("info", "train.dpm", cwd=tmp_path)
    assert "float32)" in r.stdout
    r = run("train", "train.csv", "--target", "a", "--class-weight", "balanced", *FAST, cwd=tmp_path)
    assert r.returncode == 2 and "--class-weight needs a classification" in r.stderr


def test_validation_rows_of_a_class_the_training_rows_lack_are_left_to_the_metrics(tmp_path):
    """Early stopping (the estimators') scores only classes it was trained on; the command
    leaves the other rows out of it, says so, and its metrics count them as wrong."""
    from deltaprop.command.train import TrainOptions, train

    frame = classes_table(n=160)
    frame[:120][frame.label[:120] != "c"].to_csv(tmp_path / "train.csv", index=False)
    frame[120:].to_csv(tmp_path / "val.csv", index=False)
    result = train(TrainOptions(data=str(tmp_path / "train.csv"), targets=("label",), hidden=(4,),
                                epochs=5, quiet=True, no_report=True, out=str(tmp_path / "m.dpm"),
                                validation_data=str(tmp_path / "val.csv")))
    rare = int((frame.label[120:] == "c").sum())
    assert rare > 0 and any(f"{rare} validation row(s) have classes" in n for n in result.notes)
    assert len(result.model.history["validation_loss_curve"]) == 5
    assert result.metrics["validation"]["accuracy"] <= 1 - rare / 40


def test_standard_input_version_and_debug_on_every_subcommand(trained, tmp_path):
    csv_text = (trained / "d.csv").read_text()
    from_file = run("predict", trained / "d.dpm", trained / "d.csv", cwd=tmp_path)
    from_stdin = run("predict", trained / "d.dpm", "-", cwd=tmp_path, input=csv_text)
    assert from_stdin.returncode == 0 and from_stdin.stdout == from_file.stdout, from_stdin.stderr
    r = run("train", "-", "--target", "y", *FAST, "--out", "s.dpm", cwd=tmp_path, input=csv_text)
    assert r.returncode == 0 and (tmp_path / "s.dpm").exists(), r.stderr
    from deltaprop import __version__

    for flag in ("-V", "--version"):
        r = run(flag, cwd=tmp_path)
        assert r.returncode == 0 and r.stdout.strip() == f"deltaprop, version {__version__}"
    for command in ("train", "predict", "evaluate", "info", "explain", "demo"):
        r = run(command, "--help", cwd=tmp_path)
        assert r.returncode == 0 and "--debug" in r.stdout, command
    r = run("explain", "d.dpm", "-w", "2:1,1", "-d", "d.csv", "--row", "1", "--debug", cwd=trained)
    assert r.returncode == 0 and "∂" in r.stdout, r.stderr


def test_every_option_has_help_text():
    import click

    from deltaprop.command.main import LAZY_COMMANDS, main

    ctx = click.Context(main)
    names = main.list_commands(ctx)
    assert set(LAZY_COMMANDS) <= set(names)
    for name in names:
        command = main.get_command(ctx, name)
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"deltaprop {name} {param.opts[0]} has no help text"


def test_the_listed_activations_are_the_cores():
    from deltaprop.command.options import ACTIVATIONS
    from deltaprop.core.activations import HIDDEN_ACTIVATIONS

    assert ACTIVATIONS == sorted(HIDDEN_ACTIVATIONS)


def test_a_missing_target_lists_the_first_and_the_last_columns(tmp_path):
    """The list stopped after 12 columns, without '…', so the usual last column never showed."""
    frame = pd.DataFrame(np.zeros((3, 30)), columns=[f"pixel{k}" for k in range(29)] + ["label"])
    frame.to_csv(tmp_path / "wide.csv", index=False)
    r = run("train", "wide.csv", cwd=tmp_path)
    assert r.returncode == 2 and "no --target given" in r.stderr
    assert "pixel0, " in r.stderr and ", …, pixel28, label (30 in all)" in r.stderr, r.stderr
    table().to_csv(tmp_path / "d.csv", index=False)
    r = run("train", "d.csv", cwd=tmp_path)
    assert "one of: a, b, y" in r.stderr and "…" not in r.stderr


def test_help_imports_nothing_heavy(tmp_path):
    """'deltaprop --help' paid 1.5-2 s importing scikit-learn, pandas, matplotlib and numba."""
    import subprocess
    import sys

    script = (
        "import sys\nfrom click.testing import CliRunner\nfrom deltaprop.command.main import main\n"
        "r = CliRunner().invoke(main, ['--help'])\nassert r.exit_code == 0 and 'explain' in r.output\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'sklearn', 'scipy', 'matplotlib', 'numba', 'rich')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         cwd=tmp_path, env={**__import__("os").environ, "PYTHONPATH": _SRC})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


_SRC = str(Path(__file__).resolve().parent.parent / "src")


def test_every_way_a_run_ends_has_its_words(tmp_path):
    """The training-loss tolerance and L-BFGS's convergence end a run too, and say so."""
    from deltaprop.command.train import TrainOptions, train

    table(n=60).to_csv(tmp_path / "d.csv", index=False)
    common = dict(data=str(tmp_path / "d.csv"), targets=("y",), no_report=True, quiet=True, hidden=(3,))
    result = train(TrainOptions(**common, solver="lbfgs", epochs=500, out=str(tmp_path / "l.dpm")))
    assert result.epochs < 500 and result.stop_reason.startswith("L-BFGS converged after"), result.stop_reason
    # the estimator's own rule on the training loss (tol for --patience epochs), which ends a
    # run whose validation loss still improves: the words, given a run that ended that way
    from types import SimpleNamespace

    from deltaprop.command.train import Fitted, Run, stop_reason

    run_ = Run(TrainOptions(**common, epochs=300, patience=3), tmp_path, tmp_path / "m.dpm", None, tmp_path)
    est = SimpleNamespace(loss_curve_=[1.0] * 40)
    monitor = SimpleNamespace(stopped_early=False, best_epoch=37)
    reason = stop_reason(run_, Fitted(est, monitor, False, 0))
    assert reason.startswith("the training loss improved by less than 0.0001 for 3 epochs in a row")
    assert "--no-early-stopping" in reason


def test_shell_completion_as_the_readme_says():
    from click.testing import CliRunner

    from deltaprop.command.main import main

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    assert 'eval "$(_DELTAPROP_COMPLETE=bash_source deltaprop)"' in readme
    r = CliRunner().invoke(main, [], env={"_DELTAPROP_COMPLETE": "bash_source"}, prog_name="deltaprop")
    assert r.exit_code == 0 and "_deltaprop_completion" in r.output and "complete " in r.output


def test_default_patience_does_not_stop_a_learning_run_at_its_first_plateau(tmp_path):
    """The (64, 64) default stopped at epoch 8 on a table of digit images (validation
    accuracy 0.933 where 0.958 is reachable): a short patience ends a run at the first noisy
    plateau of its validation loss.  On scikit-learn's bundled digits drawn as 28×28 images
    (785 columns), a patience of 2 stops at epoch 17 with its best at epoch 14 (validation
    accuracy 0.961); the default goes on learning well past that (best epoch 44, 0.969)."""
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    from deltaprop.command.train import PATIENCE, TrainOptions, train

    X, y = load_digits(return_X_y=True)
    images = np.zeros((len(X), 28, 28))
    images[:, 2:26, 2:26] = np.clip([zoom(im, 3, order=1) for im in X.reshape(-1, 8, 8) / 16.0], 0, 1)
    frame = pd.DataFrame(images.reshape(len(X), -1), columns=[f"p{k}" for k in range(784)])
    frame["label"] = y
    frame.to_csv(tmp_path / "digits.csv", index=False)
    result = train(TrainOptions(data=str(tmp_path / "digits.csv"), targets=("label",), no_report=True,
                                quiet=True, out=str(tmp_path / "d.dpm")))
    losses = result.model.history["validation_loss_curve"]
    assert result.best_epoch >= 20 and min(losses) < losses[7], (result.best_epoch, losses)
    assert result.metrics["validation"]["accuracy"] >= 0.965
    if result.stopped_early:  # the rule it states: PATIENCE epochs past the last improvement
        assert f"for {PATIENCE} epochs" in result.stop_reason
