"""Columns in, numbers out: the preprocessing a model keeps (:class:`FeatureEncoder`), and the
targets it learns (:class:`TargetEncoder`).  Every mistake in the user's data raises
:class:`~deltaprop.errors.UserError` naming the column and the row, with the fix.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from deltaprop.errors import UserError
from deltaprop.tabular.read import row_label

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ColumnSpec", "ColumnSummary", "FeatureEncoder", "TargetEncoder", "category_labels", "column_kind",
    "column_summary", "kind_of", "comma_number_problem", "detect_task", "json_label", "label_finder",
    "label_text", "median_of", "labels_as_written", "no_column_message", "column_list",
    "codes_of", "scale_rule", "shared_unit", "numeric_values", "task_of",
]

#: a column is "numeric with a few bad values" (an error) rather than categorical when at
#: least this share of its non-missing values parse as numbers
NUMERIC_SHARE = 0.9
#: an integer target with at most this many distinct values is read as class codes
MAX_CODES = 20
#: one-hot encoding a column with more distinct values than this earns a warning
MANY_CATEGORIES = 100
#: the most distinct values a categorical input may have: one-hot is dense, one input each,
#: so a column of 10,000 values over 20,000 rows would take 1.6 GB (docs/command.rst)
MAX_CATEGORIES = 1000
#: no training value of a numeric input lies more than this many scales from its mean
MAX_Z = 10.0
#: a table with at least this many numeric input columns, all in one unit, is scaled as one
#: (see :func:`shared_unit`)
SHARED_UNIT_COLUMNS = 64
#: the share of those columns that may stay below a tenth of the largest value (see :func:`shared_unit`)
SHARED_UNIT_SMALL = 0.1


def numeric_values(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(parsed float array with NaN for missing, mask of non-missing values that are not numbers)."""
    import pandas as pd

    if series.dtype.kind in "biuf":
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return values, np.zeros(len(values), dtype=bool)
    missing = series.isna().to_numpy()
    text = series.astype("string").str.strip()
    parsed = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    # "nan" written out in the file is a missing value, not a bad one
    written_nan = text.str.lower().isin(["nan", "-nan", "+nan"]).to_numpy(dtype=bool, na_value=False)
    return parsed, np.isnan(parsed) & ~missing & ~written_nan


#: (a number written with commas, what it is and its fix)
_COMMA_NUMBERS = (
    (r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?",
     lambda v: f"written with thousands separators (e.g. {v!r}); remove them ({v.replace(',', '')})"),
    (r"[+-]?\d*,\d+",
     lambda v: f"written with decimal commas (e.g. {v!r}); write decimal points ({v.replace(',', '.')})"),
)


def comma_number_problem(series: pd.Series) -> str | None:
    """'written with … ; <fix>' for a text column of numbers written with thousands separators
    ('1,257') or decimal commas ('1,5'), which pandas parses as text; else None."""
    import pandas as pd

    if series.dtype.kind in "biuf":
        return None
    text = series.dropna().astype("string").str.strip()
    for pattern, fix in _COMMA_NUMBERS if not text.empty else ():
        hit = text.str.fullmatch(pattern).to_numpy(dtype=bool, na_value=False)
        if hit.any() and pd.to_numeric(text[~hit], errors="coerce").notna().all():
            return fix(str(text[hit].iloc[0]))
    return None


