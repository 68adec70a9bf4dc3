"""Reading a table (CSV, TSV, gzip, Parquet, or standard input) into a DataFrame.

pandas' C parser reads the whole file once, inferring each column's type; the precise diagnosis
(which line is short, which header name repeats) runs only when that parse reports a problem.
Rows are counted from 1 after the header (:func:`row_label`); the limits: ``docs/command.rst``.
"""

from __future__ import annotations

import collections
import csv
import gzip
import io
import os
import re
import sys
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from deltaprop.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["read_table", "row_label", "STDIN", "EmptyTable"]

#: the file name that means standard input
STDIN = "-"
PARQUET_SUFFIXES = (".parquet", ".pq")
EXCEL_SUFFIXES = (".xlsx", ".xls", ".xlsm", ".ods")
SAMPLE = 65536
#: the most bytes read at once (a chunk is never longer than LINE_LIMIT)
CHUNK = 1 << 18
#: the longest line a table may have, and how far a gzipped table may expand (GZIP_RATIO
#: times its size, plus GZIP_SLACK): both checked while the bytes stream in, so a file of one
#: endless line or a gzip bomb is refused before it fills memory (docs/command.rst)
LINE_LIMIT = 16 * 2**20
GZIP_RATIO = 100
GZIP_SLACK = 64 * 2**20
_GZIP = b"\x1f\x8b"


class EmptyTable(UserError):
    """The table has no data rows (an empty file, or a header alone)."""


def row_label(frame: pd.DataFrame | None, pos: int) -> str:
    """'row r' (and its line in a CSV file) for the row at 0-based position ``pos``; frames from
    :func:`read_table` keep the file's 0-based row numbers as their index, also when filtered."""
    source = frame.attrs.get("deltaprop_csv") if frame is not None else None
    if source is None:
        return f"row {pos + 1}"
    label = frame.index[pos]  # type: ignore[union-attr]
    r = int(label) + 1 if isinstance(label, (int, np.integer)) else pos + 1
    return f"row {r} (line {r + 1} of {source})"


def _breaks(chunk: bytes) -> tuple[int, int]:
    """The positions of the first and the last line break (``\\n`` or ``\\r``) in ``chunk``; -1: none."""
    firsts = [i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0]
    return (min(firsts) if firsts else -1), max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))


class _Stream(io.RawIOBase):
    """A table's bytes, each line's length (and a gzipped table's total) checked as they pass."""

    def __init__(self, raw: Any, name: str, total_limit: int | None = None, under: Any = None) -> None:
        self.raw, self.name, self.total_limit, self.under = raw, name, total_limit, under
        self.line = self.total = self.lines = 0  # bytes since the last line break, in all; line breaks
        self.error: UserError | None = None

    def readable(self) -> bool:
        return True

    def _refuse(self, message: str) -> None:
        self.error = UserError(message)
        raise self.error

    def readinto(self, buffer: Any) -> int:
        if not len(buffer):
            return 0
        try:
            data = self.raw.read(min(len(buffer), LINE_LIMIT))
        except (OSError, EOFError, zlib.error) as e:
            self._refuse(f"{self.name} is not a readable gzip file ({e}); check the file")
        self.check(data)
        buffer[: len(data)] = data
        return len(data)

    def check(self, data: bytes) -> None:
        self.total += len(data)
        if self.total_limit is not None and self.total > self.total_limit:
            self._refuse(
                f"{self.name} expands to more than {self.total_limit / 2**20:,.0f} MiB when unzipped "
                f"(at most {GZIP_RATIO} times its size, plus {GZIP_SLACK >> 20} MiB); give the table "
                f"unzipped, or as Parquet"
            )
        first, last = _breaks(data)
        longest = self.line + (len(data) if first < 0 else first)
        if longest > LINE_LIMIT:
            self._refuse(
                f"{self.name}: line {self.lines + 1} is longer than {LINE_LIMIT >> 20} MiB, the longest "
                f"line a table may have (binary data, or a file without line breaks?); give a CSV or "
                f"Parquet file"
            )
        if first >= 0:
            self.lines += data.count(b"\n") or 1
            self.line = len(data) - last - 1
        else:
            self.line = longest

    def close(self) -> None:
        self.raw.close()
        if self.under is not None:  # what a GzipFile reads from (it leaves it open)
            self.under.close()
        super().close()


