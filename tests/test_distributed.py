"""The estimators on Dask collections, on a LocalCluster of two worker processes.

One cluster serves the module (starting one costs seconds); the data are small, so each
test checks its claim in a second or two.
"""

from __future__ import annotations

import os
import signal
import warnings

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import pandas as pd  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

import deltaprop  # noqa: E402
from deltaprop import MLPClassifier, MLPRegressor  # noqa: E402
from deltaprop.errors import UserError  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       dashboard_address=":0", silence_logs=50)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _classification(n=600, classes=3, seed=0):
    X, y = make_classification(n, 6, n_informative=4, n_classes=classes, random_state=seed)
    return X, y


def _relative(a, b):
    return max(float(np.max(np.abs(x - y)) / np.max(np.abs(x))) for x, y in zip(a, b))


# ---------------------------------------------------------------------- exact L-BFGS
def test_lbfgs_on_dask_array_equals_single_machine_fit_to_1e_8(client):
    X, y = _classification()
    w = np.random.default_rng(0).uniform(0.5, 2.0, X.shape[0])
    params = dict(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=25, alpha=1e-3, random_state=0)
    one = MLPClassifier(**params).fit(X, y, sample_weight=w)
    many = MLPClassifier(**params).fit(da.from_array(X, chunks=150), da.from_array(y, chunks=150),
                                       sample_weight=da.from_array(w, chunks=150))
    assert many.n_iter_ == one.n_iter_ == 25
    assert _relative(one.coefs_, many.coefs_) < 1e-8
    assert _relative(one.intercepts_, many.intercepts_) < 1e-8
    assert many.loss_ == pytest.approx(one.loss_, rel=1e-10)
    np.testing.assert_allclose(many.loss_curve_, one.loss_curve_, rtol=1e-10)


def test_lbfgs_regressor_on_dask_dataframe_equals_single_machine_fit(client):
    X, y = make_regression(500, 5, noise=1.0, random_state=1)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    params = dict(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=30, random_state=1)
    one = MLPRegressor(**params).fit(frame, y / 100)
    ddf = dd.from_pandas(frame.assign(y=y / 100), npartitions=3)
    many = MLPRegressor(**params).fit(ddf[list(frame.columns)], ddf["y"])
    assert _relative(one.coefs_, many.coefs_) < 1e-8
    assert list(many.feature_names_in_) == list(frame.columns)


def test_fit_on_dask_returns_an_ordinary_estimator_that_saves_and_predicts_numpy(client, tmp_path):
    X, y = _classification(300, 2)
    clf = MLPClassifier((5,), solver="lbfgs", max_iter=20, random_state=0)
    assert clf.fit(da.from_array(X, chunks=100), da.from_array(y, chunks=100)) is clf
    deltaprop.save(clf, tmp_path / "model.dp")
    loaded = deltaprop.load(tmp_path / "model.dp")
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    assert isinstance(clf.predict(X), np.ndarray)


# ---------------------------------------------------------------------- local SGD
def test_local_adam_test_score_is_within_0_01_of_the_single_machine_fit(client):
    X, y = make_classification(3000, 10, n_informative=6, n_classes=2, random_state=3)
    X_train, y_train, X_test, y_test = X[:2400], y[:2400], X[2400:], y[2400:]
    params = dict(hidden_layer_sizes=(16,), solver="adam", learning_rate_init=0.01, max_iter=40,
                  random_state=0)
    one = MLPClassifier(**params).fit(X_train, y_train)
    many = MLPClassifier(**params).fit(da.from_array(X_train, chunks=600), da.from_array(y_train, chunks=600))
    assert many.n_iter_ >= 1 and len(many.loss_curve_) == many.n_iter_
    assert abs(many.score(X_test, y_test) - one.score(X_test, y_test)) <= 0.01


