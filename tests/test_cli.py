"""The ``deltaprop`` command, end to end, on CSV files written here.

Most tests run the command in this process (click's CliRunner, see ``_cli.py``); the few
that need a real process (Ctrl-C, ``python -m deltaprop``, a traceback on stderr) start
one.  Data are tiny and epochs few so the whole file stays quick.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import signal
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import deltaprop as dp
from _cli import COMMAND, run, run_process

FAST = ["--epochs", "8", "--hidden", "8", "--quiet"]


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def snapshot(directory):
    return {p.name: digest(p) for p in Path(directory).iterdir() if p.is_file()}


@pytest.fixture
def houses(tmp_path):
    """Regression data: two numbers and a categorical column → price."""
    rng = np.random.default_rng(0)
    n = 120
    area = rng.uniform(30, 150, n)
    rooms = rng.integers(1, 6, n)
    town = rng.choice(["north", "south", "east"], n)
    price = 2.0 * area + 10 * rooms + np.where(town == "south", 40.0, 0.0) + rng.normal(0, 5, n)
    frame = pd.DataFrame({"area": area, "rooms": rooms, "town": town, "price": price})
    path = tmp_path / "houses.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def flowers(tmp_path):
    """Classification data with string labels and a categorical feature."""
    rng = np.random.default_rng(1)
    n = 150
    x = rng.normal(size=n)
    colour = rng.choice(["red", "blue"], n)
    species = np.where(x > 0.3, "Iris virginica", np.where(colour == "red", "setosa", "versicolor"))
    frame = pd.DataFrame({"petal": x, "colour": colour, "species": species})
    path = tmp_path / "flowers.csv"
    frame.to_csv(path, index=False)
    return path


# ---------------------------------------------------------------------- round trips
def test_regression_train_predict_evaluate_round_trip(tmp_path, houses):
    r = run(
        "train",
        houses,
        "--target",
        "price",
        "--epochs",
        "40",
        "--learning-rate",
        "0.01",
        "--hidden",
        "16",
        "--seed",
        "3",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "R²" in r.stdout and "validation" in r.stdout and "houses.dpm" in r.stdout
    assert (tmp_path / "houses.dpm").exists() and (tmp_path / "houses.report.html").exists()

    new = pd.DataFrame({"area": [50.0, 120.0, 80.0], "rooms": [2, 4, 3], "town": ["south", "north", "west"]})
    new.to_csv(tmp_path / "new.csv", index=False)
    r = run("predict", "houses.dpm", "new.csv", "--out", "pred.csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "not seen in training" in r.stderr  # the unseen town 'west' is a note, not a crash
    written = pd.read_csv(tmp_path / "pred.csv")
    assert list(written.columns) == ["price"]
    model = dp.load(tmp_path / "houses.dpm")
    np.testing.assert_array_equal(written["price"].to_numpy(), model.predict(new))

    r = run("evaluate", "houses.dpm", houses, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "R²" in r.stdout and "MAE" in r.stdout
    r2 = float(next(line for line in r.stdout.splitlines() if "R²" in line).split("│")[2])
    assert r2 > 0.8  # 40 epochs of Adam learn most of a linear price


def test_classification_with_string_labels_round_trip(tmp_path, flowers):
    r = run("train", flowers, "--target", "species", *FAST, "--no-report", "--out", "f.dpm", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    # python -m deltaprop is the same command (its --help imports nothing heavy, so it is quick)
    r = run_process("--help", cwd=tmp_path, module=True)
    assert r.returncode == 0 and "train" in r.stdout, r.stderr
    assert not (tmp_path / "f.report.html").exists()
    r = run("predict", "f.dpm", flowers, "--proba", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    from io import StringIO

    written = pd.read_csv(StringIO(r.stdout))
    model = dp.load(tmp_path / "f.dpm")
    classes = sorted(["Iris virginica", "setosa", "versicolor"])
    assert model.classes_.tolist() == classes
    assert list(written.columns) == ["species"] + [f"proba_{c}" for c in classes]
    frame = pd.read_csv(flowers)
    assert written["species"].tolist() == list(model.predict(frame))
    np.testing.assert_allclose(
        written[[f"proba_{c}" for c in classes]].to_numpy(), model.predict_proba(frame), rtol=1e-12
    )
    r = run("evaluate", "f.dpm", flowers, cwd=tmp_path)
    assert r.returncode == 0 and "accuracy" in r.stdout and "log-loss" in r.stdout, r.stderr
    r = run("info", "f.dpm", cwd=tmp_path)
    assert r.returncode == 0 and "Iris virginica" in r.stdout and "colour" in r.stdout, r.stderr


def test_evaluate_json_prints_exactly_what_sklearn_metrics_gives(tmp_path, houses, flowers):
    """Every metric the command prints is scikit-learn's, of the model's own predictions."""
    import json

    from sklearn import metrics

    assert run("train", houses, "--target", "price", "--out", "h.dpm", "--no-report", *FAST,
               cwd=tmp_path).returncode == 0
    assert run("train", flowers, "--target", "species", "--out", "f.dpm", "--no-report", *FAST,
               cwd=tmp_path).returncode == 0
    r = run("evaluate", "h.dpm", houses, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    frame = pd.read_csv(houses)
    y, p = frame["price"].to_numpy(), dp.load(tmp_path / "h.dpm").predict(frame).ravel()
    assert json.loads(r.stdout) == {"rows": 120, "metrics": {
        "RMSE": metrics.root_mean_squared_error(y, p), "R²": metrics.r2_score(y, p),
        "MAE": metrics.mean_absolute_error(y, p)}}
    r = run("evaluate", "f.dpm", flowers, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    frame = pd.read_csv(flowers)
    model = dp.load(tmp_path / "f.dpm")
    codes = np.searchsorted(model.classes_, frame["species"])
    P = model.predict_proba(frame)
    pred = P.argmax(axis=1)
    assert json.loads(r.stdout) == {"rows": 150, "metrics": {
        "accuracy": metrics.accuracy_score(codes, pred),
        "balanced accuracy": metrics.balanced_accuracy_score(codes, pred),
        "macro F1": metrics.f1_score(codes, pred, average="macro"),
        "ROC AUC": metrics.roc_auc_score(codes, P, multi_class="ovr", labels=[0, 1, 2]),
        "log-loss": metrics.log_loss(codes, P, labels=[0, 1, 2])}}


# ---------------------------------------------------------------------- bad input
BAD_DATA = {
    "empty.csv": ("", "is empty"),
    "header_only.csv": ("a,b,y\n", "no data rows"),
    "ragged.csv": ("a,b,y\n1,2,3\n4,5,6,7\n7,8,9\n", "line 3 has 4 fields"),
    "short.csv": ("a,b,y\n1,2,3\n4,5\n7,8,9\n", "line 3 has 2 fields"),
    "text_in_numbers.csv": (
        "a,b,y\n" + "".join(f"{i},{i % 3},{i}\n" for i in range(12)).replace("4,1,4", "4,x,4"),
        "column 'b' holds numbers but row 5",
    ),
    "nan.csv": ("a,b,y\n1,2,3\n4,,6\n7,8,9\n", "column 'b' has a missing value in row 2"),
    "inf.csv": ("a,b,y\n1,2,3\n4,inf,6\n7,8,9\n", "column 'b' is infinite in row 2"),
    "constant.csv": ("a,b,y\n1,2,5\n4,5,5\n7,8,5\n", "same value in every row"),
    "one_class.csv": ("a,b,y\n1,2,cat\n4,5,cat\n7,8,cat\n", "single class"),
    "binary.csv": ("\x00\x01\x02PNG\x00", "binary file"),
}


@pytest.mark.parametrize("name", sorted(BAD_DATA))
def test_bad_data_is_one_line_exit_2_and_writes_nothing(tmp_path, name):
    text, expected = BAD_DATA[name]
    (tmp_path / name).write_bytes(text.encode())
    (tmp_path / "model.dpm").write_bytes(b"an existing model")
    before = snapshot(tmp_path)
    r = run("train", name, "--target", "y", "--out", "model.dpm", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert expected in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and ";" in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "args, expected",
    [
        (["missing.csv", "--target", "y"], "no such file"),
        (["houses.csv", "--target", "Price"], "did you mean 'price'"),
        (["houses.csv"], "no --target given"),
        (["houses.csv", "--target", "price", "--hidden", "64,x"], "--hidden"),
        (["houses.csv", "--target", "price", "--epochs", "0"], "--epochs"),
        (["houses.csv", "--target", "price", "--out", "nowhere/m.dpm"], "does not exist"),
        (["houses.csv", "--target", "price", "--out", "houses.csv"], "is the same file as DATA"),
        (
            ["houses.csv", "--target", "price", "--task", "classification", "--target", "area"],
            "several targets",
        ),
        (["houses.csv", "--target", "town", "--task", "regression"], "not numeric"),
        (["houses.csv", "--target", "town", "--loss", "huber"], "--loss huber needs a regression"),
        (["houses.csv", "--target", "price", "--huber-epsilon", "0.5"], "add --loss huber"),
        (["houses.csv", "--target", "price", "--loss", "huber", "--quantile", "0.9"], "add --loss quantile"),
        (["houses.csv", "--target", "price", "--loss", "quantile", "--quantile", "1.5"], "--quantile"),
        (["houses.csv", "--target", "price", "--dropout", "1"], "--dropout"),
    ],
)
def test_bad_arguments_are_one_line_exit_2(tmp_path, houses, args, expected):
    before = snapshot(tmp_path)
    r = run("train", *args, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert expected in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error: "), r.stderr
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("args, loss, params", [
    (["--loss", "huber", "--huber-epsilon", "0.5", "--dropout", "0.1"], "huber", {"epsilon": 0.5}),
    (["--loss", "quantile", "--quantile", "0.9"], "quantile", {"quantile": 0.9}),
    (["--loss", "absolute_error"], "absolute_error", {}),
])
def test_train_takes_a_robust_loss_and_dropout_into_the_model(tmp_path, houses, args, loss, params):
    r = run("train", houses, "--target", "price", *FAST, *args, "--no-report", "--out", "m.dpm", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    est = dp.load(tmp_path / "m.dpm").estimator
    assert est.loss == est.network_.loss_name == loss and est.network_.loss_params == params
    assert est.dropout == (0.1 if "--dropout" in args else 0.0)


@pytest.fixture
def trained(tmp_path, houses):
    r = run("train", houses, "--target", "price", *FAST, "--no-report", "--out", "m.dpm", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    return tmp_path / "m.dpm"


def test_bad_model_files_and_predict_data_are_refused(tmp_path, trained, houses):
    good = trained.read_bytes()
    marker = tmp_path / "payload-ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    corrupted = bytearray(good)
    corrupted[len(good) // 2] ^= 0xFF
    files = {
        "truncated.dpm": (good[: len(good) // 2], "truncated or corrupted"),
        "corrupted.dpm": (bytes(corrupted), "corrupted"),
        "pickle.dpm": (pickle.dumps(Payload()), "pickle"),
        "text.dpm": (b"hello", "not a deltaprop model"),
    }
    (tmp_path / "lacks.csv").write_text("area,town\n50,north\n")
    for name, (data, _) in files.items():
        (tmp_path / name).write_bytes(data)
    cases = [(["predict", name, houses], expected) for name, (_, expected) in files.items()]
    cases += [
        (["predict", "m.dpm", "lacks.csv"], "lacks 1 column(s) the model was trained on: 'rooms'"),
        (["predict", "m.dpm", houses, "--proba"], "--proba needs a classification model"),
        (["info", "pickle.dpm"], "pickle"),
        (["evaluate", "m.dpm", "lacks.csv"], "needs the target column 'price'"),
        (["predict", "m.dpm", houses, "--out", "m.dpm"], "is the same file as MODEL"),
    ]
    before = snapshot(tmp_path)
    for args, expected in cases:
        r = run(*args, cwd=tmp_path)
        assert r.returncode == 2, (args, r.stderr)
        assert expected in r.stderr, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, (args, r.stderr)
    assert not marker.exists()
    assert snapshot(tmp_path) == before


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")  # a few epochs are enough here
def test_an_estimator_saved_from_python_predicts_from_its_named_columns(tmp_path):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    labels = np.where(X.a + X.b > 0, "up", "down")
    est = dp.MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, labels)
    dp.save(est, tmp_path / "c.dpm")
    X.to_csv(tmp_path / "d.csv", index=False)
    X[["a"]].to_csv(tmp_path / "one.csv", index=False)
    with warnings.catch_warnings(record=True) as caught:  # the columns reach it by name
        warnings.simplefilter("always")
        r = run("predict", "c.dpm", "d.csv", "--proba", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert not [w for w in caught if "feature names" in str(w.message)], [str(w.message) for w in caught]
    assert r.stdout.splitlines()[0] == "class,proba_down,proba_up" and len(r.stdout.splitlines()) == 41
    r = run("predict", "c.dpm", "one.csv", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == "error: the data lacks the column(s) 'b'; add them", r.stderr
    r = run("info", "c.dpm", cwd=tmp_path)
    assert r.returncode == 0 and "task: classification    targets: class" in r.stdout, r.stderr
    assert "classes: down, up" in r.stdout


def test_debug_shows_the_traceback(tmp_path):
    r = run_process("train", "missing.csv", "--target", "y", "--debug", cwd=tmp_path)
    assert r.returncode != 0
    assert "Traceback" in r.stderr and "UserError" in r.stderr


# ---------------------------------------------------------------------- failures keep old files
def test_diverging_training_leaves_the_existing_model_byte_for_byte(tmp_path, trained, houses):
    before = digest(trained)
    r = run(
        "train",
        houses,
        "--target",
        "price",
        "--solver",
        "sgd",
        "--learning-rate",
        "1e6",
        "--epochs",
        "30",
        "--hidden",
        "8",
        "--out",
        "m.dpm",
        cwd=tmp_path,
    )
    assert r.returncode == 2, r.stderr
    assert "diverged" in r.stderr and "--learning-rate" in r.stderr
    assert digest(trained) == before
    assert not (tmp_path / "m.report.html").exists()


def _start_endless_training(tmp_path, *extra):
    """``deltaprop train big.csv`` for 100,000 epochs with a checkpoint every epoch, running."""
    args = ["train", "big.csv", "--target", "y", "--epochs", "100000", "--no-early-stopping",
            "--checkpoint-every", "1", "--out", "new.dpm", "--quiet", *extra]
    return subprocess.Popen(COMMAND + args, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_ctrl_c_saves_the_best_model_so_far_and_exits_130(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(4000, 8))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)])
    frame["y"] = X.sum(axis=1)
    frame.to_csv(tmp_path / "big.csv", index=False)
    (tmp_path / "old.dpm").write_bytes(b"a model from an earlier run")
    old = digest(tmp_path / "old.dpm")
    proc = _start_endless_training(tmp_path)
    deadline = time.monotonic() + 60
    while not (tmp_path / "new.ckpt.dpm").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert (tmp_path / "new.ckpt.dpm").exists(), proc.communicate()[1]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "saved the best model so far" in err
    model = dp.load(tmp_path / "new.dpm")  # a complete, valid model file
    assert len(model.history["loss_curve"]) >= 1
    assert digest(tmp_path / "old.dpm") == old

    # a second interrupted run does not replace the finished model: it goes to the checkpoint
    first = digest(tmp_path / "new.dpm")
    proc = _start_endless_training(tmp_path, "--seed", "5")
    mtime = (tmp_path / "new.ckpt.dpm").stat().st_mtime_ns
    deadline = time.monotonic() + 60
    while (tmp_path / "new.ckpt.dpm").stat().st_mtime_ns == mtime and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "new.ckpt.dpm" in err
    assert digest(tmp_path / "new.dpm") == first
    dp.load(tmp_path / "new.ckpt.dpm")


def test_resume_continues_the_loss_curve(tmp_path, houses):
    common = [
        "--target",
        "price",
        "--hidden",
        "8",
        "--no-report",
        "--out",
        "m.dpm",
        "--quiet",
    ]
    r = run("train", houses, *common, "--epochs", "4", "--checkpoint-every", "2", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    first = dp.load(tmp_path / "m.dpm").history["loss_curve"]
    assert len(first) == 4
    r = run(
        "train", houses, "--resume", "--epochs", "9", "--out", "m.dpm", "--no-report", "--quiet", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    model = dp.load(tmp_path / "m.dpm")
    curve = model.history["loss_curve"]
    assert len(curve) == 9
    assert curve[:4] == first
    assert len(model.history["validation_loss_curve"]) == 9
    r = run("train", houses, "--resume", "--epochs", "9", "--out", "m.dpm", cwd=tmp_path)
    assert r.returncode == 2 and "--epochs larger" in r.stderr, r.stderr


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")
def test_a_multilabel_estimator_saved_from_python_predicts_its_own_label_rows(tmp_path):
    """predict decodes classes as the estimator does: a multilabel model gives a row of labels,
    not the argmax of its probabilities."""
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    Y = np.column_stack([X.a > 0, X.b > 0]).astype(int)
    est = dp.MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0).fit(X, Y)
    dp.save(est, tmp_path / "m.dpm")
    X.to_csv(tmp_path / "d.csv", index=False)
    r = run("predict", "m.dpm", "d.csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    printed = pd.read_csv(io.StringIO(r.stdout))
    assert list(printed.columns) == ["class_1", "class_2"]
    np.testing.assert_array_equal(printed.to_numpy(), est.predict(X))
