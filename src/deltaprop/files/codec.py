"""Models ↔ the model file's metadata (JSON values) and arrays, both ways, with every value checked.

:func:`model_meta` saves; :func:`expected_arrays` reads from the metadata alone which arrays
the model needs (the archive's budget); :func:`model_from_meta` rebuilds the model, refusing
with :class:`ModelFileError` anything that would break later.  The JSON value nodes
(``$float``, ``$tuple``, ``$dict``, ``$array``, ``$strarray``, ``$list``): ``docs/model-format.md``.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, TypeGuard

import numpy as np

from deltaprop.errors import UserError

__all__ = ["ModelFileError", "RUN_OPTIONS", "ALLOWED_DTYPES", "KINDS", "ESTIMATOR_CLASSES", "MAX_DEPTH",
           "Encoder", "ArraySpec", "check_depth", "expected_arrays", "model_meta", "model_from_meta"]

ALLOWED_DTYPES = frozenset({"float32", "float64", "int64", "int32", "bool"})
KINDS = ("network", "estimator", "tabular")
ESTIMATOR_CLASSES = ("MLPRegressor", "MLPClassifier")
#: the deepest nesting of JSON values a model file may hold (the writer's deepest is 7)
MAX_DEPTH = 32
#: the training settings a command run records in ``history.run.options``, and the only ones
#: ``deltaprop train --resume`` takes from a file (each validated as its command-line option is;
#: paths, such as --out, --report or --metrics-json, are never among them)
RUN_OPTIONS = (
    "targets", "task", "hidden", "activation", "solver", "batch_size", "learning_rate", "alpha",
    "loss", "huber_epsilon", "quantile", "dropout", "seed", "early_stopping", "patience",
    "validation_fraction", "impute", "scale", "drop", "categorical", "class_weight", "dtype",
)
#: an array name: a plain file name, no directories, no "..", nothing a shell or zip tool reads specially
ARRAY_NAME = re.compile(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*")

Meta = dict[str, Any]


class ArraySpec(NamedTuple):
    """One array a model needs: its shape (with ``up_to``, a 1-D length at most ``shape[0]``)."""

    shape: tuple[int, ...]
    dtypes: frozenset[str]
    up_to: bool = False

    def allows(self, shape: Any, dtype: Any) -> bool:
        """Whether a manifest's declared ``shape`` (a list) and ``dtype`` (a name) fit."""
        if not isinstance(dtype, str) or dtype not in self.dtypes or not isinstance(shape, list):
            return False
        if not self.up_to:
            return shape == list(self.shape)
        return len(shape) == 1 and is_int(shape[0]) and 0 <= shape[0] <= self.shape[0]


class ModelFileError(UserError):
    """A file that is not a valid deltaprop model (the message says why and what to do)."""