def test_local_sgd_regressor_fits_on_two_workers(client):
    X, y = make_regression(1200, 4, noise=0.1, random_state=2)
    y = y / np.std(y)
    # 193 parameters x 200 rows: the numpy path on the workers (a compiled epoch would be
    # compiled again in every worker process, seconds each; test_distributed_local runs it)
    reg = MLPRegressor(hidden_layer_sizes=(32,), solver="sgd", learning_rate_init=0.02, max_iter=15,
                       random_state=0)
    reg.fit(da.from_array(X, chunks=300), da.from_array(y, chunks=300))
    assert reg.score(X, y) > 0.9
    assert reg.loss_curve_[-1] < reg.loss_curve_[0]


# ---------------------------------------------------------------------- prediction
def test_predict_on_dask_is_lazy_and_equals_predict_on_numpy(client):
    X, y = _classification()
    labels = np.array(["ant", "bee", "cat"])[y]
    clf = MLPClassifier((8,), solver="lbfgs", max_iter=20, random_state=0).fit(X, labels)
    Xd = da.from_array(X, chunks=128)
    pred = clf.predict(Xd)
    assert isinstance(pred, da.Array) and pred.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(pred.compute(), clf.predict(X))
    proba = clf.predict_proba(Xd)
    assert proba.shape == (600, 3)
    np.testing.assert_allclose(proba.compute(), clf.predict_proba(X), rtol=1e-12, atol=1e-15)
    assert clf.score(Xd, da.from_array(labels, chunks=128)) == pytest.approx(clf.score(X, labels))


def test_predict_on_dask_dataframe_returns_series_with_the_partitions_index(client):
    X, y = make_regression(200, 3, random_state=0)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    reg = MLPRegressor(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=10, random_state=0).fit(frame, y)
    ddf = dd.from_pandas(frame, npartitions=4)
    pred = reg.predict(ddf)
    assert isinstance(pred, dd.Series)
    np.testing.assert_allclose(pred.compute().to_numpy(), reg.predict(frame), rtol=1e-12)
    assert reg.score(ddf, dd.from_pandas(pd.Series(y), npartitions=4)) == pytest.approx(reg.score(frame, y))


# ---------------------------------------------------------------------- partial_fit and the ecosystem
def test_partial_fit_on_dask_equals_partial_fit_block_by_block(client):
    X, y = _classification(400)
    one = MLPClassifier((6,), random_state=0)
    for start in range(0, 400, 100):
        one.partial_fit(X[start : start + 100], y[start : start + 100], classes=[0, 1, 2])
    many = MLPClassifier((6,), random_state=0).partial_fit(
        da.from_array(X, chunks=100), da.from_array(y, chunks=100), classes=[0, 1, 2])
    np.testing.assert_array_equal(many.coefs_[0], one.coefs_[0])
    assert many.t_ == one.t_ == 400


def test_dask_ml_incremental_wraps_the_classifier(client):
    from dask_ml.wrappers import Incremental

    X, y = _classification(400, 2)
    inc = Incremental(MLPClassifier((6,), random_state=0), scoring="accuracy")
    inc.fit(da.from_array(X, chunks=100), da.from_array(y, chunks=100), classes=[0, 1])
    assert isinstance(inc.estimator_, MLPClassifier) and inc.estimator_.t_ == 400
    assert 0.5 <= inc.score(da.from_array(X, chunks=100), da.from_array(y, chunks=100)) <= 1.0


def test_grid_search_runs_its_fits_on_the_cluster_under_the_joblib_dask_backend(client):
    import joblib
    from sklearn.model_selection import GridSearchCV

    X, y = _classification(300, 2)
    grid = GridSearchCV(MLPClassifier(solver="lbfgs", max_iter=20, random_state=0),
                        {"hidden_layer_sizes": [(3,), (6,)]}, cv=2)
    before = sum(client.run(lambda dask_worker: len(dask_worker.data) + dask_worker.state.executed_count
                            ).values())
    with joblib.parallel_backend("dask"):
        grid.fit(X, y)
    after = sum(client.run(lambda dask_worker: len(dask_worker.data) + dask_worker.state.executed_count
                           ).values())
    assert after > before  # the workers ran the fits
    assert grid.best_params_["hidden_layer_sizes"] in [(3,), (6,)]


