"""Model files: ``deltaprop.save(model, path)`` and ``deltaprop.load(path)``, with no pickle anywhere.

A model file (``.dpm`` by convention) is a zip archive, readable by
``numpy.load(path, allow_pickle=False)`` as well as by :func:`load`:

- ``deltaprop.json`` — the metadata: format name and version, deltaprop version, what kind of
  model it is (``network``, ``estimator`` or ``tabular``), the architecture, the estimator's
  class and parameters, the preprocessing, feature names, classes, training history, and a
  manifest of the arrays (name, dtype, shape, SHA-256 of the ``.npy`` bytes);
- ``deltaprop.json.sha256`` — the SHA-256 of ``deltaprop.json``;
- ``arrays/<name>.npy`` — every array (weights ``W_<l>``, ``b_<l>`` in the seed's
  orientation, and any numeric fitted attribute), in numpy's ``.npy`` format, never an
  object array.

Loading reads only those entries, parses JSON and ``.npy`` with ``allow_pickle=False``,
checks both checksums, the schema, every array's dtype and shape against the architecture,
and the format version; anything else raises :class:`ModelFileError` (a UserError) with one
line saying what is wrong and what to do.  Nothing in a model file is ever executed.

Saving is atomic: the archive is written to a temporary file in the target's directory,
flushed and fsync'ed, then renamed over the target with ``os.replace``.  A crash, a full
disk or Ctrl-C leaves the previous file byte for byte as it was.

The format is documented in ``docs/model-format.md``.
"""

from __future__ import annotations

import hashlib
import io as _io
import json
import math
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from deltaprop.errors import UserError

__all__ = [
    "save",
    "load",
    "ModelFileError",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "read_metadata",
    "model_from_metadata",
    "copy_estimator",
    "write_atomic",
    "model_bytes",
]

FORMAT_NAME = "deltaprop-model"
FORMAT_VERSION = 1
META = "deltaprop.json"
META_SUM = "deltaprop.json.sha256"
ARRAY_DIR = "arrays/"
#: refuse archives whose metadata or arrays claim to be larger than this (no zip bombs)
MAX_META_BYTES = 64 << 20
MAX_ARRAY_BYTES = 8 << 30
ALLOWED_DTYPES = {"float32", "float64", "int64", "int32", "bool"}
KINDS = ("network", "estimator", "tabular")
ESTIMATOR_CLASSES = ("MLPRegressor", "MLPClassifier")
# Fitted attributes that the weights themselves give back (never stored twice).
_DERIVED = {"network_", "coefs_", "intercepts_"}


class ModelFileError(UserError):
    """A file that is not a valid deltaprop model (the message says why and what to do)."""


# ---------------------------------------------------------------------- values ↔ JSON + arrays
class _Encoder:
    """Turns Python/numpy values into JSON nodes, moving numeric arrays out to ``.npy`` entries.

    Nodes: null, bool, int, str, finite float; ``{"$float": "nan"|"inf"|"-inf"}``;
    lists; ``{"$tuple": [...]}``; ``{"$dict": [[key, value], ...]}`` for non-string keys;
    ``{"$array": name}`` for a numeric ndarray stored as ``arrays/<name>.npy``;
    ``{"$strarray": [...]}`` for an array of text.  Anything else cannot be saved.
    """

    def __init__(self):
        self.arrays = {}

    def array(self, name, value):
        value = np.asarray(value)
        if value.dtype.name not in ALLOWED_DTYPES:
            raise TypeError(f"cannot store an array of dtype {value.dtype} ({name})")
        if name in self.arrays:
            raise ValueError(f"two arrays named {name!r}")
        self.arrays[name] = np.ascontiguousarray(value)
        return {"$array": name}

    def encode(self, value, name):
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
        if isinstance(value, tuple):
            return {"$tuple": [self.encode(v, f"{name}.{k}") for k, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.encode(v, f"{name}.{k}") for k, v in enumerate(value)]
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("$") for k in value):
                return {k: self.encode(v, f"{name}.{k}") for k, v in value.items()}
            return {
                "$dict": [
                    [self.encode(k, f"{name}.key"), self.encode(v, f"{name}.{k}")] for k, v in value.items()
                ]
            }
        raise TypeError(f"cannot store {type(value).__name__} ({name})")