# ---------------------------------------------------------------------- values → JSON + arrays
class Encoder:
    """Turns Python/numpy values into JSON nodes, moving numeric arrays out to ``.npy`` entries."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def array(self, name: str, value: Any) -> Meta:
        """Store ``value`` as the array ``name``; returns its ``{"$array": name}`` node."""
        value = np.asarray(value)
        if value.dtype.name not in ALLOWED_DTYPES:
            raise TypeError(f"cannot store an array of dtype {value.dtype} ({name})")
        if name in self.arrays:
            raise ValueError(f"two arrays named {name!r}")
        self.arrays[name] = np.ascontiguousarray(value)
        return {"$array": name}

    def encode(self, value: Any, name: str) -> Any:
        """The JSON node of ``value``; ``name`` names any array it holds (raises TypeError for others)."""
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            if math.isfinite(value):
                return value
            return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "US" or (
                value.dtype.kind == "O" and all(isinstance(v, str) for v in value.ravel())
            ):
                return {"$strarray": [str(v) for v in value.ravel()], "shape": list(value.shape)}
            if value.dtype.kind == "O":
                return {"$list": [self.encode(v, f"{name}.{k}") for k, v in enumerate(value.tolist())]}
            return self.array(name, value)
        if isinstance(value, (tuple, list)):
            items = [self.encode(v, f"{name}.{k}") for k, v in enumerate(value)]
            return {"$tuple": items} if isinstance(value, tuple) else items
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("$") for k in value):
                return {k: self.encode(v, f"{name}.{k}") for k, v in value.items()}
            return {"$dict": [[self.encode(k, f"{name}.key"), self.encode(v, f"{name}.{k}")]
                              for k, v in value.items()]}
        raise TypeError(f"cannot store {type(value).__name__} ({name})")


# ---------------------------------------------------------------------- JSON + arrays → values
def _walk(node: Any, where: str) -> Iterator[tuple[Any, int, str]]:
    """(value, depth, where) of ``node`` and every value under it, without recursion."""
    stack: list[tuple[Any, int, str]] = [(node, 0, where)]
    while stack:
        value, depth, at = stack.pop()
        yield value, depth, at
        if isinstance(value, dict):
            stack.extend((v, depth + 1, f"{at}.{k}") for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, depth + 1, at) for v in value)


def check_depth(node: Any, limit: int = MAX_DEPTH) -> None:
    """Refuse JSON nested deeper than ``limit``."""
    if any(depth > limit for _, depth, _ in _walk(node, "")):
        raise ModelFileError(f"the metadata is nested more than {limit} levels deep")


# what the value of each tag must be, in the order the tags are looked for
_TAGS: dict[str, Any] = {"$float": str, "$tuple": list, "$list": list, "$dict": list, "$array": str,
                          "$strarray": list}


def _decode_tagged(node: Meta, arrays: dict, where: str) -> Any:
    tag = next((t for t in _TAGS if t in node), None)
    if tag is None:
        raise ModelFileError(f"unknown entry {sorted(node)} in {where}")
    value: Any = node[tag]
    if tag == "$float" and value not in ("nan", "inf", "-inf"):
        raise ModelFileError(f"malformed number in {where}")
    if not isinstance(value, _TAGS[tag]):
        raise ModelFileError(f"malformed {tag[1:]} in {where}")
    if tag == "$float":
        return float(value)
    if tag == "$array":
        if value not in arrays:
            raise ModelFileError(f"{where} refers to a missing array {value!r}")
        return arrays[value]
    if tag == "$strarray":
        shape = node.get("shape", [len(value)])
        if not all(isinstance(v, str) for v in value) or not (
            isinstance(shape, list) and all(is_int(n) and n >= 0 for n in shape)
        ):
            raise ModelFileError(f"malformed text array in {where}")
        if math.prod(shape) != len(value):
            raise ModelFileError(f"the text array in {where} does not fill its shape")
        return np.array(value, dtype=str).reshape(shape) if value else np.array([], dtype=str)
    if tag == "$dict":
        return _decode_dict(value, arrays, where)
    items = [_decode(x, arrays, where) for x in value]
    return tuple(items) if tag == "$tuple" else np.array(items, dtype=object)


def _decode_dict(pairs: list, arrays: dict, where: str) -> dict:
    out = {}
    for pair in pairs:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise ModelFileError(f"malformed mapping in {where}")
        key = _decode(pair[0], arrays, where)
        try:
            out[tuple(key) if isinstance(key, list) else key] = _decode(pair[1], arrays, where)
        except TypeError as e:  # an unhashable key
            raise ModelFileError(f"malformed mapping key in {where}") from e
    return out


def _decode(node: Any, arrays: dict, where: str) -> Any:
    if node is None or isinstance(node, (bool, str, int, float)):
        return node
    if isinstance(node, list):
        return [_decode(v, arrays, where) for v in node]
    if not isinstance(node, dict):
        raise ModelFileError(f"unexpected value in {where}")
    if any(k.startswith("$") for k in node):
        return _decode_tagged(node, arrays, where)
    return {k: _decode(v, arrays, f"{where}.{k}") for k, v in node.items()}


# ---------------------------------------------------------------------- checks
def is_int(v: Any) -> TypeGuard[int]:
    """An int that is not a bool (JSON's true is not a number)."""
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _finite(v: Any) -> bool:
    return _is_number(v) and math.isfinite(v)


def _require(meta: Any, where: str, **types: type) -> None:
    if not isinstance(meta, dict):
        raise ModelFileError(f"{where} must be a mapping")
    for key, typ in types.items():
        if key not in meta:
            raise ModelFileError(f"{where} lacks {key!r}")
        if not isinstance(meta[key], typ) or (typ is int and isinstance(meta[key], bool)):
            raise ModelFileError(f"{where}.{key} must be a {typ.__name__}")


def _check_network_meta(meta: Any, where: str) -> None:
    from deltaprop.core import activations as _act
    from deltaprop.core import losses as _losses

    _require(meta, where, sizes=list, activation=list, output=str, loss=str, dtype=str, arrays_prefix=str)
    sizes = meta["sizes"]
    if len(sizes) < 2 or not all(is_int(n) and n >= 1 for n in sizes):
        raise ModelFileError(f"{where}.sizes must list at least two positive layer widths")
    if len(meta["activation"]) != len(sizes) - 2:
        raise ModelFileError(f"{where}.activation must name one activation per hidden layer")
    for name in meta["activation"]:
        if not isinstance(name, str) or name not in _act.HIDDEN_ACTIVATIONS:
            raise ModelFileError(f"{where}: unknown activation {name!r}")
    if meta["loss"] not in _losses.LOSSES:
        raise ModelFileError(f"{where}: unknown loss {meta['loss']!r}")
    if meta["output"] not in _losses.ALLOWED_OUTPUTS[meta["loss"]]:
        raise ModelFileError(f"{where}: output {meta['output']!r} does not go with loss {meta['loss']!r}")
    if meta["dtype"] not in ("float32", "float64"):
        raise ModelFileError(f"{where}: dtype must be float32 or float64")
    if meta["arrays_prefix"] and not ARRAY_NAME.fullmatch(meta["arrays_prefix"] + "W"):
        raise ModelFileError(f"{where}: malformed arrays_prefix")
    _check_loss_params(meta.get("loss_params", {}), meta["loss"], where)


def _check_loss_params(params: Any, loss: str, where: str) -> None:
    # files written before the loss parameters were stored have none: the loss's defaults apply
    from deltaprop.core import losses as _losses

    if not isinstance(params, dict):
        raise ModelFileError(f"{where}.loss_params must be a mapping")
    known = _losses.DEFAULT_PARAMS.get(loss, {})
    for key, value in params.items():
        if key not in known:
            raise ModelFileError(f"{where}.loss_params: loss {loss!r} has no parameter {key!r}")
        if not _finite(value):
            raise ModelFileError(f"{where}.loss_params.{key} must be a finite number; got {value!r}")
    try:
        _losses.loss_params(loss, params.get("epsilon"), params.get("quantile"))
    except ValueError as e:
        raise ModelFileError(f"{where}.loss_params: {e}") from e


def _weight_specs(meta: Meta) -> dict[str, ArraySpec]:
    """The weight arrays of a checked network section: ``<prefix>W_<l>``, ``<prefix>b_<l>``."""
    sizes, prefix, dtype = meta["sizes"], meta["arrays_prefix"], frozenset({meta["dtype"]})
    specs: dict[str, ArraySpec] = {}
    for l in range(2, len(sizes) + 1):
        specs[f"{prefix}W_{l}"] = ArraySpec((sizes[l - 1], sizes[l - 2]), dtype)
        specs[f"{prefix}b_{l}"] = ArraySpec((sizes[l - 1],), dtype)
    return specs


def expected_arrays(model: Meta) -> dict[str, ArraySpec]:
    """Every array the model in ``model`` (the metadata's ``model`` section) needs, with its shape.

    The architecture fixes the weights; the only other arrays are numeric class labels
    (``classes_``: one per output, or two for one logistic output), a checkpoint's two
    parameter vectors θ (``n_parameters`` values each) and a command run's validation row
    numbers (at most the ``rows`` it read).  A ``{"$array": …}`` anywhere else,
    or an array name that is not a plain name, is refused.
    """
    section: Any
    if model.get("kind") == "network":
        section, where = model.get("network"), "network"
    else:
        _require(model.get("estimator"), "estimator", network=dict)
        section, where = model["estimator"]["network"], "estimator.network"
    _check_network_meta(section, where)
    specs = _weight_specs(section)
    sizes = section["sizes"]
    n_params = sum(math.prod(spec.shape) for spec in specs.values())
    theta = ArraySpec((n_params,), frozenset({section["dtype"], "float64"}))
    run = model.get("history", {}).get("run", {}) if isinstance(model.get("history"), dict) else {}
    rows: Any = run.get("rows") if isinstance(run, dict) else None
    n_rows = rows if is_int(rows) and rows > 0 else 0
    allowed = {
        "estimator.attributes.classes_": ArraySpec((max(2, sizes[-1]),), ALLOWED_DTYPES),
        "history.checkpoint.current_theta": theta,
        "history.checkpoint.best_theta": theta,
        # the rows held out for validation: data-sized, at most the rows the run read
        "history.run.validation_rows": ArraySpec(
            (n_rows,), frozenset({"int64", "int32"}), up_to=True
        ),
    }
    refs = [(v["$array"], at) for v, _, at in _walk(model, "model") if isinstance(v, dict) and "$array" in v]
    for name, at in refs:
        if not isinstance(name, str) or not ARRAY_NAME.fullmatch(name) or name in specs:
            raise ModelFileError(f"{at} refers to an array with a malformed name {name!r}")
        rule = allowed.get(at.removeprefix("model."))
        if rule is None:
            raise ModelFileError(f"{at} holds an array where the format has none")
        specs[name] = rule
    return specs


# ---------------------------------------------------------------------- model ↔ metadata
def _network_meta(net: Any, enc: Encoder, prefix: str = "") -> Meta:
    for l in net.layers:
        if not (np.isfinite(net.W[l]).all() and np.isfinite(net.b[l]).all()):
            # what load refuses, save refuses: a file that cannot be read back is lost work
            raise UserError(
                f"the weights of layer {l} are not all finite (NaN or infinity), so the model "
                "cannot be saved; train it again, with a smaller learning rate if it diverged"
            )
        enc.array(f"{prefix}W_{l}", net.W[l])
        enc.array(f"{prefix}b_{l}", net.b[l])
    return {"sizes": list(net.sizes), "activation": list(net.activation), "output": net.output,
            "loss": net.loss_name, "loss_params": dict(net.loss_params), "dtype": net.dtype.name,
            "arrays_prefix": prefix}


def _network_from_meta(meta: Any, arrays: dict, where: str) -> Any:
    # the arrays' shapes and dtypes are the archive's to check (expected_arrays), their values here
    from deltaprop.core import losses as _losses
    from deltaprop.core.network import Network

    _check_network_meta(meta, where)
    for name in _weight_specs(meta):
        if not np.isfinite(arrays[name]).all():
            raise ModelFileError(f"the weights {name} are not all finite")
    prefix, layers = meta["arrays_prefix"], range(2, len(meta["sizes"]) + 1)
    W = {l: arrays[f"{prefix}W_{l}"] for l in layers}
    b = {l: arrays[f"{prefix}b_{l}"] for l in layers}
    net = Network.from_weights(W, b, activation=meta["activation"] or "identity", output=meta["output"],
                               loss=meta["loss"], copy=False)
    params = meta.get("loss_params", {})
    net.loss_params = _losses.loss_params(meta["loss"], params.get("epsilon"), params.get("quantile"))
    return net


def _estimator_meta(est: Any, enc: Encoder, prefix: str) -> Meta:
    """The estimator section of a fitted estimator or a :class:`FittedMLP` record."""
    from deltaprop.estimators.fitted import FittedMLP

    if not isinstance(est, FittedMLP):
        if type(est).__name__ not in ESTIMATOR_CLASSES or not hasattr(est, "network_"):
            raise TypeError(f"cannot save {type(est).__name__}")
        est = FittedMLP.from_estimator(est)
    params = {}
    for key, value in est.params.items():
        if key == "callback" or (key == "scoring" and callable(value)):
            continue  # code, not data: a loaded estimator gets the default (None)
        if key == "random_state" and not (value is None or isinstance(value, (int, np.integer))):
            value = None  # a RandomState object: its state is not part of the model
        params[key] = enc.encode(value, f"{prefix}param.{key}")
    attrs = {}
    for key, value in est.attributes.items():
        with contextlib.suppress(TypeError):  # a fitted object that is not data (no prediction needs it)
            attrs[key] = enc.encode(value, f"{prefix}attr.{key}")
    return {"class": est.kind, "params": params, "attributes": attrs, "state": dict(est.state),
            "network": _network_meta(est.network, enc, prefix)}


def _check_attributes(attrs: dict, net: Any, where: str) -> None:
    n_in, takes = attrs.get("n_features_in_", net.sizes[0]), net.sizes[0]
    if not is_int(n_in) or n_in != takes:
        raise ModelFileError(f"{where}: n_features_in_ is {n_in!r} but the network takes {takes} inputs")
    classes = attrs.get("classes_")
    if classes is not None:
        classes = np.asarray(classes)
        values = classes.tolist() if classes.ndim == 1 else []
        if classes.ndim != 1 or len(set(values)) != len(values) or not all(
            v == v and v not in (math.inf, -math.inf) for v in values if isinstance(v, float)
        ):
            raise ModelFileError(f"{where}: classes_ must list each class once, each a finite value")
    curve = attrs.get("loss_curve_")
    if curve is not None and not _is_curve(curve):
        raise ModelFileError(f"{where}: loss_curve_ must be a list of numbers")


def _fitted_from_meta(meta: Any, arrays: dict, where: str) -> Any:
    """The :class:`FittedMLP` record of an estimator section (no scikit-learn import)."""
    from deltaprop.estimators.fitted import DERIVED, FittedMLP

    _require(meta, where, **{"class": str, "params": dict, "attributes": dict, "network": dict})
    if meta["class"] not in ESTIMATOR_CLASSES:
        raise ModelFileError(f"{where}: unknown estimator class {meta['class']!r}")
    net = _network_from_meta(meta["network"], arrays, f"{where}.network")
    attrs = _decode(meta["attributes"], arrays, f"{where}.attributes")
    _check_attributes(attrs, net, where)
    params = _decode(meta["params"], arrays, f"{where}.params")
    state = meta.get("state", {})
    if not isinstance(state, dict):
        raise ModelFileError(f"{where}.state must be a mapping")
    for key, value in attrs.items():
        if not (isinstance(key, str) and key.endswith("_") and not key.startswith("_")) or key in DERIVED:
            raise ModelFileError(f"{where}: unexpected attribute {key!r}")
        if key == "gradient_norms_":
            attrs[key] = _gradient_norms(value, f"{where}.gradient_norms_")
    try:
        return FittedMLP(meta["class"], params, net, attrs, state).check()
    except ValueError as e:
        raise ModelFileError(f"{where}: {e}") from e


def estimator_of(fitted: Any, where: str = "estimator") -> Any:
    """The estimator of a :class:`FittedMLP` record read from a file (ModelFileError if it does not fit)."""
    from deltaprop.estimators.mlp import from_record

    try:
        return from_record(fitted)
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"{where}: {e}") from e


