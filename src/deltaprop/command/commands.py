"""The subcommands ``train``, ``predict``, ``evaluate`` and ``info``: options in, results out
(the work is :mod:`deltaprop.command.train`'s and :mod:`deltaprop.tabular`'s)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click

from deltaprop.command.options import train_options
from deltaprop.command.text import printable
from deltaprop.errors import EXIT_INTERRUPTED, UserError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from rich.console import Console


# ---------------------------------------------------------------------- train
@click.command(context_settings={"max_content_width": 100},
               short_help="Train a model on a CSV or Parquet table to predict its --target column(s).")
@train_options
def train(**options: Any) -> None:
    """Train a model on DATA (CSV or Parquet; - reads standard input) to predict the --target column(s).

    Numeric columns are standardised and text columns one-hot encoded inside the model; text
    targets, and whole numbers with at most 20 distinct values, make a classification,
    other numbers a regression.  Writes the model (--out), an HTML report beside it, and
    prints train and validation metrics and why training stopped.

    Example:  deltaprop train houses.csv --target price --hidden 64,64 --epochs 300
    """
    from deltaprop.command.train import TrainOptions
    from deltaprop.command.train import train as run_train

    opts = TrainOptions(**options)
    if opts.scheduler:  # the cluster's run uses the single-machine steps, so it is called from here
        from deltaprop.command.cluster import train_on_cluster
        from deltaprop.errors import debug_requested

        result = train_on_cluster(opts, debug=debug_requested(sys.argv[1:]))
    else:  # what the run inferred is told before the first epoch (with -q: in --metrics-json)
        try:
            result = run_train(opts, tell=None if opts.quiet else lambda note: _notes([note]))
        except KeyboardInterrupt as e:  # the run says what it left (click would drop the words)
            click.echo(str(e) or "interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
    if result.interrupted:
        # said at once, before anything slow (rich's import) gives a further Ctrl-C a window
        click.echo(f"interrupted after {result.epochs} epoch(s): saved the best model so far "
                   f"(epoch {result.best_epoch}) to {result.out}", err=True)
        if not opts.quiet:
            _notes(result.notes)
        sys.exit(EXIT_INTERRUPTED)
    if opts.quiet:
        return
    _notes(result.notes)
    console = _console()
    _print_metrics(console, result.metrics, title="metrics")
    console.print(f"trained {result.model.task} model, {result.epochs} epoch(s)")
    lines = [f"stopped: {result.stop_reason}", f"model:  {result.out}"]
    for line in lines + ([f"report: {result.report}"] if result.report is not None else []):
        console.print(printable(line))


# ---------------------------------------------------------------------- shared output
def _notes(notes: list[str]) -> None:
    for note in notes:
        click.echo(f"note: {printable(note)}", err=True)


def _console(err: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=err, highlight=False, soft_wrap=True, markup=False)  # text from files is no markup


def _print_metrics(console: Console, metrics: dict[str, dict[str, float]], title: str) -> None:
    from rich.table import Table
    from rich.text import Text  # names from the user's files are text, never rich markup

    from deltaprop.report.numbers import format_metric

    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    for s in metrics:
        table.add_column(Text(printable(s)), justify="right")
    for name in dict.fromkeys(name for s in metrics for name in metrics[s]):
        values = (format_metric(m.get(name, float("nan"))) for m in metrics.values())
        table.add_row(Text(printable(name)), *values)
    console.print(table)


def _load_model(path: str) -> Any:
    from deltaprop.core.network import Network
    from deltaprop.files.archive import load
    from deltaprop.tabular.model import TabularModel

    model = load(path)
    if isinstance(model, TabularModel):
        return model
    if isinstance(model, Network):
        raise UserError(f"{path} holds a bare Network (no preprocessing); use it from Python with "
                        f"deltaprop.load")
    return _EstimatorAdapter(model)


class _EstimatorAdapter:
    """A fitted estimator saved from Python, used on a table of numeric columns."""

    def __init__(self, est: Any):
        from deltaprop.estimators.fitted import FittedMLP

        self.estimator, self.fitted = est, FittedMLP.from_estimator(est)  # the record, as a TabularModel's
        self.task = "classification" if type(est).__name__ == "MLPClassifier" else "regression"
        self.target_names_ = ["prediction"] if self.task == "regression" else ["class"]
        self.history: dict[str, Any] = {}

    def inputs(self, frame: pd.DataFrame) -> np.ndarray:
        """The estimator's inputs: its feature columns (or the first n_1 columns), as numbers."""
        import numpy as np

        from deltaprop.tabular.encode import near_names, numeric_values
        from deltaprop.tabular.read import row_label

        names = [str(c) for c in getattr(self.estimator, "feature_names_in_", [])]  # np.str_ once loaded
        if not names:
            n = self.fitted.network.sizes[0]
            names = [c for c in frame.columns if c not in self.target_names_][:n]
            if len(names) != n:
                raise UserError(f"the model takes {n} numeric columns; the data has {len(names)}")
        missing = [n for n in names if n not in frame.columns]
        if missing:
            listed = near_names(missing, frame.columns, names)
            raise UserError(f"the data lacks the column(s) {listed}; add them")
        X = np.empty((len(frame), len(names)))
        for k, name in enumerate(names):
            values, bad = numeric_values(frame[name])
            wrong = bad | ~np.isfinite(values)
            if wrong.any():
                raise UserError(f"column {name!r} needs a finite number in "
                                f"{row_label(frame, int(np.flatnonzero(wrong)[0]))}; fix that value")
            X[:, k] = values
        return X

    def predict_frame(self, frame: pd.DataFrame, proba: bool = False,
                      notes: list[str] | None = None) -> pd.DataFrame:
        import numpy as np
        import pandas as pd

        from deltaprop.tabular.model import finite_outputs

        X, est = self.inputs(frame), self.estimator
        if hasattr(est, "feature_names_in_"):  # by name, as it was fitted: no scikit-learn warning
            X = pd.DataFrame(X, columns=est.feature_names_in_)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused in words
            if self.task == "classification":  # non-finite outputs are refused from the probabilities
                P = finite_outputs(est.predict_proba(X), est.network_)
            pred = est.predict(X)  # the estimator's own decoding of classes (multilabel rows too)
            if self.task == "regression":
                pred = finite_outputs(pred, est.network_)
        name = self.target_names_[0]
        columns = ({name: pred} if pred.ndim == 1
                   else {f"{name}_{k + 1}": pred[:, k] for k in range(pred.shape[1])})
        if proba and self.task == "classification":
            columns.update({f"proba_{c}": P[:, k] for k, c in enumerate(est.classes_)})
        return pd.DataFrame(columns, index=range(len(frame)))


