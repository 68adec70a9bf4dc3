"""Fuzzing the loader and the table reader: whatever the bytes, a model or one clean error.

Each property holds for every generated case: ``deltaprop.load`` returns a model that predicts
(raising at most a UserError on bad input) or raises :class:`ModelFileError` with a one-line
message; ``read_table`` returns a frame or raises UserError.  Any other exception fails.

``DELTAPROP_FUZZ_EXAMPLES`` sets the examples per property (default 40: the whole file runs in
well under a minute); a longer run, e.g. ``DELTAPROP_FUZZ_EXAMPLES=2000``, is described in
docs/model-format.md.  ``DELTAPROP_FUZZ_REPORT=path.json`` writes the tally of outcomes there.
"""

from __future__ import annotations

import collections
import copy
import json
import os
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import deltaprop as dp
from deltaprop.errors import UserError
from deltaprop.files import ModelFileError
from forge import Member, entries_of, forge_checksums, npy, raw_zip, zip_of

EXAMPLES = int(os.environ.get("DELTAPROP_FUZZ_EXAMPLES", "40"))
REPORT = os.environ.get("DELTAPROP_FUZZ_REPORT")
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FORMAT_V1 = Path(__file__).parent / "data" / "model-format-v1"
BASES = {p.name: p.read_bytes() for p in sorted(FORMAT_V1.glob("*.dpm"))}
SAMPLE = pd.DataFrame({"a": [1.0, 2.0, 9.0], "c": ["y", "x", "new"]})
TALLY: collections.Counter = collections.Counter()
PEAK = [0]


@pytest.fixture(scope="module", autouse=True)
def _report():
    for name in BASES:  # imports happen once, outside the memory traced per case
        dp.load(FORMAT_V1 / name)
    yield
    if REPORT:
        Path(REPORT).write_text(json.dumps({"examples": EXAMPLES, "peak_bytes": PEAK[0], **TALLY}, indent=1))


