"""What ``deltaprop train`` does, from a file name to a saved model, report and metrics: the
steps below, in order, each refusing bad input before anything is written; the fit is the
estimators' own.  Ctrl-C saves the best weights so far (to ``--out`` if nothing is there yet,
else to the checkpoint, never replacing a finished model); docs/command.rst has the rest.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import warnings
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from deltaprop.command.common import check_outputs, plain, write_guarded
from deltaprop.command.metrics import classification_metrics, regression_metrics
from deltaprop.command.monitor import Monitor
from deltaprop.command.options import words
from deltaprop.errors import UserError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import pandas as pd

    from deltaprop.estimators.fitted import FittedMLP
    from deltaprop.tabular.encode import FeatureEncoder, TargetEncoder
    from deltaprop.tabular.model import TabularModel

__all__ = ["TrainOptions", "TrainResult", "train", "checkpoint_path", "default_out"]

#: the least change of the watched loss that counts as an improvement
TOL = 1e-4
#: epochs without improvement before early stopping, unless --patience says otherwise
PATIENCE = 20


@dataclass
class TrainOptions:
    """The options of ``deltaprop train`` (see ``deltaprop train --help``)."""

    data: str
    targets: tuple[str, ...] = ()
    task: str | None = None
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "relu"
    solver: str = "adam"
    epochs: int = 200
    batch_size: int | None = None
    learning_rate: float = 1e-3
    alpha: float = 1e-4
    loss: str = "squared_error"
    huber_epsilon: float | None = None
    quantile: float | None = None
    dropout: float = 0.0
    seed: int = 0
    early_stopping: bool = True
    patience: int = PATIENCE
    validation_fraction: float = 0.2
    impute: bool = False
    scale: str = "auto"
    drop: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    out: str | None = None
    report: str | None = None
    no_report: bool = False
    checkpoint_every: int = 0
    resume: bool = False
    quiet: bool = False
    class_weight: str | None = None
    dtype: str = "float64"
    validation_data: str | None = None
    metrics_json: str | None = None
    scheduler: str | None = None  # a Dask scheduler's address, or local:N (deltaprop.command.cluster)

    def model_options(self) -> dict[str, Any]:
        """The model-defining options (:data:`deltaprop.files.codec.RUN_OPTIONS`), kept for --resume."""
        from deltaprop.files.codec import RUN_OPTIONS

        return {key: list(v) if isinstance(v := getattr(self, key), tuple) else v for key in RUN_OPTIONS}


@dataclass
class TrainResult:
    """What a run made: the model, its metrics, the files written, and how it ended."""

    model: Any
    metrics: dict[str, dict[str, float]]
    out: Path | None
    report: Path | None
    notes: list[str]
    interrupted: bool = False
    epochs: int = 0
    best_epoch: int = 0
    stopped_early: bool = False
    stop_reason: str = ""


# ---------------------------------------------------------------------- paths
def default_out(data: str | os.PathLike[str]) -> Path:
    """<data name>.dpm in the current directory: data/houses.2024.csv.gz → houses.2024.dpm."""
    if str(data) == "-":
        return Path("stdin.dpm")
    name = Path(data).name
    for compression in (".gz", ".bz2", ".xz", ".zip", ".zst"):
        name = name.removesuffix(compression)
    return Path(Path(name).stem + ".dpm")


def checkpoint_path(out: str | os.PathLike[str]) -> Path:
    """m.dpm → m.ckpt.dpm, beside the model."""
    out = Path(out)
    return out.with_name(f"{out.stem}.ckpt{out.suffix or '.dpm'}")


def output_paths(opts: TrainOptions, data: str | os.PathLike[str]) -> tuple[Path, Path | None]:
    """(the model file, the report or None): m.report.html beside m.dpm unless --report names it."""
    out = Path(opts.out) if opts.out else default_out(data)
    report = Path(opts.report) if opts.report else out.with_name(f"{out.stem}.report.html")
    return out, None if opts.no_report else report


def file_sha256(path: str | os.PathLike[str]) -> str | None:
    """The SHA-256 of a file's bytes (None for standard input, which cannot be read twice)."""
    if str(path) == "-" or not Path(path).is_file():
        return None
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_metrics(model: TabularModel, X: np.ndarray, y_raw: np.ndarray) -> dict[str, float]:
    """Metrics of a TabularModel on encoded inputs X and raw targets (values or labels)."""
    fitted = model.fitted
    return output_metrics(model, fitted.predict(X) if model.task == "regression" else fitted.predict_proba(X),
                          y_raw)


