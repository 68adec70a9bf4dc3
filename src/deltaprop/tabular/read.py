"""Reading a table (CSV, TSV, gzip, Parquet, or standard input) into a DataFrame.

The whole file is parsed once by pandas' C parser, which infers each column's type: a column
whose every value is a number arrives as numbers, any other as text.  The precise diagnosis
(which line is short, which header name repeats) runs only when the fast parse reports a
problem, so errors still name the line, while a clean table costs about what
``pandas.read_csv`` costs.

Rows are counted from 1 after the header, so row r of a CSV file is line r + 1 of the file;
:func:`row_label` writes that.
"""

from __future__ import annotations

import collections
import csv
import gzip
import io
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from deltaprop.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["read_table", "row_label", "STDIN"]

#: the file name that means standard input
STDIN = "-"
PARQUET_SUFFIXES = (".parquet", ".pq")
EXCEL_SUFFIXES = (".xlsx", ".xls", ".xlsm", ".ods")
SAMPLE = 65536


def row_label(frame: pd.DataFrame | None, pos: int) -> str:
    """'row r' (and its line in a CSV file) for the row at 0-based position ``pos``.

    Frames from :func:`read_table` keep their 0-based row numbers as the index, also after
    rows are filtered out, so r is the row of the file.
    """
    r = pos + 1
    source = frame.attrs.get("deltaprop_csv") if frame is not None else None
    if frame is not None and source is not None:
        label = frame.index[pos]
        if isinstance(label, (int, np.integer)):
            r = int(label) + 1
        return f"row {r} (line {r + 1} of {source})"
    return f"row {r}"


