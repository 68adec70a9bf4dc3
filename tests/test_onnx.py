"""ONNX export: ONNX Runtime's predictions equal deltaprop's, graph by graph.

Tolerances: float64 to 1e-12 relative, float32 to 1e-5, each relative to the element and to
the largest output (an output near zero that is a difference of larger terms carries the
larger terms' rounding).
"""

import numpy as np
import pytest

import deltaprop as dp
from _pairwise import pairwise
from deltaprop.core import losses
from deltaprop.core.activations import HIDDEN_ACTIVATIONS

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOL = {np.float64: 1e-12, np.float32: 1e-5}


def _session(proto):
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def _assert_close(got, expected, dtype):
    tol = TOL[dtype]
    expected = np.asarray(expected)
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * np.abs(expected).max())


def _pairs():
    """Every (loss, output) pair a network accepts, hidden activations crossed with them."""
    for loss in losses.LOSSES:
        for output in losses.ALLOWED_OUTPUTS[loss]:
            yield loss, output


# every hidden activation × every (loss, output) pair, each in one dtype: both dtypes meet
# every activation and every pair (tests/_pairwise.py)
GRAPHS = pairwise(
    {"activation": HIDDEN_ACTIVATIONS, "pair": list(_pairs()), "dtype": [np.float64, np.float32]},
    full=("activation", "pair"),
)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_network_graph_predicts_as_the_network_for_every_output_and_loss(activation, dtype):
    X = np.random.default_rng(0).normal(size=(16, 4)).astype(dtype)
    pairs = [g["pair"] for g in GRAPHS if g["activation"] == activation and g["dtype"] == dtype]
    assert pairs
    for loss, output in pairs:
        net = dp.Network([4, 6, 5, 3], activation, output, loss, random_state=1, dtype=dtype)
        for l in net.layers:  # large weights: saturated and tiny outputs are exported too
            net.W[l] *= 1 if output == "exp" else 4
        got = _session(dp.to_onnx(net)).run(["y"], {"X": X})[0]
        assert got.dtype == dtype
        _assert_close(got, net.predict(X), dtype)


def test_activations_hold_their_accuracy_at_extreme_inputs():
    # a 1-1-1 network whose hidden layer sees u from -700 to 700
    u = np.linspace(-700, 700, 57).reshape(-1, 1)
    for activation in HIDDEN_ACTIVATIONS:
        ones, zeros = [np.ones((1, 1))] * 2, [np.zeros(1)] * 2
        net = dp.Network.from_weights(ones, zeros, activation)
        got = _session(dp.to_onnx(net)).run(["y"], {"X": u})[0]
        np.testing.assert_allclose(got, net.predict(u), rtol=1e-12, atol=0, err_msg=activation)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_regressor_graph_predicts_as_the_estimator(dtype):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3)).astype(dtype)
    Y = np.column_stack([X.sum(1), X[:, 0] * X[:, 1]])
    reg = dp.MLPRegressor(hidden_layer_sizes=(7,), activation="softplus", max_iter=20, random_state=0)
    reg.fit(X, Y)
    got = _session(dp.to_onnx(reg)).run(["y"], {"X": X})[0]
    _assert_close(got, reg.predict(X), dtype)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "labels",
    [np.array(["ant", "bee", "cat"]), np.array([3, 7]), np.array(["no", "yes"]), np.array([-1, 0, 5, 9])],
    ids=["text-multiclass", "int-binary", "text-binary", "int-4-classes"],
)
def test_classifier_graph_gives_the_estimators_labels_and_probabilities(labels):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 3))
    y = labels[(np.abs(X[:, 0] * 2 + X[:, 1]) * len(labels) / 3).astype(int) % len(labels)]
    clf = dp.MLPClassifier(hidden_layer_sizes=(6,), max_iter=30, random_state=0).fit(X, y)
    label, proba = _session(dp.to_onnx(clf)).run(["label", "probabilities"], {"X": X})
    np.testing.assert_array_equal(label, clf.predict(X))
    _assert_close(proba, clf.predict_proba(X), np.float64)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_multilabel_classifier_graph_gives_the_indicator_matrix():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 3)).astype(np.float32)
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 2] > 0]).astype(int)
    clf = dp.MLPClassifier(hidden_layer_sizes=(8,), max_iter=40, random_state=0).fit(X, Y)
    label, proba = _session(dp.to_onnx(clf)).run(["label", "probabilities"], {"X": X})
    np.testing.assert_array_equal(label, clf.predict(X))
    _assert_close(proba, clf.predict_proba(X), np.float32)