def output_metrics(model: TabularModel, outputs: np.ndarray, y_raw: Any) -> dict[str, float]:
    """Metrics of the estimator's outputs (predict for a regression, predict_proba for classes)
    against raw targets (values or labels)."""
    if model.task == "regression":
        return regression_metrics(y_raw, model.target.decode(outputs), model.target.names)
    assert model.classes_ is not None
    return classification_metrics([plain(v) for v in y_raw], outputs, [plain(c) for c in model.classes_])


def write_outputs(model: TabularModel, out: Path, report: Path | None, X: Any, title: str,
                  metrics_json: str | None, doc: dict[str, Any]) -> None:
    """Write the model, its report (drawn first: one that fails writes nothing) and ``doc`` to
    ``metrics_json``, each atomically."""
    from deltaprop.command.metrics import as_json
    from deltaprop.files.archive import model_bytes
    from deltaprop.report.page import render_report

    html = None if report is None else render_report(model, X_train=X, title=title)
    write_guarded(out, lambda: model_bytes(model))
    if html is not None and report is not None:
        write_guarded(report, html.encode("utf-8"))
    if metrics_json:
        write_guarded(metrics_json, (as_json(doc) + "\n").encode())


# ---------------------------------------------------------------------- the run's state
@dataclass
class Run:
    """What the steps hand on to each other."""

    opts: TrainOptions
    data: Path
    out: Path
    report: Path | None
    ckpt: Path
    frame: Any = None
    notes: list[str] = field(default_factory=list)
    resumed: TabularModel | None = None
    targets: list[str] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    task: str = "regression"
    feature_enc: FeatureEncoder | None = None
    target_enc: TargetEncoder | None = None
    X: Any = None
    D: Any = None
    y_raw: Any = None
    rows: int = 0
    train_idx: Any = None
    val_idx: Any = None
    X_val: Any = None
    D_val: Any = None
    y_val: Any = None
    run_info: dict[str, Any] = field(default_factory=dict)
    #: how many of the notes were told before training (the rest come with the result)
    told: int = 0

    @property
    def has_val(self) -> bool:
        return self.X_val is not None and len(self.X_val) > 0


# ---------------------------------------------------------------------- 1. read
def read_step(opts: TrainOptions) -> Run:
    """Check that every output can be written and clashes with no input and no other output,
    then read the table (nothing is written yet)."""
    from deltaprop.files.atomic import OutputLock
    from deltaprop.tabular.read import read_table

    out, report = output_paths(opts, opts.data)
    run = Run(opts, Path(opts.data), out, report, checkpoint_path(out))
    # as the user spelled them (a trailing slash kept); --resume reads --out or its checkpoint
    check_outputs({"--out": opts.out or out, "the checkpoint": run.ckpt, "the lock": OutputLock(out).path,
                   "--report": report and (opts.report or report), "--metrics-json": opts.metrics_json},
                  {"DATA": None if opts.data == "-" else opts.data,
                   "--validation-data": opts.validation_data})
    run.frame = read_table(opts.data)
    run.notes += run.frame.attrs.get("deltaprop_notes", [])  # what reading decided (an index kept)
    return run


# ---------------------------------------------------------------------- 2. resume
def resume_step(run: Run) -> None:
    """With --resume: load the run being resumed and take its model-defining options."""
    if not run.opts.resume:
        return
    from deltaprop.files.archive import load
    from deltaprop.tabular.model import TabularModel

    opts, out, ckpt = run.opts, run.out, run.ckpt
    source = ckpt if ckpt.exists() else out if out.exists() else None
    if source is None:
        raise UserError(f"there is no checkpoint ({ckpt}) or model ({out}) to resume; train without --resume")
    model = load(source)
    if not isinstance(model, TabularModel) or "run" not in model.history:
        raise UserError(f"{source} was not written by 'deltaprop train'; train without --resume")
    saved = _saved_options(model.history["run"].get("options", {}), source, run.notes)
    targets = saved.get("targets", opts.targets)
    if opts.targets and list(opts.targets) != list(targets):
        raise UserError(f"{source} was trained for target(s) {', '.join(targets)}; leave out --target "
                        f"with --resume, or train afresh without --resume")
    defaults = TrainOptions(data=opts.data)
    for key, value in saved.items():
        given = getattr(opts, key)
        if key != "targets" and given != getattr(defaults, key) and given != value:
            flag = "--no-early-stopping" if key == "early_stopping" else "--" + key.replace("_", "-")
            raise UserError(f"{source} was trained with a different {flag}, and --resume keeps the run's own "
                            f"options; leave out {flag}, or train afresh without --resume")
        setattr(opts, key, value)
    if model.history["run"].get("data_sha256") not in (None, file_sha256(run.data)):
        raise UserError(f"{run.data} is not the data {source} was trained on; give the same file, or train "
                        f"afresh")
    run.resumed = model


