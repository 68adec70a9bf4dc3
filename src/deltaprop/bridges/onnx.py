"""ONNX export: a deltaprop model as a graph that ONNX Runtime runs without deltaprop.

The forward pass becomes, for l = 2 … L, one sample per row as ONNX lays batches out:

    u^(l) = Gemm(z^(l-1), W^(l), b^(l), transB=1) = z^(l-1) (W^(l))ᵀ + b^(l)
    z^(l) = f(u^(l))

in the network's dtype, with ``W^(l)`` stored in the seed's orientation, shape
(n_l, n_{l-1}).  Each f is written in ONNX operators the way ``core/activations.py``
computes it: logistic as exp(min(u, 0)) / (1 + exp(−|u|)) (scipy's expit), leaky_relu as
max(u, 0.01 u) with the slope in the network's dtype (ONNX's LeakyRelu keeps its slope in
float32), softplus as max(u, 0) + log1p(exp(−|u|)) (numpy's logaddexp(0, u); ONNX Runtime
has no float64 Softplus), log1p by Kahan's log(w)·t/(w − 1) with w = 1 + t, which is exact
to a few ulps where log(1 + t) is not.

What a graph takes and gives:

- ``Network``: input ``X`` (n_samples, n_1) → output ``y`` (n_samples, n_L).
- ``MLPRegressor``: ``X`` → ``y`` (n_samples, n_outputs).
- ``MLPClassifier``: ``X`` → ``label`` (n_samples,) — (n_samples, n_classes) of 0/1 for
  multilabel targets — and ``probabilities`` (n_samples, n_classes), columns in the order of
  ``classes_``.
- the command's ``TabularModel``: one input per feature column, named after it, shape
  (n_samples, 1): float64 for a numeric column (NaN where missing, when the model was trained
  with ``--impute``), string for a categorical one (a number category written as deltaprop
  writes it: ``2`` for 2.0; text is compared as given, where deltaprop strips the spaces
  around it, so strip them before feeding).  Standardising, one-hot encoding (an unseen
  category encodes as none), the targets' scaling and the class labels are operators of the
  graph.  Outputs: one per regression target, named after it, shape (n_samples,); for a
  classification the labels (named after the target) and ``probabilities``.

Inputs of ``X`` are of the network's dtype; graphs use opset 19 (IR version 9).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from deltaprop.core.activations import LEAKY_RELU_SLOPE

__all__ = ["to_onnx", "register_skl2onnx", "OPSET", "IR_VERSION"]

OPSET = 19
IR_VERSION = 9

#: the activations that are one ONNX operator: (operator, attributes)
_ONE_OPERATOR = {"tanh": ("Tanh", {}), "relu": ("Relu", {}), "exp": ("Exp", {}),
                 "softmax": ("Softmax", {"axis": 1})}


def _onnx():
    try:
        import onnx
    except ImportError as e:
        raise ImportError("ONNX export needs the onnx package; pip install 'deltaprop[onnx]'") from e
    return onnx


def _tensor_type(dtype) -> int:
    from onnx import helper

    return int(helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))


class _Graph:
    """The nodes and constants of one ONNX graph, or (``scope``, ``container``) of skl2onnx's
    converter; every name made here is unique in it."""

    def __init__(self, scope=None, container=None) -> None:
        self.scope, self.container = scope, container
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def fresh(self, hint: str) -> str:
        if self.scope is not None:
            return self.scope.get_unique_variable_name(f"dp_{hint}")
        self._count += 1
        return f"_dp_{hint}_{self._count}"

    def const(self, array, hint: str) -> str:
        from onnx import numpy_helper

        name = self.fresh(hint)
        value = numpy_helper.from_array(np.asarray(array), name)
        if self.container is None:
            self.initializers.append(value)
        else:
            self.container.add_node("Constant", [], [name], name=self.fresh("Constant"), value=value)
        return name

    def node(self, op: str, inputs, hint: str | None = None, *, outputs=None, **attrs) -> str:
        from onnx import helper

        outputs = list(outputs) if outputs else [self.fresh(hint or op.lower())]
        if self.container is None:
            self.nodes.append(helper.make_node(op, list(inputs), outputs, name=self.fresh(op), **attrs))
        else:
            self.container.add_node(op, list(inputs), outputs, name=self.fresh(op), **attrs)
        return outputs[0]


def _log1p(g: _Graph, t: str, dtype) -> str:
    """log(1 + t) for t ≥ 0: t where 1 + t rounds to 1, else log(w) t / (w − 1), w = 1 + t."""
    one = g.const(np.array(1, dtype=dtype), "one")
    w = g.node("Add", [one, t], "w")
    ratio = g.node("Div", [g.node("Mul", [g.node("Log", [w]), t]), g.node("Sub", [w, one])], "ratio")
    return g.node("Where", [g.node("Equal", [w, one]), t, ratio], "log1p")


def _activation(g: _Graph, name: str, u: str, dtype) -> str:
    """z = f(u) in ONNX operators, as ``core/activations.py`` computes f."""
    if name == "identity":
        return u
    if name in _ONE_OPERATOR:
        op, attrs = _ONE_OPERATOR[name]
        return g.node(op, [u], "z", **attrs)
    if name == "leaky_relu":
        slope = g.const(np.array(LEAKY_RELU_SLOPE, dtype=dtype), "slope")
        return g.node("Max", [u, g.node("Mul", [u, slope])], "z")
    if name not in ("logistic", "softplus"):
        raise ValueError(f"the activation {name!r} has no ONNX form here")
    t = g.node("Exp", [g.node("Neg", [g.node("Abs", [u])])], "t")  # exp(−|u|)
    if name == "softplus":
        return g.node("Add", [g.node("Relu", [u]), _log1p(g, t, dtype)], "z")
    # exp(min(u, 0)) / (1 + exp(−|u|)), as scipy's expit: ONNX Runtime's Sigmoid loses the
    # relative accuracy of tiny outputs (it returns 0 where σ(u) is 1e-30)
    numerator = g.node("Exp", [g.node("Min", [u, g.const(np.array(0, dtype=dtype), "zero")])])
    return g.node("Div", [numerator, g.node("Add", [g.const(np.array(1, dtype=dtype), "one"), t])], "z")


def _network(g: _Graph, net, z: str) -> str:
    """The forward pass u^(l) = z^(l-1) (W^(l))ᵀ + b^(l), z^(l) = f(u^(l)); returns y's name."""
    for l in net.layers:
        u = g.node("Gemm", [z, g.const(net.W[l], f"W{l}"), g.const(net.b[l], f"b{l}")], f"u{l}", transB=1)
        z = _activation(g, net.layer_activation[l], u, net.dtype)
    return z


