"""The cluster side of ``deltaprop train 'data/*.parquet' --scheduler ADDRESS``.

A table spread over files (Parquet, or CSV/TSV, one glob) is read file by file on the
workers and stays there.  The preprocessing statistics are computed where the rows are,
with the single-machine definitions of :mod:`deltaprop.tabular.encode`, and equal what
that path computes on the concatenated rows (up to the order of float additions):

- a column's kind from its counts of present values and of values that are not numbers
  (``column_kind``'s rule, which depends on those counts only);
- a numeric column's mean and scale as ``numeric_scale`` computes them: values divided by
  the largest |value| of the column, mean and (population) standard deviation, scaled back,
  the scale at least max|value - mean| / MAX_Z -- three passes (the largest |value|, the
  sum, the squared deviations and the largest deviation);
- its median (the ``fill`` of ``--impute``), exactly, by bisection on the order of the
  float64 values (each round counts, per file, the values at or below a pivot);
- a categorical column's categories: the union of each file's, sorted as one file's are;
- the targets: regression mean and scale as above; the classes as their union.

Every error names the file.  Then the rows are encoded on the workers into a Dask array
X (n, n_inputs) and the targets y, which the estimators fit on the cluster.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop.distributed import cluster as _cluster
from deltaprop.errors import UserError
from deltaprop.tabular import encode as enc
from deltaprop.tabular import read as tabread

__all__ = ["connect", "ClusterTable", "ClusterRun", "table_files", "fit_encoders", "encoded_arrays",
           "train_table", "MEDIAN_ROUNDS"]

#: pivots per round of the exact median's search, and the most rounds it needs
#: (the float64 order has 2**64 positions; each round divides the range by PIVOTS, so
#: seven rounds end it)
PIVOTS = 1024
MEDIAN_ROUNDS = 16


def connect(scheduler: str):
    """A ``distributed.Client`` for ``--scheduler``: ``local:N`` starts a LocalCluster of N
    worker processes (one thread each); anything else is a scheduler's address.

    Returns ``(client, close)``; call ``close()`` when done."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as e:
        raise UserError("--scheduler needs Dask: pip install 'deltaprop[dask]'") from e
    if scheduler.startswith("local:"):
        count = scheduler.split(":", 1)[1]
        if not count.isdigit() or int(count) < 1:
            raise UserError(f"--scheduler {scheduler!r}: write local:N with N workers, e.g. local:2")
        cluster = LocalCluster(n_workers=int(count), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)

        def close():
            client.close()
            cluster.close()

        return client, close
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError, ValueError) as e:
        raise UserError(f"cannot reach the Dask scheduler at {scheduler!r} ({e}); check the address, "
                        "or pass --scheduler local:N for a cluster on this machine") from e
    return client, client.close


def table_files(pattern: str) -> list[str]:
    """The files of ``pattern`` (a glob, a folder of Parquet files, or one file), sorted."""
    path = Path(pattern)
    if path.is_dir():
        files = sorted(str(p) for p in path.iterdir() if p.suffix.lower() in tabread.PARQUET_SUFFIXES)
    else:
        files = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
    if not files:
        raise UserError(f"no files match {pattern!r}; check the pattern (quote it, so the shell "
                        "leaves it alone)")
    return files


def _read(path: str):
    return tabread.read_table(path)


def _in_file(path: str, error: UserError) -> UserError:
    message = str(error)
    return error if message.startswith(path) else UserError(f"{path}: {message}")


def _columns(frame, path, first_columns, needed):
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise UserError(f"{path}: {enc.no_column_message(missing[0], frame)}")
    if list(frame.columns) != first_columns:
        raise UserError(f"{path} has columns {list(frame.columns)} but the first file has {first_columns}; "
                        "every file needs the same columns")
    return True


def _counts(frame, name: str):
    """(numeric dtype, present, not numbers) of one column of one file."""
    series = frame[name]
    present = int(series.notna().sum())
    if series.dtype.kind in "biuf":
        return True, present, 0
    _, bad = enc.numeric_values(series)
    return False, present, int(bad.sum())


def _kind(counts) -> str:
    """``column_kind`` of the concatenated column, from the files' counts."""
    if all(c[0] for c in counts):
        return "numeric"
    n_present = sum(c[1] for c in counts)
    if n_present == 0:
        return "empty"
    n_numbers = n_present - sum(c[2] for c in counts)
    if n_numbers == n_present:
        return "numeric"
    return "mostly-numeric" if n_numbers >= enc.NUMERIC_SHARE * n_present else "categorical"


