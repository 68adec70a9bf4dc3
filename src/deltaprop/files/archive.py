"""Model files: ``deltaprop.save(model, path)`` and ``deltaprop.load(path)``, with no pickle anywhere.

A zip archive of ``deltaprop.json`` (the metadata and the array manifest), its SHA-256, and
``arrays/<name>.npy``; loading reads to a budget the architecture sets and refuses anything else
with :class:`ModelFileError`.  The format, the budget and every refusal: ``docs/model-format.md``.
"""

from __future__ import annotations

import hashlib
import io as _io
import json
import math
import os
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop._memory import available_memory
from deltaprop.errors import UserError
from deltaprop.files import codec
from deltaprop.files.atomic import write_atomic
from deltaprop.files.codec import ModelFileError

__all__ = ["save", "load", "ModelFileError", "FORMAT_NAME", "FORMAT_VERSION", "read_metadata",
           "model_from_metadata", "write_atomic", "model_bytes"]

FORMAT_NAME = "deltaprop-model"
FORMAT_VERSION = 1
META = "deltaprop.json"
META_SUM = "deltaprop.json.sha256"
ARRAY_DIR = "arrays/"
#: the largest metadata a model file may hold, unpacked
MAX_META_BYTES = 16 << 20
#: metadata larger than 1 MiB must not unpack more than this many times its packed size
#: (JSON text deflates about 3–10 times; far more is a bomb, not a model)
MAX_META_RATIO = 64
#: the largest total of arrays a model file may hold (the architecture says how much it needs)
MAX_ARRAY_BYTES = 8 << 30
#: the most bytes an ``.npy`` header may take before the data
MAX_NPY_HEADER = 4096
#: deflate never unpacks more than 1032 bytes per packed byte: a member that claims more is forged
MAX_DEFLATE_RATIO = 1032
#: what loading needs beyond the arrays themselves (the metadata, the zip's buffers, numpy's
#: temporaries for the finiteness check of one array); ``docs/model-format.md``
LOAD_OVERHEAD_BYTES = 64 << 20
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_HINT = "re-save the model with deltaprop.save or train it again"
_CHUNK = 1 << 20


# ---------------------------------------------------------------------- writing
def model_bytes(model: Any) -> bytes:
    """The bytes of the model file :func:`save` writes for ``model``."""
    from deltaprop import __version__

    enc = codec.Encoder()
    meta = codec.model_meta(model, enc)
    blobs, manifest = {}, {}
    for name, a in enc.arrays.items():
        buf = _io.BytesIO()
        np.lib.format.write_array(buf, a, allow_pickle=False)
        blobs[name] = buf.getvalue()
        manifest[name] = {"dtype": a.dtype.name, "shape": list(a.shape),
                          "sha256": hashlib.sha256(blobs[name]).hexdigest()}
    doc = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "deltaprop_version": __version__,
           "model": meta, "arrays": manifest}
    meta_bytes = json.dumps(doc, indent=1, allow_nan=False, ensure_ascii=False).encode("utf-8")
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(META, meta_bytes)
        z.writestr(META_SUM, hashlib.sha256(meta_bytes).hexdigest())
        for name, blob in blobs.items():
            z.writestr(f"{ARRAY_DIR}{name}.npy", blob)
    return buf.getvalue()