@dataclass
class ColumnSummary:
    """What the rules of this module read of a column: counts, the finite numbers' range and
    moments, where its first problem value is.  :func:`column_summary` makes one of a pandas
    column, :meth:`combine` adds a column's partitions: one machine and a cluster meet the
    same rules.  ``fill`` (the median) and ``categories`` are the caller's to fill in."""

    typed: bool = True  # a numeric or boolean dtype (in every partition)
    boolean: bool = False  # a boolean dtype (in some partition)
    present: int = 0  # values not missing
    bad: int = 0  # present values that are not numbers
    infinite: int = 0  # numbers that are ±inf
    count: int = 0  # finite numbers
    low: float = math.inf  # the least finite number
    high: float = -math.inf  # the largest finite number
    mean: float = 0.0  # mean of number / top
    m2: float = 0.0  # Σ (number / top − mean)²
    codes: frozenset | None = frozenset()  # distinct numbers while all are whole and at most MAX_CODES
    bad_at: tuple[str, Any] | None = None  # (where, value) of the first non-number
    inf_at: str | None = None  # where the first infinity is
    fill: float | None = None  # the median of the finite numbers
    categories: set | None = None  # the labels as written

    @property
    def top(self) -> float:
        """The largest |number| (1 for none or 0), divided out before squaring: no overflow near 1e300."""
        top = max(-self.low, self.high) if self.count else 0.0
        return top if top > 0 and math.isfinite(top) else 1.0

    @property
    def center(self) -> float:
        return self.mean * self.top

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.count) * self.top if self.count else 0.0

    def scaling(self) -> tuple[float, float]:
        """(mean, scale) of a numeric column: x = (value − mean) / scale (see :func:`scale_rule`)."""
        center = self.center
        spread = max(self.high - center, center - self.low) if self.count else 0.0
        return center, scale_rule(self.std, spread)

    @classmethod
    def of_numbers(cls, values: np.ndarray, **counts: Any) -> ColumnSummary:
        """The summary of float ``values`` (NaN for missing); ``counts``: the other fields."""
        finite = values[np.isfinite(values)]
        out = cls(count=int(finite.size), **counts)
        if finite.size:
            out.low, out.high = float(finite.min()), float(finite.max())
            scaled = finite / out.top
            out.mean = float(scaled.mean())
            out.m2 = float(((scaled - out.mean) ** 2).sum())
            out.codes = None
            # whole numbers, and (the first rows deciding most columns at a glance) few of them
            if np.array_equal(finite, np.round(finite)) and np.unique(finite[:4096]).size <= MAX_CODES:
                distinct = np.unique(finite)
                out.codes = frozenset(distinct.tolist()) if distinct.size <= MAX_CODES else None
        return out

    @classmethod
    def combine(cls, parts: Sequence[ColumnSummary]) -> ColumnSummary:
        """The summary of the rows of ``parts`` (in their order) put together."""
        out = cls(
            typed=all(p.typed for p in parts), boolean=any(p.boolean for p in parts),
            present=sum(p.present for p in parts), bad=sum(p.bad for p in parts),
            infinite=sum(p.infinite for p in parts), count=sum(p.count for p in parts),
            low=min((p.low for p in parts), default=math.inf),
            high=max((p.high for p in parts), default=-math.inf),
            bad_at=next((p.bad_at for p in parts if p.bad_at), None),
            inf_at=next((p.inf_at for p in parts if p.inf_at), None),
        )
        full = [p for p in parts if p.count]
        if full:  # the moments of each part in the common scale, added (Chan et al.)
            top = out.top
            means = [p.mean * (p.top / top) for p in full]
            out.mean = sum(p.count * m for p, m in zip(full, means)) / out.count
            out.m2 = sum(p.m2 * (p.top / top) ** 2 + p.count * (m - out.mean) ** 2
                         for p, m in zip(full, means))
        codes = [p.codes for p in parts if p.codes is not None]
        union = frozenset().union(*codes) if len(codes) == len(parts) else None
        out.codes = union if union is not None and len(union) <= MAX_CODES else None
        return out


def column_summary(series: pd.Series, frame: pd.DataFrame | None = None, median: bool = False
                   ) -> ColumnSummary:
    """The :class:`ColumnSummary` of a column of ``frame`` (with ``median``, its ``fill`` too)."""
    values, bad = numeric_values(series)
    infinite = np.isinf(values)
    typed = series.dtype.kind in "biuf"
    present = int(np.count_nonzero(~np.isnan(values)) if typed else series.notna().sum())
    out = ColumnSummary.of_numbers(values, typed=typed, boolean=series.dtype.kind == "b", present=present,
                                   bad=int(bad.sum()), infinite=int(infinite.sum()))
    if out.bad:
        out.bad_at = (row_label(frame, _first(bad)), series.iloc[_first(bad)])
    if out.infinite:
        out.inf_at = row_label(frame, _first(infinite))
    if median and out.count:
        out.fill = median_of(values[np.isfinite(values)])
    return out


