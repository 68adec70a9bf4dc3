"""The options of ``deltaprop train``, in one place: the command parses its command line
with them, and ``--resume`` parses a model file's recorded settings with the same ones
(:func:`parser`), so a value from a file is checked exactly as one typed.  Imports only click.
"""

from __future__ import annotations

from typing import Any

import click

__all__ = ["TRAIN_OPTIONS", "train_options", "words", "parser", "ACTIVATIONS"]


def _hidden(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    text = value.strip().replace(" ", "")
    if text in ("", "0", "none"):
        return ()
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise click.BadParameter(f"expected layer widths separated by commas, like 64,64; got "
                                 f"{value!r}") from None
    if any(n < 1 for n in sizes):
        raise click.BadParameter(f"every layer width must be at least 1; got {value!r}")
    return sizes


#: the hidden activations (the names of deltaprop.core.activations.HIDDEN_ACTIVATIONS,
#: written out so that --help does not import the core; a test holds the two equal)
ACTIVATIONS = ["identity", "leaky_relu", "logistic", "relu", "softplus", "tanh"]


class _TargetOption(click.Option):
    """``--target a b c`` (with ``multiple=True``): every following word up to the next option."""

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            opt = parser._long_opt.get(name) or parser._short_opt.get(name)
            if opt is None:
                continue
            original = opt.process

            def process(value: Any, state: Any, original: Any = original) -> None:
                extra = []
                while state.rargs and not state.rargs[0].startswith("-"):
                    extra.append(state.rargs.pop(0))
                for word in (value, *extra):
                    original(word, state)

            opt.process = process


def words(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(s.strip() for v in values for s in v.split(",") if s.strip())


def _words(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    return words(values)


def _path(*names: str, **kwargs: Any) -> Any:
    return click.option(*names, type=click.Path(path_type=str), **kwargs)


def _columns(name: str, help: str) -> Any:
    return click.option(name, multiple=True, metavar="COL", show_default="none", callback=_words, help=help)


#: the options of ``train``, in the order --help shows them
TRAIN_OPTIONS = [
    click.argument("data", type=click.Path(dir_okay=True, path_type=str)),
    click.option("--target", "-t", "targets", cls=_TargetOption, multiple=True, callback=_words,
                 metavar="COL [COL …]", help="Column(s) to predict (also comma-separated); required."),
    click.option("--task", type=click.Choice(["regression", "classification"]),
                 show_default="detected from the target",
                 help="Override the detected task (text, or whole numbers with at most 20 distinct values → "
                 "classification; other numbers → regression)."),
    click.option("--hidden", default="64,64", callback=_hidden,
                 help="Hidden layer widths, comma-separated; 0 or none for no hidden layer (a linear model) "
                 "[estimators: 100; two narrower layers suit tables of a few columns]."),
    click.option("--activation", default="relu", type=click.Choice(ACTIVATIONS),
                 help="Activation of the hidden layers."),
    click.option("--solver", default="adam", type=click.Choice(["adam", "sgd", "lbfgs"]),
                 help="How the weights are updated: Adam, plain SGD with momentum, or L-BFGS (full batch)."),
    click.option("--epochs", default=200, type=click.IntRange(min=1),
                 help="Most epochs (L-BFGS: iterations)."),
    click.option("--batch-size", type=click.IntRange(min=1),
                 help="Mini-batch size [default: rows/50, within 32 … 200; estimators: min(200, rows); that "
                 "gives a table of up to 200 rows one step per epoch]."),
    click.option("--learning-rate", default=1e-3, type=click.FloatRange(min=0, min_open=True),
                 help="Step size of Adam or SGD."),
    click.option("--alpha", default=1e-4, type=click.FloatRange(min=0), help="L2 strength."),
    click.option("--loss", default="squared_error",
                 type=click.Choice(["squared_error", "absolute_error", "huber", "quantile"]),
                 help="Regression loss: huber and absolute_error resist outliers in the target; "
                 "quantile predicts the --quantile."),
    click.option("--huber-epsilon", type=click.FloatRange(min=0, min_open=True),
                 help="With --loss huber: residuals beyond it (in standard deviations of the target) count "
                 "linearly [default: 1.35]."),
    click.option("--quantile", type=click.FloatRange(0, 1, min_open=True, max_open=True),
                 help="With --loss quantile: the quantile τ to predict [default: 0.5]."),
    click.option("--dropout", default=0.0, type=click.FloatRange(0, 1, max_open=True),
                 help="Dropout rate of every hidden layer while training (none at prediction)."),
    click.option("--seed", default=0, type=click.IntRange(0, 2**32 - 1),
                 help="Seeds the weights, shuffles and split."),
    click.option("--early-stopping/--no-early-stopping", default=True,
                 help="Stop when the validation loss stops improving, and keep the best weights; "
                 "--no-early-stopping trains every epoch given [estimators: off; the command holds out "
                 "validation rows anyway, for its metrics]."),
    click.option("--patience", default=20, type=click.IntRange(min=1),
                 help="Epochs without improvement before early stopping [estimators' n_iter_no_change: 10; "
                 "a small table's validation loss is noisy, and 10 stops runs at their first plateau]."),
    click.option("--validation-fraction", default=0.2, type=click.FloatRange(min=0, max=1, max_open=True),
                 help="Share of rows held out for validation [estimators: 0.1; 0.2 leaves a small table "
                 "enough rows to judge the model by]."),
    _path("--validation-data", metavar="FILE", show_default="rows of DATA held out",
          help="Validate on the rows of FILE instead of holding out rows of DATA."),
    click.option("--class-weight", type=click.Choice(["balanced"]), show_default="every row counts once",
                 help="balanced: weigh each class by rows / (classes × its rows), so rare classes count as "
                 "much."),
    click.option("--dtype", default="float64", type=click.Choice(["float64", "float32"]),
                 help="Floating-point type of the network (float32: half the memory, usually faster)."),
    click.option("--impute", is_flag=True,
                 help="Fill missing values (median / no category) instead of refusing."),
    click.option("--scale", default="auto", type=click.Choice(["auto", "columns"]),
                 help="auto: 64 or more numeric columns in one unit (pixels: none below 0, most reaching "
                 "near the largest value M) are scaled together, value / M, other tables column by "
                 "column; columns: standardise every numeric column on its own."),
    _columns("--drop", "Leave a column out (repeatable, or comma-separated)."),
    _columns("--categorical",
             "Treat a numeric-looking column as categories (repeatable, or comma-separated)."),
    _path("--out", "-o", help="Model file [default: <data name>.dpm]."),
    _path("--report", help="HTML report [default: <model>.report.html]."),
    click.option("--no-report", is_flag=True, help="Write no report."),
    _path("--metrics-json", metavar="FILE", show_default="none",
          help="Also write the metrics, epochs, notes and why training stopped to FILE as JSON."),
    click.option("--checkpoint-every", default=0, type=click.IntRange(min=0), metavar="N",
                 help="Write the best model so far to <model>.ckpt.dpm every N epochs."),
    click.option("--resume", is_flag=True,
                 help="Continue the run in <model>.ckpt.dpm (or <model>) for more epochs."),
    click.option("--quiet", "-q", is_flag=True, help="Print errors only."),
    click.option("--scheduler", metavar="ADDRESS", show_default="this machine, no Dask",
                 help="Train on a Dask cluster (pip install 'deltaprop[dask]'): a scheduler's address, or "
                 "local:N for N local workers; DATA may then be a quoted glob of Parquet/CSV files."),
]


def train_options(f: Any) -> Any:
    for option in reversed(TRAIN_OPTIONS):
        f = option(f)
    return f


def parser() -> click.Command:
    """A command with ``train``'s options and nothing to run, to check values as the command line
    does: ``parser().make_context("train", args).params``."""
    return train_options(click.command("train")(lambda **options: None))