class _Source:
    """A file named on the command line, opened again for each pass; standard input and pipes
    are read once (their lines checked as they come) and kept."""

    def __init__(self, path: str | os.PathLike[str]):
        self.stdin, self.path = str(path) == STDIN, Path(path)
        self.name = "standard input" if self.stdin else str(path)
        self.short_name = "standard input" if self.stdin else self.path.name
        self._data: bytes | None = None

    def open(self) -> Any:
        if self._data is not None:
            return io.BytesIO(self._data)
        if self.stdin:
            return self._keep(sys.stdin.buffer)
        if not self.path.exists():
            raise UserError(f"{self.name}: no such file; check the path (current directory: {os.getcwd()})")
        if self.path.is_dir():
            raise UserError(f"{self.name} is a directory; give a CSV or Parquet file")
        try:
            f = open(self.path, "rb")  # noqa: SIM115
        except OSError as e:
            raise UserError(
                f"cannot read {self.name}: {e.strerror or e}; check the file's permissions"
            ) from e
        if f.seekable():
            return f
        with f:  # a pipe (<(command)) can be read only once
            return self._keep(f)

    def _keep(self, f: Any) -> io.BytesIO:
        head = f.read(SAMPLE)
        parts = [head]
        if head.startswith((_GZIP, b"PAR1")):
            parts.append(f.read())
        else:  # the lines are checked as they come, before they fill memory
            stream = _Stream(f, self.name)
            stream.check(head)
            while data := stream.read(CHUNK):
                parts.append(data)
        self._data = b"".join(parts)
        return io.BytesIO(self._data)

    def stream(self, gz: bool) -> _Stream:
        f = self.open()
        if not gz:
            return _Stream(f, self.name)
        size = len(self._data) if self._data is not None else os.fstat(f.fileno()).st_size
        return _Stream(gzip.GzipFile(fileobj=f), self.name, GZIP_RATIO * size + GZIP_SLACK, under=f)


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A DataFrame of every column of a CSV (or TSV, gzip, or Parquet) file; ``-`` reads stdin.

    Numbers arrive as numbers and any other column as text; the separator is ``,`` unless
    the header line uses ``;``, tab or ``|`` instead.  Raises UserError for a missing,
    unreadable, empty, binary or ragged file (naming the line), a line longer than
    LINE_LIMIT, or a gzipped file that expands too far.  Notes for the user (a Parquet index
    kept as columns) are in ``frame.attrs["deltaprop_notes"]``.
    """
    source = _Source(path)
    with source.open() as f:
        head = f.read(SAMPLE)
    if not head:
        raise EmptyTable(f"{source.name} is empty; give a CSV file with a header line and data rows")
    suffix = source.path.suffix.lower()
    if head.startswith(b"PAR1") or suffix in PARQUET_SUFFIXES:
        frame = _read_parquet(source)
    else:
        _refuse_non_csv(head, suffix, source.name)
        frame = _read_csv(source, head.startswith(_GZIP))
    if frame.shape[1] == 0:
        raise UserError(f"{source.name} has no columns; give a table with a header line")
    _check_unique_names(list(frame.columns), source.name)
    if len(frame) == 0:
        raise EmptyTable(f"{source.name} has a header but no data rows; add data rows")
    return _drop_saved_index(frame)


def _read_parquet(source: _Source) -> pd.DataFrame:
    import pandas as pd

    try:
        frame = pd.read_parquet(source.path if source._data is None else io.BytesIO(source._data),
                                engine="pyarrow")
    except ImportError as e:
        raise UserError(f"reading Parquet ({source.name}) needs pyarrow; pip install pyarrow, or use CSV"
                        ) from e
    except Exception as e:  # pyarrow raises several types for a bad file
        detail = " ".join(str(e).split())
        raise UserError(f"{source.name} is not a readable Parquet file ({detail}); check the file") from e
    notes = []
    index = [str(n) for n in frame.index.names if n is not None]
    if index:  # pandas wrote a named index: its values are columns of the table
        frame = frame.reset_index()
        notes.append(f"{source.name}: the Parquet index {', '.join(map(repr, index))} is read as "
                     f"column(s) of the table; --drop it if it is only a row label")
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    _check_flat_columns(frame, source.name)
    frame.attrs["deltaprop_notes"] = notes
    return frame


def _check_flat_columns(frame: pd.DataFrame, name: str) -> None:
    for c in frame.columns:
        if frame[c].dtype == object:
            nested = frame[c].map(lambda v: isinstance(v, (list, tuple, dict)) or hasattr(v, "__array__"))
            if nested.any():
                raise UserError(
                    f"{name}: column {c!r} holds lists or records, not single values; flatten it into "
                    f"columns of numbers or text, or drop it from the file"
                )


def _refuse_non_csv(head: bytes, suffix: str, name: str) -> None:
    # .xlsx and .ods are zip archives too: the suffix decides before the zip signature
    if suffix in EXCEL_SUFFIXES or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UserError(f"{name} is a spreadsheet workbook; save the sheet as CSV and give that file")
    if head.startswith(b"PK\x03\x04"):
        raise UserError(f"{name} is a zip archive (a deltaprop model?), not a table; give a CSV or Parquet "
                        "file")
    if not head.startswith(_GZIP) and b"\x00" in head:
        raise UserError(f"{name} is a binary file, not a CSV table; give a CSV or Parquet file")


def _sniff_separator(path: Path, header: str) -> str:
    if str(path).lower().endswith((".tsv", ".tsv.gz", ".tab")):
        return "\t"
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] > 0 else ","


def _header(source: _Source, gz: bool) -> str:
    """The whole header line, read on its own (the parser reads it again, from the start)."""
    parts: list[bytes] = []
    with source.stream(gz) as stream:
        while (not parts or _breaks(parts[-1])[0] < 0) and (data := stream.read(CHUNK)):
            parts.append(data)
    head = b"".join(parts).removeprefix(b"\xef\xbb\xbf")
    if b"\x00" in head[:SAMPLE]:
        raise UserError(f"{source.name} is a binary file, not a CSV table; give a CSV or Parquet file")
    end = _breaks(head)[0]
    try:
        return (head if end < 0 else head[:end]).decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{source.name} is not UTF-8 text; save it as a UTF-8 CSV file") from e


def _read_csv(source: _Source, gz: bool) -> pd.DataFrame:
    """Parse a CSV with pandas' C parser (one pass, types inferred), then check its shape."""
    import pandas as pd

    name = source.name
    header = _header(source, gz)
    sep = _sniff_separator(source.path, header)
    with source.stream(gz) as stream:
        try:
            # low_memory=False: one type per column, not one per chunk
            frame = pd.read_csv(stream, sep=sep, encoding="utf-8", skipinitialspace=True, low_memory=False,
                                compression=None)
        except pd.errors.EmptyDataError as e:
            raise EmptyTable(f"{name} has no columns (empty file); give a CSV file with a header line") from e
        except Exception as e:
            if stream.error is not None:  # a limit, met while pandas read
                raise stream.error from None
            if isinstance(e, pd.errors.ParserError):
                raise UserError(_parser_error_message(e, name, sep)) from e
            if isinstance(e, UnicodeDecodeError):
                raise UserError(f"{name} is not UTF-8 text; save it as a UTF-8 CSV file") from e
            if isinstance(e, OSError):
                raise UserError(f"cannot read {name}: {e}; check the file") from e
            raise
    if not isinstance(frame.index, pd.RangeIndex):
        raise UserError(
            f"{name}: the data rows have more fields than the header line ({frame.shape[1]} names); "
            f"add the missing column names to the header"
        )
    frame.columns = [str(c).strip() for c in frame.columns]
    # pandas renamed a second 'a' to 'a.1': the header line as written is what to check
    try:
        names = next(csv.reader([header], delimiter=sep, skipinitialspace=True), [])
        _check_unique_names([h.strip() for h in names], name)
        # a short row leaves its last fields missing: only then is the file read again, line by line
        if frame.shape[1] and frame.iloc[:, -1].isna().to_numpy().any():
            _check_short_rows(source, sep, gz, frame.shape[1])
    except csv.Error as e:
        raise UserError(f"{name} is not a well-formed CSV file ({e}); fix the file") from e
    for column in frame.columns:
        if frame[column].dtype.kind not in "biufc":
            # skipinitialspace takes only the spaces before a value
            frame[column] = frame[column].str.strip()
    frame.attrs["deltaprop_csv"] = source.short_name
    return frame