def _decode(node, arrays, where):
    if node is None or isinstance(node, (bool, str, int, float)):
        return node
    if isinstance(node, list):
        return [_decode(v, arrays, where) for v in node]
    if not isinstance(node, dict):
        raise ModelFileError(f"unexpected value in {where}")
    if any(k.startswith("$") for k in node):
        if "$float" in node and node["$float"] in ("nan", "inf", "-inf"):
            return float(node["$float"])
        if "$tuple" in node and isinstance(node["$tuple"], list):
            return tuple(_decode(v, arrays, where) for v in node["$tuple"])
        if "$list" in node and isinstance(node["$list"], list):
            return np.array([_decode(v, arrays, where) for v in node["$list"]], dtype=object)
        if "$dict" in node and isinstance(node["$dict"], list):
            out = {}
            for pair in node["$dict"]:
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise ModelFileError(f"malformed mapping in {where}")
                key = _decode(pair[0], arrays, where)
                if isinstance(key, list):
                    key = tuple(key)
                out[key] = _decode(pair[1], arrays, where)
            return out
        if "$array" in node:
            name = node["$array"]
            if name not in arrays:
                raise ModelFileError(f"{where} refers to a missing array {name!r}")
            return arrays[name]
        if "$strarray" in node and isinstance(node["$strarray"], list):
            values = node["$strarray"]
            if not all(isinstance(v, str) for v in values):
                raise ModelFileError(f"malformed text array in {where}")
            shape = tuple(node.get("shape", [len(values)]))
            return np.array(values, dtype=str).reshape(shape) if values else np.array([], dtype=str)
        raise ModelFileError(f"unknown entry {sorted(node)} in {where}")
    return {k: _decode(v, arrays, f"{where}.{k}") for k, v in node.items()}


# ---------------------------------------------------------------------- model ↔ metadata
def _network_meta(net, enc, prefix=""):
    for l in net.layers:
        enc.array(f"{prefix}W_{l}", net.W[l])
        enc.array(f"{prefix}b_{l}", net.b[l])
    return {
        "sizes": list(net.sizes),
        "activation": list(net.activation),
        "output": net.output,
        "loss": net.loss_name,
        "dtype": net.dtype.name,
        "arrays_prefix": prefix,
    }


def _network_from_meta(meta, arrays, where):
    from deltaprop.core import activations as _act
    from deltaprop.core import losses as _losses
    from deltaprop.core.network import Network

    _require(meta, where, sizes=list, activation=list, output=str, loss=str, dtype=str, arrays_prefix=str)
    sizes = meta["sizes"]
    if len(sizes) < 2 or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in sizes):
        raise ModelFileError(f"{where}.sizes must list at least two positive layer widths")
    if len(meta["activation"]) != len(sizes) - 2:
        raise ModelFileError(f"{where}.activation must name one activation per hidden layer")
    for name in meta["activation"]:
        if name not in _act.HIDDEN_ACTIVATIONS:
            raise ModelFileError(f"{where}: unknown activation {name!r}")
    if meta["loss"] not in _losses.LOSSES:
        raise ModelFileError(f"{where}: unknown loss {meta['loss']!r}")
    if meta["output"] not in _losses.ALLOWED_OUTPUTS[meta["loss"]]:
        raise ModelFileError(f"{where}: output {meta['output']!r} does not go with loss {meta['loss']!r}")
    if meta["dtype"] not in ("float32", "float64"):
        raise ModelFileError(f"{where}: dtype must be float32 or float64")
    prefix = meta["arrays_prefix"]
    W, b = {}, {}
    for l in range(2, len(sizes) + 1):
        for key, shape, store in (
            (f"W_{l}", (sizes[l - 1], sizes[l - 2]), W),
            (f"b_{l}", (sizes[l - 1],), b),
        ):
            a = arrays.get(prefix + key)
            if a is None:
                raise ModelFileError(f"the weights {prefix + key} are missing")
            if a.shape != shape or a.dtype.name != meta["dtype"]:
                raise ModelFileError(
                    f"the weights {prefix + key} have shape {a.shape} and dtype {a.dtype}; the architecture "
                    f"says {shape} and {meta['dtype']}"
                )
            if not np.isfinite(a).all():
                raise ModelFileError(f"the weights {prefix + key} are not all finite")
            store[l] = a
    activation = meta["activation"] if meta["activation"] else "identity"
    return Network.from_weights(W, b, activation=activation, output=meta["output"], loss=meta["loss"])