# ---------------------------------------------------------------------- faults
def test_killing_a_worker_during_lbfgs_does_not_change_the_fit(client):
    X, y = _classification(400)
    Xd, yd = da.from_array(X, chunks=100), da.from_array(y, chunks=100)
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=12, random_state=0)
    reference = MLPClassifier(**params).fit(X, y)
    pids = client.run(os.getpid)
    victim = sorted(pids)[0]

    def kill_once(est):
        if est.n_iter_ == 3:
            os.kill(pids[victim], signal.SIGKILL)
        return False

    killed = MLPClassifier(**params, callback=kill_once).fit(Xd, yd)
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker; ask once it is back
    assert victim not in client.run(os.getpid) or client.run(os.getpid)[victim] != pids[victim]
    assert killed.n_iter_ == reference.n_iter_
    assert _relative(reference.coefs_, killed.coefs_) < 1e-8


# ---------------------------------------------------------------------- bad input
def test_a_dask_array_with_unknown_chunk_sizes_is_refused_with_the_fix(client):
    X, y = _classification(200)
    Xd = da.from_array(X, chunks=50)
    unknown = Xd[Xd[:, 0] > -100]
    with pytest.raises(UserError, match="unknown chunk sizes.*compute_chunk_sizes"):
        MLPClassifier(solver="lbfgs").fit(unknown, da.from_array(y, chunks=50))


def test_nan_in_one_partition_is_named(client):
    X, y = _classification(200)
    X[130, 2] = np.nan
    with pytest.raises(UserError, match=r"partition 2: X has NaN or infinity \(row 30"):
        MLPClassifier(solver="lbfgs").fit(da.from_array(X, chunks=50), da.from_array(y, chunks=50))


def test_mismatched_columns_across_partitions_are_named(client):
    a = pd.DataFrame({"x1": [0.0, 1.0, 2.0], "x2": [1.0, 0.0, 1.0]})
    b = pd.DataFrame({"x1": [0.5, 1.5, 2.5], "z": [1.0, 0.0, 1.0]})
    X = dd.from_delayed([dask.delayed(a), dask.delayed(b)], meta=a.iloc[:0], verify_meta=False)
    y = dd.from_pandas(pd.Series([0, 1, 0, 1, 0, 1]), npartitions=2)
    with pytest.raises(UserError, match=r"partition 1 has columns \['x1', 'z'\]"):
        MLPClassifier(solver="lbfgs").fit(X, y)


# ---------------------------------------------------------------------- tables on the cluster
def _table_files(tmp_path, n_files=3, rows=40):
    rng = np.random.default_rng(7)
    frames = []
    for k in range(n_files):
        frame = pd.DataFrame({
            "size": rng.normal(100, 15, rows) * (k + 1),
            "count": rng.integers(0, 9, rows),
            "colour": rng.choice(["red", "green", "blue"][: k + 2], rows),
            "y": rng.normal(size=rows) * 3 + 1,
        })
        frame.to_parquet(tmp_path / f"part-{k}.parquet")
        frames.append(frame)
    return frames


def test_preprocessing_statistics_on_the_cluster_equal_the_single_machine_ones(client, tmp_path):
    from deltaprop.distributed.tables import ClusterTable, fit_encoders
    from deltaprop.tabular import FeatureEncoder, TargetEncoder

    frames = _table_files(tmp_path)
    whole = pd.concat(frames, ignore_index=True)
    features = ["size", "count", "colour"]
    table = ClusterTable(str(tmp_path / "*.parquet"))
    feature_enc, target_enc, task = fit_encoders(table, ["y"], features)
    single = FeatureEncoder().fit(whole, features)
    single_target = TargetEncoder(["y"], "regression").fit(whole[["y"]].to_numpy())
    assert task == "regression"
    for got, want in zip(feature_enc.columns, single.columns):
        assert (got.name, got.kind, got.categories) == (want.name, want.kind, want.categories)
        assert got.mean == pytest.approx(want.mean, rel=1e-12)
        assert got.scale == pytest.approx(want.scale, rel=1e-12)
        assert got.fill == want.fill  # the median, exactly
    np.testing.assert_allclose(target_enc.mean, single_target.mean, rtol=1e-12)
    np.testing.assert_allclose(target_enc.scale, single_target.scale, rtol=1e-12)


