"""Tables in, numbers out: reading CSV/Parquet files and the preprocessing that lives in a model.

A :class:`TabularModel` bundles what the command trains: a :class:`FeatureEncoder` (which
turns a DataFrame into the network's input x: numeric columns standardised, categorical
columns one-hot encoded, missing values imputed or refused), a :class:`TargetEncoder`
(regression targets standardised and un-standardised on the way out; classification labels
kept exactly as the user wrote them), and a fitted estimator.  ``deltaprop.save`` /
``deltaprop.load`` store all of it without pickle.

Every mistake in the user's data raises :class:`~deltaprop.errors.UserError` naming the
column and the row, with the fix.  Rows are counted from 1 after the header, so row r of a
CSV file is line r + 1 of the file.
"""

from __future__ import annotations

import collections
import csv
import gzip
import io
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deltaprop.errors import UserError

__all__ = [
    "read_table",
    "FeatureEncoder",
    "TargetEncoder",
    "TabularModel",
    "column_kind",
    "detect_task",
]

#: a column is "numeric with a few bad values" (an error) rather than categorical when at
#: least this share of its non-missing values parse as numbers
NUMERIC_SHARE = 0.9
#: one-hot encoding a column with more distinct values than this earns a warning
MANY_CATEGORIES = 100

PARQUET_SUFFIXES = (".parquet", ".pq")
EXCEL_SUFFIXES = (".xlsx", ".xls", ".xlsm", ".ods")


# ---------------------------------------------------------------------- reading files
def _where(frame, pos):
    """'row r' (and its line in a CSV file) for the row at 0-based position ``pos``.

    Frames from :func:`read_table` keep their 0-based row numbers as the index, also after
    rows are filtered out, so r is the row of the file.
    """
    r = pos + 1
    source = frame.attrs.get("deltaprop_csv") if frame is not None else None
    if source is not None:
        label = frame.index[pos]
        if isinstance(label, (int, np.integer)):
            r = int(label) + 1
        return f"row {r} (line {r + 1} of {source})"
    return f"row {r}"