def _require(meta, where, **types):
    if not isinstance(meta, dict):
        raise ModelFileError(f"{where} must be a mapping")
    for key, typ in types.items():
        if key not in meta:
            raise ModelFileError(f"{where} lacks {key!r}")
        if not isinstance(meta[key], typ) or (typ is int and isinstance(meta[key], bool)):
            raise ModelFileError(f"{where}.{key} must be a {typ.__name__}")


def _estimator_meta(est, enc, prefix):
    cls = type(est).__name__
    if cls not in ESTIMATOR_CLASSES or not hasattr(est, "network_"):
        raise TypeError(f"cannot save {cls}")
    params = {}
    for key, value in est.get_params(deep=False).items():
        if key == "callback":
            continue
        if key == "random_state" and not (value is None or isinstance(value, (int, np.integer))):
            value = None  # a RandomState object: its state is not part of the model
        params[key] = enc.encode(value, f"{prefix}param.{key}")
    attrs = {}
    for key, value in vars(est).items():
        if not key.endswith("_") or key.startswith("_") or key in _DERIVED:
            continue
        try:
            attrs[key] = enc.encode(value, f"{prefix}attr.{key}")
        except TypeError:
            continue  # a fitted object that is not data (nothing a prediction needs)
    return {
        "class": cls,
        "params": params,
        "attributes": attrs,
        "state": est._fitted_state(),
        "network": _network_meta(est.network_, enc, prefix),
    }


def _estimator_from_meta(meta, arrays, where):
    _require(meta, where, **{"class": str, "params": dict, "attributes": dict, "network": dict})
    cls_name = meta["class"]
    if cls_name not in ESTIMATOR_CLASSES:
        raise ModelFileError(f"{where}: unknown estimator class {cls_name!r}")
    from deltaprop.estimators import mlp as estimators

    cls = getattr(estimators, cls_name)
    params = _decode(meta["params"], arrays, f"{where}.params")
    try:
        est = cls(**params)
        est._validate_params()
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"{where}: the parameters do not fit {cls_name} ({e})") from e
    net = _network_from_meta(meta["network"], arrays, f"{where}.network")
    attrs = _decode(meta["attributes"], arrays, f"{where}.attributes")
    state = meta.get("state", {})
    if not isinstance(state, dict):
        raise ModelFileError(f"{where}.state must be a mapping")
    for key, value in attrs.items():
        if not (isinstance(key, str) and key.endswith("_") and not key.startswith("_")) or key in _DERIVED:
            raise ModelFileError(f"{where}: unexpected attribute {key!r}")
        if key == "gradient_norms_" and isinstance(value, list):
            value = [{int(k): v for k, v in g.items()} if isinstance(g, dict) else g for g in value]
        setattr(est, key, value)
    try:
        est._restore_fitted_state(net, state)
    except ValueError as e:
        raise ModelFileError(f"{where}: {e}") from e
    return est


def copy_estimator(est):
    """An independent copy of a fitted estimator, made through the model format (no pickle)."""
    enc = _Encoder()
    meta = json.loads(json.dumps(_estimator_meta(est, enc, "")))
    arrays = {name: a.copy() for name, a in enc.arrays.items()}
    return _estimator_from_meta(meta, arrays, "estimator")