def _gradient_norms(value: Any, where: str) -> list:
    """A list of ``{layer: ‖∂E/∂W^(l)‖}`` (keys made ints)."""
    if not isinstance(value, list) or not all(isinstance(g, dict) for g in value):
        raise ModelFileError(f"{where} must be a list of mappings")
    out = []
    for g in value:
        if not all(
            (is_int(k) or (isinstance(k, str) and k.isdigit())) and _is_number(v) for k, v in g.items()
        ):
            raise ModelFileError(f"{where} must map layer numbers to numbers")
        out.append({int(k): v for k, v in g.items()})
    return out


def model_meta(model: Any, enc: Encoder) -> Meta:
    """The metadata's ``model`` section for ``model``; its arrays go into ``enc.arrays``."""
    from deltaprop.core.network import Network
    from deltaprop.tabular.model import TabularModel

    if isinstance(model, Network):
        return {"kind": "network", "network": _network_meta(model, enc)}
    if isinstance(model, TabularModel):
        estimator = _estimator_meta(model.fitted, enc, "estimator.")
        return {"kind": "tabular", "task": model.task, "features": model.features.to_dict(),
                "target": model.target.to_dict(), "estimator": estimator,
                "history": enc.encode(model.history, "history")}
    cls = type(model).__name__
    if cls in ESTIMATOR_CLASSES:
        if not hasattr(model, "network_"):
            raise UserError(f"this {cls} is not fitted; call fit before saving it")
        return {"kind": "estimator", "estimator": _estimator_meta(model, enc, "")}
    raise UserError(
        f"cannot save a {cls}; deltaprop.save takes a Network, a fitted deltaprop MLPRegressor or "
        f"MLPClassifier, or a model trained by the deltaprop command"
    )