def _sniff_separator(path, sample):
    if str(path).lower().endswith((".tsv", ".tsv.gz", ".tab")):
        return "\t"
    first = sample.split("\n", 1)[0]
    counts = {sep: first.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def read_table(path):
    """A DataFrame of every column of a CSV (or TSV, or Parquet) file.

    CSV values are read as text (numbers are parsed later, column by column, so that a bad
    value can be named); the separator is ``,`` unless the header line uses ``;``, tab or
    ``|`` instead.  Raises UserError for a missing, unreadable, empty, binary or ragged file.
    """
    import pandas as pd

    path = Path(path)
    name = str(path)
    if not path.exists():
        raise UserError(f"{name}: no such file; check the path (current directory: {os.getcwd()})")
    if path.is_dir():
        raise UserError(f"{name} is a directory; give a CSV or Parquet file")
    try:
        with open(path, "rb") as f:
            head = f.read(65536)
    except OSError as e:
        raise UserError(f"cannot read {name}: {e.strerror or e}; check the file's permissions") from e
    if not head:
        raise UserError(f"{name} is empty; give a CSV file with a header line and data rows")

    suffix = path.suffix.lower()
    if head.startswith(b"PAR1") or suffix in PARQUET_SUFFIXES:
        try:
            import pyarrow  # noqa: F401
        except ImportError as e:
            raise UserError(f"reading Parquet ({name}) needs pyarrow; pip install pyarrow, or use CSV") from e
        try:
            frame = pd.read_parquet(path)
        except Exception as e:  # pyarrow raises several types for a bad file
            detail = " ".join(str(e).split())
            raise UserError(f"{name} is not a readable Parquet file ({detail}); check the file") from e
        frame.columns = [str(c) for c in frame.columns]
        _check_flat_columns(frame, name)
        frame = frame.reset_index(drop=True)
    else:
        # .xlsx and .ods are zip archives too: the suffix decides before the zip signature
        if suffix in EXCEL_SUFFIXES or head.startswith(b"\xd0\xcf\x11\xe0"):
            raise UserError(f"{name} is a spreadsheet workbook; save the sheet as CSV and give that file")
        if head.startswith(b"PK\x03\x04"):
            raise UserError(
                f"{name} is a zip archive (a deltaprop model?), not a table; give a CSV or Parquet file"
            )
        gz = head.startswith(b"\x1f\x8b")
        if gz:
            try:
                with gzip.open(path, "rb") as f:
                    sample = f.read(65536)
            except (OSError, EOFError) as e:
                raise UserError(f"{name} is not a readable gzip file ({e}); check the file") from e
        else:
            sample = head
        if b"\x00" in sample:
            raise UserError(f"{name} is a binary file, not a CSV table; give a CSV or Parquet file")
        text = sample.decode("utf-8", errors="replace").lstrip("\ufeff")
        sep = _sniff_separator(path, text)
        try:
            frame = pd.read_csv(
                path,
                sep=sep,
                dtype=str,
                encoding="utf-8-sig",
                skipinitialspace=True,
                compression="gzip" if gz else "infer",
            )
        except pd.errors.EmptyDataError as e:
            raise UserError(f"{name} has no columns (empty file); give a CSV file with a header line") from e
        except pd.errors.ParserError as e:
            if "out of memory" in str(e):
                raise UserError(f"{name} has a line too long to read (binary data?); give a CSV file") from e
            m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(e))
            if m:
                expected, line, saw = m.groups()
                raise UserError(
                    f"{name}: line {line} has {saw} fields but the header has {expected}; fix that line "
                    f"(a stray separator, or a value with '{sep}' that needs quotes)"
                ) from e
            raise UserError(f"{name} is not a well-formed CSV file ({e}); fix the file") from e
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
        try:
            header = next(csv.reader(io.StringIO(text), delimiter=sep, skipinitialspace=True), [])
            _check_unique_names([h.strip() for h in header], name)
            if frame.isna().to_numpy().any():
                _check_short_rows(path, sep, gz, frame.shape[1], name)
        except csv.Error as e:
            raise UserError(f"{name} is not a well-formed CSV file ({e}); fix the file") from e
        frame.attrs["deltaprop_csv"] = path.name
    if frame.shape[1] == 0:
        raise UserError(f"{name} has no columns; give a table with a header line")
    _check_unique_names(list(frame.columns), name)
    if len(frame) == 0:
        raise UserError(f"{name} has a header but no data rows; add data rows")
    return _drop_saved_index(frame)


def _check_flat_columns(frame, name):
    """Refuse a column holding lists or mappings (nested Parquet types): one value per cell."""
    for c in frame.columns:
        if frame[c].dtype == object:
            nested = frame[c].map(lambda v: isinstance(v, (list, tuple, dict, np.ndarray)))
            if nested.any():
                raise UserError(
                    f"{name}: column {c!r} holds lists or records, not single values; flatten it into "
                    f"columns of numbers or text, or drop it from the file"
                )


def _check_unique_names(names, name):
    """Refuse a header naming a column twice."""
    twice = [n for n, k in collections.Counter(n for n in names if n).items() if k > 1]
    if twice:
        raise UserError(
            f"{name}: the header names the column {twice[0]!r} more than once; give every column its own name"
        )


def _check_short_rows(path, sep, gz, n_fields, name):
    """Short rows are filled with missing values by pandas; name the first one instead."""
    opener = gzip.open if gz else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=sep, skipinitialspace=True)
        next(reader, None)
        for row in reader:
            if row and len(row) < n_fields:
                raise UserError(
                    f"{name}: line {reader.line_num} has {len(row)} fields but the header has {n_fields}; "
                    f"fix that line (leave a field empty with '{sep}{sep}' if it is missing)"
                )


def _drop_saved_index(frame):
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


