"""The ``deltaprop`` command (also ``python -m deltaprop``).

    deltaprop train DATA --target COL [COL …]   train a model on a CSV/Parquet file
    deltaprop predict MODEL DATA [--out FILE]    predictions, in the input's row order
    deltaprop evaluate MODEL DATA                metrics on labelled data
    deltaprop info MODEL                         architecture, features, training summary
    deltaprop explain …                          the derivation of one weight's gradient
    deltaprop demo                               the seed's network

A mistake in the user's input prints one line, ``error: <problem>; <fix>``, on stderr and
exits with status 2, writing nothing; ``--debug`` shows the traceback instead.  Ctrl-C exits
with status 130.  Heavy imports (pandas, scikit-learn, matplotlib) happen inside the
commands, so ``deltaprop --help`` stays quick.
"""

from __future__ import annotations

import os
import sys

import click

from deltaprop import __version__
from deltaprop.errors import UserError

EXIT_USER = 2
EXIT_INTERRUPTED = 130


def _debug_requested(argv):
    return "--debug" in argv or os.environ.get("DELTAPROP_DEBUG", "") not in ("", "0")


def _one_line(message):
    return " ".join(str(message).split())


class _Group(click.Group):
    """A click group whose errors are one line on stderr (tracebacks only with --debug)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        argv = list(sys.argv[1:] if args is None else args)
        debug = _debug_requested(argv)
        try:
            rv = super().main(
                argv, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra
            )
        except click.exceptions.NoArgsIsHelpError as e:
            click.echo(e.ctx.get_help())
            sys.exit(0)
        except click.UsageError as e:
            if debug:
                raise
            path = e.ctx.command_path if e.ctx is not None else "deltaprop"
            message = _one_line(e.format_message()).rstrip(".")
            if (
                isinstance(e, click.MissingParameter)
                and e.param is not None
                and e.param.name == "data"
                and e.ctx is not None
                and e.ctx.params.get("targets")
            ):
                # `train --target y data.csv`: --target took data.csv as a second target
                message += (
                    "; --target takes every word after it, so put DATA first: "
                    "deltaprop train DATA --target COL"
                )
            click.echo(f"error: {message[:1].lower() + message[1:]}; see '{path} --help'", err=True)
            sys.exit(EXIT_USER)
        except click.ClickException as e:
            if debug:
                raise
            click.echo(f"error: {_one_line(e.format_message())}", err=True)
            sys.exit(e.exit_code)
        except (click.exceptions.Abort, KeyboardInterrupt):
            if debug:
                raise
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except UserError as e:
            if debug:
                raise
            click.echo(f"error: {_one_line(e)}", err=True)
            sys.exit(EXIT_USER)
        except MemoryError:
            if debug:
                raise
            click.echo(
                "error: out of memory; use fewer rows, fewer or smaller --hidden layers, or a smaller "
                "--batch-size",
                err=True,
            )
            sys.exit(EXIT_USER)
        except BrokenPipeError:
            # the reader of our stdout went away (e.g. `| head`): not an error of ours
            try:
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115
            except OSError:
                pass
            sys.exit(0)
        except Exception as e:  # a bug of ours: say so in one line, traceback with --debug
            if debug:
                raise
            click.echo(
                f"error: internal error ({type(e).__name__}: {_one_line(e)}); rerun with --debug for "
                f"the traceback and report it",
                err=True,
            )
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


def _debug_option(f):
    return click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")(f)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="deltaprop")
def main():
    """Multilayer perceptrons trained by backpropagation: train, predict, explain.

    Start with:  deltaprop train data.csv --target y
    """


# ---------------------------------------------------------------------- train
def _hidden(ctx, param, value):
    if value is None:
        return None
    text = value.strip().replace(" ", "")
    if text in ("", "0", "none"):
        return ()
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise click.BadParameter(
            f"expected layer widths separated by commas, like 64,64; got {value!r}"
        ) from None
    if any(n < 1 for n in sizes):
        raise click.BadParameter(f"every layer width must be at least 1; got {value!r}")
    return sizes


def _activations():
    from deltaprop.core.activations import HIDDEN_ACTIVATIONS

    return sorted(HIDDEN_ACTIVATIONS)


class _TargetOption(click.Option):
    """``--target a b c``: an option that takes every following word up to the next option."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, multiple=True, **kwargs)

    def add_to_parser(self, parser, ctx):
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            opt = parser._long_opt.get(name) or parser._short_opt.get(name)
            if opt is None:
                continue
            original = opt.process

            def process(value, state, original=original):
                extra = []
                while state.rargs and not state.rargs[0].startswith("-"):
                    extra.append(state.rargs.pop(0))
                original(value, state)
                for word in extra:
                    original(word, state)

            opt.process = process