# ---------------------------------------------------------------------- the command's model
def _tabular(task, dtype=np.float64, impute=False, int_rooms=False):
    import pandas as pd

    from deltaprop.tabular.model import FeatureEncoder, TabularModel, TargetEncoder

    rng = np.random.default_rng(4)
    n = 48
    frame = pd.DataFrame(
        {
            "size": [f"{v:.6g}" for v in rng.normal(10, 3, n)],
            "colour": np.array(["red", "blue", "green"])[rng.integers(0, 3, n)],
            # integers as a Parquet file holds them, or text as a CSV file does
            "rooms": rng.integers(1, 5, n) if int_rooms else [str(v) for v in rng.integers(1, 5, n)],
        }
    )
    size = frame["size"].astype(float).to_numpy()
    if task == "regression":
        frame["price"] = [f"{v:.6g}" for v in 1000 * size + 50 * (frame["colour"] == "red")]
        frame["tax"] = [f"{v:.6g}" for v in 0.2 * size]
        target = TargetEncoder(["price", "tax"], "regression")
    else:
        frame["kind"] = np.where(size > 10, "big", np.where(frame["colour"] == "red", "red-small", "small"))
        target = TargetEncoder(["kind"], "classification")
    features = FeatureEncoder(impute=impute).fit(frame, ["size", "colour", "rooms"], categorical=["rooms"])
    Y, _ = target.values(frame)
    target.fit(Y)
    X = features.transform(frame).astype(dtype)
    cls = dp.MLPRegressor if task == "regression" else dp.MLPClassifier
    est = cls(hidden_layer_sizes=(5,), activation="tanh", max_iter=30, random_state=0)
    D = target.encode(Y)
    est.fit(X, D if task == "classification" else D)
    return TabularModel(features, target, est), frame


def _feed(model, frame):
    """ONNX inputs of a frame: one (n, 1) column each, float64 numbers or strings."""
    feed = {}
    for spec in model.features.columns:
        values = frame[spec.name].to_numpy()
        if spec.kind == "numeric":
            feed[spec.name] = np.array([float(v) if v is not None else np.nan for v in values]).reshape(-1, 1)
        else:
            feed[spec.name] = np.array([str(v) for v in values], dtype=object).reshape(-1, 1)
    return feed


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tabular_regression_graph_standardises_encodes_and_unscales_as_the_model(dtype):
    model, frame = _tabular("regression", dtype)
    frame.loc[3, "colour"] = "purple"  # unseen: one-hot of none of the known categories
    got = _session(dp.to_onnx(model)).run(["price", "tax"], _feed(model, frame))
    expected = model.predict(frame)
    _assert_close(got[0], expected[:, 0], dtype)
    _assert_close(got[1], expected[:, 1], dtype)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("int_rooms", [False, True], ids=["text-categories", "integer-categories"])
def test_tabular_classification_graph_gives_the_labels_as_written(int_rooms):
    model, frame = _tabular("classification", int_rooms=int_rooms)
    assert all(isinstance(c, int) for c in model.features.columns[2].categories) == int_rooms
    label, proba = _session(dp.to_onnx(model)).run(["kind", "probabilities"], _feed(model, frame))
    assert list(label) == list(model.predict(frame))
    _assert_close(proba, model.predict_proba(frame), np.float64)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_tabular_graph_imputes_missing_numbers_with_the_training_median():
    model, frame = _tabular("regression", impute=True)
    frame.loc[[0, 5], "size"] = None
    got = _session(dp.to_onnx(model)).run(["price"], _feed(model, frame))[0]
    assert np.isfinite(got).all()
    _assert_close(got, model.predict(frame)[:, 0], np.float64)


def test_export_refuses_what_it_cannot_export_naming_it():
    with pytest.raises(ValueError, match="not fitted"):
        dp.to_onnx(dp.MLPRegressor())
    with pytest.raises(ValueError, match="cannot export a dict"):
        dp.to_onnx({})


# ---------------------------------------------------------------------- skl2onnx
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_skl2onnx_converts_a_pipeline_ending_in_a_deltaprop_classifier():
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(6)
    X = rng.normal(3, 2, size=(60, 4))
    y = np.array(["a", "b", "c"])[(X[:, 0] > 3).astype(int) + (X[:, 1] > 3).astype(int)]
    clf = dp.MLPClassifier(hidden_layer_sizes=(5,), max_iter=30, random_state=0)
    pipe = make_pipeline(StandardScaler(), clf)
    pipe.fit(X, y)
    dp.register_skl2onnx()
    proto = skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False})
    label, proba = _session(proto).run(None, {"X": X})
    np.testing.assert_array_equal(label, pipe.predict(X))
    _assert_close(proba, pipe.predict_proba(X), np.float64)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_skl2onnx_converts_a_pipeline_ending_in_a_deltaprop_regressor_in_float32():
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = np.random.default_rng(7).normal(size=(40, 3)).astype(np.float32)
    reg = dp.MLPRegressor(hidden_layer_sizes=(5,), max_iter=20, random_state=0)
    pipe = make_pipeline(StandardScaler(), reg)
    pipe.fit(X, X.sum(1))
    dp.register_skl2onnx()
    got = _session(skl2onnx.to_onnx(pipe, X[:1])).run(None, {"X": X})[0]
    _assert_close(got.ravel(), pipe.predict(X), np.float32)