def _parser_error_message(e: Exception, name: str, sep: str) -> str:
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(e))
    if m:
        expected, line, saw = m.groups()
        return (f"{name}: line {line} has {saw} fields but the header has {expected}; fix that line "
                f"(a stray separator, or a value with '{sep}' that needs quotes)")
    if "out of memory" in str(e):
        return f"{name} has a line too long to read (binary data?); give a CSV or Parquet file"
    return f"{name} is not a well-formed CSV file ({e}); fix the file"


def _check_unique_names(names: list[str], name: str) -> None:
    twice = next((n for n, k in collections.Counter(n for n in names if n).items() if k > 1), None)
    if twice is not None:
        raise UserError(f"{name}: the header names the column {twice!r} more than once; give every column "
                        "its own name")


def _check_short_rows(source: _Source, sep: str, gz: bool, n_fields: int) -> None:
    # pandas fills short rows with missing values: name the first one instead
    with io.TextIOWrapper(source.stream(gz), encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=sep, skipinitialspace=True)
        next(reader, None)
        for row in reader:
            if row and len(row) < n_fields:
                raise UserError(
                    f"{source.name}: line {reader.line_num} has {len(row)} fields but the header has "
                    f"{n_fields}; fix that line (leave a field empty with '{sep}{sep}' if it is missing)"
                )


def _drop_saved_index(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop an unnamed leading column of integers 0, 1, 2, … (an index pandas wrote)."""
    first = frame.columns[0]
    if first == "Unnamed: 0" and frame[first].dtype.kind in "iu" and np.array_equal(
        frame[first].to_numpy(), np.arange(len(frame))
    ):
        return frame.drop(columns=[first])
    return frame