def model_from_meta(meta: Meta, arrays: dict[str, np.ndarray]) -> Any:
    """The model that the ``model`` section ``meta`` and its ``arrays`` describe, every value checked."""
    from deltaprop.tabular.model import FeatureEncoder, TabularModel, TargetEncoder

    kind = meta["kind"]
    if kind == "network":
        return _network_from_meta(meta.get("network"), arrays, "network")
    if kind == "estimator":
        return estimator_of(_fitted_from_meta(meta.get("estimator"), arrays, "estimator"))
    _require(meta, "model", task=str, features=dict, target=dict, estimator=dict)
    _check_features(meta["features"])
    _check_target(meta["target"], meta["task"])
    features = FeatureEncoder.from_dict(meta["features"])
    target = TargetEncoder.from_dict(meta["target"])
    # the estimator (its class imports scikit-learn) is made when first asked for: predicting
    # needs only the record, decoded and checked here
    fitted = _fitted_from_meta(meta["estimator"], arrays, "estimator")
    n_in = fitted.network.sizes[0]
    if features.n_inputs != n_in:
        raise ModelFileError(
            f"the preprocessing makes {features.n_inputs} inputs but the network takes {n_in}")
    _check_task_agrees(meta["task"], meta["target"], fitted)
    history = _decode(meta.get("history", {}), arrays, "history")
    _check_history(history, fitted.network.n_parameters)
    return TabularModel(features, target, fitted, history=history, make_estimator=estimator_of)