class ClusterTable:
    """The files of one table, read and kept on the workers, one frame per file."""

    def __init__(self, pattern: str, client=None):
        import dask

        self.files = table_files(pattern)
        self.ex = _cluster.executor(client)
        self.frames = self.ex.persist([dask.delayed(_read)(f) for f in self.files])
        self.columns = [str(c) for c in self.ex.map(_column_names, self.frames[:1])[0]]

    def check_columns(self, needed: list[str]) -> None:
        """Every file has the first file's columns, and ``needed`` among them (else the file is named)."""
        self._map_files(_columns, self.columns, needed)

    def _map_files(self, func, *args) -> list:
        return self.ex.map(_with_file, list(zip(self.frames, self.files)), func, *args)

    # ------------------------------------------------------------------ statistics
    def kinds(self, names: list[str]) -> dict[str, str]:
        per_file = self._map_files(_file_counts, names)
        return {n: _kind([counts[n] for counts in per_file]) for n in names}

    def numeric_values_stats(self, names: list[str], impute: bool, median: bool = True) -> dict:
        """{name: (mean, std, median, max|value - mean|)} as ``_mean_std`` and ``np.median``
        compute them on the column's present values (median: NaN unless asked for)."""
        if not names:
            return {}
        tops = np.max(self._map_files(_stat, names, impute, "top", None), axis=0)
        tops = np.where((tops > 0) & np.isfinite(tops), tops, 1.0)
        first = self._map_files(_stat, names, impute, "sum", tops)
        n = sum(r[1] for r in first)
        mean_scaled = sum(r[0] for r in first) / n
        mean = mean_scaled * tops
        second = self._map_files(_stat, names, impute, "squares", (tops, mean_scaled, mean))
        std_scaled = np.sqrt(sum(r[0] for r in second) / n)
        spread = np.max([r[1] for r in second], axis=0)
        medians = self._medians(names, impute, n) if median else np.full(len(names), np.nan)
        return {name: (mean[k], std_scaled[k] * tops[k], medians[k], spread[k])
                for k, name in enumerate(names)}

    def _medians(self, names, impute, n):
        """The exact median of each column: the mean of its order statistics ⌊(n-1)/2⌋ and
        ⌊n/2⌋ (0-based; one and the same for odd n), as ``np.median`` takes them."""
        n = np.asarray(n, dtype=np.int64)
        # both order statistics of every column in one search: the columns listed twice
        values = self._order_statistic(names + names, impute, np.concatenate([(n - 1) // 2, n // 2]))
        return (values[: len(names)] + values[len(names) :]) / 2

    def _order_statistic(self, names, impute, rank):
        """The rank-th smallest present value of each column (0-based): a search on the
        values' order keys, PIVOTS pivots a round, each round one count per file."""
        lo = np.full(len(names), _key(np.array([-np.inf]))[0], dtype=np.int64)
        hi = np.full(len(names), _key(np.array([np.inf]))[0], dtype=np.int64)
        for _ in range(MEDIAN_ROUNDS):
            if (lo >= hi).all():
                break
            pivots = _pivots(lo, hi)  # (k, PIVOTS), the last one hi
            at_most = np.sum(self._map_files(_stat, names, impute, "at_most", pivots), axis=0)
            # the first pivot with more than rank values at or below it bounds the value
            j = np.argmax(at_most > rank[:, None], axis=1)
            rows = np.arange(len(names))
            new_hi = pivots[rows, j]
            lo = np.where(j > 0, pivots[rows, np.maximum(j - 1, 0)] + 1, lo)
            hi = new_hi
        return _from_key(lo)

    def categories(self, names: list[str], impute: bool) -> dict[str, list]:
        per_file = self._map_files(_categories, names, impute)
        return {name: sorted(set().union(*(f[name] for f in per_file)), key=enc._label_sort_key)
                for name in names}


# ---------------------------------------------------------------------- on the workers
def _column_names(frame):
    return list(frame.columns)


def _with_file(pair, func, *args):
    frame, path = pair
    try:
        return func(frame, *args) if func is not _columns else func(frame, path, *args)
    except UserError as e:
        raise _in_file(path, e) from None


def _file_counts(frame, names):
    return {n: _counts(frame, n) for n in names}


def _present(frame, names, impute) -> np.ndarray:
    """The columns as floats (n, k), NaN where missing; a bad value is the single-machine error."""
    encoder = enc.FeatureEncoder(impute=impute)
    return np.column_stack([encoder._numbers(frame, n, impute) for n in names]) if names else np.zeros((0, 0))


def _key(values: np.ndarray) -> np.ndarray:
    """float64 → int64 keys in the same order (negative floats' bits reversed)."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.int64)
    return np.where(bits < 0, np.int64(np.iinfo(np.int64).min) - bits - 1, bits)


def _pivots(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """PIVOTS increasing keys from lo to hi (the last one hi) per column, in unsigned
    arithmetic so that the widest range does not overflow."""
    span = hi.astype(np.uint64) - lo.astype(np.uint64)
    step = span // np.uint64(PIVOTS) + np.uint64(1)
    offsets = np.minimum(step[:, None] * np.arange(1, PIVOTS + 1, dtype=np.uint64), span[:, None])
    return (lo.astype(np.uint64)[:, None] + offsets).astype(np.int64)


def _from_key(keys: np.ndarray) -> np.ndarray:
    bits = np.where(keys < 0, np.int64(np.iinfo(np.int64).min) - keys - 1, keys)
    return np.asarray(bits, dtype=np.int64).view(np.float64)


def _stat(frame, names, impute, what, arg):
    """One pass over a file's present values per column: the largest |value|, the least or
    the largest value, (Σ v/top, count),
    Σ (v/top - mean)², or the count at or below a pivot key."""
    values = _present(frame, names, impute)
    out: list[Any] = []
    for k in range(len(names)):
        v = values[:, k]
        v = v[~np.isnan(v)]
        if what == "top":
            out.append(np.max(np.abs(v)) if v.size else 0.0)
        elif what in ("bottom", "highest"):  # the least / largest value (±inf for none)
            out.append((np.min(v) if what == "bottom" else np.max(v)) if v.size else
                       (np.inf if what == "bottom" else -np.inf))
        elif what == "sum":
            out.append((np.sum(v / arg[k]), v.size))
        elif what == "squares":
            tops, mean_scaled, mean = arg
            spread = float(np.max(np.abs(v - float(mean[k])))) if v.size else 0.0
            out.append((np.sum((v / tops[k] - mean_scaled[k]) ** 2), spread))
        else:
            out.append(np.searchsorted(np.sort(_key(v)), arg[k], side="right"))
    if what in ("sum", "squares"):
        return np.array([s for s, _ in out]), np.array([c for _, c in out])
    return np.array(out)


def _categories(frame, names, impute):
    out = {}
    for name in names:
        values = enc.labels_as_written(frame[name])
        if values.isna().any() and not impute:
            pos = int(np.flatnonzero(values.isna().to_numpy())[0])
            where = tabread.row_label(frame, pos)
            raise UserError(f"column {name!r} has a missing value in {where}; fill it in, or pass --impute")
        out[name] = {enc.json_label(v) for v in values.dropna()}
    return out


def fit_encoders(table: ClusterTable, targets: list[str], features: list[str], categorical=(),
                 task: str | None = None, impute: bool = False, *, shared_unit: bool = True,
                 notes: list[str] | None = None) -> tuple[Any, Any, str]:
    """``(FeatureEncoder, TargetEncoder, task)`` fitted on the cluster, equal to
    ``FeatureEncoder(impute).fit(frame, features, categorical, notes, shared_unit)`` and
    ``TargetEncoder.fit`` on the concatenated files (missing targets are the single-machine
    error, naming the file); the notes go into ``notes``."""
    table.check_columns(targets + features)
    kinds = table.kinds(features + targets)
    if task is None:
        numeric_targets = all(kinds[t] in ("numeric", "mostly-numeric") for t in targets)
        task = "regression" if numeric_targets else "classification"
    numeric: list[str] = []
    cats: list[str] = []
    for name in features:
        kind = "categorical" if name in categorical else kinds[name]
        if kind == "empty":
            raise UserError(f"column {name!r} has no values (every row is missing); drop it with "
                            f"--drop {name}")
        if kind == "mostly-numeric" and not impute:
            raise UserError(f"column {name!r} holds numbers but some values are not; pass --impute to treat "
                            f"them as missing, or --categorical {name}")
        (numeric if kind in ("numeric", "mostly-numeric") else cats).append(name)
    stats = table.numeric_values_stats(numeric, impute)
    categories = table.categories(cats, impute)
    columns = []
    for name in features:
        if name in stats:
            mean, std, median, spread = (float(v) for v in stats[name])
            columns.append(enc.ColumnSpec(name, "numeric", mean=mean, scale=enc.scale_rule(std, spread),
                                          fill=median))
        else:
            columns.append(enc.ColumnSpec(name, "categorical", categories=categories[name]))
    feature_enc = enc.FeatureEncoder(columns, impute=impute)
    if shared_unit and len(numeric) >= enc.SHARED_UNIT_COLUMNS:  # the single-machine one-unit rule
        lows = np.min(table._map_files(_stat, numeric, impute, "bottom", None), axis=0)
        highs = np.max(table._map_files(_stat, numeric, impute, "highest", None), axis=0)
        feature_enc.share_unit(lows, highs, notes if notes is not None else [])
    target_enc = enc.TargetEncoder(targets, task)
    table._map_files(_target_check, target_enc, impute)
    if task == "regression":
        t_stats = table.numeric_values_stats(targets, impute, median=False)
        target_enc.mean = np.array([t_stats[t][0] for t in targets])
        target_scale = np.array([t_stats[t][1] for t in targets], dtype=np.float64)
        for t, sd in zip(targets, target_scale):
            if not sd > 0:
                raise UserError(f"target {t!r} has the same value in every row; there is nothing to learn")
        target_enc.scale = target_scale
    return feature_enc, target_enc, task


def _target_check(frame, target_enc, impute):
    target_enc.values(frame, impute=impute)
    return True


def _encode(frame, feature_enc, target_enc, impute, dtype):
    y, keep = target_enc.values(frame, impute=impute)
    rows = frame[keep] if not keep.all() else frame
    X = feature_enc.transform(rows).astype(dtype, copy=False)
    D = target_enc.encode(y)
    return X, (D[:, 0] if D.ndim == 2 and D.shape[1] == 1 else D)


def encoded_arrays(table: ClusterTable, feature_enc, target_enc, impute=False, dtype=np.float64):
    """Dask arrays X (n, n_inputs) and y of the encoded rows, one block per file, on the workers."""
    import dask.array as da

    encoded = table.ex.transform(_with_file, list(zip(table.frames, table.files)), _encode, feature_enc,
                                 target_enc, impute, dtype)
    shapes = table.ex.map(_shapes, encoded)
    Xs = [da.from_delayed(_part(e, 0), shape=s[0], dtype=dtype) for e, s in zip(encoded, shapes)]
    ys = [da.from_delayed(_part(e, 1), shape=s[1], dtype=s[2]) for e, s in zip(encoded, shapes)]
    return da.concatenate(Xs), da.concatenate(ys)


def _shapes(pair):
    X, y = pair
    return X.shape, y.shape, y.dtype


def _part(handle, k):
    import dask

    return dask.delayed(lambda pair: pair[k])(handle)


# ---------------------------------------------------------------------- the whole run
@dataclass
class ClusterRun:
    """What :func:`train_table` made: the model, and for its metrics and report the raw
    targets, the estimator's outputs (values, or class probabilities) and a sample of inputs."""

    model: Any
    y_raw: np.ndarray
    outputs: np.ndarray
    X_sample: np.ndarray
    rows: int
    files: list[str]
    notes: list[str] = field(default_factory=list)


#: encoded rows kept for the report's unit activity (the first rows of the first files)
SAMPLE_ROWS = 2000


def train_table(pattern: str, targets: list[str], make_estimator, *, client=None, drop=(), categorical=(),
                task: str | None = None, impute: bool = False, dtype=np.float64,
                shared_unit: bool = True) -> ClusterRun:
    """Train the command's model on the files of ``pattern`` on the cluster of ``client``
    (default: the current one).

    ``make_estimator(task, n_rows)`` returns the unfitted estimator (the command's options).
    The preprocessing is fitted by :func:`fit_encoders`, the rows encoded on the workers
    (:func:`encoded_arrays`) and the estimator fitted on them there; the outputs on every
    training row are computed on the workers too, and only they and the raw targets come
    back for the metrics.
    """
    from deltaprop.tabular.model import TabularModel

    table = ClusterTable(pattern, client)
    for name in list(targets) + list(drop) + list(categorical):
        if name not in table.columns:
            raise UserError(f"{table.files[0]}: there is no column {name!r}; name one of: "
                            f"{', '.join(table.columns[:12])}")
    features = [c for c in table.columns if c not in targets and c not in drop]
    if not features:
        raise UserError("no feature columns are left once the target(s) are set aside")
    notes: list[str] = []
    feature_enc, target_enc, task = fit_encoders(table, list(targets), features, categorical, task, impute,
                                                 shared_unit=shared_unit, notes=notes)
    X, y = encoded_arrays(table, feature_enc, target_enc, impute, dtype)
    est = make_estimator(task, int(X.shape[0]))
    est.fit(X, y)
    history = {
        "loss_curve": [float(v) for v in est.loss_curve_],
        "gradient_norms": [{int(k): float(v) for k, v in g.items()} for g in est.gradient_norms_],
    }
    model = TabularModel(feature_enc, target_enc, est, history=history)
    pairs = table.ex.map(_with_file, list(zip(table.frames, table.files)), _outputs, model, impute, dtype)
    y_raw = np.concatenate([p[0] for p in pairs])
    outputs = np.concatenate([p[1] for p in pairs])
    sample = X[: min(SAMPLE_ROWS, int(X.shape[0]))].compute()
    return ClusterRun(model, y_raw, outputs, sample, int(X.shape[0]), table.files, notes)


def _outputs(frame, model, impute, dtype):
    """(raw targets, the estimator's outputs) of a file's kept rows, on its worker."""
    y_raw, keep = model.target.values(frame, impute=impute)
    rows = frame[keep] if not keep.all() else frame
    X = model.features.transform(rows).astype(dtype, copy=False)
    est = model.estimator
    return y_raw, (est.predict(X) if model.task == "regression" else est.predict_proba(X))
