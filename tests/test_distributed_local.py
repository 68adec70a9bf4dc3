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
        assert (got.name, got.kind, got.categories) == (want.name, want.kind, want.categories)
        assert got.fill == want.fill  # the median, exactly
        assert (got.mean, got.scale) == pytest.approx((want.mean, want.scale), rel=1e-12)
    assert many_target.task == one_target.task
    if task == "regression":
        np.testing.assert_allclose(many_target.mean, one_target.mean, rtol=1e-12)
        np.testing.assert_allclose(many_target.scale, one_target.scale, rtol=1e-12)


def test_x_and_y_of_one_dataframe_line_up_whatever_partitions_dask_gives_and_others_get_one_line(tmp_path):
    """Dask's optimiser reads y, one column of four small files, as fewer partitions than X:
    the fit still pairs each row with its target.  Collections that cannot be lined up are
    refused in one line."""
    dd = pytest.importorskip("dask.dataframe")
    from deltaprop.errors import UserError

    X, y = make_classification(400, 4, random_state=1)
    rows = pd.DataFrame(X, columns=list("abcd")).assign(y=y)
    for k in range(4):
        rows.iloc[k * 100 : (k + 1) * 100].to_parquet(tmp_path / f"part-{k}.parquet")
    df = dd.read_parquet(str(tmp_path / "*.parquet"))
    assert len(df["y"].to_delayed()) < len(df.drop(columns="y").to_delayed())  # what Dask does
    params = dict(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        many = MLPClassifier(**params).fit(df.drop(columns="y"), df["y"])
        one = MLPClassifier(**params).fit(X, y)
    for a, b in zip(one.coefs_, many.coefs_):
        np.testing.assert_allclose(b, a, rtol=1e-8, atol=1e-12)
    X_frame, labels = rows[list("abcd")], rows["y"]
    with warnings.catch_warnings():  # known divisions: y is repartitioned like X
        warnings.simplefilter("ignore", ConvergenceWarning)
        split = MLPClassifier(**params).fit(dd.from_pandas(X_frame, npartitions=4),
                                            dd.from_pandas(labels, npartitions=3))
    for a, b in zip(one.coefs_, split.coefs_):
        np.testing.assert_allclose(b, a, rtol=1e-8, atol=1e-12)
    unknown = (dd.from_pandas(X_frame, npartitions=4).clear_divisions(),
               dd.from_pandas(labels, npartitions=3).clear_divisions())
    with pytest.raises(UserError, match=r"^X has 4 partitions but y has 3, and their divisions are unknown"):
        MLPClassifier(**params).fit(*unknown)
    other = dd.from_pandas(labels.set_axis([f"r{k:03d}" for k in range(len(labels))]), npartitions=3)
    with pytest.raises(UserError, match=r"^the rows of X and y cannot be lined up by their divisions \("):
        MLPClassifier(**params).fit(dd.from_pandas(X_frame, npartitions=4), other)


def test_score_on_dask_is_sklearns_r2_score_of_the_gathered_rows():
    """Uniform average over outputs, sample weights, and a constant target (0 unless predicted
    exactly, then 1): the cluster's partition sums give what r2_score gives on all rows."""
    from sklearn.datasets import make_regression
    from sklearn.metrics import r2_score

    from deltaprop import MLPRegressor
    from deltaprop.distributed.prediction import r2_of_sums

    X, Y = make_regression(300, 4, n_targets=2, random_state=0)
    Y = np.column_stack([Y / 100, np.full(len(Y), 3.0)])  # the last output is constant
    w = np.random.default_rng(0).integers(1, 4, len(Y)).astype(float)  # a weighted mean of 3.0 is 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPRegressor(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=30, random_state=0).fit(X, Y)
    for chunks in (300, 70):
        Xd, Yd, wd = (da.from_array(a, chunks=chunks) for a in (X, Y, w))
        got = est.score(Xd, Yd, sample_weight=wd)
        assert got == pytest.approx(r2_score(Y, est.predict(X), sample_weight=w), rel=1e-12, abs=1e-12)
    exact = [np.array([[n], [3.0], [0.0], [0.0]]) for n in (2.0, 5.0)]  # constant, predicted exactly
    assert r2_of_sums(exact) == r2_score([3.0] * 7, [3.0] * 7) == 1.0


@pytest.mark.parametrize("class_weight", ["balanced", {0: 3.0}])
def test_class_weights_on_dask_are_the_estimators(class_weight):
    X, y = make_classification(300, 5, weights=[0.8, 0.2], random_state=2)
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=15, random_state=0,
                  class_weight=class_weight)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = MLPClassifier(**params).fit(X, y)
        many = MLPClassifier(**params).fit(da.from_array(X, chunks=100), da.from_array(y, chunks=100))
    for a, b in zip(one.coefs_, many.coefs_):
        np.testing.assert_allclose(b, a, rtol=1e-8, atol=1e-12)


