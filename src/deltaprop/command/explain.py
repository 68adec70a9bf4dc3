"""``deltaprop explain MODEL --weight l:j,i --data FILE [--row N …] [--format …] [--out FILE]``.

A model trained by the command reads ``--data`` through its own preprocessing and target
encoding; a saved Network or estimator reads a table of numbers: the first n_1 columns are the
inputs x, the rest the targets d (n_L of them, or one column of class labels for a classifier).
``--row N`` picks rows (from 1 after the header; default all: the batch gradient).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import numpy as np

from deltaprop.errors import UserError

FORMATS = ("text", "latex", "html")
_SUFFIX_FORMAT = {".html": "html", ".htm": "html", ".tex": "latex", ".txt": "text"}


def _numeric_table(frame, path):
    import pandas as pd

    values = frame.apply(pd.to_numeric, errors="coerce")
    missing = values.isna().to_numpy()
    bad = missing & frame.notna().to_numpy()
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise UserError(
            f"{path}: column {frame.columns[c]!r}, row {r + 1} is {frame.iat[r, c]!r}, not a number; "
            "this model reads a table of numbers (inputs, then targets)"
        )
    if missing.any():
        r, c = np.argwhere(missing)[0]
        raise UserError(f"{path}: column {frame.columns[c]!r} is empty in row {r + 1}; fill it in or drop "
                        f"the row")
    return values


def samples_from_table(model: Any, frame: Any, path: str) -> tuple[np.ndarray, Any, np.ndarray]:
    """(X, D, row numbers from 1) for ``model`` from a DataFrame, as the module docstring says."""
    if hasattr(model, "transform") and hasattr(model, "target") and hasattr(model, "network_"):
        Y, keep = model.target.values(frame)
        X = np.asarray(model.transform(frame.loc[keep] if not keep.all() else frame), dtype=np.float64)
        return X, model.target.encode(Y), np.flatnonzero(keep) + 1
    from deltaprop.explanation.core import as_network

    net, _, classes = as_network(model)
    n_in, n_out, n_cols = net.sizes[0], net.sizes[-1], frame.shape[1]
    numbers = np.arange(1, len(frame) + 1)
    want = [n_in + n_out] + ([n_in + 1] if classes is not None else [])
    if n_cols not in want:
        labels = " or one column of class labels" if classes is not None else ""
        targets = f"{n_out} target columns d{labels}"
        targets = "its class labels" if classes is not None and n_out == 1 else targets
        raise UserError(
            f"{path} has {n_cols} columns but this model needs {' or '.join(map(str, want))}: its "
            f"{n_in} inputs x, then {targets}"
        )
    if n_cols == n_in + 1 and classes is not None and n_out != 1:
        X = _numeric_table(frame.iloc[:, :n_in], path).to_numpy(np.float64)
        dtype = np.asarray(classes).dtype
        if dtype.kind in "iuf":
            return X, _numeric_table(frame.iloc[:, n_in:], path).to_numpy().ravel().astype(dtype), numbers
        return X, frame.iloc[:, n_in].to_numpy(), numbers
    values = _numeric_table(frame, path).to_numpy(np.float64)
    if classes is not None and n_out == 1:
        return values[:, :n_in], values[:, n_in].astype(np.asarray(classes).dtype), numbers
    return values[:, :n_in], values[:, n_in:], numbers


def row_index(numbers: np.ndarray, rows: tuple, path: str) -> list[int]:
    """Positions among the table's usable rows (numbered ``numbers``) of rows ``rows`` (all: none given)."""
    if not rows:
        return list(range(len(numbers)))
    index = []
    for r in rows:
        where = np.flatnonzero(numbers == r)
        if not where.size:
            last = int(numbers.max()) if numbers.size else 0
            raise UserError(
                f"--row {r} is out of range: {path} has rows 1 … {last}; pick a row in that range"
            )
        index.append(int(where[0]))
    return index


def raw_values(model: Any, frame: Any, table_rows: list[int]) -> tuple[list, list] | None:
    """A command model's table rows as written: per input unit its column's value (a one-hot unit's
    column gives its category), per output its target or class label; None for other models."""
    features, target = getattr(model, "features", None), getattr(model, "target", None)
    if features is None or target is None:
        return None
    picked = [row for _, row in frame.iloc[[r - 1 for r in table_rows]].iterrows()]
    columns = [spec.name for spec in features.columns for _ in range(spec.n_inputs)]
    inputs = [[_as_written(row[c]) for c in columns] for row in picked]
    if target.task == "regression":
        return inputs, [[_as_written(row[t]) for t in target.names] for row in picked]
    # every output unit of a classifier stands beside the row's one label
    return inputs, [[_as_written(row[target.names[0]])] * model.network_.sizes[-1] for row in picked]


def _as_written(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, (float, np.floating)) else str(value)


