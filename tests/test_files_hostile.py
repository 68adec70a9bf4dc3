"""Hostile model files: each one refused with one ModelFileError line, with memory bounded.

The loader reads to the budget the architecture sets: a zip bomb, a forged size, a member or
array the model does not use, a nesting or a value that would break later — none gets past it,
and none makes loading use more than a few MiB beyond the model's own size.
"""

from __future__ import annotations

import hashlib
import json
import math
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.files import ModelFileError
from forge import Member, deflate_bomb, entries_of, forge_checksums, npy, npy_header, raw_zip, zip_of

FORMAT_V1 = Path(__file__).parent / "data" / "model-format-v1"
TABULAR = (FORMAT_V1 / "tabular.ckpt.dpm").read_bytes()
CLASSIFIER = (FORMAT_V1 / "classifier-int.dpm").read_bytes()
GIB = 1 << 30


def _refused(tmp_path, data: bytes, match: str | None = None) -> str:
    path = tmp_path / "hostile.dpm"
    path.write_bytes(data)
    with pytest.raises(ModelFileError) as info:
        dp.load(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    if match is not None:
        assert match in message, message
    return message


def _edited(base: bytes, doc_edit) -> bytes:
    return zip_of(forge_checksums(entries_of(base), doc_edit))


def _peak_of_refusal(tmp_path, data: bytes) -> int:
    """Peak bytes traced while loading ``data`` fails (imports warmed first)."""
    path = tmp_path / "bomb.dpm"
    path.write_bytes(data)
    dp.load(FORMAT_V1 / "tabular.ckpt.dpm")
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError):
            dp.load(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _with_member(base: bytes, member: Member) -> bytes:
    members = [Member.deflated(n, b) for n, b in entries_of(base).items()]
    return raw_zip([*members, member])


# ---------------------------------------------------------------------- bombs: memory stays bounded
def test_an_unlisted_gib_member_is_refused_before_it_is_unpacked(tmp_path):
    stream, crc, size = deflate_bomb(npy_header((GIB // 8,)), GIB)
    data = _with_member(TABULAR, Member("arrays/extra.npy", stream, crc=crc, file_size=size))
    assert len(data) < 2 << 20
    assert _peak_of_refusal(tmp_path, data) < 8 << 20
    _refused(tmp_path, data, "'arrays/extra.npy' is not in the manifest")


def test_a_listed_gib_array_the_model_does_not_use_is_refused_before_it_is_unpacked(tmp_path):
    stream, crc, size = deflate_bomb(npy_header((GIB // 8,)), GIB)

    def listed(doc):
        doc["model"]["history"]["extra"] = {"$array": "extra"}
        doc["arrays"]["extra"] = {"dtype": "float64", "shape": [GIB // 8], "sha256": "0" * 64}

    entries = forge_checksums(entries_of(TABULAR), listed)
    data = raw_zip(
        [Member.deflated(n, b) for n, b in entries.items()]
        + [Member("arrays/extra.npy", stream, crc=crc, file_size=size)]
    )
    assert _peak_of_refusal(tmp_path, data) < 8 << 20
    _refused(tmp_path, data, "model.history.extra holds an array where the format has none")


def test_a_weights_member_that_unpacks_past_its_claimed_size_stops_there(tmp_path):
    entries = entries_of(TABULAR)
    good = entries.pop("arrays/estimator.W_2.npy")
    stream, crc, _ = deflate_bomb(good[:128], GIB)  # the claimed size is the true one's; the data is 1 GiB
    data = raw_zip(
        [Member.deflated(n, b) for n, b in entries.items()]
        + [Member("arrays/estimator.W_2.npy", stream, crc=crc, file_size=len(good))]
    )
    assert _peak_of_refusal(tmp_path, data) < 8 << 20
    _refused(tmp_path, data)


def test_a_metadata_bomb_is_refused_before_it_is_parsed(tmp_path):
    text = entries_of(TABULAR)["deltaprop.json"]
    stream, crc, size = deflate_bomb(text[: text.index(b'"history"')], 15 << 20)  # 15 MiB of NULs
    entries = entries_of(TABULAR)
    data = raw_zip(
        [Member("deltaprop.json", stream, crc=crc, file_size=size)]
        + [Member.deflated(n, b) for n, b in entries.items() if n != "deltaprop.json"]
    )
    assert _peak_of_refusal(tmp_path, data) < 8 << 20
    _refused(tmp_path, data, "zip bomb")


def test_an_architecture_of_terabytes_is_refused_before_anything_is_allocated(tmp_path):
    from deltaprop.files.codec import expected_arrays

    def huge(doc):  # a consistent forgery: every declared shape fits the 10**12-unit layer
        doc["model"]["estimator"]["network"]["sizes"][1] = 10**12
        del doc["model"]["history"]["checkpoint"]
        for name, spec in expected_arrays(doc["model"]).items():
            if name in doc["arrays"]:
                doc["arrays"][name]["shape"] = list(spec.shape)
        del doc["arrays"]["history.checkpoint.current_theta"], doc["arrays"]["history.checkpoint.best_theta"]

    data = _edited(TABULAR, huge)
    assert _peak_of_refusal(tmp_path, data) < 8 << 20
    _refused(tmp_path, data, "more than a model file may hold")


# ---------------------------------------------------------------------- containers
@pytest.mark.parametrize(
    "claims, match",
    [
        ({"method": zipfile.ZIP_LZMA}, "compression deltaprop does not write"),
        ({"method": zipfile.ZIP_BZIP2}, "compression deltaprop does not write"),
        ({"flags": 0x1}, "encrypted"),
        ({"file_size": 10**9}, "claims more bytes than its data can hold"),
    ],
)
def test_zip_members_deltaprop_never_writes_are_refused(tmp_path, claims, match):
    members = [Member.deflated(n, b) for n, b in entries_of(TABULAR).items()]
    for k, v in claims.items():
        setattr(members[-1], k, v)
    _refused(tmp_path, raw_zip(members), match)


def test_a_corrupt_deflate_stream_is_a_model_file_error(tmp_path):
    members = [Member.deflated(n, b) for n, b in entries_of(TABULAR).items()]
    m = next(m for m in members if m.name.endswith(b"W_2.npy"))
    m.payload = bytes([0xFF]) * len(m.payload)
    _refused(tmp_path, raw_zip(members), "corrupted")


@pytest.mark.parametrize("name", ["../evil.npy", "arrays/../../evil.npy", "/etc/evil", "arrays/a b.npy"])
def test_member_names_that_are_not_plain_are_refused(tmp_path, name):
    data = _with_member(TABULAR, Member.deflated(name, b"x"))
    _refused(tmp_path, data, "is not part of the format")


def test_a_member_met_twice_is_refused(tmp_path):
    members = [Member.deflated(n, b) for n, b in entries_of(TABULAR).items()]
    _refused(tmp_path, raw_zip([*members, members[-1]]), "appears twice")


# ---------------------------------------------------------------------- metadata
def test_deeply_nested_json_is_a_model_file_error(tmp_path):
    entries = entries_of(TABULAR)
    doc = json.loads(entries["deltaprop.json"])
    for depth in (40, 5000):  # past the format's limit; past Python's own recursion limit
        doc["model"]["history"]["deep"] = "@"
        text = json.dumps(doc).replace('"@"', "[" * depth + "]" * depth).encode()
        entries["deltaprop.json"] = text
        entries["deltaprop.json.sha256"] = hashlib.sha256(text).hexdigest().encode()
        _refused(tmp_path, zip_of(entries), "nested more than")


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda d: d["arrays"]["estimator.W_2"].update(shape=[10**30]), "shape and dtype"),
        (
            lambda d: d["arrays"].update(extra={"dtype": "float64", "shape": [1], "sha256": "0" * 64}),
            "does not use",
        ),
        (lambda d: d["model"]["estimator"]["attributes"].update(n_features_in_=7), "n_features_in_"),
        (lambda d: d["model"]["history"].update(loss_curve="oops"), "loss_curve"),
        (lambda d: d["model"]["history"].update(gradient_norms=[[1, 2]]), "gradient_norms"),
        (lambda d: d["model"]["history"].update(metrics={"train": "x"}), "metrics"),
        (lambda d: d["model"]["target"].update(mean=[{"$float": "nan"}]), "target scaling"),
        (lambda d: d["model"]["target"].update(scale=[{"$float": "inf"}]), "target scaling"),
        (lambda d: d["model"]["target"].update(mean=[float("nan")]), "not valid JSON"),  # NaN is not JSON
        (lambda d: d["model"]["target"].update(scale=[1e400]), "not valid JSON"),
        (lambda d: d["model"]["features"]["columns"][0].update(mean={"$float": "inf"}), "mean or scale"),
        (lambda d: d["model"]["features"]["columns"][1].update(categories=[["x"], "y", "z"]), "flat list"),
        (lambda d: d["model"]["features"]["columns"][1].update(categories=["x", "x", "z"]), "twice"),
        (lambda d: d["model"]["history"]["checkpoint"].update(epoch=None, best_theta=[1.0]), "checkpoint"),
    ],
)
def test_values_that_would_break_later_are_refused_on_loading(tmp_path, edit, match):
    _refused(tmp_path, _edited(TABULAR, edit), match)


def test_repeated_class_labels_are_refused(tmp_path):
    entries = entries_of(CLASSIFIER)
    entries["arrays/attr.classes_.npy"] = npy(np.array([3, 3]))
    _refused(tmp_path, zip_of(forge_checksums(entries)), "each class once")


def test_the_architecture_decides_which_arrays_exist(tmp_path):
    def drop(doc):
        del doc["arrays"]["estimator.b_3"]

    _refused(tmp_path, _edited(TABULAR, drop), "'estimator.b_3' is missing")


def test_a_bounded_file_still_loads_whole(tmp_path):
    """The budget is the architecture's: a valid file of any shape within it loads."""
    model = dp.load(FORMAT_V1 / "tabular.ckpt.dpm")
    assert math.isfinite(float(model.network_.get_flat().sum()))
