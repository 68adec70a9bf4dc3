"""The cluster side of ``deltaprop train 'data/*.parquet' --scheduler ADDRESS``: the files read
and kept on the workers, their column summaries handed to one machine's rules in
:mod:`deltaprop.tabular.encode`, so the task, encoders and scaling are the same.  Every error
names the file.  See ``docs/distributed.md`` ("The command on a cluster").
"""

from __future__ import annotations

import contextlib
import glob
import logging
import operator
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop.distributed import cluster as _cluster
from deltaprop.errors import UserError
from deltaprop.tabular import encode as enc
from deltaprop.tabular import read as tabread

__all__ = ["connect", "local_workers", "quiet_logs", "ClusterTable", "ClusterRun", "table_files",
           "fit_encoders", "encoded_arrays", "train_table", "MEDIAN_ROUNDS"]

#: pivots per round of the exact median's search, and the most rounds (2**64 float64
#: positions, divided by PIVOTS a round: seven rounds end it)
PIVOTS = 1024
MEDIAN_ROUNDS = 16

#: ``local:N`` may start at most this many worker processes per CPU of the machine
WORKERS_PER_CPU = 2


def local_workers(scheduler: str) -> int:
    """N of ``local:N``: a whole number from 1 to WORKERS_PER_CPU × the machine's CPUs."""
    count = scheduler.split(":", 1)[1]
    most = WORKERS_PER_CPU * (os.cpu_count() or 1)
    if not count.isdigit() or not 1 <= int(count) <= most:
        raise UserError(f"--scheduler {scheduler!r}: write local:N with N from 1 to {most} "
                        f"({WORKERS_PER_CPU} worker processes per CPU of this machine), e.g. local:2")
    return int(count)


@contextlib.contextmanager
def quiet_logs(debug: bool = False) -> Iterator[None]:
    """Dask's own log lines (a worker's "Compute Failed … Traceback") kept off the terminal
    while the block runs, unless ``debug``: the run reports its errors in one line."""
    loggers = [logging.getLogger(n) for n in ("distributed", "dask")]
    levels = [lg.level for lg in loggers]
    if not debug:
        for lg in loggers:
            lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def connect(scheduler: str, debug: bool = False):
    """``(client, close)`` for ``--scheduler``: ``local:N`` starts a LocalCluster of N one-thread
    worker processes (logs silenced unless ``debug``); anything else is a scheduler's address."""
    try:
        from distributed import Client
    except ImportError as e:
        raise UserError("--scheduler needs Dask: pip install 'deltaprop[dask]'") from e
    if scheduler.startswith("local:"):  # a LocalCluster of the client's own: its close() closes both
        client = Client(n_workers=local_workers(scheduler), threads_per_worker=1, processes=True,
                        dashboard_address=None, silence_logs=logging.WARNING if debug else logging.CRITICAL)
        return client, client.close
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
    """The file's frame; None for a file without data rows (skipped with a note)."""
    try:
        return tabread.read_table(path)
    except tabread.EmptyTable:
        return None


def _columns(frame, path, first_columns, needed) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise UserError(f"{path}: {enc.no_column_message(missing[0], frame)}")
    if list(frame.columns) != first_columns:
        raise UserError(f"{path} has columns {list(frame.columns)} but the first file has {first_columns}; "
                        "every file needs the same columns")