def save(model: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` to ``path`` (a ``.dpm`` file), atomically and without pickle.

    ``model`` is a :class:`~deltaprop.Network`, a fitted ``deltaprop.MLPRegressor`` or
    ``MLPClassifier``, or a :class:`~deltaprop.tabular.model.TabularModel` (what the command trains).
    Returns the path written.
    """
    write_atomic(path, model_bytes(model))
    return Path(path)


# ---------------------------------------------------------------------- reading: the container
def _describe_foreign(head: bytes) -> str:
    """'what the file is, not a deltaprop model; the fix' for a file that is not a zip archive."""
    fix = "give a model file written by 'deltaprop train' or deltaprop.save"
    if head[:1] == b"\x80" or (head[:1] in (b"(", b"]", b"}", b"c") and b"." in head[:200]):
        fix = "deltaprop never loads pickles (they can run code); " + fix
        return f"a Python pickle, not a deltaprop model; {fix}"
    starts = {b"\x93NUMPY": "a bare numpy .npy array", b"\x1f\x8b": "a gzip file",
              b"PAR1": "a Parquet table (data, not a model)"}
    what = next((w for magic, w in starts.items() if head.startswith(magic)), None)
    what = what or ("a text file" if b"\x00" not in head else "binary data")
    return f"{what}, not a deltaprop model; {fix}"


def _check_head(path: Path) -> int:
    """Refuse a path that is not a zip archive; returns the file's size."""
    name = str(path)
    if not path.exists():
        raise ModelFileError(f"{name}: no such model file; check the path")
    if path.is_dir():
        raise ModelFileError(f"{name} is a directory; give a model file (.dpm)")
    if not path.is_file():  # a FIFO or a device: opening one could block for ever
        raise ModelFileError(f"{name} is not a regular file (a pipe or a device); give a model file (.dpm)")
    try:
        with open(path, "rb") as f:
            head = f.read(512)
            size = os.fstat(f.fileno()).st_size
    except OSError as e:
        raise ModelFileError(f"cannot read {name}: {e.strerror or e}; check its permissions") from e
    if not head:
        raise ModelFileError(f"{name} is empty; {_HINT}")
    if not head.startswith(b"PK\x03\x04"):
        raise ModelFileError(f"{name} is {_describe_foreign(head)}")
    return size


def _check_members(z: zipfile.ZipFile, file_size: int) -> dict[str, zipfile.ZipInfo]:
    """Every member by name, each a plain name met once, stored or deflated, sized within the file."""
    members: dict[str, zipfile.ZipInfo] = {}
    for info in z.infolist():
        name = info.filename
        stem = name[len(ARRAY_DIR) : -len(".npy")]
        if name not in (META, META_SUM) and not (
            name.startswith(ARRAY_DIR) and name.endswith(".npy") and codec.ARRAY_NAME.fullmatch(stem)
        ):
            raise ModelFileError(f"an entry {name[:80]!r} is not part of the format")
        problem = next((why for bad, why in (
            (name in members, "appears twice"),
            (info.flag_bits & 0x1, "is encrypted"),
            (info.compress_type not in _METHODS, "uses a compression deltaprop does not write"),
            (info.header_offset + info.compress_size > file_size,
             "runs past the end of the file (truncated)"),
            (info.file_size > info.compress_size * MAX_DEFLATE_RATIO + 1024,
             "claims more bytes than its data can hold"),
        ) if bad), None)
        if problem:
            raise ModelFileError(f"the entry {name!r} {problem}")
        members[name] = info
    if META not in members:
        raise ModelFileError(f"a zip archive but not a deltaprop model (no {META})")
    return members


def _read_small(z: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    if info.file_size > limit:
        raise ModelFileError(f"the entry {info.filename!r} is implausibly large")
    with z.open(info) as stream:
        data = stream.read(info.file_size + 1)  # one byte past: to the member's end, where its CRC is checked
    if len(data) != info.file_size:
        raise ModelFileError(f"the entry {info.filename!r} does not have its declared size")
    return data


# ---------------------------------------------------------------------- reading: metadata
def _read_doc(z: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo]) -> dict:
    info = members[META]
    if info.file_size > (1 << 20) and info.file_size > info.compress_size * MAX_META_RATIO:
        raise ModelFileError("the metadata unpacks to far more than it holds (a zip bomb)")
    meta_bytes = _read_small(z, info, MAX_META_BYTES)
    checksum = _read_small(z, members[META_SUM], 128) if META_SUM in members else b""
    if checksum.decode("ascii", "replace").strip() != hashlib.sha256(meta_bytes).hexdigest():
        raise ModelFileError("the metadata fails its checksum (the file was changed)")
    try:
        doc = json.loads(meta_bytes.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError as e:
        raise ModelFileError(f"the metadata is nested more than {codec.MAX_DEPTH} levels deep") from e
    except (UnicodeDecodeError, ValueError) as e:
        raise ModelFileError("the metadata is not valid JSON") from e
    codec.check_depth(doc)
    _check_header(doc)
    return doc


def _no_constant(name: str) -> None:
    # NaN and Infinity are not JSON (the writer tags them as {"$float": …})
    raise ValueError(f"{name} is not JSON")


def _check_header(doc: Any) -> None:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        found = f" (format {str(doc.get('format'))[:40]!r})" if isinstance(doc, dict) else ""
        raise ModelFileError(f"not a deltaprop model{found}")
    version = doc.get("format_version")
    if not codec.is_int(version) or version < 1:
        raise ModelFileError("the format version is malformed")
    if version > FORMAT_VERSION:
        from deltaprop import __version__

        written = str(doc.get("deltaprop_version", "?"))[:20]
        raise ModelFileError(
            f"was written by a newer deltaprop ({written}, model format {version}; this deltaprop "
            f"{__version__} reads format {FORMAT_VERSION}); upgrade deltaprop"
        )
    model = doc.get("model")
    if not isinstance(model, dict) or model.get("kind") not in codec.KINDS:
        raise ModelFileError("the metadata does not say what kind of model it holds")
    if not isinstance(doc.get("arrays"), dict):
        raise ModelFileError("the array manifest is missing")


def _budget(doc: dict, members: dict[str, zipfile.ZipInfo]) -> dict[str, tuple[tuple, np.dtype, str]]:
    """name → (shape, dtype, sha256) of every array, all agreeing with the architecture and the zip."""
    expected = codec.expected_arrays(doc["model"])
    manifest, plan, total = doc["arrays"], {}, 0
    for name, spec in manifest.items():
        if name not in expected:
            raise ModelFileError(f"the manifest lists an array {name[:80]!r} that the model does not use")
        if not isinstance(spec, dict) or not expected[name].allows(spec.get("shape"), spec.get("dtype")):
            raise ModelFileError(f"the array {name!r} does not have the shape and dtype its "
                                 "architecture says")
        digest = spec.get("sha256")
        if not isinstance(digest, str) or len(digest) != 64:
            raise ModelFileError(f"the array {name!r} lacks its checksum")
        shape, dtype = tuple(spec["shape"]), np.dtype(spec["dtype"])
        total += math.prod(shape) * dtype.itemsize
        plan[name] = (shape, dtype, digest)
    missing = [n for n in expected if n not in manifest]
    if missing:
        raise ModelFileError(f"the array {missing[0]!r} is missing")
    if total > MAX_ARRAY_BYTES:
        raise ModelFileError(
            f"the manifest declares {total / 2**30:.3g} GiB of arrays, more than a model file may hold"
        )
    available = available_memory()
    if available is not None and total + LOAD_OVERHEAD_BYTES > available:
        raise UserError(
            f"this model's weights need {total / 2**20:,.0f} MiB of memory and only "
            f"{available / 2**20:,.0f} MiB is available; load it on a machine with more memory"
        )
    unlisted = [n for n in members if n not in (META, META_SUM) and n[len(ARRAY_DIR) : -4] not in plan]
    if unlisted:
        raise ModelFileError(f"the entry {unlisted[0]!r} is not in the manifest")
    absent = [n for n in plan if f"{ARRAY_DIR}{n}.npy" not in members]
    if absent:
        raise ModelFileError(f"the array {absent[0]!r} is missing")
    return plan


# ---------------------------------------------------------------------- reading: arrays
def _read_array(z: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, plan: tuple) -> np.ndarray:
    shape, dtype, digest = plan
    n_bytes = math.prod(shape) * dtype.itemsize
    if not n_bytes <= info.file_size <= n_bytes + MAX_NPY_HEADER:
        raise ModelFileError(f"the array {name!r} does not have the size its shape says")
    with z.open(info) as stream:
        head = stream.read(info.file_size - n_bytes)  # the .npy header: what is not data
        header = _io.BytesIO(head)
        fmt = np.lib.format
        try:
            version = fmt.read_magic(header)
            read_header = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ModelFileError(f"the array {name!r} is in an unknown .npy version")
            found_shape, fortran, found_dtype = read_header(header, max_header_size=MAX_NPY_HEADER)
        except ModelFileError:
            raise
        except ValueError as e:
            raise ModelFileError(f"the array {name!r} is not a plain numeric array ({_one_line(e)})") from e
        if found_dtype.hasobject or found_dtype.name not in codec.ALLOWED_DTYPES:
            raise ModelFileError(f"the array {name!r} is not a plain numeric array (dtype {found_dtype})")
        if found_dtype != dtype or tuple(found_shape) != shape or fortran:
            raise ModelFileError(f"the array {name!r} does not match its manifest")
        if header.tell() != len(head):
            raise ModelFileError(f"the array {name!r} does not have the size its shape says")
        a = np.empty(shape, dtype=dtype)
        view, done = a.reshape(-1).view(np.uint8), 0
        while done < n_bytes and (chunk := stream.read(min(_CHUNK, n_bytes - done))):
            view[done : done + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
            done += len(chunk)
        # reading on to the member's end checks its CRC
        if done != n_bytes or stream.read(1) != b"":
            raise ModelFileError(f"the array {name!r} is truncated")
    sha = hashlib.sha256(head)
    sha.update(view.data)  # the data in place: no second copy of the array
    if sha.hexdigest() != digest:
        raise ModelFileError(f"the array {name!r} fails its checksum (the file was changed)")
    return a


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:200] or type(e).__name__


def read_metadata(path: str | os.PathLike[str]) -> tuple[dict, dict[str, np.ndarray]]:
    """(metadata dict, arrays dict) of a model file, fully checked; see :func:`load`."""
    path = Path(path)
    file_size = _check_head(path)
    try:
        with zipfile.ZipFile(path) as z:
            members = _check_members(z, file_size)
            doc = _read_doc(z, members)
            plan = _budget(doc, members)
            return doc, {name: _read_array(z, members[f"{ARRAY_DIR}{name}.npy"], name, p)
                         for name, p in plan.items()}
    except ModelFileError as e:
        text = _one_line(e)
        raise ModelFileError(
            f"{path} {text}" if text.startswith("was written") else f"{path}: {text}; {_HINT}"
        ) from e
    except UserError as e:  # not the file's fault (too big for this machine): no re-save hint
        raise UserError(f"{path}: {e}") from e
    except MemoryError as e:
        raise ModelFileError(f"{path}: not enough memory to load this model; {_HINT}") from e
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, OSError) as e:
        raise ModelFileError(f"{path} is truncated or corrupted ({_one_line(e)}); {_HINT}") from e
    except (ValueError, RuntimeError, OverflowError, zlib.error, struct.error) as e:
        # zlib.error, a forged header that numpy or zipfile cannot parse: damage, never a crash
        raise ModelFileError(f"{path} is corrupted ({type(e).__name__}: {_one_line(e)}); {_HINT}") from e


def load(path: str | os.PathLike[str]) -> Any:
    """Read a model file written by :func:`save`; never runs code from the file.

    Returns what was saved: a Network, a fitted estimator, or a TabularModel.  Raises
    :class:`ModelFileError` for anything that is not an intact deltaprop model file (a pickle,
    a truncated or edited file, a newer format version, more than its architecture needs …).
    """
    doc, arrays = read_metadata(path)
    return model_from_metadata(doc, arrays, path)


def model_from_metadata(doc: dict, arrays: dict[str, np.ndarray], path: str | os.PathLike[str]) -> Any:
    """The model in ``(doc, arrays)`` as :func:`read_metadata` returned them for ``path``.

    What :func:`load` returns, for a caller that also wants the header without reading and
    checking the file twice; ``path`` only names the file in errors.
    """
    try:
        return codec.model_from_meta(doc["model"], arrays)
    except ModelFileError as e:
        raise ModelFileError(f"{path}: {_one_line(e)}; {_HINT}") from e
    except UserError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as e:
        raise ModelFileError(
            f"{path} is malformed ({type(e).__name__}: {_one_line(e)}); re-save the model"
        ) from e
