"""Forging model files for the loader's tests: zips written byte by byte, with any sizes, methods
and flags, and deflate streams that unpack to far more than they hold."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import struct
import zipfile
import zlib

import numpy as np


def entries_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, allow_pickle=False)
    return buf.getvalue()


def npy_header(shape: tuple, dtype: str = "<f8") -> bytes:
    """The bytes of an ``.npy`` header (version 1.0) for an array of ``shape``."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def forge_checksums(entries: dict[str, bytes], doc_edit=None) -> dict[str, bytes]:
    """Recompute the manifest's and the metadata's checksums, as a careful forger would."""
    doc = json.loads(entries["deltaprop.json"])
    if doc_edit is not None:
        doc_edit(doc)
    manifest = doc.get("arrays") if isinstance(doc, dict) else None
    for name, spec in (manifest if isinstance(manifest, dict) else {}).items():
        blob = entries.get(f"arrays/{name}.npy")
        if blob is not None and isinstance(spec, dict):
            spec["sha256"] = hashlib.sha256(blob).hexdigest()
    meta = json.dumps(doc).encode()
    entries["deltaprop.json"] = meta
    entries["deltaprop.json.sha256"] = hashlib.sha256(meta).hexdigest().encode()
    return entries


def zip_of(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as z:
        for n, b in entries.items():
            z.writestr(n, b)
    return buf.getvalue()


class Member:
    """One zip member as raw parts: what the headers claim may differ from the data."""

    def __init__(self, name, payload, *, method=8, crc=0, file_size=0, flags=0):
        self.name = name.encode()
        self.payload = payload  # the bytes as stored (already compressed for method 8)
        self.method, self.crc, self.file_size, self.flags = method, crc, file_size, flags

    @classmethod
    def deflated(cls, name: str, data: bytes, **claims) -> Member:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        payload = c.compress(data) + c.flush()
        member = cls(name, payload, crc=zlib.crc32(data), file_size=len(data))
        for k, v in claims.items():
            setattr(member, k, v)
        return member


def raw_zip(members: list[Member]) -> bytes:
    """A zip archive written byte by byte from ``members``' claimed headers and payloads."""
    out = io.BytesIO()
    central = io.BytesIO()
    for m in members:
        offset = out.tell()
        # what the local and the central header share: flags, method, time, date, CRC, sizes, name length
        shared = (m.flags, m.method, 0, 0x21, m.crc, len(m.payload), m.file_size, len(m.name))
        out.write(struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, *shared, 0))
        out.write(m.name)
        out.write(m.payload)
        central.write(
            struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, *shared, 0, 0, 0, 0, 0o644 << 16,
                        offset)
        )
        central.write(m.name)
    start = out.tell()
    cd = central.getvalue()
    out.write(cd)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(cd), start, 0))
    return out.getvalue()


@functools.lru_cache(maxsize=4)
def deflate_bomb(head: bytes, zeros: int) -> tuple[bytes, int, int]:
    """(raw deflate stream, CRC-32, size) of ``head`` followed by ``zeros`` NUL bytes.

    Built from one compressed MiB of zeros repeated (each block starts afresh after a full
    flush), so a GiB costs about a MiB and no time to make.
    """
    mib = 1 << 20
    assert zeros % mib == 0
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(b"\0" * mib) + c.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(head)
    chunk = b"\0" * mib
    for _ in range(zeros // mib):
        crc = zlib.crc32(chunk, crc)
    return first + block * (zeros // mib) + b"\x03\x00", crc, len(head) + zeros