class _Source:
    """The bytes of a file named on the command line (or of standard input), read lazily."""

    def __init__(self, path: str | os.PathLike[str]):
        self.stdin = str(path) == STDIN
        self.path = Path(path)
        self.name = "standard input" if self.stdin else str(path)
        self.short_name = "standard input" if self.stdin else self.path.name
        self._data: bytes | None = None

    def head(self) -> bytes:
        if self.stdin:
            if self._data is None:
                self._data = sys.stdin.buffer.read()
            return self._data[:SAMPLE]
        if not self.path.exists():
            raise UserError(f"{self.name}: no such file; check the path (current directory: {os.getcwd()})")
        if self.path.is_dir():
            raise UserError(f"{self.name} is a directory; give a CSV or Parquet file")
        try:
            with open(self.path, "rb") as f:
                return f.read(SAMPLE)
        except OSError as e:
            raise UserError(
                f"cannot read {self.name}: {e.strerror or e}; check the file's permissions"
            ) from e

    def handle(self) -> Any:
        """What pandas reads: the path, or the bytes of standard input."""
        return io.BytesIO(self._data or b"") if self.stdin else self.path

    def text_lines(self, gz: bool) -> io.TextIOBase:
        raw: Any = io.BytesIO(self._data or b"") if self.stdin else open(self.path, "rb")  # noqa: SIM115
        if gz:
            raw = gzip.GzipFile(fileobj=raw)
        return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A DataFrame of every column of a CSV (or TSV, gzip, or Parquet) file; ``-`` reads stdin.

    Numbers arrive as numbers and any other column as text; the separator is ``,`` unless
    the header line uses ``;``, tab or ``|`` instead.  Raises UserError for a missing,
    unreadable, empty, binary or ragged file, naming the line.
    """
    source = _Source(path)
    head = source.head()
    if not head:
        raise UserError(f"{source.name} is empty; give a CSV file with a header line and data rows")
    suffix = source.path.suffix.lower()
    if head.startswith(b"PAR1") or suffix in PARQUET_SUFFIXES:
        frame = _read_parquet(source)
    else:
        _refuse_non_csv(head, suffix, source.name)
        frame = _read_csv(source, head)
    if frame.shape[1] == 0:
        raise UserError(f"{source.name} has no columns; give a table with a header line")
    _check_unique_names(list(frame.columns), source.name)
    if len(frame) == 0:
        raise UserError(f"{source.name} has a header but no data rows; add data rows")
    return _drop_saved_index(frame)


def _read_parquet(source: _Source) -> pd.DataFrame:
    import pandas as pd

    try:
        import pyarrow  # noqa: F401
    except ImportError as e:
        raise UserError(
            f"reading Parquet ({source.name}) needs pyarrow; pip install pyarrow, or use CSV"
        ) from e
    try:
        frame = pd.read_parquet(source.handle())
    except Exception as e:  # pyarrow raises several types for a bad file
        raise UserError(f"{source.name} is not a readable Parquet file ({e}); check the file") from e
    frame.columns = [str(c) for c in frame.columns]
    return frame.reset_index(drop=True)


def _refuse_non_csv(head: bytes, suffix: str, name: str) -> None:
    # .xlsx and .ods are zip archives too: the suffix decides before the zip signature
    if suffix in EXCEL_SUFFIXES or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UserError(f"{name} is a spreadsheet workbook; save the sheet as CSV and give that file")
    if head.startswith(b"PK\x03\x04"):
        raise UserError(
            f"{name} is a zip archive (a deltaprop model?), not a table; give a CSV or Parquet file"
        )
    if not head.startswith(b"\x1f\x8b") and b"\x00" in head:
        raise UserError(f"{name} is a binary file, not a CSV table; give a CSV or Parquet file")


def _sniff_separator(path: Path, sample: str) -> str:
    if str(path).lower().endswith((".tsv", ".tsv.gz", ".tab")):
        return "\t"
    first = sample.split("\n", 1)[0]
    counts = {sep: first.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else ","


def _sample_text(source: _Source, head: bytes, gz: bool) -> str:
    if not gz:
        return head.decode("utf-8", errors="replace").lstrip("\ufeff")
    try:
        with gzip.GzipFile(fileobj=source.handle() if source.stdin else open(source.path, "rb")) as f:  # noqa: SIM115
            sample = f.read(SAMPLE)
    except (OSError, EOFError) as e:
        raise UserError(f"{source.name} is not a readable gzip file ({e}); check the file") from e
    return sample.decode("utf-8", errors="replace").lstrip("\ufeff")


def _read_csv(source: _Source, head: bytes) -> pd.DataFrame:
    """Parse a CSV with pandas' C parser (one pass, types inferred), then check its shape."""
    import pandas as pd

    gz = head.startswith(b"\x1f\x8b")
    text = _sample_text(source, head, gz)
    sep = _sniff_separator(source.path, text)
    name = source.name
    try:
        frame = pd.read_csv(
            source.handle(),
            sep=sep,
            encoding="utf-8-sig",
            skipinitialspace=True,
            low_memory=False,  # one type per column, not one per chunk
            compression="gzip" if gz else "infer",
        )
    except pd.errors.EmptyDataError as e:
        raise UserError(f"{name} has no columns (empty file); give a CSV file with a header line") from e
    except pd.errors.ParserError as e:
        raise UserError(_parser_error_message(e, name, sep)) from e
    except UnicodeDecodeError as e:
        raise UserError(f"{name} is not UTF-8 text; save it as a UTF-8 CSV file") from e
    except OSError as e:
        raise UserError(f"cannot read {name}: {e}; check the file") from e
    if not isinstance(frame.index, pd.RangeIndex):
        raise UserError(
            f"{name}: the data rows have more fields than the header line ({frame.shape[1]} names); "
            f"add the missing column names to the header"
        )
    frame.columns = [str(c).strip() for c in frame.columns]
    # pandas renamed a second 'a' to 'a.1': the header line as written is what to check
    header = next(csv.reader(io.StringIO(text), delimiter=sep, skipinitialspace=True), [])
    _check_unique_names([h.strip() for h in header], name)
    # a short row leaves its last fields missing: only then is the file read again, line by line
    if frame.shape[1] and frame.iloc[:, -1].isna().to_numpy().any():
        _check_short_rows(source, sep, gz, frame.shape[1])
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
        return (
            f"{name}: line {line} has {saw} fields but the header has {expected}; fix that line "
            f"(a stray separator, or a value with '{sep}' that needs quotes)"
        )
    return f"{name} is not a well-formed CSV file ({e}); fix the file"


def _check_unique_names(names: list[str], name: str) -> None:
    """Refuse a header naming a column twice."""
    twice = [n for n, k in collections.Counter(n for n in names if n).items() if k > 1]
    if twice:
        raise UserError(
            f"{name}: the header names the column {twice[0]!r} more than once; give every column its own name"
        )


def _check_short_rows(source: _Source, sep: str, gz: bool, n_fields: int) -> None:
    """Short rows are filled with missing values by pandas; name the first one instead."""
    with source.text_lines(gz) as f:
        reader = csv.reader(f, delimiter=sep, skipinitialspace=True)
        next(reader, None)
        for row in reader:
            if row and len(row) < n_fields:
                raise UserError(
                    f"{source.name}: line {reader.line_num} has {len(row)} fields but the header has "
                    f"{n_fields}; fix that line (leave a field empty with '{sep}{sep}' if it is missing)"
                )


def _drop_saved_index(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop an unnamed leading column that holds 0, 1, 2, … (an index pandas wrote)."""
    first = frame.columns[0]
    if first == "Unnamed: 0":
        values = frame[first]
        try:
            as_int = np.asarray(values, dtype=np.int64)
        except (TypeError, ValueError):
            return frame
        if np.array_equal(as_int, np.arange(len(frame))):
            frame = frame.drop(columns=[first])
    return frame