@main.command(context_settings={"max_content_width": 100})
@click.argument("data", type=click.Path(dir_okay=True, path_type=str))
@click.option(
    "--target",
    "-t",
    "targets",
    cls=_TargetOption,
    metavar="COL [COL …]",
    help="Column(s) to predict (also comma-separated).",
)
@click.option(
    "--task",
    type=click.Choice(["regression", "classification"]),
    help="Override the detected task (numeric target → regression, else classification).",
)
@click.option(
    "--hidden",
    default="64,64",
    show_default=True,
    callback=_hidden,
    help="Hidden layer widths, comma-separated; 0 or none for no hidden layer (a linear model).",
)
@click.option(
    "--activation",
    default="relu",
    show_default=True,
    type=click.Choice(_activations()),
    help="Activation of the hidden layers.",
)
@click.option("--solver", default="adam", show_default=True, type=click.Choice(["adam", "sgd", "lbfgs"]))
@click.option(
    "--epochs",
    default=200,
    show_default=True,
    type=click.IntRange(min=1),
    help="Most epochs (L-BFGS: iterations).",
)
@click.option(
    "--batch-size", type=click.IntRange(min=1), help="Mini-batch size [default: rows/50, within 32 … 200]."
)
@click.option("--learning-rate", default=1e-3, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--alpha", default=1e-4, show_default=True, type=click.FloatRange(min=0), help="L2 strength.")
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=click.IntRange(0, 2**32 - 1),
    help="Seeds the weights, shuffles and split.",
)
@click.option(
    "--early-stopping/--no-early-stopping",
    default=True,
    show_default=True,
    help="Stop when the validation loss stops improving, and keep the best weights.",
)
@click.option(
    "--patience",
    default=10,
    show_default=True,
    type=click.IntRange(min=1),
    help="Epochs without improvement before early stopping.",
)
@click.option(
    "--validation-fraction",
    default=0.2,
    show_default=True,
    type=click.FloatRange(min=0, max=1, max_open=True),
    help="Share of rows held out for validation.",
)
@click.option(
    "--impute", is_flag=True, help="Fill missing values (median / no category) instead of refusing."
)
@click.option(
    "--drop", multiple=True, metavar="COL", help="Leave a column out (repeatable, or comma-separated)."
)
@click.option(
    "--categorical",
    multiple=True,
    metavar="COL",
    help="Treat a numeric-looking column as categories (repeatable, or comma-separated).",
)
@click.option("--out", "-o", type=click.Path(path_type=str), help="Model file [default: <data name>.dpm].")
@click.option("--report", type=click.Path(path_type=str), help="HTML report [default: <model>.report.html].")
@click.option("--no-report", is_flag=True, help="Write no report.")
@click.option(
    "--checkpoint-every",
    default=0,
    type=click.IntRange(min=0),
    metavar="N",
    help="Write the best model so far to <model>.ckpt.dpm every N epochs.",
)
@click.option(
    "--resume", is_flag=True, help="Continue the run in <model>.ckpt.dpm (or <model>) for more epochs."
)
@click.option("--quiet", "-q", is_flag=True, help="Print errors only.")
@_debug_option
def train(
    data,
    targets,
    task,
    hidden,
    activation,
    solver,
    epochs,
    batch_size,
    learning_rate,
    alpha,
    seed,
    early_stopping,
    patience,
    validation_fraction,
    impute,
    drop,
    categorical,
    out,
    report,
    no_report,
    checkpoint_every,
    resume,
    quiet,
    debug,
):
    """Train a model on DATA (CSV or Parquet) to predict the --target column(s).

    Numeric columns are standardised and text columns one-hot encoded inside the model; a
    numeric target makes a regression, anything else a classification.  Writes the model
    (--out), an HTML report beside it, and prints train and validation metrics.

    Example:  deltaprop train houses.csv --target price --hidden 64,64 --epochs 300
    """
    from deltaprop.command.train import TrainOptions
    from deltaprop.command.train import train as run_train

    def split(values):
        return tuple(s.strip() for v in values for s in v.split(",") if s.strip())

    opts = TrainOptions(
        data=data,
        targets=split(targets),
        task=task,
        hidden=hidden,
        activation=activation,
        solver=solver,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        alpha=alpha,
        seed=seed,
        early_stopping=early_stopping,
        patience=patience,
        validation_fraction=validation_fraction,
        impute=impute,
        drop=split(drop),
        categorical=split(categorical),
        out=out,
        report=report,
        no_report=no_report,
        checkpoint_every=checkpoint_every,
        resume=resume,
        quiet=quiet,
    )
    result = run_train(opts)
    console = _console(err=False)
    if not quiet:
        for note in result.notes:
            click.echo(f"note: {note}", err=True)
    if result.interrupted:
        click.echo(
            f"interrupted after {result.epochs} epoch(s): saved the best model so far "
            f"(epoch {result.best_epoch}) to {result.out}",
            err=True,
        )
        sys.exit(EXIT_INTERRUPTED)
    if quiet:
        return
    _print_metrics(console, result.metrics, title="metrics")
    stop = (
        f"stopped early at epoch {result.epochs}, best epoch {result.best_epoch}"
        if result.stopped_early
        else f"{result.epochs} epoch(s)"
    )
    console.print(f"trained {result.model.task} model, {stop}", highlight=False)
    console.print(f"model:  {result.out}", highlight=False, markup=False)
    if result.report is not None:
        console.print(f"report: {result.report}", highlight=False, markup=False)


