"""``deltaprop predict`` of a regression model needs only numpy and pandas: no scikit-learn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

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


def test_predict_of_a_regression_model_imports_no_sklearn_numba_matplotlib_or_scipy(tmp_path):
    data = tmp_path / "d.csv"
    pd.DataFrame({"a": [1.0, 2.0, 9.0], "c": ["y", "x", "z"]}).to_csv(data, index=False)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    model_file = str(FORMAT_V1 / "tabular.dpm")
    out = subprocess.run(
        [sys.executable, "-c", RUNNER, "predict", model_file, str(data), "--out", "p.csv"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stderr.strip().splitlines()[-1]) == []
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
