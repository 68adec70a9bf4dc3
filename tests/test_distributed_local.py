"""Dask collections without a cluster: Dask's local scheduler, in this process."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
pytest.importorskip("distributed")

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