# ---------------------------------------------------------------------- predict / evaluate / info
def _console(err=False):
    from rich.console import Console

    return Console(stderr=err, highlight=False, soft_wrap=True)


def _print_metrics(console, metrics, title):
    from rich.table import Table
    from rich.text import Text  # names from the user's files are text, never rich markup

    from deltaprop.report.numbers import format_metric

    sets = list(metrics)
    names = list(dict.fromkeys(name for s in sets for name in metrics[s]))
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    for s in sets:
        table.add_column(Text(str(s)), justify="right")
    for name in names:
        table.add_row(Text(str(name)), *(format_metric(metrics[s].get(name, float("nan"))) for s in sets))
    console.print(table)


def _load_model(path):
    from deltaprop.files.archive import load
    from deltaprop.tabular.model import TabularModel

    model = load(path)
    if isinstance(model, TabularModel):
        return model
    from deltaprop.core.network import Network

    if isinstance(model, Network):
        raise UserError(
            f"{path} holds a bare Network (no preprocessing); use it from Python with deltaprop.load"
        )
    return _EstimatorAdapter(model)


class _EstimatorAdapter:
    """A fitted estimator saved from Python, used on a table of numeric columns."""

    def __init__(self, est):
        self.estimator = est
        self.task = "classification" if type(est).__name__ == "MLPClassifier" else "regression"
        names = getattr(est, "feature_names_in_", None)
        self.feature_names_ = None if names is None else [str(n) for n in names]
        self.target_names_ = ["prediction"] if self.task == "regression" else ["class"]
        self.history = {}

    def inputs(self, frame):
        import numpy as np

        from deltaprop.tabular.model import _numeric_values, _where

        names = self.feature_names_
        if names is None:
            n = self.estimator.network_.sizes[0]
            names = [c for c in frame.columns if c not in self.target_names_][:n]
            if len(names) != n:
                raise UserError(f"the model takes {n} numeric columns; the data has {len(names)}")
        missing = [n for n in names if n not in frame.columns]
        if missing:
            raise UserError(f"the data lacks the column(s) {', '.join(missing)}; add them")
        X = np.empty((len(frame), len(names)))
        for k, name in enumerate(names):
            values, bad = _numeric_values(frame[name])
            if bad.any() or not np.isfinite(values).all():
                pos = int(np.flatnonzero(bad | ~np.isfinite(values))[0])
                raise UserError(
                    f"column {name!r} needs a finite number in {_where(frame, pos)}; fix that value"
                )
            X[:, k] = values
        return X

    def predict_frame(self, frame, proba=False, notes=None):
        import pandas as pd

        X = self.inputs(frame)
        out = pd.DataFrame(index=range(len(frame)))
        pred = self.estimator.predict(X)
        if pred.ndim == 1:
            out[self.target_names_[0]] = pred
        else:
            for k in range(pred.shape[1]):
                out[f"{self.target_names_[0]}_{k + 1}"] = pred[:, k]
        if proba and self.task == "classification":
            P = self.estimator.predict_proba(X)
            for k, c in enumerate(self.estimator.classes_):
                out[f"proba_{c}"] = P[:, k]
        return out