def _saved_options(options: dict[str, Any], source: Path, notes: list[str]) -> dict[str, Any]:
    """{option: value} of the settings a model file's run recorded, each parsed by the command
    line's own option (its type, range and callback); a setting the model format does not name
    (a path, say) is never taken.  Refuses a malformed value (ModelFileError)."""
    import click

    from deltaprop.command.options import parser
    from deltaprop.files.codec import RUN_OPTIONS, ModelFileError

    unknown = sorted(str(k) for k in options if k not in RUN_OPTIONS)
    if unknown:
        notes.append(f"--resume ignores {len(unknown)} setting(s) of {source} that it does not take: "
                     + ", ".join(map(repr, unknown)))
    command = parser()
    params = {p.name: p for p in command.params if isinstance(p, click.Option)}
    args, given = ["DATA"], [key for key in RUN_OPTIONS if options.get(key) is not None]
    for key in given:  # one not recorded keeps the option's default
        value, param = options[key], params[key]
        if param.is_flag:
            if not isinstance(value, bool):
                raise ModelFileError(f"{source} records {param.opts[0]} as {value!r}, not true or false; "
                                     f"train afresh without --resume")
            args += [param.opts[0]] if value else param.secondary_opts[:1]
        elif key == "hidden" and isinstance(value, list):
            args.append(f"--hidden={','.join(map(str, value)) or 0}")
        else:
            args += [f"{param.opts[0]}={v}" for v in (value if isinstance(value, list) and param.multiple
                                                      else [value])]
    try:
        parsed = command.make_context("train", args).params
    except click.UsageError as e:
        raise ModelFileError(f"{source} records a malformed training setting ({e.format_message()}); "
                             f"train afresh without --resume") from None
    return {key: parsed[key] for key in given}


# ---------------------------------------------------------------------- 3. columns and task
def columns_step(run: Run) -> None:
    """The targets, the feature columns and the task (--task, or
    :func:`~deltaprop.tabular.encode.task_of`'s, with its note); refuses names that are not there."""
    from deltaprop.tabular import encode

    opts, frame = run.opts, run.frame
    if not opts.targets:
        raise UserError(f"no --target given; name the column to predict, one of: "
                        f"{encode.column_list(frame.columns)}")
    targets = list(words(tuple(map(str, opts.targets))))  # a Python caller may pass "a,b" too
    if len(set(targets)) != len(targets):
        raise UserError("a target is named twice in --target; name each once")
    for t in targets + list(opts.drop) + list(opts.categorical):
        if t not in frame.columns:
            raise UserError(encode.no_column_message(t, frame))
    features = [c for c in frame.columns if c not in targets and c not in opts.drop]
    for c in features + ([] if opts.task == "classification" else targets):
        problem = None if c in opts.categorical else encode.comma_number_problem(frame[c])
        if problem is not None:
            keep = f", or pass --categorical {c} to keep them as categories" if c in features else ""
            raise UserError(f"column {c!r} holds numbers {problem}{keep}")
    features = _without_identifiers(frame, features, opts.categorical, run.notes)
    if not features:
        raise UserError("no feature columns are left once the target(s) are set aside; the data needs input "
                        "columns")
    for c in opts.categorical:
        if c in targets:
            raise UserError(f"{c!r} is a target; --categorical applies to input columns")
    summaries = [encode.column_summary(frame[t]) for t in targets]
    run.targets, run.features, run.task = targets, features, opts.task or encode.task_of(summaries)
    check_task(opts, targets, run.task)
    if run.task == "classification":  # task_note reads the labels as written, as the cluster's does
        summaries[0].categories = encode.category_labels(frame, targets[0], impute=True)
    note = encode.task_note(targets, summaries, run.task)  # refuses a classification of fractions
    if opts.task is None:
        run.notes.append(note)