def _classifier(g: _Graph, est, y: str, label: str, proba: str) -> list:
    """Labels and probabilities from the output y, as the estimator's predict does it; returns
    their value infos.

    Multiclass: label = classes_[argmax_k y_k]; binary (one logistic unit):
    probabilities [1 − y, y], label = classes_[y > 0.5]; multilabel: label_k = 1[y_k > 0.5].
    """
    from onnx import TensorProto, helper

    dtype = est.network_.dtype
    half = g.const(np.array(0.5, dtype=dtype), "half")
    infos = [helper.make_tensor_value_info(proba, _tensor_type(dtype), [None, len(est.classes_)])]
    if getattr(est, "_is_multilabel", lambda: False)():
        g.node("Identity", [y], outputs=[proba])
        g.node("Cast", [g.node("Greater", [y, half])], outputs=[label], to=TensorProto.INT64)
        return [helper.make_tensor_value_info(label, TensorProto.INT64, [None, est.n_outputs_]), *infos]
    classes = np.asarray(est.classes_)  # as ONNX can hold them: text, int64, float64 or bool
    if classes.dtype.kind in "USO":
        classes = np.array([str(c) for c in classes], dtype=object)
    elif classes.dtype.kind in "iu":
        classes = classes.astype(np.int64)
    if est.n_outputs_ == 1:
        one = g.const(np.array(1, dtype=dtype), "one")
        g.node("Concat", [g.node("Sub", [one, y]), y], outputs=[proba], axis=1)
        flat = g.node("Reshape", [g.node("Greater", [y, half]), g.const(np.array([-1]), "flat")])
        index = g.node("Cast", [flat], "index", to=TensorProto.INT64)
    else:
        g.node("Identity", [y], outputs=[proba])
        index = g.node("ArgMax", [y], "index", axis=1, keepdims=0)
    g.node("Gather", [g.const(classes, "classes"), index], outputs=[label], axis=0)
    label_type = TensorProto.STRING if classes.dtype == object else _tensor_type(classes.dtype)
    return [helper.make_tensor_value_info(label, label_type, [None]), *infos]