# ---------------------------------------------------------------------- predict
@click.command(short_help="Predict every row of DATA with MODEL, as CSV in DATA's row order.")
@click.argument("model", type=click.Path(path_type=str))
@click.argument("data", type=click.Path(path_type=str))
@click.option("--out", "-o", type=click.Path(path_type=str), help="Write the CSV here [default: stdout].")
@click.option("--proba", is_flag=True, help="Add one probability column per class (classification).")
@click.option("--with-input", is_flag=True, help="Put the input columns before the predictions.")
def predict(model: str, data: str, out: str | None, proba: bool, with_input: bool) -> None:
    """Predict every row of DATA (- reads standard input) with MODEL; CSV out, in DATA's row order.

    The prediction columns are named after the target(s); classes are written as they were in
    the training data; --proba adds proba_<class> columns.
    """
    from deltaprop.tabular.read import read_table

    m = _load_model(model)
    if proba and m.task != "classification":
        raise UserError("--proba needs a classification model; this one is a regression")
    if out is not None:
        from deltaprop.command.common import check_outputs

        check_outputs({"--out": out}, {"MODEL": model, "DATA": None if data == "-" else data},
                      {"--out": "output file"})
    frame = read_table(data)
    notes: list[str] = []
    result = m.predict_frame(frame, proba=proba, notes=notes)
    if with_input:
        import pandas as pd

        inputs = frame.reset_index(drop=True)
        result = pd.concat([inputs.drop(columns=[c for c in result.columns if c in inputs.columns]), result],
                           axis=1)
    _notes(notes)
    text = result.to_csv(index=False)
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        from deltaprop.files.atomic import write_atomic

        write_atomic(out, text.encode("utf-8"))
        click.echo(f"wrote {len(result)} prediction(s) to {out}", err=True)


# ---------------------------------------------------------------------- evaluate
@click.command(short_help="Metrics of MODEL on labelled DATA.")
@click.argument("model", type=click.Path(path_type=str))
@click.argument("data", type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True,
              help="Print the metrics as one JSON object instead of a table.")