class ClusterTable:
    """The files of one table, read and kept on the workers, one frame per file."""

    def __init__(self, pattern: str, client=None):
        import dask

        self.files = table_files(pattern)
        self.ex = _cluster.executor(client)
        self.notes: list[str] = []
        self.frames = self.ex.persist([dask.delayed(_read)(f) for f in self.files])
        self._skip_empty("has no data rows")
        self.columns = [str(c) for c in self.ex.map(lambda frame: list(frame.columns), self.frames[:1])[0]]

    def _skip_empty(self, why: str) -> None:
        """Leave out the files without rows, each with a note; none left is an error."""
        rows, notes = zip(*self.ex.map(_rows_and_notes, self.frames))
        self.notes.extend(n for file_notes in notes for n in file_notes if n not in self.notes)
        empty = [k for k, n in enumerate(rows) if not n]
        if len(empty) == len(self.files):
            raise UserError(f"every file {why} ({len(self.files)} file(s)); give files with data rows")
        for k in empty:
            self.notes.append(f"skipped {self.files[k]}: it {why}")
        self.ex.release([self.frames[k] for k in empty])
        self.files = [f for k, f in enumerate(self.files) if k not in empty]
        self.frames = [f for k, f in enumerate(self.frames) if k not in empty]

    def check_columns(self, needed: list[str]) -> None:
        """Every file has the first file's columns, ``needed`` among them."""
        self._map_files(_columns, self.columns, needed)

    def _map_files(self, func, *args, keep: bool = False) -> list:
        """``func(frame, path, *args)`` of every file on its worker: results, or (``keep``) handles."""
        run = self.ex.transform if keep else self.ex.map
        return run(_with_file, list(zip(self.frames, self.files)), func, *args)

    def summaries(self, names: list[str]) -> dict[str, enc.ColumnSummary]:
        """{name: the column's summary}, the files' summaries combined in file order."""
        per_file = self._map_files(_summaries, names)
        return {n: enc.ColumnSummary.combine([f[n] for f in per_file]) for n in names}

    def keep_rows(self, target_enc, impute: bool) -> None:
        """Keep the rows with targets (a missing one is an error without ``impute``), as one machine does."""
        old, self.frames = self.frames, self._map_files(_kept_rows, target_enc, impute, keep=True)
        self.ex.release(old)
        self._skip_empty("has no row with a target")

    def medians(self, names: list[str], summaries: dict[str, enc.ColumnSummary]) -> list[float]:
        """The exact median of each column, of its order statistics ⌊(n-1)/2⌋ and ⌊n/2⌋ as
        ``np.median`` takes them: one search on the values' order keys (the columns listed
        twice), PIVOTS pivots a round, each round one count per file."""
        if not names:
            return []
        n = np.array([summaries[name].count for name in names], dtype=np.int64)
        rank = np.concatenate([(n - 1) // 2, n // 2])
        lo = np.full(rank.size, _key(np.array([-np.inf]))[0], dtype=np.int64)
        hi = np.full(rank.size, _key(np.array([np.inf]))[0], dtype=np.int64)
        for _ in range(MEDIAN_ROUNDS):
            if (lo >= hi).all():
                break
            pivots = _pivots(lo, hi)  # (2k, PIVOTS), from lo to hi
            at_most = np.sum(self._map_files(_at_most, names + names, pivots), axis=0)
            # the first pivot with more than rank values at or below it bounds the value
            j = np.argmax(at_most > rank[:, None], axis=1)
            rows = np.arange(rank.size)
            lo, hi = np.where(j > 0, pivots[rows, np.maximum(j - 1, 0)] + 1, lo), pivots[rows, j]
        values = _flip(lo).view(np.float64)
        return [enc.median_of(np.array(pair)) for pair in zip(values[: len(names)], values[len(names) :])]

    def categories(self, names: list[str], impute: bool) -> dict[str, set]:
        per_file = self._map_files(_categories, names, impute)
        return {name: set().union(*(f[name] for f in per_file)) for name in names}


def _rows_and_notes(frame) -> tuple[int, list[str]]:
    """The frame's rows, and what reading it noted (a Parquet index kept as columns)."""
    return (0, []) if frame is None else (len(frame), frame.attrs.get("deltaprop_notes", []))


def _with_file(pair, func, *args):
    frame, path = pair
    try:
        return func(frame, path, *args)
    except UserError as e:
        raise (e if str(e).startswith(path) else UserError(f"{path}: {e}")) from None


def _summaries(frame, path, names):
    """The file's column summaries, a problem value's place naming the file."""
    out = {n: enc.column_summary(frame[n], frame) for n in names}
    for s in out.values():
        if s.bad_at:
            s.bad_at = (f"{s.bad_at[0]} of {path}", s.bad_at[1])
        if s.inf_at:
            s.inf_at = f"{s.inf_at} of {path}"
    return out


def _kept_rows(frame, path, target_enc, impute):
    _, keep = target_enc.values(frame, impute=impute)
    return frame if keep.all() else frame[keep]


def _flip(bits: np.ndarray) -> np.ndarray:
    """A negative int64 b ↦ min − b − 1 (its own inverse): a float64's bits ↔ its order key."""
    return np.where(bits < 0, np.int64(np.iinfo(np.int64).min) - bits - 1, bits)


def _key(values: np.ndarray) -> np.ndarray:
    return _flip(np.ascontiguousarray(values, dtype=np.float64).view(np.int64))


def _pivots(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """PIVOTS increasing keys per column from lo to hi, in unsigned arithmetic (no overflow)."""
    span = hi.astype(np.uint64) - lo.astype(np.uint64)
    step = span // np.uint64(PIVOTS) + np.uint64(1)
    offsets = np.minimum(step[:, None] * np.arange(PIVOTS, dtype=np.uint64), span[:, None])
    offsets[:, -1] = span
    return (lo.astype(np.uint64)[:, None] + offsets).astype(np.int64)


def _at_most(frame, path, names, pivots):
    """Per column, the count of the file's finite numbers at or below each pivot key."""
    out = []
    for name, keys in zip(names, pivots):
        values = enc.numeric_values(frame[name])[0]
        out.append(np.searchsorted(np.sort(_key(values[np.isfinite(values)])), keys, side="right"))
    return np.array(out)


def _categories(frame, path, names, impute):
    return {name: enc.category_labels(frame, name, impute) for name in names}


def fit_encoders(table: ClusterTable, targets: list[str], features: list[str], categorical=(),
                 task: str | None = None, impute: bool = False, *, shared_unit: bool = True,
                 notes: list[str] | None = None) -> tuple[Any, Any, str]:
    """``(FeatureEncoder, TargetEncoder, task)`` fitted by the single-machine rules on the files'
    combined column summaries, as one machine fits them on the concatenated rows with targets;
    the notes (the detected task's among them) go into ``notes``."""
    table.check_columns(targets + features)
    told, task = task is not None, task or enc.task_of(list(table.summaries(targets).values()))
    target_enc = enc.TargetEncoder(targets, task)
    table.keep_rows(target_enc, impute)
    summaries = table.summaries(features + targets)
    feature_enc = enc.FeatureEncoder(impute=impute)
    kinds = feature_enc.kinds({n: summaries[n] for n in features}, categorical)
    numeric = [n for n in features if kinds[n] == "numeric"]
    # the labels of the categorical inputs and, for task_note, of a classification's target: one pass
    labelled = [n for n in features if kinds[n] != "numeric"]
    labelled += targets[:1] if task == "classification" else []
    for name, labels in table.categories(labelled, impute).items():
        summaries[name].categories = labels
    note = enc.task_note(targets, [summaries[t] for t in targets], task)  # refuses fractions as classes
    if notes is not None and not told:
        notes.append(note)
    for name, fill in zip(numeric, table.medians(numeric, summaries)):
        summaries[name].fill = fill
    feature_enc.fit_summaries(features, summaries, categorical, notes, shared_unit)
    target_enc.fit_summaries([summaries[t] for t in targets])
    return feature_enc, target_enc, task


def _inputs(frame, feature_enc, target_enc, impute, dtype):
    """(raw targets, encoded inputs X) of a file's rows with targets."""
    y, keep = target_enc.values(frame, impute=impute)
    return y, feature_enc.transform(frame if keep.all() else frame[keep]).astype(dtype, copy=False)


def _encode(frame, path, feature_enc, target_enc, impute, dtype):
    y, X = _inputs(frame, feature_enc, target_enc, impute, dtype)
    D = target_enc.encode(y)
    return X, (D[:, 0] if D.ndim == 2 and D.shape[1] == 1 else D)


def encoded_arrays(table: ClusterTable, feature_enc, target_enc, impute=False, dtype=np.float64):
    """Dask arrays X (n, n_inputs) and y of the encoded rows, one block per file, on the workers."""
    import dask
    import dask.array as da

    encoded = table._map_files(_encode, feature_enc, target_enc, impute, dtype, keep=True)
    shapes = table.ex.map(lambda pair: [(a.shape, a.dtype) for a in pair], encoded)
    blocks = [[da.from_delayed(dask.delayed(operator.itemgetter(k))(e), shape=shape, dtype=kind)
               for k, (shape, kind) in enumerate(pair)] for e, pair in zip(encoded, shapes)]
    return da.concatenate([b[0] for b in blocks]), da.concatenate([b[1] for b in blocks])


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
    (default: the current one); ``make_estimator(task, n_rows)`` returns the unfitted estimator.
    Only the outputs on the training rows and their raw targets come back, for the metrics."""
    from deltaprop.tabular.model import TabularModel

    table = ClusterTable(pattern, client)
    table.check_columns([*targets, *drop, *categorical])
    features = [c for c in table.columns if c not in targets and c not in drop]
    if not features:
        raise UserError("no feature columns are left once the target(s) are set aside")
    notes = table.notes
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
    pairs = table._map_files(_outputs, model, impute, dtype)
    y_raw = np.concatenate([p[0] for p in pairs])
    outputs = np.concatenate([p[1] for p in pairs])
    sample = X[: min(SAMPLE_ROWS, int(X.shape[0]))].compute()
    return ClusterRun(model, y_raw, outputs, sample, int(X.shape[0]), table.files, notes)


def _outputs(frame, path, model, impute, dtype):
    """(raw targets, the estimator's outputs) of a file's kept rows, on its worker."""
    y_raw, X = _inputs(frame, model.features, model.target, impute, dtype)
    est = model.estimator
    return y_raw, (est.predict(X) if model.task == "regression" else est.predict_proba(X))