def test_a_file_without_the_target_column_is_named(client, tmp_path):
    from deltaprop.distributed.tables import ClusterTable, fit_encoders

    frames = _table_files(tmp_path, 2)
    frames[1].drop(columns="y").to_parquet(tmp_path / "part-1.parquet")
    table = ClusterTable(str(tmp_path / "*.parquet"))
    with pytest.raises(UserError, match=r"part-1\.parquet: there is no column 'y'"):
        fit_encoders(table, ["y"], ["size", "count", "colour"])


def test_files_with_other_feature_columns_are_named(client, tmp_path):
    from deltaprop.distributed.tables import ClusterTable

    frames = _table_files(tmp_path, 2)
    frames[1].rename(columns={"count": "amount"}).to_parquet(tmp_path / "part-1.parquet")
    table = ClusterTable(str(tmp_path / "*.parquet"))
    with pytest.raises(UserError, match=r"part-1\.parquet has columns .*'amount'.* but the first file has"):
        table.check_columns(["y"])


# ---------------------------------------------------------------------- the command (last: it
# opens and closes a second client of the module's cluster)
def test_train_command_on_the_cluster_writes_the_model_and_report(client, tmp_path):
    from _cli import run

    frames = _table_files(tmp_path)
    whole = pd.concat(frames, ignore_index=True)
    address = client.scheduler.address
    ran = run("train", str(tmp_path / "part-*.parquet"), "--target", "y", "--scheduler", address,
              "--solver", "lbfgs", "--epochs", "15", "--hidden", "4", "--out", "model.dpm", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "model.dpm").exists() and (tmp_path / "model.report.html").exists()
    model = deltaprop.load(tmp_path / "model.dpm")
    assert model.feature_names_ == ["size", "count", "colour"]
    assert model.predict(whole).shape == (len(whole),)
    assert model.history["run"]["rows"] == len(whole)


def test_train_command_names_the_file_without_the_target_and_writes_nothing(client, tmp_path):
    from _cli import run

    frames = _table_files(tmp_path, 2)
    frames[1].drop(columns="y").to_parquet(tmp_path / "part-1.parquet")
    ran = run("train", str(tmp_path / "part-*.parquet"), "--target", "y", "--scheduler",
              client.scheduler.address, "--out", "model.dpm", cwd=tmp_path)
    assert ran.returncode == 2
    assert "part-1.parquet" in ran.stderr and "'y'" in ran.stderr and "Traceback" not in ran.stderr
    assert not (tmp_path / "model.dpm").exists() and not (tmp_path / "model.report.html").exists()


def test_pixel_columns_are_one_unit_on_the_cluster_as_on_one_machine(client, tmp_path):
    """64 pixel-like columns (0 … 255, most reaching above half of it) are scaled together,
    value / 255, by the cluster's fit as by the single-machine one."""
    from deltaprop.distributed.tables import ClusterTable, fit_encoders
    from deltaprop.tabular import FeatureEncoder

    rng = np.random.default_rng(5)
    names = [f"p{k}" for k in range(64)]
    frames = []
    for k in range(2):
        pixels = rng.integers(0, 256, size=(30, 64)) * (rng.random((30, 64)) < 0.6)
        frame = pd.DataFrame(pixels, columns=names)
        frame["y"] = rng.normal(size=30)
        frame.to_parquet(tmp_path / f"part-{k}.parquet")
        frames.append(frame)
    feature_enc, _, _ = fit_encoders(ClusterTable(str(tmp_path / "*.parquet")), ["y"], names)
    single = FeatureEncoder().fit(pd.concat(frames, ignore_index=True), names)
    top = float(pd.concat(frames)[names].to_numpy().max())
    assert [(c.mean, c.scale) for c in feature_enc.columns] == [(0.0, top)] * 64
    assert [(c.mean, c.scale) for c in single.columns] == [(0.0, top)] * 64