# ---------------------------------------------------------------------- columns
def _numeric_values(series):
    """(parsed float array with NaN for missing, mask of non-missing values that are not numbers)."""
    import pandas as pd

    if series.dtype.kind in "biuf":
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return values, np.zeros(len(values), dtype=bool)
    missing = series.isna().to_numpy()
    text = series.astype("string").str.strip()
    parsed = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(parsed) & ~missing
    # "nan" written out in the file is a missing value, not a bad one
    bad &= ~text.str.lower().isin(["nan", "-nan", "+nan"]).to_numpy(dtype=bool, na_value=False)
    return parsed, bad


_THOUSANDS = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"
_DECIMAL_COMMA = r"[+-]?\d*,\d+"


def comma_number_problem(series):
    """'written with … ; <fix>' for a text column of numbers written with commas, else None.

    Every non-missing value must be a number, some with thousands separators ('1,257') or
    decimal commas ('1,5').  pandas parses neither, so such a column would silently become
    categories, an identifier, or a classification target with a class per value.
    """
    import pandas as pd

    if series.dtype.kind in "biuf":
        return None
    text = series.dropna().astype("string").str.strip()
    if text.empty:
        return None
    for pattern, fix in (
        (
            _THOUSANDS,
            lambda v: f"written with thousands separators (e.g. {v!r}); remove them ({v.replace(',', '')})",
        ),
        (
            _DECIMAL_COMMA,
            lambda v: (
                f"written with decimal commas (e.g. {v!r}); write decimal points ({v.replace(',', '.')})"
            ),
        ),
    ):
        hit = text.str.fullmatch(pattern).to_numpy(dtype=bool, na_value=False)
        if hit.any() and pd.to_numeric(text[~hit], errors="coerce").notna().all():
            return fix(str(text[hit].iloc[0]))
    return None


def column_kind(series):
    """'numeric', 'categorical', 'empty', or 'mostly-numeric' (numbers with a few bad values)."""
    if series.dtype.kind in "biuf":
        return "numeric"
    present = series.notna().to_numpy()
    if not present.any():
        return "empty"
    parsed, bad = _numeric_values(series)
    n_present = int(present.sum())
    n_numbers = n_present - int(bad.sum())
    if n_numbers == n_present:
        return "numeric"
    if n_numbers >= NUMERIC_SHARE * n_present:
        return "mostly-numeric"
    return "categorical"


def _labels_as_written(series):
    """The values of a label or category column as Python objects (str for text)."""
    if series.dtype.kind in "biuf":
        return series
    return series.astype("string").str.strip().astype(object).where(series.notna(), None)


@dataclass
class ColumnSpec:
    """How one input column becomes network inputs (stored in the model file)."""

    name: str
    kind: str  # "numeric" or "categorical"
    mean: float = 0.0
    scale: float = 1.0
    fill: float | None = None  # numeric: the training median, used by --impute
    categories: list = field(default_factory=list)  # categorical: one input unit each

    @property
    def n_inputs(self):
        return 1 if self.kind == "numeric" else len(self.categories)

    def input_names(self):
        if self.kind == "numeric":
            return [self.name]
        return [f"{self.name}={c}" for c in self.categories]

    def to_dict(self):
        d = {"name": self.name, "kind": self.kind}
        if self.kind == "numeric":
            d.update(mean=self.mean, scale=self.scale, fill=self.fill)
        else:
            d["categories"] = list(self.categories)
        return d

    @classmethod
    def from_dict(cls, d):
        return cls(**d)