def _check_task_agrees(task: str, target: Meta, fitted: Any) -> None:
    expected = "MLPClassifier" if task == "classification" else "MLPRegressor"
    if fitted.kind != expected:
        raise ModelFileError(f"the task is {task} but the model holds an {fitted.kind}")
    n_out = fitted.network.sizes[-1]
    if task == "regression" and len(target["names"]) != n_out:
        raise ModelFileError(
            f"the model names {len(target['names'])} targets but the network has {n_out} outputs")
    if task == "classification":
        from deltaprop.core.classes import n_outputs

        # FittedMLP.check made sure that there are classes
        if len(target["names"]) != 1 or n_outputs(len(fitted.attributes["classes_"])) != n_out:
            raise ModelFileError(
                "the classifier's target, classes and outputs disagree (one target column, "
                "one output per class, or one output for two classes)"
            )


def _check_features(features: Meta) -> None:
    _require(features, "features", impute=bool, columns=list)
    for c in features["columns"]:
        _require(c, "a feature column", name=str, kind=str)
        name, kind = c["name"], c["kind"]
        if kind not in ("numeric", "categorical"):
            raise ModelFileError(f"feature {name!r} has an unknown kind {kind!r}")
        known = {"mean", "scale", "fill"} if kind == "numeric" else {"categories"}
        if set(c) - {"name", "kind"} - known:
            raise ModelFileError(f"feature {name!r} has unknown entries")
        if kind == "numeric":
            if not (_finite(c.get("mean")) and _finite(c.get("scale"))):
                raise ModelFileError(f"feature {name!r} has a malformed mean or scale")
            if not c["scale"] > 0:
                raise ModelFileError(f"feature {name!r} has a non-positive scale")
            if c.get("fill") is not None and not _finite(c["fill"]):
                raise ModelFileError(f"feature {name!r} has a malformed fill value")
            continue
        cats = c.get("categories")
        if not isinstance(cats, list) or not all(isinstance(v, (str, int, float)) for v in cats):
            raise ModelFileError(f"feature {name!r} has malformed categories (a flat list of labels)")
        if len(set(map(repr, cats))) != len(cats):
            raise ModelFileError(f"feature {name!r} lists a category twice")