def _category_texts(spec) -> np.ndarray:
    """The categories of a column as the strings a caller feeds; ValueError when two coincide."""
    from deltaprop.tabular.encode import label_text

    texts = [c if isinstance(c, str) else label_text(c) for c in spec.categories]
    if len(set(texts)) != len(texts):
        raise ValueError(
            f"column {spec.name!r} has categories that read the same as text ({texts}); an ONNX "
            f"string input cannot tell them apart: retrain with that column's values written one way"
        )
    return np.array(texts, dtype=object)


def _tabular_graph(g: _Graph, model) -> tuple[list, list]:
    """(inputs, outputs) of a TabularModel's graph, its nodes added to g."""
    from onnx import TensorProto, helper

    clash = [n for n in model.features.feature_names if n in {*model.target.names, "probabilities"}]
    if clash:
        raise ValueError(f"the feature column {clash[0]!r} has the name of an output; rename it and retrain")
    inputs, blocks = [], []
    for spec in model.features.columns:
        numeric = spec.kind == "numeric"
        kind = TensorProto.DOUBLE if numeric else TensorProto.STRING
        inputs.append(helper.make_tensor_value_info(spec.name, kind, [None, 1]))
        if not numeric:
            hot = g.node("Equal", [spec.name, g.const(_category_texts(spec), "categories")], "hot")
            blocks.append(g.node("Cast", [hot], "one_hot", to=TensorProto.DOUBLE))
            continue
        v = spec.name
        if model.features.impute:
            fill = g.const(np.array(spec.fill, dtype=np.float64), "fill")
            v = g.node("Where", [g.node("IsNaN", [v]), fill, v], "imputed")
        mean = g.const(np.array(spec.mean, dtype=np.float64), "mean")
        scale = g.const(np.array(spec.scale, dtype=np.float64), "scale")
        blocks.append(g.node("Div", [g.node("Sub", [v, mean]), scale], "standardised"))
    net = model.network_
    x = g.node("Concat", blocks, "x", axis=1)
    if net.dtype != np.float64:
        x = g.node("Cast", [x], "x", to=_tensor_type(net.dtype))
    y = _network(g, net, x)
    if model.task != "regression":  # the record model.fitted: no scikit-learn
        return inputs, _classifier(g, model.fitted, y, model.target.names[0], "probabilities")
    y = g.node("Cast", [y], "y", to=TensorProto.DOUBLE) if net.dtype != np.float64 else y
    scale = g.const(np.asarray(model.target.scale, dtype=np.float64), "target_scale")
    mean = g.const(np.asarray(model.target.mean, dtype=np.float64), "target_mean")
    values = g.node("Add", [g.node("Mul", [y, scale]), mean], "targets")
    outputs = []
    for k, name in enumerate(model.target.names):
        g.node("Gather", [values, g.const(np.array(k, dtype=np.int64), "k")], outputs=[name], axis=1)
        outputs.append(helper.make_tensor_value_info(name, TensorProto.DOUBLE, [None]))
    return inputs, outputs


def _estimator_graph(g: _Graph, model, net) -> tuple[list, list]:
    """(inputs, outputs) of a Network's or a fitted estimator's graph, its nodes added to g."""
    from onnx import helper

    x_type = _tensor_type(net.dtype)
    inputs = [helper.make_tensor_value_info("X", x_type, [None, net.sizes[0]])]
    y = _network(g, net, "X")
    if hasattr(model, "classes_"):
        return inputs, _classifier(g, model, y, "label", "probabilities")
    g.node("Identity", [y], outputs=["y"])
    return inputs, [helper.make_tensor_value_info("y", x_type, [None, net.sizes[-1]])]


def _network_of(model):
    """The network of a model that can be exported; ValueError for anything else or an unfitted estimator."""
    from deltaprop.core.network import Network
    from deltaprop.estimators.mlp import MLPClassifier, MLPRegressor
    from deltaprop.tabular.model import TabularModel

    if isinstance(model, Network):
        return model
    if isinstance(model, TabularModel):
        return model.network_
    if isinstance(model, (MLPRegressor, MLPClassifier)):
        if "network_" not in model.__dict__:
            raise ValueError(f"this {type(model).__name__} is not fitted; call fit before exporting it")
        return model.network_
    raise ValueError(
        f"cannot export a {type(model).__name__} to ONNX; give a deltaprop Network, a fitted "
        f"deltaprop MLPRegressor or MLPClassifier, or a model of the deltaprop command (for a "
        f"scikit-learn Pipeline, call deltaprop.register_skl2onnx() and then skl2onnx.to_onnx)"
    )