class FeatureEncoder:
    """DataFrame → network input: x = (value − mean) / scale for numbers, one-hot for categories.

    A category not seen in training, and a missing category under ``impute``, encode as all
    zeros.  A missing number under ``impute`` takes the training median.  Without
    ``impute``, a missing value is an error naming its column and row.
    """

    def __init__(self, columns=(), impute=False):
        self.columns = list(columns)
        self.impute = bool(impute)

    @property
    def feature_names(self):
        return [c.name for c in self.columns]

    @property
    def input_names(self):
        return [n for c in self.columns for n in c.input_names()]

    @property
    def n_inputs(self):
        return sum(c.n_inputs for c in self.columns)

    def fit(self, frame, names, categorical=(), notes=None):
        """Learn each column's kind, mean and scale, or categories, from the training rows."""
        notes = notes if notes is not None else []
        self.columns = []
        for name in names:
            series = frame[name]
            kind = "categorical" if name in categorical else column_kind(series)
            if kind == "empty":
                raise UserError(
                    f"column {name!r} has no values (every row is missing); drop it with --drop {name}"
                )
            if kind == "mostly-numeric" and not self.impute:
                _, bad = _numeric_values(series)
                pos = int(np.flatnonzero(bad)[0])
                raise UserError(
                    f"column {name!r} holds numbers but {_where(frame, pos)} is {series.iloc[pos]!r}; fix "
                    f"that value, pass --impute to treat non-numbers as missing, or --categorical {name}"
                )
            if kind in ("numeric", "mostly-numeric"):
                values = self._numbers(frame, name, self.impute)
                present = values[~np.isnan(values)]
                if present.size == 0:
                    raise UserError(f"column {name!r} has no usable numbers; drop it with --drop {name}")
                mean, std = (float(v) for v in _mean_std(present))
                scale = std if std > 0 and math.isfinite(std) else 1.0
                self.columns.append(
                    ColumnSpec(name, "numeric", mean=mean, scale=scale, fill=float(np.median(present)))
                )
            else:
                values = _labels_as_written(series)
                if values.isna().any() and not self.impute:
                    pos = int(np.flatnonzero(values.isna().to_numpy())[0])
                    raise UserError(
                        f"column {name!r} has a missing value in {_where(frame, pos)}; fill it in, or pass "
                        f"--impute (missing numbers take the median, missing categories encode as none)"
                    )
                cats = sorted({_json_label(v) for v in values.dropna()}, key=_label_sort_key)
                if len(cats) > MANY_CATEGORIES:
                    notes.append(
                        f"column {name!r} has {len(cats)} distinct values, one input each; if it is an "
                        f"identifier, leave it out with --drop {name}"
                    )
                self.columns.append(ColumnSpec(name, "categorical", categories=cats))
        return self

    def _numbers(self, frame, name, impute, fitted=False):
        """The column as floats; ``fitted``: at predict time, where --impute is a training option."""
        how = "train the model with --impute" if fitted else "pass --impute"
        values, bad = _numeric_values(frame[name])
        if bad.any():
            if not impute:
                pos = int(np.flatnonzero(bad)[0])
                raise UserError(
                    f"column {name!r} holds numbers but {_where(frame, pos)} is {frame[name].iloc[pos]!r}; "
                    f"fix that value, or {how} to treat non-numbers as missing"
                )
            values = np.where(bad, np.nan, values)
        infinite = np.isinf(values)
        if infinite.any():
            if not impute:
                pos = int(np.flatnonzero(infinite)[0])
                raise UserError(
                    f"column {name!r} is infinite in {_where(frame, pos)}; fix that value, or {how} to "
                    f"treat it as missing"
                )
            values = np.where(infinite, np.nan, values)
        return values

    def check_columns(self, frame):
        missing = [n for n in self.feature_names if n not in frame.columns]
        if missing:
            listed = ", ".join(repr(n) for n in missing[:5]) + (" …" if len(missing) > 5 else "")
            raise UserError(
                f"the data lacks {len(missing)} column(s) the model was trained on: {listed}; add "
                f"them (see 'deltaprop info MODEL' for the features)"
            )

    def transform(self, frame, notes=None):
        """The network inputs, shape (n_samples, n_inputs), float64."""
        self.check_columns(frame)
        n = len(frame)
        X = np.zeros((n, self.n_inputs), dtype=np.float64)
        col = 0
        for spec in self.columns:
            if spec.kind == "numeric":
                values = self._numbers(frame, spec.name, self.impute, fitted=True)
                missing = np.isnan(values)
                if missing.any():
                    if not self.impute:
                        pos = int(np.flatnonzero(missing)[0])
                        raise UserError(
                            f"column {spec.name!r} has a missing value in {_where(frame, pos)}; fill it in "
                            f"(or train the model with --impute)"
                        )
                    values = np.where(missing, spec.fill, values)
                X[:, col] = (values - spec.mean) / spec.scale
                col += 1
            else:
                values = _labels_as_written(frame[spec.name])
                missing = values.isna().to_numpy()
                if missing.any() and not self.impute:
                    pos = int(np.flatnonzero(missing)[0])
                    raise UserError(
                        f"column {spec.name!r} has a missing value in {_where(frame, pos)}; fill it in "
                        f"(or train the model with --impute)"
                    )
                find = label_finder(spec.categories)
                codes = np.array(
                    [-1 if m else find(_json_label(v)) for v, m in zip(values, missing)], dtype=np.int64
                )
                unseen = (codes < 0) & ~missing
                if unseen.any() and notes is not None:
                    example = values[unseen].iloc[0]
                    notes.append(
                        f"column {spec.name!r}: {int(unseen.sum())} row(s) have categories not seen in "
                        f"training (e.g. {example!r}); they are encoded as none of the known ones"
                    )
                rows = np.flatnonzero(codes >= 0)
                X[rows, col + codes[rows]] = 1.0
                col += spec.n_inputs
        return X

    def to_dict(self):
        return {"impute": self.impute, "columns": [c.to_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, d):
        return cls([ColumnSpec.from_dict(c) for c in d["columns"]], impute=d["impute"])


def _mean_std(values):
    """Mean and standard deviation along axis 0, computed on values / max|value| and scaled back.

    Plain ``std`` squares the values, which overflows to inf for numbers near 1e300 (and a
    scale of inf would turn every input into 0); dividing first keeps both finite.
    """
    values = np.asarray(values, dtype=np.float64)
    top = np.max(np.abs(values), axis=0)
    top = np.where((top > 0) & np.isfinite(top), top, 1.0)
    scaled = values / top
    return scaled.mean(axis=0) * top, scaled.std(axis=0) * top


def _json_label(v):
    """A label as a JSON-able Python value (numpy scalars unwrapped; whole floats kept floats)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, str):
        return v.strip()
    return v


def label_text(v):
    """A label as text that is the same for 2, 2.0 and '2' (and for True and 'True')."""
    text = str(v).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    if number.is_integer() and abs(number) < 2**53:
        return str(int(number))
    return repr(number)


def label_finder(labels):
    """find(v) → the position of v among ``labels``, or -1.

    An exact match first; else the same label written as another type (a class 1 trained
    from CSV text '1', looked up as the integer 1 from a Parquet file), when that is unique.
    """
    exact = {}
    for k, c in enumerate(labels):
        exact.setdefault(_json_label(c), k)
    by_text = {}
    for k, c in enumerate(labels):
        by_text.setdefault(label_text(c), []).append(k)

    def find(v):
        k = exact.get(v)
        if k is not None:
            return k
        same = by_text.get(label_text(v), [])
        return same[0] if len(same) == 1 else -1

    return find


def _label_sort_key(v):
    return (0, v, "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0, str(v))


# ---------------------------------------------------------------------- targets
def detect_task(frame, targets):
    """'regression' when every target column is numeric, else 'classification'.

    A column of numbers with a few bad values counts as numeric (the bad values are then an
    error naming the row, not a class each); a boolean column (from Parquet) is two classes.
    """
    if any(frame[t].dtype.kind == "b" for t in targets):
        return "classification"
    kinds = [column_kind(frame[t]) for t in targets]
    return "regression" if all(k in ("numeric", "mostly-numeric") for k in kinds) else "classification"


class TargetEncoder:
    """Targets in and out of the network.

    Regression: d = (target − mean) / scale per column, undone on predict.
    Classification: the labels themselves (the estimator keeps ``classes_``); labels are
    kept as written (text stays text, numbers from Parquet stay numbers).
    """

    def __init__(self, names, task, mean=None, scale=None):
        self.names = list(names)
        self.task = task
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.scale = None if scale is None else np.asarray(scale, dtype=np.float64)

    def values(self, frame, impute=False, notes=None):
        """(targets for the estimator, boolean mask of rows kept).

        Rows with a missing target are an error, or dropped under ``impute`` (with a note).
        """
        for t in self.names:
            if t not in frame.columns:
                raise UserError(_no_column_message(t, frame))
        keep = np.ones(len(frame), dtype=bool)
        for t in self.names:
            keep &= frame[t].notna().to_numpy()
        if self.task == "regression":
            columns = []
            for t in self.names:
                kind = column_kind(frame[t])
                if kind not in ("numeric", "mostly-numeric", "empty"):
                    example = frame[t].dropna().iloc[0]
                    raise UserError(
                        f"target {t!r} is not numeric (e.g. {example!r}); drop --task regression to "
                        f"classify it, or fix the column"
                    )
                values, bad = _numeric_values(frame[t])
                if bad.any():
                    pos = int(np.flatnonzero(bad)[0])
                    raise UserError(
                        f"target {t!r} holds numbers but {_where(frame, pos)} is {frame[t].iloc[pos]!r}; fix "
                        f"that value (or use --task classification if the values are labels)"
                    )
                inf = np.isinf(values)
                if inf.any():
                    pos = int(np.flatnonzero(inf)[0])
                    raise UserError(
                        f"target {t!r} is infinite in {_where(frame, pos)}; fix or remove that row"
                    )
                keep &= ~np.isnan(values)
                columns.append(values)
            Y = np.column_stack(columns)
        else:
            Y = None
        dropped = np.flatnonzero(~keep)
        if dropped.size:
            bad_t = next(t for t in self.names if (frame[t].isna().to_numpy() | ~keep)[dropped[0]])
            if not impute:
                raise UserError(
                    f"target {bad_t!r} is missing in {_where(frame, int(dropped[0]))}; fill it in, or pass "
                    f"--impute to leave out rows without a target"
                )
            if notes is not None:
                notes.append(f"left out {dropped.size} row(s) without a target value")
        if self.task == "regression":
            return Y[keep], keep
        labels = _labels_as_written(frame[self.names[0]])[keep]
        return np.array([_json_label(v) for v in labels], dtype=object), keep

    def fit(self, y):
        """Learn the regression targets' mean and scale; refuse a constant target or one class."""
        if self.task == "regression":
            self.mean, std = _mean_std(y)
            for t, s in zip(self.names, std):
                if not s > 0:
                    raise UserError(
                        f"target {t!r} has the same value in every row; there is nothing to learn, check "
                        f"that --target names the right column"
                    )
            self.scale = std
        else:
            classes = set(y.tolist())
            if len(classes) < 2:
                only = next(iter(classes)) if classes else None
                raise UserError(
                    f"target {self.names[0]!r} has a single class ({only!r}); classification needs rows "
                    f"of at least two classes"
                )
        return self

    def encode(self, y):
        if self.task == "regression":
            return (y - self.mean) / self.scale
        return _label_array(y)

    def decode(self, y):
        """Network regression outputs (n, k) back to the targets' scale."""
        y = np.asarray(y, dtype=np.float64).reshape(-1, len(self.names))
        return y * self.scale + self.mean

    def to_dict(self):
        d = {"names": self.names, "task": self.task}
        if self.task == "regression":
            d["mean"] = [float(v) for v in self.mean]
            d["scale"] = [float(v) for v in self.scale]
        return d

    @classmethod
    def from_dict(cls, d):
        return cls(d["names"], d["task"], d.get("mean"), d.get("scale"))


def _label_array(labels):
    """Labels as a numpy array the estimator sorts the same way every time."""
    labels = list(labels)
    if all(isinstance(v, str) for v in labels):
        return np.array(labels, dtype=str)
    if all(isinstance(v, bool) for v in labels):
        return np.array(labels, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in labels):
        return np.array(labels, dtype=np.int64)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in labels):
        return np.array(labels, dtype=np.float64)
    return np.array([str(v) for v in labels], dtype=str)