def _model_meta(model, enc):
    from deltaprop.core.network import Network
    from deltaprop.tabular.model import TabularModel

    if isinstance(model, Network):
        return {"kind": "network", "network": _network_meta(model, enc)}
    if isinstance(model, TabularModel):
        return {
            "kind": "tabular",
            "task": model.task,
            "features": model.features.to_dict(),
            "target": model.target.to_dict(),
            "estimator": _estimator_meta(model.estimator, enc, "estimator."),
            "history": enc.encode(model.history, "history"),
        }
    cls = type(model).__name__
    if cls in ESTIMATOR_CLASSES:
        if not hasattr(model, "network_"):
            raise UserError(f"this {cls} is not fitted; call fit before saving it")
        return {"kind": "estimator", "estimator": _estimator_meta(model, enc, "")}
    raise UserError(
        f"cannot save a {cls}; deltaprop.save takes a Network, a fitted deltaprop MLPRegressor or "
        f"MLPClassifier, or a model trained by the deltaprop command"
    )


def _model_from_meta(meta, arrays):
    from deltaprop.tabular.model import FeatureEncoder, TabularModel, TargetEncoder

    kind = meta["kind"]
    if kind == "network":
        return _network_from_meta(meta.get("network"), arrays, "network")
    if kind == "estimator":
        return _estimator_from_meta(meta.get("estimator"), arrays, "estimator")
    _require(meta, "model", task=str, features=dict, target=dict, estimator=dict)
    try:
        features = FeatureEncoder.from_dict(meta["features"])
        target = TargetEncoder.from_dict(meta["target"])
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"the preprocessing section is malformed ({e})") from e
    _check_preprocessing(features, target, meta["task"])
    est = _estimator_from_meta(meta["estimator"], arrays, "estimator")
    n_in = est.network_.sizes[0]
    if features.n_inputs != n_in:
        raise ModelFileError(
            f"the preprocessing makes {features.n_inputs} inputs but the network takes {n_in}"
        )
    history = _decode(meta.get("history", {}), arrays, "history")
    return TabularModel(features, target, est, history=history)


def _check_preprocessing(features, target, task):
    if task not in ("regression", "classification") or target.task != task:
        raise ModelFileError(f"unknown task {task!r}")
    for c in features.columns:
        if not isinstance(c.name, str) or c.kind not in ("numeric", "categorical"):
            raise ModelFileError("a feature column is malformed")
        if c.kind == "numeric":
            for v in (c.mean, c.scale):
                if not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise ModelFileError(f"feature {c.name!r} has a malformed mean or scale")
            if not c.scale > 0:
                raise ModelFileError(f"feature {c.name!r} has a non-positive scale")
        elif not isinstance(c.categories, list):
            raise ModelFileError(f"feature {c.name!r} has malformed categories")
    if not target.names or not all(isinstance(n, str) for n in target.names):
        raise ModelFileError("the target names are malformed")
    if task == "regression":
        if (
            target.mean is None
            or target.scale is None
            or target.mean.shape != (len(target.names),)
            or target.scale.shape != target.mean.shape
            or not (target.scale > 0).all()
        ):
            raise ModelFileError("the target scaling is malformed")


# ---------------------------------------------------------------------- writing
def _npy_bytes(a):
    buf = _io.BytesIO()
    np.lib.format.write_array(buf, a, allow_pickle=False)
    return buf.getvalue()


def _archive_bytes(meta, arrays):
    from deltaprop import __version__

    blobs = {name: _npy_bytes(a) for name, a in arrays.items()}
    doc = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "deltaprop_version": __version__,
        "model": meta,
        "arrays": {
            name: {
                "dtype": a.dtype.name,
                "shape": list(a.shape),
                "sha256": hashlib.sha256(blobs[name]).hexdigest(),
            }
            for name, a in arrays.items()
        },
    }
    meta_bytes = json.dumps(doc, indent=1, allow_nan=False, ensure_ascii=False).encode("utf-8")
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(META, meta_bytes)
        z.writestr(META_SUM, hashlib.sha256(meta_bytes).hexdigest())
        for name, blob in blobs.items():
            z.writestr(f"{ARRAY_DIR}{name}.npy", blob)
    return buf.getvalue()


