"""Dask collections as aligned partitions of (X, y, sample_weight), checked on their workers;
every error names the partition.  Only counts and class labels reach the client.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from deltaprop.errors import UserError

__all__ = ["Block", "is_dask", "aligned_tasks", "prepare", "summarise", "targets", "Summary"]


class Block(NamedTuple):
    """One partition in memory: X (n_p, n_features), y (n_p,) or (n_p, k), s (n_p,) or None."""

    X: np.ndarray
    y: np.ndarray | None
    s: np.ndarray | None


class Summary(NamedTuple):
    """What the client learns of one partition: rows, features, labels and their counts
    (classification), the shape of a row of y."""

    n: int
    n_features: int
    labels: np.ndarray | None
    counts: np.ndarray | None
    y_shape: tuple


def is_dask(x: Any) -> bool:
    """True for a Dask collection (array, dataframe, series): it has a task graph."""
    return callable(getattr(x, "__dask_graph__", None))


def _is_frame(x: Any) -> bool:
    return hasattr(x, "map_partitions") and hasattr(x, "npartitions")


def _blocks(v, what: str, rows=None) -> tuple[list, tuple]:
    """``v`` (Dask or numpy) as delayed blocks of whole rows (its own chunks, or ``rows``: X's),
    and the rows of each block."""
    import dask.array as da

    if _is_frame(v):
        v = v.to_dask_array(lengths=True)
    v = da.asarray(v)
    if v.ndim not in (1, 2):
        raise UserError(f"{what} must be 1-D or 2-D; got a Dask array of {v.ndim} dimensions")
    if any(math.isnan(c) for c in v.chunks[0]):
        raise UserError(
            f"{what} is a Dask array with unknown chunk sizes (rows per block); call "
            f"{what}.compute_chunk_sizes() first, or pass the Dask dataframe it came from"
        )
    if rows is not None and v.shape[0] != sum(rows):
        raise UserError(f"{what} has {v.shape[0]} rows but X has {sum(rows)}; pass one per row of X")
    v = v.rechunk((rows or v.chunks[0],) + (-1,) * (v.ndim - 1))  # a block holds whole rows
    return list(v.to_delayed().ravel()), v.chunks[0]


def aligned_tasks(X, y=None, sample_weight=None) -> list[tuple]:
    """``[(X_p, y_p, s_p), …]`` as dask.delayed objects, one per partition (row chunk) of X;
    y and sample_weight Dask collections, or numpy cut to X's row chunks."""
    if _is_frame(X):
        return _frame_tasks(X, {"y": y, "sample_weight": sample_weight})
    x_parts, rows = _blocks(X, "X")
    ys = [None] * len(x_parts) if y is None else _blocks(y, "y", rows)[0]
    ss = [None] * len(x_parts) if sample_weight is None else _blocks(sample_weight, "sample_weight", rows)[0]
    return list(zip(x_parts, ys, ss))


def _frame_tasks(X, others: dict) -> list[tuple]:
    """Partition p of X, y and sample_weight from one Dask expression, so that Dask's optimiser
    cannot cut them apart differently (alone, it reads y as fewer partitions than X); other
    partitions are repartitioned to X's known divisions, else refused."""
    import dask.dataframe as dd

    given = dict(others)
    for what, v in others.items():
        if v is None:
            continue
        if not _is_frame(v):
            raise UserError(f"X is a Dask dataframe, so {what} must be a Dask series or dataframe too "
                            f"(e.g. df[column])")
        if v.npartitions != X.npartitions:
            if not (X.known_divisions and v.known_divisions):
                raise UserError(f"X has {X.npartitions} partitions but {what} has {v.npartitions}, and their "
                                f"divisions are unknown, so their rows cannot be lined up; take both from "
                                f"one dataframe (df.drop(columns='y'), df['y']), or index both (set_index)")
            given[what] = v.repartition(divisions=X.divisions)
    # each partition of this collection is the tuple (X_p, y_p, s_p), paired by position
    try:
        parts = dd.map_partitions(lambda *p: p, X, *given.values(), align_dataframes=False,
                                  enforce_metadata=False, meta=X._meta).to_delayed()
    except (ValueError, TypeError) as e:
        why = " ".join(str(e).split())
        raise UserError(f"the rows of X and y cannot be lined up by their divisions ({why}); "
                        f"take both from one dataframe (df.drop(columns='y'), df['y'])") from None
    return [(p[0], p[1], p[2]) for p in parts]


def _finite_rows(a: np.ndarray, index: int, what: str, fix: str) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise UserError(f"partition {index}: {what} has NaN or infinity (row {row} of the partition); {fix}")


def prepare(X, y, s, index: int, dtype, columns: list | None, check_y_finite: bool) -> Block:
    """Partition ``index`` as a checked :class:`Block`; ``columns``: the feature names every
    partition must have (None: an array)."""
    if columns is not None:
        got = [str(c) for c in X.columns] if hasattr(X, "columns") else None
        if got != columns:
            raise UserError(
                f"partition {index} has columns {got} but partition 0 has {columns}; every "
                "partition (file) needs the same feature columns"
            )
        numeric = [c for c, t in zip(X.columns, X.dtypes) if t.kind not in "biuf"]
        if numeric:
            raise UserError(f"partition {index}: column {numeric[0]!r} is not numeric; encode it first")
        X = X.to_numpy()
    X = np.ascontiguousarray(np.asarray(X, dtype=dtype))
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    _finite_rows(X, index, "X", "drop or impute those rows")
    if y is not None:
        y = np.asarray(y)
        if y.shape[0] != X.shape[0]:
            raise UserError(f"partition {index} has {X.shape[0]} rows of X but {y.shape[0]} of y")
        if check_y_finite or y.dtype.kind == "f":
            if y.dtype.kind not in "biuf":
                raise UserError(f"partition {index}: y is not numeric (dtype {y.dtype})")
            _finite_rows(y, index, "y", "drop those rows")
    if s is not None:
        s = np.asarray(s, dtype=dtype).reshape(-1)
        if s.shape[0] != X.shape[0] or not np.isfinite(s).all() or (s < 0).any():
            raise UserError(f"partition {index}: sample_weight must be finite, non-negative, one per row")
    return Block(X, y, s)


def summarise(block: Block, labels: bool) -> Summary:
    """Rows and features, and (``labels``) the distinct labels of y with their counts."""
    (n, n_features), y = block.X.shape, block.y
    y_shape = () if y is None else y.shape[1:]
    if y is None or not labels or y.ndim != 1:
        return Summary(n, n_features, None, None, y_shape)
    return Summary(n, n_features, *np.unique(y, return_counts=True), y_shape)


def targets(block: Block, binarizer, dtype, class_weight: tuple | None) -> Block:
    """The block with y replaced by the targets D (n_p, n_L) and the class weights
    (``(classes, weights)``, sorted by class) multiplied into s."""
    X, y, s = block
    assert y is not None, "targets() needs a block with y"
    D = (y.reshape(-1, 1) if y.ndim == 1 else y) if binarizer is None else binarizer.transform(y)
    if class_weight is not None:
        classes, weights = class_weight
        w = np.asarray(weights, dtype=dtype)[np.searchsorted(classes, y)]
        s = w if s is None else s * w
    return Block(X, np.ascontiguousarray(D.astype(dtype)), s)