def _metadata(model, net, tabular: bool) -> dict:
    import deltaprop

    meta = {
        "deltaprop_version": deltaprop.__version__,
        "model": type(model).__name__,
        "sizes": json.dumps(list(net.sizes)),
        "activations": json.dumps([net.layer_activation[l] for l in net.layers]),
        "loss": net.loss_name,
    }
    classes = getattr(model, "classes_", None)
    if classes is not None:
        meta["classes"] = json.dumps([c.item() if isinstance(c, np.generic) else c for c in classes])
    if tabular:
        meta["features"] = json.dumps(model.features.to_dict())
        meta["targets"] = json.dumps(model.target.names)
    return meta


def to_onnx(model):
    """The model as an ONNX graph that ONNX Runtime runs without deltaprop.

    Parameters
    ----------
    model : Network, MLPRegressor, MLPClassifier or TabularModel
        A :class:`~deltaprop.Network`, a fitted deltaprop estimator, or a model of the
        ``deltaprop`` command (``deltaprop.load`` of its ``.dpm`` file), whose preprocessing
        becomes operators of the graph.

    Returns
    -------
    onnx.ModelProto
        Opset 19.  Its inputs and outputs are listed in this module's docstring; write it
        with ``model.SerializeToString()`` or ``onnx.save``.

    Raises
    ------
    ValueError
        For anything else, or an estimator that is not fitted.

    Examples
    --------
    >>> import numpy as np, deltaprop, onnxruntime
    >>> net = deltaprop.Network([4, 5, 3], random_state=0)
    >>> session = onnxruntime.InferenceSession(deltaprop.to_onnx(net).SerializeToString())
    >>> X = np.ones((2, 4))
    >>> np.allclose(session.run(None, {"X": X})[0], net.predict(X))
    True
    """
    onnx = _onnx()
    from onnx import helper

    import deltaprop

    net, tabular = _network_of(model), hasattr(model, "features")
    g = _Graph()
    inputs, outputs = _tabular_graph(g, model) if tabular else _estimator_graph(g, model, net)
    graph = helper.make_graph(g.nodes, "deltaprop", inputs, outputs, initializer=g.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION,
                              producer_name="deltaprop", doc_string=repr(model))
    proto.producer_version = deltaprop.__version__
    helper.set_model_props(proto, _metadata(model, net, tabular))
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _shape_regressor(operator) -> None:
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    x_type = operator.inputs[0].type
    cls = x_type.__class__ if isinstance(x_type, (FloatTensorType, DoubleTensorType)) else FloatTensorType
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = cls([n, operator.raw_operator.n_outputs_])


def _convert(scope, operator, container) -> None:
    """skl2onnx's converter for a fitted deltaprop estimator: the graph of ``to_onnx``."""
    from skl2onnx.common.data_types import guess_proto_type

    est = operator.raw_operator
    if getattr(est, "_is_multilabel", lambda: False)():
        raise NotImplementedError(
            "skl2onnx's classifier outputs do not cover multilabel targets; use deltaprop.to_onnx(estimator)"
        )
    g = _Graph(scope, container)
    net = est.network_
    y = _network(g, net, g.node("Cast", [operator.inputs[0].full_name], "x", to=_tensor_type(net.dtype)))
    if hasattr(est, "classes_"):
        label, proba = g.fresh("label"), g.fresh("probabilities")
        _classifier(g, est, y, label, proba)
        g.node("Identity", [label], outputs=[operator.outputs[0].full_name])
        y = proba
    out = operator.outputs[-1]  # the values, or the probabilities after the labels
    g.node("Cast", [y], outputs=[out.full_name], to=guess_proto_type(out.type))


def register_skl2onnx() -> None:
    """Teach skl2onnx deltaprop's estimators, as it knows scikit-learn's MLPs.

    After this call, ``skl2onnx.to_onnx`` converts a deltaprop ``MLPRegressor`` or
    ``MLPClassifier`` and any ``Pipeline`` that ends in one (classifiers take skl2onnx's
    ``zipmap`` and ``nocl`` options).  Calling it again does no harm.
    """
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

    from deltaprop.estimators.mlp import MLPClassifier, MLPRegressor

    update_registered_converter(MLPRegressor, "DeltapropMLPRegressor", _shape_regressor, _convert)
    update_registered_converter(MLPClassifier, "DeltapropMLPClassifier",
                                calculate_linear_classifier_output_shapes, _convert,
                                options={"zipmap": [True, False, "columns"], "nocl": [True, False]})