def _check_load(tmp_path: Path, data: bytes, kind: str) -> None:
    """Load ``data``: a working model or one clean ModelFileError line, nothing else."""
    path = tmp_path / "fuzzed.dpm"
    path.write_bytes(data)
    if REPORT:  # tracing slows every allocation: only for the peak the report gives
        tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            model = dp.load(path)
    except ModelFileError as e:
        assert "\n" not in str(e) and str(e).startswith(str(path))
        TALLY[f"{kind}: refused"] += 1
        return
    finally:
        if REPORT:
            PEAK[0] = max(PEAK[0], tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
    TALLY[f"{kind}: loaded"] += 1
    _check_predicts(model)


def _check_predicts(model) -> None:
    """A model that loaded predicts, one output per row, or refuses the input with a UserError."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if hasattr(model, "features"):
                rows = len(model.predict(SAMPLE)), len(SAMPLE)
            elif hasattr(model, "network_"):
                rows = len(model.predict(np.zeros((2, model.network_.sizes[0])))), 2
            else:
                rows = model.forward(np.zeros((2, model.sizes[0]))).y.shape[1], 2
        except UserError:
            return
    assert rows[0] == rows[1], rows


base_names = st.sampled_from(sorted(BASES))


@FUZZ
@given(name=base_names, data=st.data())
def test_bit_flips_are_loaded_or_refused_cleanly(tmp_path, name, data):
    raw = bytearray(BASES[name])
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] ^= 1 << data.draw(st.integers(0, 7))
    _check_load(tmp_path, bytes(raw), "bit flips")


@FUZZ
@given(name=base_names, data=st.data())
def test_truncations_and_overwrites_are_refused_cleanly(tmp_path, name, data):
    raw = BASES[name]
    cut = data.draw(st.integers(0, len(raw)))
    junk = data.draw(st.binary(max_size=64))
    at = data.draw(st.integers(0, cut))
    mutated = raw[:at] + junk + raw[at + len(junk) : cut]
    _check_load(tmp_path, mutated, "truncated or overwritten")


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**40), 10**40),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.sampled_from([{"$float": "nan"}, {"$float": "inf"}, {"$array": "estimator.W_2"}, {"$tuple": []}]),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


def _paths(node, prefix=()):
    """Every (path) to a value inside a JSON document."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


@FUZZ
@given(name=base_names, data=st.data())
def test_forged_metadata_with_good_checksums_loads_or_is_refused_cleanly(tmp_path, name, data):
    entries = entries_of(BASES[name])
    doc = json.loads(entries["deltaprop.json"])
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(data.draw(json_value))  # drawn values may be shared
    entries["deltaprop.json"] = json.dumps(doc).encode()
    _check_load(tmp_path, zip_of(forge_checksums(entries)), "forged JSON")


arrays = st.one_of(
    st.builds(
        lambda shape, dtype, fill: np.full(shape, fill).astype(dtype),
        st.lists(st.integers(0, 6), max_size=3).map(tuple),
        st.sampled_from(["float64", "float32", "int64", "bool", "int8", "complex128", "U3"]),
        st.sampled_from([0.0, 1.0, -1e308, float("nan"), float("inf")]),
    ),
)


@FUZZ
@given(name=base_names, data=st.data())
def test_forged_arrays_with_good_checksums_load_or_are_refused_cleanly(tmp_path, name, data):
    entries = entries_of(BASES[name])
    target = data.draw(st.sampled_from(sorted(n for n in entries if n.startswith("arrays/"))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        entries[target] = npy(data.draw(arrays))
    if data.draw(st.booleans()):  # the manifest follows the forged array, as a careful forger would make it
        doc = json.loads(entries["deltaprop.json"])
        a = np.lib.format.read_array(__import__("io").BytesIO(entries[target]), allow_pickle=False)
        doc["arrays"][target[7:-4]].update(dtype=a.dtype.name, shape=list(a.shape))
        entries["deltaprop.json"] = json.dumps(doc).encode()
    _check_load(tmp_path, zip_of(forge_checksums(entries)), "forged arrays")


@FUZZ
@given(name=base_names, data=st.data())
def test_forged_zip_headers_are_refused_cleanly(tmp_path, name, data):
    members = [Member.deflated(n, b) for n, b in entries_of(BASES[name]).items()]
    m = data.draw(st.sampled_from(members))
    field = data.draw(st.sampled_from(["method", "crc", "file_size", "flags", "name", "payload"]))
    if field == "name":
        m.name = data.draw(st.sampled_from([b"../x.npy", b"arrays/x.npy", b"deltaprop.json", b"a\x00b"]))
    elif field == "payload":
        m.payload = data.draw(st.binary(max_size=256))
    else:
        top = {"method": 99, "flags": 0xFFFF}.get(field, 2**32 - 1)
        setattr(m, field, data.draw(st.integers(0, top)))
    if data.draw(st.booleans()):
        members.append(data.draw(st.sampled_from(members)))
    _check_load(tmp_path, raw_zip(members), "forged zip headers")


# ---------------------------------------------------------------------- tables
cells = st.one_of(
    st.text(max_size=6),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "1e308", "-1e308", "NaN", "\x00", '"', "a,b", "\n", "1,5"]),
)


def _read(tmp_path: Path, name: str, data: bytes, kind: str) -> None:
    from deltaprop.tabular.model import read_table

    path = tmp_path / name
    path.write_bytes(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # a warning would print lines of its own
            frame = read_table(path)
    except UserError as e:
        assert "\n" not in str(e).strip(), str(e)
        TALLY[f"{kind}: refused"] += 1
        return
    assert isinstance(frame, pd.DataFrame), type(frame)
    TALLY[f"{kind}: read"] += 1


@FUZZ
@given(
    rows=st.lists(st.lists(cells, min_size=1, max_size=4), min_size=0, max_size=6),
    sep=st.sampled_from(",;\t|"),
)
def test_generated_csv_tables_are_read_or_refused_cleanly(tmp_path, rows, sep):
    text = "\n".join(sep.join(r) for r in rows)
    _read(tmp_path, "t.csv", text.encode("utf-8", "surrogatepass"), "CSV tables")


@FUZZ
@given(raw=st.binary(max_size=512), suffix=st.sampled_from([".csv", ".parquet", ".tsv", ".gz"]))
def test_random_bytes_as_tables_are_refused_cleanly(tmp_path, raw, suffix):
    _read(tmp_path, "t" + suffix, raw, "random bytes as tables")


@FUZZ
@given(
    column=st.one_of(
        st.lists(st.integers(-5, 5), min_size=1, max_size=5),
        st.lists(st.lists(st.integers(0, 3), max_size=3), min_size=1, max_size=5),
        st.lists(st.dictionaries(st.sampled_from("ab"), st.integers(0, 3)), min_size=1, max_size=5),
        st.lists(st.text(max_size=4) | st.none(), min_size=1, max_size=5),
    ),
    data=st.data(),
)
def test_parquet_tables_with_any_column_types_are_read_or_refused_cleanly(tmp_path, column, data):
    pytest.importorskip("pyarrow")
    buf = __import__("io").BytesIO()
    try:
        pd.DataFrame({"x": column, "y": list(range(len(column)))}).to_parquet(buf)
    except Exception:  # pyarrow cannot write some mixed columns; nothing to read then
        return
    raw = bytearray(buf.getvalue())
    if data.draw(st.booleans()):
        raw[data.draw(st.integers(0, len(raw) - 1))] ^= 0xFF
    _read(tmp_path, "t.parquet", bytes(raw), "Parquet tables")