def _check_target(target: Meta, task: str) -> None:
    _require(target, "target", names=list, task=str)
    if task not in ("regression", "classification") or target["task"] != task:
        raise ModelFileError(f"unknown task {task!r}")
    names = target["names"]
    if not names or not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise ModelFileError("the target names are malformed (distinct, non-empty names)")
    if task != "regression":
        return
    mean, scale = target.get("mean"), target.get("scale")
    for values in (mean, scale):
        if not (isinstance(values, list) and len(values) == len(names) and all(map(_finite, values))):
            raise ModelFileError("the target scaling is malformed (one finite mean and scale per target)")
    if not all(s > 0 for s in scale):  # type: ignore[union-attr]
        raise ModelFileError("the target scaling is malformed (a non-positive scale)")


def _is_curve(v: Any) -> bool:
    return isinstance(v, list) and all(_is_number(x) for x in v)


def _check_history(history: Any, n_params: int) -> None:
    if not isinstance(history, dict):
        raise ModelFileError("the training history must be a mapping")
    for key in ("loss_curve", "validation_loss_curve", "validation_score_curve"):
        if key in history and not _is_curve(history[key]):
            raise ModelFileError(f"the training history's {key} must be a list of numbers")
    if "gradient_norms" in history:
        history["gradient_norms"] = _gradient_norms(history["gradient_norms"], "history.gradient_norms")
    checks: dict[str, Callable[[Any], bool]] = {
        "best_epoch": lambda v: v is None or is_int(v),
        "epochs": is_int,
        "stopped_early": lambda v: isinstance(v, bool),
        "metrics": lambda v: (
            isinstance(v, dict)
            and all(isinstance(m, dict) and all(_is_number(x) for x in m.values()) for m in v.values())
        ),
        "monitor": lambda v: isinstance(v, dict),
        "run": lambda v: isinstance(v, dict) and isinstance(v.get("options", {}), dict),
        "checkpoint": lambda v: isinstance(v, dict) and all(
            np.shape(v.get(k, ())) == (n_params,) for k in ("current_theta", "best_theta")),
    }
    for key, ok in checks.items():
        if key in history and not ok(history[key]):
            raise ModelFileError(f"the training history's {key} is malformed")
    rows = history.get("run", {}).get("validation_rows")
    if rows is not None:
        rows = np.asarray(rows)
        if rows.size and (rows.ndim != 1 or rows.dtype.kind not in "iu" or rows.min() < 0
                          or len(np.unique(rows)) != rows.size):
            raise ModelFileError("the training history's validation rows are malformed "
                                 "(distinct row numbers from 0)")