def median_of(values: np.ndarray) -> float:
    """The median, halved first so that averaging two values near ±1e308 cannot overflow."""
    return float(np.median(values / 2) * 2)


def kind_of(summary: ColumnSummary) -> str:
    """'numeric', 'categorical', 'empty', or 'mostly-numeric' (numbers with a few bad values)."""
    if summary.typed or (summary.present and not summary.bad):
        return "numeric"
    if not summary.present:
        return "empty"
    numbers = summary.present - summary.bad
    return "mostly-numeric" if numbers >= NUMERIC_SHARE * summary.present else "categorical"


def column_kind(series: pd.Series) -> str:
    """:func:`kind_of` a pandas column."""
    return kind_of(column_summary(series))


_RETRAIN = " (or train the model with --impute)"


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _missing_message(frame: pd.DataFrame, name: str, missing: np.ndarray, fix: str) -> str:
    return f"column {name!r} has a missing value in {row_label(frame, _first(missing))}; fill it in{fix}"


def category_labels(frame: pd.DataFrame, name: str, impute: bool) -> set:
    """The distinct labels of a categorical column as written (a missing one refused without ``impute``)."""
    values = labels_as_written(frame[name])
    if values.isna().any() and not impute:
        raise UserError(_missing_message(
            frame, name, values.isna().to_numpy(), ", or pass --impute (missing numbers take the median, "
            "missing categories encode as none)"))
    return {json_label(v) for v in values.dropna()}


def labels_as_written(series: pd.Series) -> pd.Series:
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
    def n_inputs(self) -> int:
        return 1 if self.kind == "numeric" else len(self.categories)

    def input_names(self) -> list[str]:
        return [self.name] if self.kind == "numeric" else [f"{self.name}={c}" for c in self.categories]

    def to_dict(self) -> dict[str, Any]:
        drop = ("categories",) if self.kind == "numeric" else ("mean", "scale", "fill")
        return {k: v for k, v in asdict(self).items() if k not in drop}


