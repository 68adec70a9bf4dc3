"""Dask collections without a cluster: Dask's local scheduler, in this process."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
pytest.importorskip("distributed")

import pandas as pd  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from deltaprop import MLPClassifier  # noqa: E402
from deltaprop.distributed.cluster import LocalExecutor, current_client, executor  # noqa: E402


def test_without_a_client_lbfgs_on_dask_equals_lbfgs_on_numpy_and_partial_fit_continues():
    assert current_client() is None and isinstance(executor(), LocalExecutor)
    X, y = make_classification(300, 5, random_state=0)
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = MLPClassifier(**params).fit(X, y)
        many = MLPClassifier(**params).fit(da.from_array(X, chunks=100), da.from_array(y, chunks=100))
    for a, b in zip(one.coefs_, many.coefs_):
        np.testing.assert_allclose(b, a, rtol=1e-8, atol=1e-12)
    adam = MLPClassifier((5,), max_iter=3, random_state=0)  # small enough for the compiled epoch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        adam.fit(da.from_array(X, chunks=100), da.from_array(y, chunks=100))
    from deltaprop.speed import compiled

    assert compiled.supported(adam.network_, adam._training.optimizer, X, None, 200)
    assert adam.n_iter_ == 3 and adam.t_ == 900
    adam.partial_fit(X, y)  # the fitted state carries on, on numpy
    assert adam.t_ == 1200


def _table(tmp_path, n_files=3, rows=30):
    """The same rows as Parquet files (for the cluster) and as one CSV file (for one machine)."""
    from deltaprop.tabular import read_table

    rng = np.random.default_rng(3)
    frames = [pd.DataFrame({
        "num": rng.normal(10, 4, rows) * (k + 1),
        "bin": rng.integers(0, 2, rows),
        "digit": rng.integers(0, 10, rows),
        "flag": rng.random(rows) < 0.5,
        "word": rng.choice(["low", "mid", "high"][: k + 2], rows),
    }) for k in range(n_files)]
    for k, frame in enumerate(frames):
        frame.to_parquet(tmp_path / f"part-{k}.parquet")
    pd.concat(frames, ignore_index=True).to_csv(tmp_path / "whole.csv", index=False)
    return read_table(str(tmp_path / "whole.csv"))


@pytest.mark.parametrize("target, task", [("bin", "classification"), ("digit", "classification"),
                                          ("flag", "classification"), ("word", "classification"),
                                          ("num", "regression")])
def test_one_machine_and_the_cluster_agree_on_task_encoders_and_scaling(tmp_path, target, task):
    """Class codes (0/1, 0 … 9), booleans, words and numbers: the CSV on one machine and its
    rows as Parquet files on the cluster meet the same rules, so they get the same task,
    encoders and scaling."""
    from deltaprop.distributed.tables import ClusterTable, fit_encoders
    from deltaprop.tabular import FeatureEncoder, TargetEncoder, detect_task

    frame = _table(tmp_path)
    features = [c for c in frame.columns if c != target]
    one_task = detect_task(frame, [target])
    one_target = TargetEncoder([target], one_task)
    y, keep = one_target.values(frame)
    one_target.fit(y)
    one = FeatureEncoder().fit(frame[keep], features)
    many, many_target, many_task = fit_encoders(ClusterTable(str(tmp_path / "part-*.parquet")), [target],
                                                features)
    assert one_task == many_task == task
    for got, want in zip(many.columns, one.columns, strict=True):
        assert (got.name, got.kind, got.categories, got.fill) == (want.name, want.kind, want.categories, want.fill)
        assert (got.mean, got.scale) == pytest.approx((want.mean, want.scale), rel=1e-12)
    assert many_target.task == one_target.task
    if task == "regression":
        np.testing.assert_allclose(many_target.mean, one_target.mean, rtol=1e-12)
        np.testing.assert_allclose(many_target.scale, one_target.scale, rtol=1e-12)