@main.command()
@click.argument("model", type=click.Path(path_type=str))
@click.argument("data", type=click.Path(path_type=str))
@click.option("--out", "-o", type=click.Path(path_type=str), help="Write the CSV here [default: stdout].")
@click.option("--proba", is_flag=True, help="Add one probability column per class (classification).")
@click.option("--with-input", is_flag=True, help="Put the input columns before the predictions.")
@_debug_option
def predict(model, data, out, proba, with_input, debug):
    """Predict every row of DATA with MODEL; CSV out, in DATA's row order.

    The prediction columns are named after the target(s); classes are written as they were in
    the training data; --proba adds proba_<class> columns.
    """
    from deltaprop.tabular.model import read_table

    m = _load_model(model)
    if proba and m.task != "classification":
        raise UserError("--proba needs a classification model; this one is a regression")
    if out is not None:
        from deltaprop.command.train import check_writable

        check_writable(out, "output file", data)
        if os.path.exists(model) and os.path.exists(out) and os.path.samefile(model, out):
            raise UserError(f"--out {out} is the model file; choose another path")
    frame = read_table(data)
    notes = []
    result = m.predict_frame(frame, proba=proba, notes=notes)
    if with_input:
        import pandas as pd

        inputs = frame.reset_index(drop=True)
        clash = [c for c in result.columns if c in inputs.columns]
        result = pd.concat([inputs.drop(columns=clash), result], axis=1)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    text = result.to_csv(index=False)
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        from deltaprop.files.archive import write_atomic

        write_atomic(out, text.encode("utf-8"))
        click.echo(f"wrote {len(result)} prediction(s) to {out}", err=True)


@main.command()
@click.argument("model", type=click.Path(path_type=str))
@click.argument("data", type=click.Path(path_type=str))
@_debug_option
def evaluate(model, data, debug):
    """Metrics of MODEL on labelled DATA: R² and MAE, or accuracy and log-loss."""
    from deltaprop.command.train import _plain, classification_metrics, regression_metrics
    from deltaprop.tabular.model import _labels_as_written, _no_column_message, label_finder, read_table

    m = _load_model(model)
    frame = read_table(data)
    if isinstance(m, _EstimatorAdapter):
        raise UserError("evaluate needs a model trained by 'deltaprop train' (it knows its target column)")
    for t in m.target_names_:
        if t not in frame.columns:
            raise UserError(
                f"evaluate needs the target column {t!r} in the data ({_no_column_message(t, frame)}); "
                f"for unlabelled rows use 'deltaprop predict'"
            )
    notes = []
    y, keep = m.target.values(frame, impute=True, notes=notes)
    rows = frame[keep]
    if len(rows) == 0:
        raise UserError("no row of the data has a target value; evaluate needs labelled rows")
    if m.task == "regression":
        metrics = regression_metrics(y, m.predict(rows, notes).reshape(len(rows), -1), m.target_names_)
    else:
        labels = [_plain(v) for v in _labels_as_written(rows[m.target_names_[0]])]
        classes = [_plain(c) for c in m.classes_]
        # a class written as another type (1 from Parquet, '1' from the CSV trained on) is that class
        find = label_finder(classes)
        positions = [find(v) for v in labels]
        labels = [classes[k] if k >= 0 else v for k, v in zip(positions, labels)]
        unseen = sum(1 for k in positions if k < 0)
        if unseen:
            notes.append(f"{unseen} row(s) have classes the model never saw; they count as wrong")
        metrics = classification_metrics(labels, m.predict_proba(rows, notes), classes)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    console = _console()
    _print_metrics(console, {os.path.basename(data): metrics}, title=f"{len(rows)} row(s)")