class FeatureEncoder:
    """DataFrame → network input: x = (value − mean) / scale for numbers, one-hot for categories.

    Under ``impute`` an unseen or missing category encodes as all zeros and a missing number
    takes the training median; without it, a missing value is an error naming column and row.
    """

    def __init__(self, columns: Sequence[ColumnSpec] = (), impute: bool = False):
        self.columns = list(columns)
        self.impute = bool(impute)

    @property
    def feature_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def input_names(self) -> list[str]:
        return [n for c in self.columns for n in c.input_names()]

    @property
    def n_inputs(self) -> int:
        return sum(c.n_inputs for c in self.columns)

    def fit(self, frame: pd.DataFrame, names: Sequence[str], categorical: Sequence[str] = (),
            notes: list[str] | None = None, shared_unit: bool = True) -> FeatureEncoder:
        """Learn each column's kind, mean and scale, or categories (:meth:`fit_summaries`)."""
        summaries = {name: column_summary(frame[name], frame, median=True) for name in names}
        for name, kind in self.kinds(summaries, categorical).items():
            if kind == "categorical":
                summaries[name].categories = category_labels(frame, name, self.impute)
        return self.fit_summaries(names, summaries, categorical, notes, shared_unit)

    def kinds(self, summaries: dict[str, ColumnSummary], categorical: Sequence[str] = ()) -> dict[str, str]:
        """{name: 'numeric' or 'categorical'}; refuses an empty column, and without ``impute`` a
        non-number or infinity among numbers."""
        kinds = {}
        for name, s in summaries.items():
            kind = "categorical" if name in categorical else kind_of(s)
            if kind == "empty":
                raise UserError(
                    f"column {name!r} has no values (every row is missing); drop it with --drop {name}"
                )
            if kind == "mostly-numeric" and not self.impute and s.bad_at:
                where, value = s.bad_at
                raise UserError(
                    f"column {name!r} holds numbers but {where} is {value!r}; fix that value, pass "
                    f"--impute to treat non-numbers as missing, or --categorical {name}"
                )
            if kind != "categorical" and not self.impute and s.inf_at:
                raise UserError(
                    f"column {name!r} is infinite in {s.inf_at}; fix that value, or pass --impute to "
                    f"treat it as missing"
                )
            kinds[name] = "categorical" if kind == "categorical" else "numeric"
        return kinds

    def fit_summaries(self, names: Sequence[str], summaries: dict[str, ColumnSummary],
                      categorical: Sequence[str] = (), notes: list[str] | None = None,
                      shared_unit: bool = True) -> FeatureEncoder:
        """Learn the columns from their summaries (``fill``, ``categories`` filled in); numeric
        columns in one unit are scaled together (:func:`shared_unit`) unless ``shared_unit`` is
        False.  What it inferred goes into ``notes``, each with how to change it."""
        notes = notes if notes is not None else []
        kinds = self.kinds({name: summaries[name] for name in names}, categorical)
        self.columns = []
        for name in names:
            s = summaries[name]
            if kinds[name] == "categorical":
                self.columns.append(ColumnSpec(name, "categorical", categories=_categories(name, s, notes)))
                continue
            if not s.count:
                raise UserError(f"column {name!r} has no usable numbers; drop it with --drop {name}")
            mean, scale = s.scaling()
            self.columns.append(ColumnSpec(name, "numeric", mean=mean, scale=scale, fill=s.fill))
        numeric = [c for c in self.columns if c.kind == "numeric"]
        top = _unit_of([summaries[c.name].low for c in numeric],
                       [summaries[c.name].high for c in numeric]) if shared_unit else None
        if top is not None:
            for spec in numeric:
                spec.mean, spec.scale = 0.0, top
            notes.append(
                f"the {len(numeric)} numeric columns are one unit (all within 0 … {top:g}, like pixels): "
                f"each is scaled as value / {top:g} rather than standardised (--scale columns "
                f"standardises each column on its own)"
            )
        elif numeric:
            notes.append(f"{len(numeric)} numeric column(s) are standardised, each as (value − mean) / "
                         f"standard deviation of the training rows (at least the farthest value's distance "
                         f"/ {MAX_Z:g}); pass --categorical COL to treat one as categories")
        onehot = [c for c in self.columns if c.kind == "categorical"]
        if onehot:
            shown = ", ".join(f"{c.name!r} ({c.n_inputs} inputs)" for c in onehot[:8])
            more = f" and {len(onehot) - 8} more" if len(onehot) > 8 else ""
            notes.append(f"{len(onehot)} column(s) of words are one-hot encoded, one input per value: "
                         f"{shown}{more}; pass --drop COL to leave one out, or fix its values if it "
                         f"should hold numbers")
        return self

    def check_columns(self, frame: pd.DataFrame) -> None:
        """Refuse a table that lacks a column the model was trained on."""
        missing = [n for n in self.feature_names if n not in frame.columns]
        if missing:
            listed = near_names(missing[:5], frame.columns, self.feature_names)
            listed += " …" if len(missing) > 5 else ""
            raise UserError(
                f"the data lacks {len(missing)} column(s) the model was trained on: {listed}; add "
                f"them (see 'deltaprop info MODEL' for the features)"
            )

    def transform(self, frame: pd.DataFrame, notes: list[str] | None = None) -> np.ndarray:
        """The network inputs, shape (n_samples, n_inputs), float64."""
        self.check_columns(frame)
        X = np.zeros((len(frame), self.n_inputs), dtype=np.float64)
        col = 0
        for spec in self.columns:
            if spec.kind == "numeric":
                X[:, col] = self._encode_numeric(frame, spec)
            else:
                self._encode_categorical(frame, spec, X[:, col : col + spec.n_inputs], notes)
            col += spec.n_inputs
        return X

    def _encode_numeric(self, frame: pd.DataFrame, spec: ColumnSpec) -> np.ndarray:
        """x = (value − mean) / scale; a non-number or infinity is missing under impute, else refused."""
        name = spec.name
        values, bad = numeric_values(frame[name])
        for mask, problem, what in (
            (bad, lambda pos: f"holds numbers but {row_label(frame, pos)} is {frame[name].iloc[pos]!r}",
             "non-numbers"),
            (np.isinf(values), lambda pos: f"is infinite in {row_label(frame, pos)}", "it"),
        ):
            if mask.any() and not self.impute:
                raise UserError(f"column {name!r} {problem(_first(mask))}; fix that value, "
                                f"or train the model with --impute to treat {what} as missing")
            values = np.where(mask, np.nan, values)
        missing = np.isnan(values)
        if missing.any():
            if not self.impute:
                raise UserError(_missing_message(frame, name, missing, _RETRAIN))
            values = np.where(missing, np.nan if spec.fill is None else spec.fill, values)
        return (values - spec.mean) / spec.scale

    def _encode_categorical(
        self, frame: pd.DataFrame, spec: ColumnSpec, out: np.ndarray, notes: list[str] | None
    ) -> None:
        """One-hot into ``out`` (n_samples, n_categories); unseen or missing: all zeros."""
        values = labels_as_written(frame[spec.name])
        missing = values.isna().to_numpy()
        if missing.any() and not self.impute:
            raise UserError(_missing_message(frame, spec.name, missing, _RETRAIN))
        find = label_finder(spec.categories)
        codes = np.array([-1 if m else find(json_label(v)) for v, m in zip(values, missing)], dtype=np.int64)
        unseen = (codes < 0) & ~missing
        if unseen.any() and notes is not None:
            example = values[unseen].iloc[0]
            notes.append(
                f"column {spec.name!r}: {int(unseen.sum())} row(s) have categories not seen in "
                f"training (e.g. {example!r}); they are encoded as none of the known ones"
            )
        rows = np.flatnonzero(codes >= 0)
        out[rows, codes[rows]] = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"impute": self.impute, "columns": [c.to_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureEncoder:
        return cls([ColumnSpec(**c) for c in d["columns"]], impute=d["impute"])


def _categories(name: str, summary: ColumnSummary, notes: list[str]) -> list:
    """The sorted categories of a categorical input: too many refused, many noted."""
    cats = sorted(summary.categories or (), key=_label_sort_key)
    if len(cats) > MAX_CATEGORIES:
        raise UserError(
            f"column {name!r} has {len(cats):,} distinct values, more than the "
            f"{MAX_CATEGORIES:,} a categorical input may have (one input each); leave it out "
            f"with --drop {name}, or group its values into fewer categories"
        )
    if len(cats) > MANY_CATEGORIES:
        notes.append(
            f"column {name!r} has {len(cats)} distinct values, one input each; if it is an "
            f"identifier, leave it out with --drop {name}"
        )
    return cats


def scale_rule(std: float, spread: float) -> float:
    """The scale of a column whose standard deviation is ``std`` and whose training values lie
    at most ``spread`` from the mean: the standard deviation, but at least spread / MAX_Z, so
    that no training value lies more than MAX_Z scales from the mean -- a nearly constant
    column (an image's border pixel, nonzero in a few rows) would otherwise put those rows'
    inputs in the hundreds.  A constant column gets scale 1."""
    scale = max(std, spread / MAX_Z) if math.isfinite(spread) else std
    return scale if scale > 0 and math.isfinite(scale) else 1.0


def shared_unit(lows: Sequence[float], highs: Sequence[float]) -> float | None:
    """M when numeric columns with training minima ``lows`` and maxima ``highs`` are
    measurements in one unit, such as an image's pixel intensities: at least
    SHARED_UNIT_COLUMNS columns, none below 0, at least half of them reaching above M/2, M
    being the largest value of any, and at most SHARED_UNIT_SMALL of the non-constant ones
    staying below M/10 (not a second, smaller unit).  Such columns are scaled together,
    x = value / M, as pixels are, rather than each by its own spread: a border pixel that is 0 in nearly every
    training image then stays a small input on any image.  None otherwise."""
    lows_a, highs_a = np.asarray(lows, dtype=np.float64), np.asarray(highs, dtype=np.float64)
    if lows_a.size < SHARED_UNIT_COLUMNS or not np.isfinite(highs_a).all() or (lows_a < 0).any():
        return None
    top = float(highs_a.max())
    if not top > 0 or np.count_nonzero(highs_a > top / 2) * 2 < highs_a.size:
        return None
    # columns of another, much smaller unit (fractions beside amounts) would become inputs
    # near 0 (real digits: 1 % of MNIST's, 5 % of scikit-learn's 8x8 ones stay below M / 10)
    varying = highs_a > lows_a
    small = np.count_nonzero(varying & (highs_a < top / 10))
    return None if small > SHARED_UNIT_SMALL * np.count_nonzero(varying) else top


_unit_of = shared_unit  # fit_summaries' parameter shadows the name


def json_label(v: Any) -> Any:
    """A label as a JSON-able Python value (numpy scalars unwrapped; whole floats kept floats)."""
    if isinstance(v, np.generic):
        v = v.item()
    return v.strip() if isinstance(v, str) else v


def label_text(v: Any) -> str:
    """A label as text that is the same for 2, 2.0 and '2' (and for True and 'True')."""
    text = str(v).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)