def check_task(opts: TrainOptions, targets: list[str], task: str) -> None:
    """Refuse the options a task rules out (one machine's run and the cluster's alike)."""
    if task == "classification" and len(targets) > 1:
        raise UserError("classification with several targets is not supported; train one model per target"
                        + ("" if opts.task else " (or pass --task regression if they are numbers)"))
    if opts.class_weight and task != "classification":
        raise UserError("--class-weight needs a classification; leave it out for a regression")
    if opts.loss != "squared_error" and task != "regression":
        raise UserError(f"--loss {opts.loss} needs a regression (a classification uses log-loss); leave out "
                        f"--loss or pass --task regression")
    for flag, value, loss in (("--huber-epsilon", opts.huber_epsilon, "huber"),
                              ("--quantile", opts.quantile, "quantile")):
        if value is not None and opts.loss != loss:
            raise UserError(f"{flag} is the parameter of --loss {loss}; add --loss {loss} or leave out "
                            f"{flag}")


def _without_identifiers(frame: pd.DataFrame, features: list[str], categorical: Any,
                         notes: list[str]) -> list[str]:
    """The features without text columns of a different value in every row (identifiers)."""
    from deltaprop.tabular.encode import column_kind

    kept = []
    for c in features:
        if (len(frame) >= 20 and c not in categorical and column_kind(frame[c]) == "categorical"
                and frame[c].nunique(dropna=True) == len(frame)):
            notes.append(f"left out column {c!r}: every row has its own value (an identifier); "
                         f"pass --categorical {c} to keep it")
        else:
            kept.append(c)
    return kept


# ---------------------------------------------------------------------- 4. encode
def encode_step(run: Run) -> None:
    """Fit the preprocessing on the usable rows (or take the resumed model's) and encode them."""
    from deltaprop.tabular.encode import FeatureEncoder, TargetEncoder

    opts, frame = run.opts, run.frame
    target_enc = run.resumed.target if run.resumed else TargetEncoder(run.targets, run.task)
    y_raw, keep = target_enc.values(frame, impute=opts.impute, notes=run.notes)
    rows = frame[keep] if not keep.all() else frame
    if len(rows) < 2:
        raise UserError(f"{opts.data} has {len(rows)} usable row(s); training needs at least 2")
    if run.resumed is None:
        target_enc.fit(y_raw)
        feature_enc = FeatureEncoder(impute=opts.impute).fit(rows, run.features, opts.categorical, run.notes,
                                                             shared_unit=opts.scale == "auto")
        run.notes += _impute_note(feature_enc, rows) if opts.impute else []
    else:
        feature_enc = run.resumed.features
    run.feature_enc, run.target_enc = feature_enc, target_enc
    run.X = feature_enc.transform(rows, notes=run.notes).astype(opts.dtype, copy=False)
    D = target_enc.encode(y_raw)
    run.D = D[:, 0] if run.task == "regression" and D.shape[1] == 1 else D
    run.y_raw, run.rows = y_raw, len(rows)


def _impute_note(encoder: FeatureEncoder, rows: pd.DataFrame) -> list[str]:
    """How many values --impute fills (the encoder's notes tell the rest)."""
    missing = rows[[c.name for c in encoder.columns]].isna().sum()
    if not missing.any():
        return []
    return [f"--impute fills {int(missing.sum())} missing value(s) in {int((missing > 0).sum())} column(s): "
            f"numbers with the training median, words with no category"]


# ---------------------------------------------------------------------- 5. split
def split_step(run: Run) -> None:
    """Training and validation rows: --validation-data, the resumed run's, or a seeded split."""
    opts = run.opts
    resumed_run = run.resumed.history["run"] if run.resumed is not None else {}
    if opts.validation_data:
        train_idx, val_idx = np.arange(run.rows), np.array([], dtype=np.int64)
        _validation_file(run)
    elif "validation_rows" in resumed_run:
        val_idx = np.asarray(resumed_run["validation_rows"], dtype=np.int64)
        if len(val_idx) and val_idx.max() >= run.rows:
            raise UserError(f"{opts.data} has changed since the run being resumed; train afresh without "
                            f"--resume")
        train_idx = np.setdiff1d(np.arange(run.rows), val_idx)
    else:
        train_idx, val_idx = _split(run.rows, run.task, run.y_raw, opts.validation_fraction, opts.seed)
    run.train_idx, run.val_idx = train_idx, val_idx
    if not opts.validation_data and len(val_idx):
        run.X_val, run.y_val = run.X[val_idx], run.y_raw[val_idx]
    if run.y_val is not None:  # (n, targets) for a regression, the labels for classes
        assert run.target_enc is not None
        run.D_val = run.target_enc.encode(run.y_val)
    if opts.early_stopping and not run.has_val:
        run.notes.append("no validation set (--validation-fraction 0): early stopping watches the training "
                         "loss")
    if run.task == "classification" and len(set(map(str, run.D[train_idx]))) < 2:
        raise UserError("the training rows hold a single class after the validation split; add rows of other "
                        "classes")