def test_under_impute_one_machine_and_the_cluster_agree_on_rows_without_targets_and_bad_values(tmp_path):
    """Missing targets leave their rows out before the encoders are fitted, and a column of
    numbers with a few words takes the median of its numbers, on the cluster as on one machine."""
    from deltaprop.distributed.tables import ClusterTable, fit_encoders
    from deltaprop.errors import UserError
    from deltaprop.tabular import FeatureEncoder, TargetEncoder, read_table

    rng = np.random.default_rng(4)
    frames = []
    for k in range(3):
        frame = pd.DataFrame({"num": rng.normal(size=40) * (k + 1),
                              "mixed": [str(v) for v in rng.integers(0, 50, 40)],
                              "y": rng.normal(size=40)})
        frame.loc[k, "mixed"] = "unknown"
        frame.loc[[5 + k, 9], "y"] = np.nan
        frame.loc[12, "num"] = np.nan
        frame.to_parquet(tmp_path / f"part-{k}.parquet")
        frames.append(frame)
    pd.concat(frames, ignore_index=True).to_csv(tmp_path / "whole.csv", index=False)
    whole = read_table(str(tmp_path / "whole.csv"))
    one_target = TargetEncoder(["y"], "regression")
    y, keep = one_target.values(whole, impute=True)
    one_target.fit(y)
    one = FeatureEncoder(impute=True).fit(whole[keep], ["num", "mixed"])
    many, many_target, task = fit_encoders(ClusterTable(str(tmp_path / "part-*.parquet")), ["y"],
                                           ["num", "mixed"], impute=True)
    assert task == "regression"
    for got, want in zip(many.columns, one.columns, strict=True):
        assert (got.name, got.kind, got.fill) == (want.name, want.kind, want.fill) and got.kind == "numeric"
        assert (got.mean, got.scale) == pytest.approx((want.mean, want.scale), rel=1e-12)
    np.testing.assert_allclose([many_target.mean, many_target.scale], [one_target.mean, one_target.scale],
                               rtol=1e-12)
    with pytest.raises(UserError, match=r"part-0\.parquet: target 'y' is missing in row 6; fill it in, or"):
        fit_encoders(ClusterTable(str(tmp_path / "part-*.parquet")), ["y"], ["num", "mixed"], impute=False)
    for k, frame in enumerate(frames):
        frame.fillna({"y": 0.0}).to_parquet(tmp_path / f"part-{k}.parquet")
    with pytest.raises(UserError, match=r"column 'mixed' holds numbers but row 1 of .*part-0\.parquet is "
                                        r"'unknown'; fix that value, pass --impute"):
        fit_encoders(ClusterTable(str(tmp_path / "part-*.parquet")), ["y"], ["num", "mixed"], impute=False)


def test_the_cluster_reads_the_task_by_one_machines_rule_and_refuses_fractions_as_classes(tmp_path):
    """fit_encoders tells the detected task in one machine's words (task_note from the files'
    combined summary), and a classification of fractions is refused before any training, as
    ``deltaprop train`` refuses it on one machine."""
    from deltaprop.distributed.tables import ClusterTable, fit_encoders
    from deltaprop.errors import UserError
    from deltaprop.tabular.encode import column_summary, task_note

    rng = np.random.default_rng(5)
    frames = [pd.DataFrame({"x": rng.normal(size=20), "y": rng.integers(0, 3, 20)}) for _ in range(2)]
    for k, frame in enumerate(frames):
        frame.to_parquet(tmp_path / f"part-{k}.parquet")
    whole = pd.concat(frames, ignore_index=True)
    one = column_summary(whole["y"])
    one.categories = set(whole["y"].unique())
    notes: list[str] = []
    _, _, task = fit_encoders(ClusterTable(str(tmp_path / "part-*.parquet")), ["y"], ["x"], notes=notes)
    assert task == "classification"
    assert task_note(["y"], [one], "classification") in notes
    for k, frame in enumerate(frames):
        frame.assign(y=frame["y"] + 0.5).to_parquet(tmp_path / f"part-{k}.parquet")
    with pytest.raises(UserError, match="target 'y' holds fractions, which are not classes"):
        fit_encoders(ClusterTable(str(tmp_path / "part-*.parquet")), ["y"], ["x"], task="classification")