def label_finder(labels: Sequence[Any]) -> Callable[[Any], int]:
    """find(v) → the position of v among ``labels``, or -1.

    An exact match first; else the same label written as another type (a class 1 trained
    from CSV text '1', looked up as the integer 1 from a Parquet file), when that is unique.
    """
    exact: dict[Any, int] = {}
    by_text: dict[str, list[int]] = {}
    for k, c in enumerate(labels):
        exact.setdefault(json_label(c), k)
        by_text.setdefault(label_text(c), []).append(k)

    def find(v: Any) -> int:
        k = exact.get(v)
        if k is not None:
            return k
        same = by_text.get(label_text(v), [])
        return same[0] if len(same) == 1 else -1

    return find


def _label_sort_key(v):
    return (0, v, "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0, str(v))


# ---------------------------------------------------------------------- targets
def codes_of(summary: ColumnSummary) -> int:
    """The number of distinct class codes: at most MAX_CODES whole numbers, each used by two rows
    on average; else 0."""
    if summary.bad or summary.infinite or not summary.count or summary.codes is None:
        return 0
    n = len(summary.codes)
    return n if 2 <= n <= MAX_CODES and n <= summary.count / 2 else 0


def task_of(targets: Sequence[ColumnSummary]) -> str:
    """'regression' when every target column holds measured numbers, else 'classification'.

    A single target of whole numbers with at most MAX_CODES distinct values (0/1, digits
    0 … 9, ratings 1 … 5) is class codes: classification.  A column of numbers with a few
    bad values counts as numeric (the bad values are then an error naming the row, not a
    class each); a boolean column is two classes.
    """
    if any(s.boolean for s in targets) or (len(targets) == 1 and codes_of(targets[0])):
        return "classification"
    numbers = all(kind_of(s) in ("numeric", "mostly-numeric") for s in targets)
    return "regression" if numbers else "classification"


def detect_task(frame: pd.DataFrame, targets: Sequence[str]) -> str:
    """:func:`task_of` the target columns of ``frame``."""
    return task_of([column_summary(frame[t]) for t in targets])


class TargetEncoder:
    """Targets in and out of the network.

    Regression: d = (target − mean) / scale per column, undone on predict.
    Classification: the labels themselves (the estimator keeps ``classes_``); labels are
    kept as written (text stays text, numbers stay numbers).
    """

    def __init__(self, names: Sequence[str], task: str, mean: Sequence[float] | np.ndarray | None = None,
                 scale: Sequence[float] | np.ndarray | None = None):
        self.names = list(names)
        self.task = task
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.scale = None if scale is None else np.asarray(scale, dtype=np.float64)

    def values(
        self, frame: pd.DataFrame, impute: bool = False, notes: list[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(targets for the estimator, boolean mask of rows kept).

        Rows with a missing target are an error, or dropped under ``impute`` (with a note).
        """
        for t in self.names:
            if t not in frame.columns:
                raise UserError(no_column_message(t, frame))
        keep = np.logical_and.reduce([frame[t].notna().to_numpy() for t in self.names])
        Y = None
        if self.task == "regression":
            # a fitted encoder reads data for a trained model (evaluate, explain): no --task to change
            trained = self.mean is not None
            Y = np.column_stack([_target_numbers(frame, t, trained) for t in self.names])
            keep &= ~np.isnan(Y).any(axis=1)
        dropped = np.flatnonzero(~keep)
        if dropped.size and not impute:
            row = dropped[0]
            bad_t = next(t for k, t in enumerate(self.names) if Y is None or np.isnan(Y[row, k]))
            raise UserError(
                f"target {bad_t!r} is missing in {row_label(frame, int(row))}; fill it in, or "
                f"pass --impute to leave out rows without a target"
            )
        if dropped.size and notes is not None:
            notes.append(f"left out {dropped.size} row(s) without a target value")
        if Y is not None:
            return Y[keep], keep
        labels = labels_as_written(frame[self.names[0]])[keep]
        return np.array([json_label(v) for v in labels], dtype=object), keep

    def fit(self, y: np.ndarray) -> TargetEncoder:
        """Learn the regression targets' mean and scale; refuse a constant target or one class."""
        if self.task == "regression":
            Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
            return self.fit_summaries([ColumnSummary.of_numbers(column) for column in Y.T])
        classes = set(y.tolist())
        if len(classes) < 2:
            only = next(iter(classes)) if classes else None
            raise UserError(
                f"target {self.names[0]!r} has a single class ({only!r}); classification needs rows "
                f"of at least two classes"
            )
        return self

    def fit_summaries(self, summaries: Sequence[ColumnSummary]) -> TargetEncoder:
        """Learn the regression targets' mean and scale from their columns' summaries."""
        if self.task == "regression":
            for t, s in zip(self.names, summaries):
                if not s.std > 0:
                    raise UserError(
                        f"target {t!r} has the same value in every row; there is nothing to learn, check "
                        f"that --target names the right column"
                    )
            self.mean = np.array([s.center for s in summaries])
            self.scale = np.array([s.std for s in summaries])
        return self

    def encode(self, y: np.ndarray) -> np.ndarray:
        """d: standardised regression targets (n, k), or the labels as an array the estimator sorts."""
        if self.task != "regression":
            return _label_array(y)
        if self.mean is None or self.scale is None:
            raise ValueError("encode needs a fitted regression TargetEncoder")
        return (y - self.mean) / self.scale

    def decode(self, y: np.ndarray) -> np.ndarray:
        """Network regression outputs (n, k) back to the targets' scale."""
        if self.mean is None or self.scale is None:
            raise ValueError("decode needs a fitted regression TargetEncoder")
        return np.asarray(y, dtype=np.float64).reshape(-1, len(self.names)) * self.scale + self.mean

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"names": self.names, "task": self.task}
        if self.mean is not None and self.scale is not None:
            d.update(mean=[float(v) for v in self.mean], scale=[float(v) for v in self.scale])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TargetEncoder:
        return cls(d["names"], d["task"], d.get("mean"), d.get("scale"))


def _target_numbers(frame: pd.DataFrame, t: str, trained: bool = False) -> np.ndarray:
    """A regression target's values (NaN where missing); refuses text and infinities."""
    if column_kind(frame[t]) not in ("numeric", "mostly-numeric", "empty"):
        example = frame[t].dropna().iloc[0]
        fix = "drop --task regression to classify it, or fix the column"
        if trained:
            fix = "the model predicts numbers for it; fix the column"
        raise UserError(f"target {t!r} is not numeric (e.g. {example!r}); {fix}")
    values, bad = numeric_values(frame[t])
    if bad.any():
        pos = _first(bad)
        labels = "" if trained else " (or use --task classification if the values are labels)"
        raise UserError(f"target {t!r} holds numbers but {row_label(frame, pos)} is {frame[t].iloc[pos]!r}; "
                        f"fix that value{labels}")
    if np.isinf(values).any():
        where = row_label(frame, _first(np.isinf(values)))
        raise UserError(f"target {t!r} is infinite in {where}; fix or remove that row")
    return values


def _label_array(labels: Any) -> np.ndarray:
    """Labels as an array of one type (text for a mix): the estimator sorts them the same way every time."""
    labels = list(labels)
    numbers = [v for v in labels if isinstance(v, (int, float)) and not isinstance(v, bool)]
    for dtype, ok in ((str, all(isinstance(v, str) for v in labels)),
                      (bool, all(isinstance(v, bool) for v in labels)),
                      (np.int64, len(numbers) == len(labels) and all(isinstance(v, int) for v in numbers)),
                      (np.float64, len(numbers) == len(labels))):
        if ok:
            return np.array(labels, dtype=dtype)
    return np.array([str(v) for v in labels], dtype=str)


def column_list(columns: Sequence[object], limit: int = 12) -> str:
    """The column names, comma-separated, the middle ones elided (the last, often the target, shows)."""
    names = [str(c) for c in columns]
    if len(names) <= limit:
        return ", ".join(names)
    head, tail = names[: limit - 3], names[-2:]
    return ", ".join(head) + ", …, " + ", ".join(tail) + f" ({len(names)} in all)"


def near_name(name: str, columns: Sequence[object]) -> str | None:
    """The column ``name`` most likely meant: the same name in another case, else difflib's closest."""
    names = [str(c) for c in columns]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return {c.lower(): c for c in names}.get(name.lower()) or (close[0] if close else None)


def near_names(names: Sequence[str], columns: Sequence[object], taken: Sequence[str] = ()) -> str:
    """``names`` quoted, each with the column not ``taken`` it likely meant ("'a' (did you mean 'A'?)")."""
    used = set(taken)
    free = [c for c in columns if c not in used]
    out = []
    for n in names:
        hint = near_name(n, free)
        out.append(f"{n!r}" + (f" (did you mean {hint!r}?)" if hint else ""))
    return ", ".join(out)


def no_column_message(name: str, frame: pd.DataFrame) -> str:
    """'there is no column …' with the closest name, if one is close, and the columns there are."""
    columns = [str(c) for c in frame.columns]
    hint = near_name(name, columns)
    shown = column_list(columns)
    if hint:
        return f"there is no column {name!r}; did you mean {hint!r}? (columns: {shown})"
    return f"there is no column {name!r}; name one of the columns: {shown}"


def task_note(names: Sequence[str], targets: Sequence[ColumnSummary], task: str) -> str:
    """The task in words: why :func:`task_of`'s rules read the target columns (their summaries)
    so, and how to choose the other.  Refuses a classification of fractions, which are not
    classes (scikit-learn's "continuous" target): ``targets[0].categories``, the distinct
    labels, are filled in by the caller."""
    shown = ", ".join(map(repr, names))
    if task == "regression":
        return (f"target {shown} holds numbers, so this is a regression; pass --task classification "
                f"if they are class codes")
    first = targets[0]
    labels = first.categories or set()
    if first.typed and not first.boolean and any(math.isfinite(v) and v != round(v) for v in labels):
        raise UserError(f"target {names[0]!r} holds fractions, which are not classes; pass --task "
                        f"regression, or write the classes as words or whole numbers")
    n = codes_of(first)
    if n:
        return (f"target {shown} holds {n} distinct whole numbers (at most {MAX_CODES}), so this is a "
                f"classification of class codes; pass --task regression to predict numbers")
    classes = column_list(sorted(map(str, labels)))
    return f"target {shown} holds words, so this is a classification of its classes: {classes}"