def _split(n: int, task: str, y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows) of the estimators' seeded split, stratified where it can be."""
    from deltaprop.training.loop import holdout

    if fraction <= 0:
        return np.arange(n), np.array([], dtype=np.int64)
    labels = np.asarray([str(v) for v in y]) if task == "classification" else None
    try:
        train, val = holdout(n, fraction, seed, labels, strict=False)
    except ValueError:
        raise UserError(f"{n} row(s) are too few to hold out a validation set of {fraction:g}; add rows, or "
                        f"pass --validation-fraction 0") from None
    return np.sort(train), np.sort(val)


def _validation_file(run: Run) -> None:
    """The rows of --validation-data, through the preprocessing fitted on DATA."""
    from deltaprop.tabular.read import read_table

    assert run.feature_enc is not None and run.target_enc is not None
    frame = read_table(run.opts.validation_data or "")
    run.y_val, keep = run.target_enc.values(frame, impute=run.opts.impute, notes=run.notes)
    rows = frame[keep] if not keep.all() else frame
    run.X_val = run.feature_enc.transform(rows, notes=run.notes).astype(run.opts.dtype, copy=False)


# ---------------------------------------------------------------------- 6. fit
def estimator_params(run: Run, n_train: int) -> tuple[str, dict[str, Any]]:
    """``(class name, parameters)`` of the estimator the run trains."""
    opts = run.opts
    # small tables need several steps per epoch to learn in a few hundred epochs
    batch = min(n_train, 200, max(32, n_train // 50)) if opts.batch_size is None else opts.batch_size
    params: dict[str, Any] = dict(
        hidden_layer_sizes=tuple(opts.hidden), activation=opts.activation, solver=opts.solver,
        alpha=opts.alpha, batch_size=min(int(batch), n_train), learning_rate_init=opts.learning_rate,
        max_iter=opts.epochs, random_state=opts.seed,
        # the estimator's early stopping on the validation rows the command chose (fit_step), watching
        # the validation loss of the run's --loss (R² and accuracy move in steps)
        early_stopping=_early_stopping(run), scoring="loss", tol=TOL,
        # without early stopping every epoch given is trained: no rule on the training loss
        n_iter_no_change=max(opts.patience, 1) if opts.early_stopping else np.inf, verbose=False)
    if opts.dropout:
        params["dropout"] = opts.dropout
    if run.task != "regression":
        return "MLPClassifier", {"class_weight": opts.class_weight, **params}
    loss = {"loss": opts.loss, "huber_epsilon": opts.huber_epsilon, "quantile": opts.quantile}
    return "MLPRegressor", {**{k: v for k, v in loss.items() if v is not None}, **params}


def _early_stopping(run: Run) -> bool:
    """Early stopping on validation rows (without, the rule on the training loss ends the run)."""
    return bool(run.opts.early_stopping and run.has_val and run.opts.solver != "lbfgs")


@dataclass
class Fitted:
    """The FittedMLP record (None when Ctrl-C came before it existed), its watch, how it ended."""

    est: FittedMLP | None
    monitor: Monitor
    interrupted: bool
    epochs_before: int
    #: what blew up, in the estimator's words, when the run diverged
    blow_ups: list[str] = field(default_factory=list)


def _resume_estimator(run: Run) -> tuple[Any, int]:
    """The resumed estimator (its current weights and its best ones back in place) and its epochs."""
    assert run.resumed is not None
    est = run.resumed.estimator
    epochs_done = len(getattr(est, "loss_curve_", []) or [])
    if run.opts.epochs <= epochs_done:
        raise UserError(f"the run being resumed has {epochs_done} epochs; pass --epochs larger than that to "
                        f"train on")
    ck = run.resumed.history.get("checkpoint", {})
    best = est.network_.get_flat()  # a finished run's model holds the weights it kept
    current = ck.get("current_theta")
    if current is not None and current.shape == best.shape:
        est.network_.set_flat(current)
        best = ck.get("best_theta", best)
    est._training.best_theta = best  # early stopping goes on from the best so far
    est.set_params(warm_start=True, max_iter=run.opts.epochs - epochs_done)
    return est, epochs_done


def fit_step(run: Run) -> Fitted:
    """Fit a new estimator or go on with the resumed one, watched by the monitor; early stopping
    scores the rows the command chose.  Ctrl-C ends the run with the weights so far."""
    from deltaprop.files.archive import model_bytes

    opts = run.opts
    est, epochs_done = _resume_estimator(run) if run.resumed else (None, 0)

    def write_checkpoint(est: Any, monitor: Monitor) -> None:
        state = est.__dict__.get("_training")  # θ of the best validation score so far, else the current θ
        best = state.best_theta if state is not None and est.early_stopping else None
        best = est.network_.get_flat() if best is None else best
        ck = {"epoch": len(est.loss_curve_), "current_theta": est.network_.get_flat(), "best_theta": best}
        write_guarded(run.ckpt, lambda: model_bytes(build_model(run, est, monitor, best, ck)))

    bar = None
    if not opts.quiet:
        from deltaprop.training.progress import ProgressBar

        label = "training" if run.resumed is None else "resuming"
        bar = ProgressBar(label, opts.epochs, completed=epochs_done, stderr=True, loss_format=".4g")
    scores = run.resumed.history.get("validation_score_curve") if run.resumed is not None else None
    monitor = Monitor((run.X_val, run.D_val) if run.has_val else None, checkpoint_every=opts.checkpoint_every,
                      on_checkpoint=write_checkpoint, progress=bar, scores=scores)
    X, D = run.X[run.train_idx], run.D[run.train_idx]
    if est is None:
        from deltaprop import estimators

        kind, params = estimator_params(run, len(run.train_idx))
        est = getattr(estimators, kind)(**params)
    est.set_params(callback=monitor, verbose=False)
    validation = _validation_rows(run, D) if est.early_stopping else None
    interrupted, blow_ups = _fit(lambda: est.fit(X, D, validation_data=validation), bar)
    record = _record(est)  # None when Ctrl-C came before the network existed
    interrupted = interrupted or bool(record is not None and record.attributes.get("interrupted_"))
    if record is not None:  # as the training run published them in the record
        monitor.best_epoch = int(record.state["best_epoch"])
        monitor.stopped_early = bool(record.state["stopped_early"])
    return Fitted(record, monitor, interrupted, epochs_done, blow_ups)


def _validation_rows(run: Run, D: Any) -> tuple[Any, Any]:
    """The validation rows early stopping scores: a classification's of classes the training rows hold."""
    if run.task == "regression":
        return run.X_val, run.D_val
    seen = np.isin(np.asarray(run.D_val), np.asarray(D))
    if not seen.all():
        run.notes.append(f"{int((~seen).sum())} validation row(s) have classes the training rows lack; "
                         f"early stopping leaves them out, the metrics count them as wrong")
    if not seen.any():
        raise UserError("no validation row has a class of the training rows; give other validation rows, or "
                        "pass --no-early-stopping")
    return run.X_val[seen], run.D_val[seen]


def _record(est: Any) -> FittedMLP | None:
    """The FittedMLP record of a fitted estimator or record (None before the network exists)."""
    from deltaprop.estimators.fitted import FittedMLP

    if isinstance(est, FittedMLP):
        return est
    return FittedMLP.from_estimator(est) if hasattr(est, "network_") else None


def _fit(train: Callable[[], Any], bar: Any) -> tuple[bool, list[str]]:
    """``train()`` under the progress bar: (whether Ctrl-C ended it, what blew up)."""
    from deltaprop.training.divergence import DivergenceWarning

    interrupted = False
    with warnings.catch_warnings(record=True) as caught:
        # the run's end is reported by the command itself (why it stopped, divergence)
        warnings.simplefilter("always")
        try:
            with bar if bar is not None else nullcontext():
                result = train()
                curve = getattr(result, "loss_curve_", None) or [0.0]
                if bar is not None and (getattr(result, "diverged_", False) or not math.isfinite(curve[-1])):
                    bar.clear()  # the divergence error is the run's one line
        except KeyboardInterrupt:
            interrupted = True
        except ValueError as e:
            raise UserError(f"training failed: {e}; check the options") from e
    return interrupted, [str(w.message) for w in caught if issubclass(w.category, DivergenceWarning)]


def build_model(run: Run, est: Any, monitor: Monitor, theta: np.ndarray | None = None,
                checkpoint: dict | None = None) -> TabularModel:
    """A TabularModel of the estimator's (or record's) network, with the weights ``theta``."""
    from deltaprop.tabular.model import TabularModel

    record = _record(est)
    assert record is not None and run.feature_enc is not None and run.target_enc is not None
    fitted = record.copy()
    if theta is not None:
        fitted.network.set_flat(theta)
    history: dict[str, Any] = {
        "loss_curve": list(getattr(est, "loss_curve_", []) or []),
        "validation_loss_curve": list(getattr(est, "validation_loss_curve_", None) or []),
        "validation_score_curve": list(monitor.validation_score),
        "gradient_norms": [{int(k): float(v) for k, v in g.items()}
                           for g in getattr(est, "gradient_norms_", [])],
        "run": run.run_info,
    }
    if checkpoint is not None:
        history["checkpoint"] = checkpoint
    return TabularModel(run.feature_enc, run.target_enc, fitted, history=history)


# ---------------------------------------------------------------------- 7. evaluate
def stop_reason(run: Run, fitted: Fitted) -> str:
    """Why the run ended, in words."""
    opts, monitor = run.opts, fitted.monitor
    epochs = len(getattr(fitted.est, "loss_curve_", []) or [])
    if fitted.interrupted:
        return f"interrupted (Ctrl-C) at epoch {epochs}"
    if monitor.stopped_early and _early_stopping(run):
        return (f"early stopping: the validation loss did not improve by {TOL:g} for {opts.patience} "
                f"epochs (best epoch {monitor.best_epoch}, whose weights are kept)")
    if monitor.stopped_early:
        return (f"early stopping: the training loss did not improve by {TOL:g} for {opts.patience} "
                f"epochs (no validation rows; the last weights are kept)")
    if epochs >= opts.epochs:
        return f"reached the epoch limit (--epochs {opts.epochs})"
    if opts.solver == "lbfgs":
        return f"L-BFGS converged after {epochs} iterations (the loss changed by less than {TOL:g})"
    return (f"the training loss improved by less than {TOL:g} for {opts.patience} epochs in a row "
            f"(pass --no-early-stopping to train every epoch)")


def evaluate_step(run: Run, fitted: Fitted) -> TrainResult:
    """The model to keep and its metrics; refuses a diverged run."""
    opts, est, monitor = run.opts, fitted.est, fitted.monitor
    curve = list(getattr(est, "loss_curve_", []) or [])
    rate = f"--learning-rate (now {opts.learning_rate:g})"
    if est is None or (fitted.interrupted and len(curve) <= fitted.epochs_before):
        raise KeyboardInterrupt(NOTHING_SAVED)  # not one epoch finished: no better model to save
    # a value that stopped being finite ends the run: an error; a finite blow-up is a note
    if any("stopped being finite" in w for w in fitted.blow_ups) or (curve and not math.isfinite(curve[-1])):
        raise UserError(f"training diverged after {len(curve)} epoch(s) (the loss stopped being finite); "
                        f"lower {rate}; nothing was written")
    # the estimator restored the best weights (early stopping); else the last ones are kept
    model = build_model(run, est, monitor)
    if not np.isfinite(model.network_.get_flat()).all():
        raise UserError(f"training produced non-finite weights; lower {rate}")
    metrics = {"train": model_metrics(model, run.X[run.train_idx], run.y_raw[run.train_idx])}
    if run.has_val:
        metrics["validation"] = model_metrics(model, run.X_val, run.y_val)
    reason = stop_reason(run, fitted)
    model.history.update(best_epoch=monitor.best_epoch, stopped_early=monitor.stopped_early, metrics=metrics,
                         epochs=len(curve), stop_reason=reason)
    if run.task == "classification":
        model.history["confusion"] = _confusion(run, model)
    if fitted.blow_ups:
        m = re.match(r"Training diverged: (.*?), (and|so) ", fitted.blow_ups[0])
        run.notes.append(f"training blew up ({m.group(1) if m else fitted.blow_ups[0]}); lower {rate}")
    worse = [k for k, v in metrics["train"].items() if k.startswith("R²") and v < 0]
    if worse:  # finite but useless weights (e.g. Adam with a huge learning rate) are not "diverged"
        run.notes.append(f"the model fits its own training data worse than a constant ({worse[0]} < 0 on the "
                         f"training rows): lower {rate} or train longer")
    return TrainResult(model, metrics, None, None, run.notes[run.told:], interrupted=fitted.interrupted,
                       epochs=len(curve), best_epoch=monitor.best_epoch, stopped_early=monitor.stopped_early,
                       stop_reason=reason)


def _confusion(run: Run, model: TabularModel) -> dict[str, Any]:
    """The confusion matrix of the validation rows (else the training rows)."""
    from deltaprop.command.metrics import confusion_matrix

    if run.has_val:
        X, labels, rows = run.X_val, run.y_val, "validation"
    else:
        X, labels, rows = run.X[run.train_idx], run.y_raw[run.train_idx], "training"
    classes = list(model.fitted.attributes["classes_"])
    C = confusion_matrix(list(labels), model.fitted.predict_proba(X), classes)
    return {"rows": rows, "classes": [plain(c) for c in classes], "matrix": C.tolist()}


# ---------------------------------------------------------------------- 8. write
def write_step(run: Run, result: TrainResult) -> TrainResult:
    """Write the model, report and metrics; an interrupted run only its model."""
    from deltaprop.files.archive import model_bytes

    model = result.model
    if result.interrupted:
        result.out = run.out if not run.out.exists() else run.ckpt
        write_guarded(result.out, lambda: model_bytes(model))
        return result
    name = "standard input" if run.opts.data == "-" else run.data.name
    doc = {"metrics": result.metrics, "epochs": result.epochs, "stop_reason": result.stop_reason,
           "notes": run.notes}
    write_outputs(model, run.out, run.report, run.X[run.train_idx],
                  f"deltaprop: {name} → {', '.join(run.targets)}", run.opts.metrics_json, doc)
    result.out, result.report = run.out, run.report
    if run.opts.checkpoint_every or run.opts.resume:
        with suppress(OSError):
            run.ckpt.unlink()
    return result


# ---------------------------------------------------------------------- the whole run
#: what Ctrl-C says when it comes before the first epoch has finished
NOTHING_SAVED = "interrupted before the first epoch finished; nothing was saved"


@contextmanager
def _nothing_saved() -> Iterator[None]:
    """Ctrl-C in the block ends the run with :data:`NOTHING_SAVED`."""
    try:
        yield
    except KeyboardInterrupt as e:
        if e.args:
            raise
        raise KeyboardInterrupt(NOTHING_SAVED) from None


def train(opts: TrainOptions, tell: Callable[[str], None] | None = None) -> TrainResult:
    """Run ``deltaprop train``; returns a :class:`TrainResult` (raises UserError on bad input).

    ``tell(note)`` is called for each note about what the run inferred (the task, the
    encoding, the scaling) once all are known and before the first epoch; the result's notes
    are those that came later (with ``tell`` None: all of them)."""
    from deltaprop import __version__
    from deltaprop.files import InterruptGuard, OutputLock

    if opts.scheduler:
        raise UserError("--scheduler runs through deltaprop.command.cluster.train_on_cluster; "
                        "call that for a cluster run")
    with _nothing_saved():
        run = read_step(opts)
    # one run per --out; the first Ctrl-C stops training, later ones wait for the best model's save
    with OutputLock(run.out, "--out"), InterruptGuard() as guard:
        with _nothing_saved():
            resume_step(run)
            columns_step(run)
            encode_step(run)
            split_step(run)
            run.run_info = {
                "data": "standard input" if opts.data == "-" else run.data.name,
                "data_sha256": file_sha256(run.data),
                "rows": int(run.rows),
                "options": {**opts.model_options(), "task": run.task, "targets": run.targets},
                "validation_rows": np.asarray(run.val_idx, dtype=np.int64),
                "deltaprop_version": __version__,
            }
            if tell is not None:
                for note in run.notes:
                    tell(note)
                run.told = len(run.notes)
            fitted = fit_step(run)
        with guard.saving():
            return write_step(run, evaluate_step(run, fitted))