def _walked_sample(sample: int | None, rows: tuple, numbers: np.ndarray, path: str) -> int:
    """The position (from 1) among the used rows of table row ``sample`` (default: the first used row)."""
    if sample is None:
        return 1
    used = list(rows) if rows else [int(n) for n in numbers]
    if sample not in used:
        where = "one of the --row numbers given" if rows else f"a row of {path}"
        raise UserError(f"--sample {sample} is not among the rows explained; pick {where}")
    return used.index(sample) + 1


def run_explain(model_path: str, weight: str | tuple[int, int, int], data: str | None, rows: tuple = (),
                fmt: str | None = None, out: str | None = None, alpha: float | None = None,
                sample: int | None = None, lang: str = "en") -> str:
    """What the command does, as a function: the rendered text."""
    from deltaprop.core.derivation import parse_weight
    from deltaprop.explanation.core import as_network
    from deltaprop.explanation.core import explain as explain_fn
    from deltaprop.files.archive import load
    from deltaprop.tabular.read import read_table

    if alpha is not None and not (math.isfinite(alpha) and alpha >= 0):
        raise UserError(f"--alpha {alpha:g}: the L2 strength must be a finite number ≥ 0")
    model = load(model_path)
    every = isinstance(weight, str) and weight.strip().lower() == "all"
    try:
        triple: Any = "all" if every else parse_weight(as_network(model)[0], weight)
    except ValueError as e:
        raise UserError(f"--weight {weight}: {e}") from None
    if data is None:
        raise UserError(
            "explain needs samples to differentiate on: pass --data FILE (a table with the model's inputs "
            "and targets) and optionally --row N"
        )
    frame = read_table(data)
    if len(frame) == 0:
        raise UserError(f"{data} has no rows; give a table with at least one sample")
    X, D, numbers = samples_from_table(model, frame, data)
    index = row_index(numbers, rows, data)
    table_rows = [int(numbers[k]) for k in index]
    walked = _walked_sample(sample, rows, numbers, data)
    if fmt is None:
        fmt = _SUFFIX_FORMAT.get(Path(out).suffix.lower(), "text") if out else "text"
    if every and fmt == "latex":
        raise UserError("--weight all writes one page of every weight: use --format html (or text)")
    try:
        ex = explain_fn(model, triple, X[index], np.asarray(D)[index], alpha=alpha, sample=walked, lang=lang)
    except ValueError as e:  # the weight is valid by now: what is left is the data's
        if isinstance(e, UserError):
            raise
        raise UserError(f"--weight {weight}: {e}" if every else f"{data}: {e}") from None
    raw = raw_values(model, frame, table_rows)
    if every:
        ex.items = [replace(one, rows=table_rows, raw=raw) for one in ex.items]
        return ex.to_html() if fmt == "html" else ex.to_text()
    ex = replace(ex, rows=table_rows, raw=raw)
    return {"text": ex.to_text, "latex": ex.to_latex, "html": ex.to_html}[fmt]()  # in ex.lang


@click.command(name="explain")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option(
    "--weight", "-w", required=True, metavar="L:J,I|all",
    help="The weight w_ji^(l): layer l (the input layer is 1), unit j of layer l, unit i of "
    "layer l-1, all from 1, as docs/derivation.md numbers them; e.g. 3:2,1 for w_21^(3); I = 0 is the bias; "
    "'all': every weight of a small network on one page.",
)
@click.option("--data", "-d", type=click.Path(dir_okay=False), metavar="FILE",
              help="CSV/TSV/Parquet table of samples: the model's inputs and targets.")
@click.option("--row", "rows", type=int, multiple=True, metavar="N",
              help="Use row N of the table (from 1, after the header); repeat for several. "
              "Default: all rows.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="text (default), latex, or html (a self-contained page); default from --out's suffix.")
@click.option("--out", "-o", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write to FILE instead of the terminal.")
@click.option("--alpha", type=float, default=None,
              help="L2 strength in the loss (default: the model's own alpha).")
@click.option("--sample", type=int, default=None, metavar="N",
              help="Walk the steps through row N of the table (default: the first row used).")
@click.option(
    "--lang", type=click.Choice(["en", "ja"]), default="en",
    help="Language of the text, the page and the LaTeX: en (default) or ja (Japanese; LaTeX for LuaLaTeX).",
)
def explain(model, weight, data, rows, fmt, out, alpha, sample, lang):
    """Derive dE/dw for one weight of a saved MODEL, step by step, with numbers and checks."""
    if out:  # refuse before any work, and never overwrite the inputs
        from deltaprop.command.common import check_outputs

        check_outputs({"--out": out}, {"MODEL": model, "--data": data}, {"--out": "output file"})
    result = run_explain(model, weight, data, rows, fmt, out, alpha, sample, lang)
    if out:
        from deltaprop.files.archive import write_atomic

        write_atomic(out, result.encode("utf-8"))
        click.echo(str(Path(out).resolve()))
    else:
        click.echo(result, nl=False)