def model_bytes(model):
    """The bytes of the model file :func:`save` writes for ``model``."""
    enc = _Encoder()
    meta = _model_meta(model, enc)
    return _archive_bytes(meta, enc.arrays)


def write_atomic(path, data):
    """Write ``data`` to ``path`` all at once: temp file beside it, fsync, os.replace.

    On any failure (including KeyboardInterrupt) the temporary file is removed and ``path``
    is as it was.  A symbolic link at ``path`` is followed: its target is replaced.
    """
    path = Path(os.path.realpath(path))
    parent = path.parent
    if path.is_dir():
        raise UserError(f"{path} is a directory; give a file name for the model")
    if not parent.is_dir():
        raise UserError(f"the directory {parent} does not exist; create it or choose another path")
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    except OSError as e:
        raise UserError(f"cannot write in {parent}: {e.strerror or e}; choose another path") from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise UserError(
                f"cannot write {path}: {e.strerror or e}; free space or choose another path"
            ) from e
        raise
    try:
        dir_fd = os.open(parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def save(model, path):
    """Write ``model`` to ``path`` (a ``.dpm`` file), atomically and without pickle.

    ``model`` is a :class:`~deltaprop.Network`, a fitted ``deltaprop.MLPRegressor`` or
    ``MLPClassifier``, or a :class:`~deltaprop.tabular.model.TabularModel` (what the command trains).
    Returns the path written.
    """
    data = model_bytes(model)
    write_atomic(path, data)
    return Path(path)


# ---------------------------------------------------------------------- reading
def _describe_foreign(head):
    """(what the file is, the fix) for a file that is not a zip archive."""
    fix = "give a model file written by 'deltaprop train' or deltaprop.save"
    if head[:1] == b"\x80" or (head[:1] in (b"(", b"]", b"}", b"c") and b"." in head[:200]):
        return "a Python pickle", "deltaprop never loads pickles (they can run code); " + fix
    if head.startswith(b"\x93NUMPY"):
        return "a bare numpy .npy array", fix
    if head.startswith(b"\x1f\x8b"):
        return "a gzip file", fix
    if head.startswith(b"PAR1"):
        return "a Parquet table (data, not a model)", fix
    if b"\x00" not in head:
        return "a text file", fix
    return "binary data", fix


def read_metadata(path):
    """(metadata dict, arrays dict) of a model file, fully checked; see :func:`load`."""
    path = Path(path)
    name = str(path)
    hint = "re-save the model with deltaprop.save or train it again"
    if not path.exists():
        raise ModelFileError(f"{name}: no such model file; check the path")
    if path.is_dir():
        raise ModelFileError(f"{name} is a directory; give a model file (.dpm)")
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as e:
        raise ModelFileError(f"cannot read {name}: {e.strerror or e}; check its permissions") from e
    if not head:
        raise ModelFileError(f"{name} is empty; {hint}")
    if not head.startswith(b"PK\x03\x04"):
        what, fix = _describe_foreign(head)
        raise ModelFileError(f"{name} is {what}, not a deltaprop model; {fix}")
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            if META not in names:
                raise ModelFileError(f"{name} is a zip archive but not a deltaprop model (no {META}); {hint}")
            info = z.getinfo(META)
            if info.file_size > MAX_META_BYTES:
                raise ModelFileError(f"{name}: the metadata is implausibly large; {hint}")
            meta_bytes = z.read(META)
            if (
                META_SUM not in names
                or z.read(META_SUM).decode("ascii", "replace").strip()
                != hashlib.sha256(meta_bytes).hexdigest()
            ):
                raise ModelFileError(
                    f"{name}: the metadata fails its checksum (the file was changed); {hint}"
                )
            try:
                doc = json.loads(meta_bytes.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                raise ModelFileError(f"{name}: the metadata is not valid JSON; {hint}") from e
            _check_header(doc, name, hint)
            manifest = doc["arrays"]
            arrays = {}
            for array_name, spec in manifest.items():
                arrays[array_name] = _read_array(z, names, array_name, spec, name, hint)
            extra = [
                n
                for n in names
                if n not in (META, META_SUM)
                and not (n.startswith(ARRAY_DIR) and n[len(ARRAY_DIR) : -4] in manifest)
            ]
            if extra:
                raise ModelFileError(
                    f"{name} holds entries that are not part of the format ({extra[0]}); {hint}"
                )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, OSError) as e:
        raise ModelFileError(f"{name} is truncated or corrupted ({e}); {hint}") from e
    return doc, arrays


def _check_header(doc, name, hint):
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise ModelFileError(
            f"{name} is not a deltaprop model (format {doc.get('format')!r}); {hint}"
            if isinstance(doc, dict)
            else f"{name} is not a deltaprop model; {hint}"
        )
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{name} has a malformed format version; {hint}")
    if version > FORMAT_VERSION:
        from deltaprop import __version__

        raise ModelFileError(
            f"{name} was written by a newer deltaprop ({doc.get('deltaprop_version', '?')}, model format "
            f"{version}; this deltaprop {__version__} reads format {FORMAT_VERSION}); upgrade deltaprop"
        )
    model = doc.get("model")
    if not isinstance(model, dict) or model.get("kind") not in KINDS:
        raise ModelFileError(f"{name} does not say what kind of model it holds; {hint}")
    if not isinstance(doc.get("arrays"), dict):
        raise ModelFileError(f"{name} lacks its array manifest; {hint}")


def _read_array(z, names, array_name, spec, name, hint):
    entry = f"{ARRAY_DIR}{array_name}.npy"
    if not isinstance(spec, dict) or entry not in names:
        raise ModelFileError(f"{name}: the array {array_name!r} is missing; {hint}")
    info = z.getinfo(entry)
    if info.file_size > MAX_ARRAY_BYTES:
        raise ModelFileError(f"{name}: the array {array_name!r} is implausibly large; {hint}")
    blob = z.read(entry)
    if hashlib.sha256(blob).hexdigest() != spec.get("sha256"):
        raise ModelFileError(
            f"{name}: the array {array_name!r} fails its checksum (the file was changed); {hint}"
        )
    try:
        a = np.lib.format.read_array(_io.BytesIO(blob), allow_pickle=False)
    except ValueError as e:
        raise ModelFileError(
            f"{name}: the array {array_name!r} is not a plain numeric array ({e}); {hint}"
        ) from e
    if (
        a.dtype.name not in ALLOWED_DTYPES
        or a.dtype.name != spec.get("dtype")
        or list(a.shape) != spec.get("shape")
    ):
        raise ModelFileError(f"{name}: the array {array_name!r} does not match its manifest; {hint}")
    return a


def load(path):
    """Read a model file written by :func:`save`; never runs code from the file.

    Returns what was saved: a Network, a fitted estimator, or a TabularModel.  Raises
    :class:`ModelFileError` for anything that is not an intact deltaprop model file (a pickle,
    a truncated or edited file, a newer format version …).
    """
    doc, arrays = read_metadata(path)
    return model_from_metadata(doc, arrays, path)


def model_from_metadata(doc, arrays, path):
    """The model in ``(doc, arrays)`` as :func:`read_metadata` returned them for ``path``.

    What :func:`load` returns, for a caller that also wants the header without reading and
    checking the file twice; ``path`` only names the file in errors.
    """
    try:
        return _model_from_meta(doc["model"], arrays)
    except ModelFileError as e:
        raise ModelFileError(f"{path}: {e}") from e
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        if isinstance(e, UserError):
            raise
        raise ModelFileError(f"{path} is malformed ({type(e).__name__}: {e}); re-save the model") from e
