"""``deltaprop predict`` needs only numpy and pandas: importing scikit-learn is most of a short
run's time (about 0.8 s).  ``deltaprop train`` trains through the estimators, so it imports
scikit-learn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import deltaprop as dp

FORMAT_V1 = Path(__file__).parent / "data" / "model-format-v1"

#: runs the command in this process, then prints which of the heavy packages it imported
RUNNER = (
    "import json, runpy, sys\n"
    "sys.argv = ['deltaprop'] + sys.argv[1:]\n"
    "try:\n"
    "    runpy.run_module('deltaprop', run_name='__main__', alter_sys=True)\n"
    "finally:\n"
    "    heavy = ('sklearn', 'numba', 'matplotlib', 'scipy')\n"
    "    print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(heavy))), file=sys.stderr)\n"
)


def _heavy_imports(args: list[str], cwd: Path) -> list[str]:
    """Which of scikit-learn, numba, matplotlib and scipy ``deltaprop ARGS`` imported."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, "-c", RUNNER, *args], cwd=cwd, env=env,
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stderr.strip().splitlines()[-1])


def test_predict_of_a_regression_model_imports_no_sklearn_numba_matplotlib_or_scipy(tmp_path):
    data = tmp_path / "d.csv"
    pd.DataFrame({"a": [1.0, 2.0, 9.0], "c": ["y", "x", "z"]}).to_csv(data, index=False)
    model_file = str(FORMAT_V1 / "tabular.dpm")
    assert _heavy_imports(["predict", model_file, str(data), "--out", "p.csv"], tmp_path) == []
    # the predictions are the estimator's, built as before
    model = dp.load(FORMAT_V1 / "tabular.dpm")
    frame = pd.read_csv(data)
    expected = model.target.decode(model.estimator.predict(model.transform(frame)))[:, 0]
    np.testing.assert_allclose(pd.read_csv(tmp_path / "p.csv")["t"], expected, rtol=1e-12)


def test_a_loaded_model_builds_its_estimator_on_first_use_with_the_loaded_network():
    model = dp.load(FORMAT_V1 / "tabular.dpm")
    net = model.network_
    assert model._estimator is None
    est = model.estimator
    assert est is model.estimator and est.network_ is net and model.network_ is net
    assert type(est).__name__ == "MLPRegressor" and est.n_features_in_ == net.sizes[0]


def _classes_table(path: Path, n: int = 90) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["kind"] = np.array(["cat", "dog", "eel"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.8)]
    frame.to_csv(path, index=False)
    return frame


def test_predict_of_a_command_trained_classification_imports_no_sklearn(tmp_path):
    frame = _classes_table(tmp_path / "k.csv")
    args = ["train", "k.csv", "--target", "kind", "--hidden", "6", "--epochs", "30", "--no-report",
            "--quiet", "--out", "k.dpm"]
    assert "sklearn" in _heavy_imports(args, tmp_path)  # train fits the estimator
    heavy = _heavy_imports(["predict", "k.dpm", "k.csv", "--proba", "--out", "p.csv"], tmp_path)
    assert heavy == []
    # the labels and probabilities are the estimator's, made from the same file
    model = dp.load(tmp_path / "k.dpm")
    X = model.transform(frame)
    predicted = pd.read_csv(tmp_path / "p.csv")
    assert predicted["kind"].tolist() == model.estimator.predict(X).tolist()
    proba = model.estimator.predict_proba(X)
    for k, c in enumerate(model.estimator.classes_):
        np.testing.assert_allclose(predicted[f"proba_{c}"], proba[:, k], rtol=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_command_trains_what_the_estimator_trains(tmp_path):
    """A fresh ``deltaprop train`` and the estimator with the command's parameters reach the
    same weights, bit for bit (the validation rows held out as the command holds them out)."""
    frame = _classes_table(tmp_path / "k.csv")
    from click.testing import CliRunner

    from deltaprop.command.main import main

    result = CliRunner().invoke(main, ["train", str(tmp_path / "k.csv"), "--target", "kind", "--hidden",
                                       "5", "--epochs", "12", "--no-early-stopping", "--no-report",
                                       "--quiet", "--out", str(tmp_path / "k.dpm")])
    assert result.exit_code == 0, result.output
    model = dp.load(tmp_path / "k.dpm")
    val = np.asarray(model.history["run"]["validation_rows"])
    train = np.setdiff1d(np.arange(len(frame)), val)
    X = model.transform(frame)[train]
    params = model.fitted.params
    est = dp.MLPClassifier(**params).fit(X, frame["kind"].to_numpy()[train])
    np.testing.assert_array_equal(model.network_.get_flat(), est.network_.get_flat())
    assert model.fitted.attributes["loss_curve_"] == est.loss_curve_