def _no_column_message(name, frame):
    import difflib

    columns = [str(c) for c in frame.columns]
    close = difflib.get_close_matches(name, columns, n=1, cutoff=0.6)
    lower = {c.lower(): c for c in columns}
    hint = lower.get(name.lower()) or (close[0] if close else None)
    shown = ", ".join(columns[:12]) + (f", … ({len(columns)} in all)" if len(columns) > 12 else "")
    if hint:
        return f"there is no column {name!r}; did you mean {hint!r}? (columns: {shown})"
    return f"there is no column {name!r}; name one of the columns: {shown}"


# ---------------------------------------------------------------------- the model
class TabularModel:
    """Preprocessing and a fitted estimator: predictions from DataFrames, in the user's units.

    Parameters
    ----------
    features : FeatureEncoder
    target : TargetEncoder
    estimator : fitted deltaprop.MLPRegressor or deltaprop.MLPClassifier
        Trained on ``features.transform(frame)`` and ``target.encode(y)``.
    history : dict, optional
        The training run: loss curves, validation curves, gradient norms, metrics, options.
    """

    def __init__(self, features, target, estimator, history=None):
        self.features = features
        self.target = target
        self.estimator = estimator
        self.history = history or {}

    # -- what the rest of deltaprop reads
    @property
    def network_(self):
        return self.estimator.network_

    @property
    def task(self):
        return self.target.task

    @property
    def feature_names_(self):
        return self.features.feature_names

    @property
    def input_names_(self):
        return self.features.input_names

    @property
    def target_names_(self):
        return self.target.names

    @property
    def classes_(self):
        return getattr(self.estimator, "classes_", None) if self.task == "classification" else None

    def __repr__(self):
        sizes = "-".join(str(n) for n in self.network_.sizes)
        return f"TabularModel({self.task}, {sizes}, targets={self.target.names})"

    # -- predictions
    def transform(self, frame, notes=None):
        """The network input for the rows of ``frame``, shape (n_samples, n_inputs)."""
        return self.features.transform(frame, notes=notes)

    def predict(self, frame, notes=None):
        """Predictions in the user's units: labels, or values (shape (n,) for one target)."""
        X = self.transform(frame, notes)
        if self.task == "regression":
            Y = self.target.decode(self.estimator.predict(X))
            return Y[:, 0] if Y.shape[1] == 1 else Y
        return self.estimator.predict(X)

    def predict_proba(self, frame, notes=None):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        if self.task != "classification":
            raise UserError("probabilities exist for classification models only; leave out --proba")
        return self.estimator.predict_proba(self.transform(frame, notes))

    def predict_frame(self, frame, proba=False, notes=None):
        """A DataFrame of predictions named after the targets (and ``proba_<class>`` columns)."""
        import pandas as pd

        X = self.transform(frame, notes)
        out = pd.DataFrame(index=range(len(frame)))
        if self.task == "regression":
            Y = self.target.decode(self.estimator.predict(X))
            for k, name in enumerate(self.target.names):
                out[name] = Y[:, k]
        else:
            out[self.target.names[0]] = [_json_label(v) for v in self.estimator.predict(X)]
            if proba:
                P = self.estimator.predict_proba(X)
                for k, c in enumerate(self.classes_):
                    out[f"proba_{_json_label(c)}"] = P[:, k]
        return out