@main.command()
@click.argument("model", type=click.Path(path_type=str))
@_debug_option
def info(model, debug):
    """Architecture, parameter count, features and training summary of MODEL."""
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text  # names from the user's files are text, never rich markup

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
        net = m.estimator.network_
    console = _console()
    console.print(
        f"[bold]{escape(model)}[/bold]  (deltaprop model format {doc['format_version']}, written by "
        f"deltaprop {doc.get('deltaprop_version', '?')})"
    )
    layers = " → ".join(str(n) for n in net.sizes)
    hidden = ", ".join(dict.fromkeys(net.activation)) or "none"
    if m is None:
        console.print(
            "a bare Network (no preprocessing): use it from Python with deltaprop.load", markup=False
        )
    else:
        console.print(f"task: {m.task}    targets: {', '.join(m.target_names_)}", markup=False)
    console.print(
        f"network: {layers}  (hidden activation {hidden}, output {net.output}, loss {net.loss_name}, "
        f"{net.dtype.name})",
        markup=False,
    )
    console.print(f"parameters: {net.n_parameters:,}", markup=False)
    if m is None:
        return
    if m.task == "classification":
        console.print("classes: " + ", ".join(str(c) for c in m.estimator.classes_), markup=False)
    features = getattr(m, "features", None)
    if features is not None:
        table = Table(
            title=f"{len(features.columns)} feature column(s) → {features.n_inputs} inputs",
            title_justify="left",
        )
        table.add_column("column")
        table.add_column("kind")
        table.add_column("preprocessing")
        for c in features.columns:
            if c.kind == "numeric":
                table.add_row(Text(c.name), "numeric", f"(x − {c.mean:.4g}) / {c.scale:.4g}")
            else:
                shown = ", ".join(map(str, c.categories[:6])) + (" …" if len(c.categories) > 6 else "")
                table.add_row(Text(c.name), f"categorical ({len(c.categories)})", Text(f"one-hot: {shown}"))
        console.print(table)
        if features.impute:
            console.print("missing values: imputed (numbers: training median; categories: none)")
    h = m.history
    curve = h.get("loss_curve") or list(getattr(m.estimator, "loss_curve_", []) or [])
    if curve:
        line = f"training: {len(curve)} epoch(s), final loss {curve[-1]:.4g}"
        if h.get("best_epoch"):
            line += f", best epoch {h['best_epoch']}"
        if h.get("stopped_early"):
            line += " (stopped early)"
        run = h.get("run", {})
        if run.get("data"):
            line += f", on {run['data']} ({run.get('rows', '?')} rows)"
        console.print(line, markup=False)
    if h.get("metrics"):
        _print_metrics(console, h["metrics"], title="metrics at the end of training")


@main.command()
def demo():
    """Train the seed's network and check its two gradient formulas."""
    from deltaprop.command.demo import main as run_demo

    run_demo()


from deltaprop.command.explain import explain as _explain_command  # noqa: E402  (after the group it joins)

main.add_command(_explain_command)

from deltaprop.command.export import export as _export_command  # noqa: E402

main.add_command(_export_command)