def evaluate(model: str, data: str, as_json: bool) -> None:
    """Metrics of MODEL on labelled DATA (- reads standard input).

    Regression: RMSE, R² and MAE; classification: accuracy, balanced accuracy, macro F1,
    ROC AUC and log-loss.
    """
    from deltaprop.command import metrics as measure
    from deltaprop.command.common import plain
    from deltaprop.tabular.encode import label_finder, labels_as_written, no_column_message
    from deltaprop.tabular.read import read_table

    m = _load_model(model)
    frame = read_table(data)
    if isinstance(m, _EstimatorAdapter):
        raise UserError("evaluate needs a model trained by 'deltaprop train' (it knows its target column)")
    for t in m.target_names_:
        if t not in frame.columns:
            raise UserError(f"evaluate needs the target column {t!r} in the data "
                            f"({no_column_message(t, frame)}); for unlabelled rows use 'deltaprop predict'")
    notes: list[str] = []
    y, keep = m.target.values(frame, impute=True, notes=notes)
    rows = frame[keep]
    if len(rows) == 0:
        raise UserError("no row of the data has a target value; evaluate needs labelled rows")
    if m.task == "regression":
        predicted = m.predict(rows, notes).reshape(len(rows), -1)
        metrics = measure.regression_metrics(y, predicted, m.target_names_)
    else:
        classes = [plain(c) for c in m.classes_]
        # a class written as another type (1 from Parquet, '1' from the CSV trained on) is that class
        find = label_finder(classes)
        labels = [plain(v) for v in labels_as_written(rows[m.target_names_[0]])]
        positions = [find(v) for v in labels]
        if unseen := sum(1 for k in positions if k < 0):
            notes.append(f"{unseen} row(s) have classes the model never saw; they count as wrong")
        labels = [classes[k] if k >= 0 else v for k, v in zip(positions, labels)]
        metrics = measure.classification_metrics(labels, m.predict_proba(rows, notes), classes)
    _notes(notes)
    if as_json:
        click.echo(measure.as_json({"rows": int(len(rows)), "metrics": metrics}))
        return
    name = "standard input" if data == "-" else os.path.basename(data)
    _print_metrics(_console(), {printable(name): metrics}, title=f"{len(rows)} row(s)")


# ---------------------------------------------------------------------- info
def _features_table(features: Any) -> Any:
    from rich.table import Table
    from rich.text import Text  # names from the user's files are text, never rich markup

    from deltaprop.report.numbers import standardisation

    table = Table(title=f"{len(features.columns)} feature column(s) → {features.n_inputs} inputs",
                  title_justify="left")
    for heading in ("column", "kind", "preprocessing"):
        table.add_column(heading)
    for c in features.columns:
        if c.kind == "numeric":
            table.add_row(Text(printable(c.name)), "numeric", standardisation(c.mean, c.scale))
        else:
            shown = ", ".join(map(printable, c.categories[:6])) + (" …" if len(c.categories) > 6 else "")
            kind = f"categorical ({len(c.categories)})"
            table.add_row(Text(printable(c.name)), kind, Text(f"one-hot: {shown}"))
    return table


def _training_line(m: Any) -> str | None:
    h, run = m.history, m.history.get("run", {})
    curve = h.get("loss_curve") or list(m.fitted.attributes.get("loss_curve_") or [])
    if not curve:
        return None
    parts = [f"training: {len(curve)} epoch(s), final loss {curve[-1]:.4g}",
             f", best epoch {h['best_epoch']}" if h.get("best_epoch") else "",
             " (stopped early)" if h.get("stopped_early") else "",
             f", on {run['data']} ({run.get('rows', '?')} rows)" if run.get("data") else "",
             f"; stopped: {h['stop_reason']}" if h.get("stop_reason") else ""]
    return printable("".join(parts))


@click.command(short_help="The architecture, features and training summary of MODEL.")
@click.argument("model", type=click.Path(path_type=str))
def info(model: str) -> None:
    """Architecture, parameter count, features and training summary of MODEL."""
    from deltaprop.core.network import Network
    from deltaprop.files.archive import model_from_metadata, read_metadata
    from deltaprop.tabular.model import TabularModel

    doc, arrays = read_metadata(model)  # read and checked once: the header below and the model
    loaded = model_from_metadata(doc, arrays, model)
    # a bare Network (saved from Python) has an architecture but no task or features
    if isinstance(loaded, Network):
        m, net = None, loaded
    else:
        m = loaded if isinstance(loaded, TabularModel) else _EstimatorAdapter(loaded)
        net = m.fitted.network
    console = _console()
    console.print(f"[bold]{printable(model, markup=True)}[/bold]  (deltaprop model format "
                  f"{printable(doc['format_version'], markup=True)}, written by deltaprop "
                  f"{printable(doc.get('deltaprop_version', '?'), markup=True)})", markup=True)
    if m is None:
        console.print("a bare Network (no preprocessing): use it from Python with deltaprop.load")
    else:
        console.print(f"task: {m.task}    targets: {printable(', '.join(m.target_names_))}")
    hidden = ", ".join(dict.fromkeys(net.activation)) or "none"
    console.print(f"network: {' → '.join(map(str, net.sizes))}  (hidden activation {hidden}, output "
                  f"{net.output}, loss {net.loss_name}, {net.dtype.name})")
    console.print(f"parameters: {net.n_parameters:,}")
    if m is None:
        return
    if m.task == "classification":
        console.print("classes: " + ", ".join(map(printable, m.fitted.attributes["classes_"])))
    features = getattr(m, "features", None)
    if features is not None:
        console.print(_features_table(features))
        if features.impute:
            console.print("missing values: imputed (numbers: training median; categories: none)")
    line = _training_line(m)
    if line:
        console.print(line)
    if m.history.get("metrics"):
        _print_metrics(console, m.history["metrics"], title="metrics at the end of training")
