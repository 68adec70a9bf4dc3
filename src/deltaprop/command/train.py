"""What ``deltaprop train`` does, from a file name to a saved model, report and metrics.

The steps, each of which refuses bad input before anything is written:

1. read the table; pick the targets and the features; detect the task;
2. fit the preprocessing (:class:`~deltaprop.tabular.model.FeatureEncoder`,
   :class:`~deltaprop.tabular.model.TargetEncoder`) and split off a validation set (stratified for
   classes, seeded);
3. train the estimator with a callback (:class:`Monitor`) that, after every epoch, measures
   the validation loss, keeps the best weights, stops early, draws the progress bar and
   writes checkpoints;
4. compute the metrics, write the model and then the report, each atomically.

Ctrl-C keeps the best weights so far and saves them (to ``--out`` if nothing is there yet,
else to the checkpoint file, so an interrupted run never replaces a finished model) and
exits with status 130.  A run that diverges writes nothing.
"""

from __future__ import annotations

import hashlib
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deltaprop.errors import UserError

__all__ = ["TrainOptions", "train", "checkpoint_path", "regression_metrics", "classification_metrics"]

EPS = 1e-15


@dataclass
class TrainOptions:
    data: str
    targets: tuple = ()
    task: str | None = None
    hidden: tuple = (64, 64)
    activation: str = "relu"
    solver: str = "adam"
    epochs: int = 200
    batch_size: int | None = None
    learning_rate: float = 1e-3
    alpha: float = 1e-4
    seed: int = 0
    early_stopping: bool = True
    patience: int = 10
    validation_fraction: float = 0.2
    impute: bool = False
    drop: tuple = ()
    categorical: tuple = ()
    out: str | None = None
    report: str | None = None
    no_report: bool = False
    checkpoint_every: int = 0
    resume: bool = False
    quiet: bool = False

    def model_options(self):
        """The options that define the model (kept in its history, reused by --resume)."""
        return {
            "targets": list(self.targets),
            "task": self.task,
            "hidden": list(self.hidden),
            "activation": self.activation,
            "solver": self.solver,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "alpha": self.alpha,
            "seed": self.seed,
            "early_stopping": self.early_stopping,
            "patience": self.patience,
            "validation_fraction": self.validation_fraction,
            "impute": self.impute,
            "drop": list(self.drop),
            "categorical": list(self.categorical),
        }


# ---------------------------------------------------------------------- paths
def default_out(data):
    """<data name>.dpm in the current directory: data/houses.2024.csv.gz → houses.2024.dpm."""
    name = Path(data).name
    for compression in (".gz", ".bz2", ".xz", ".zip", ".zst"):
        name = name.removesuffix(compression)
    return Path(Path(name).stem + ".dpm")


def checkpoint_path(out):
    """m.dpm → m.ckpt.dpm, beside the model."""
    out = Path(out)
    return out.with_name(f"{out.stem}.ckpt{out.suffix or '.dpm'}")


def default_report(out):
    """m.dpm → m.report.html, beside the model."""
    out = Path(out)
    return out.with_name(f"{out.stem}.report.html")


def check_writable(path, what, data):
    """Refuse an output path that cannot be written, or that is the input data."""
    path = Path(path)
    if path.is_dir():
        example = {"report": "report.html", "output file": "predictions.csv"}.get(what, "model.dpm")
        raise UserError(f"{what} {path} is a directory; give a file name, e.g. {path / example}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(
            f"the directory {parent} for the {what} does not exist; create it or choose another path"
        )
    if not os.access(parent, os.W_OK):
        raise UserError(f"cannot write the {what} in {parent} (permission denied); choose another path")
    if path.exists() and not os.access(path, os.W_OK):
        raise UserError(f"cannot overwrite {path} (permission denied); choose another path")
    if path.exists() and Path(data).exists() and os.path.samefile(path, data):
        raise UserError(f"the {what} {path} is the data file; choose another path so the data is kept")


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------- metrics
def regression_metrics(Y_true, Y_pred, names):
    """{metric name: value}: R² and MAE per target (in the targets' own units)."""
    Y_true = np.asarray(Y_true, dtype=np.float64).reshape(len(Y_true), -1)
    Y_pred = np.asarray(Y_pred, dtype=np.float64).reshape(Y_true.shape)
    out = {}
    for k, name in enumerate(names):
        t, p = Y_true[:, k], Y_pred[:, k]
        suffix = f" ({name})" if len(names) > 1 else ""
        # R² does not depend on the units: measured in units of max|t|, squares of values
        # near 1e300 do not overflow
        top = float(np.max(np.abs(t))) if len(t) else 1.0
        top = top if top > 0 and math.isfinite(top) else 1.0
        ts, ps = t / top, p / top
        ss_tot = float(((ts - ts.mean()) ** 2).sum())
        ss_res = float(((ts - ps) ** 2).sum())
        out[f"R²{suffix}"] = 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")
        out[f"MAE{suffix}"] = float(np.abs(t - p).mean())
    return out


def classification_metrics(labels, proba, classes):
    """Accuracy and log-loss (natural log, mean over rows) of predicted probabilities.

    A label not among ``classes`` counts as wrong and gets probability ``EPS``.
    """
    index = {c: k for k, c in enumerate(classes)}
    codes = np.array([index.get(v, -1) for v in labels], dtype=np.int64)
    pred = np.argmax(proba, axis=1)
    known = codes >= 0
    p_true = np.full(len(codes), EPS)
    p_true[known] = proba[np.flatnonzero(known), codes[known]]
    return {
        "accuracy": float(np.mean(pred == codes)),
        "log-loss": float(-np.mean(np.log(np.clip(p_true, EPS, 1.0)))),
    }


def model_metrics(model, X, y_raw):
    """Metrics of a TabularModel on encoded inputs X and raw targets (values or labels)."""
    est = model.estimator
    if model.task == "regression":
        return regression_metrics(y_raw, model.target.decode(est.predict(X)), model.target.names)
    return classification_metrics(
        [_plain(v) for v in y_raw], est.predict_proba(X), [_plain(c) for c in est.classes_]
    )


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


# ---------------------------------------------------------------------- the monitor
class Monitor:
    """The estimator's callback: validation loss, best weights, early stopping, progress, checkpoints.

    After each epoch ``__call__(est)`` appends the validation loss (the network's loss on the
    validation rows: mean E_n, in the units the network was trained in) and the validation
    score (R² or accuracy), keeps a copy of the weights with the lowest validation loss (the
    training loss when there is no validation set), and returns True to stop when that has
    not improved by ``tol`` for ``patience`` epochs and early stopping is on.
    """

    def __init__(
        self,
        X_val,
        D_val,
        *,
        early_stopping,
        patience,
        tol,
        checkpoint_every=0,
        on_checkpoint=None,
        progress=None,
        task=None,
        state=None,
    ):
        self.X_val, self.D_val = X_val, D_val
        self.early_stopping = early_stopping
        self.patience = patience
        self.tol = tol
        self.checkpoint_every = checkpoint_every
        self.on_checkpoint = on_checkpoint
        self.progress = progress
        self.task = task
        state = state or {}
        self.validation_loss = list(state.get("validation_loss", []))
        self.validation_score = list(state.get("validation_score", []))
        self.best_loss = state.get("best_loss", math.inf)
        self.best_epoch = state.get("best_epoch", 0)
        self.bad_epochs = state.get("bad_epochs", 0)
        self.best_theta = state.get("best_theta")
        self.stopped_early = False

    def state(self):
        return {
            "validation_loss": list(self.validation_loss),
            "validation_score": list(self.validation_score),
            "best_loss": self.best_loss,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
        }

    def _validation(self, est):
        net = est.network_
        if self.task == "regression":
            y = net.predict(self.X_val)
            loss = float(0.5 * np.mean(np.sum((y - self.D_val) ** 2, axis=1)))
            ss_tot = float(((self.D_val - self.D_val.mean(axis=0)) ** 2).sum())
            score = 1.0 - float(((y - self.D_val) ** 2).sum()) / ss_tot if ss_tot > 0 else float("nan")
            return loss, score
        proba = est.predict_proba(self.X_val)
        m = classification_metrics(self.D_val, proba, [_plain(c) for c in est.classes_])
        return m["log-loss"], m["accuracy"]

    def __call__(self, est):
        epoch = len(est.loss_curve_)
        train_loss = est.loss_curve_[-1]
        if self.X_val is not None:
            loss, score = self._validation(est)
            self.validation_loss.append(loss)
            self.validation_score.append(score)
        else:
            loss, score = train_loss, None
        if math.isfinite(loss) and loss < self.best_loss - self.tol:
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        if math.isfinite(loss) and loss < self.best_loss:
            self.best_loss = loss
            self.best_epoch = epoch
            self.best_theta = est.network_.get_flat()
        if self.progress is not None:
            self.progress(epoch, train_loss, loss if self.X_val is not None else None, score)
        if self.checkpoint_every and epoch % self.checkpoint_every == 0 and self.on_checkpoint is not None:
            self.on_checkpoint(est, self)
        if self.early_stopping and self.bad_epochs > self.patience:
            self.stopped_early = True
            return True
        return False


class _Bar:
    """A rich progress bar on stderr: epoch m of n, training and validation loss."""

    def __init__(self, total, start, label):
        from deltaprop.training.loop import progress_bar

        self.progress, self.task = progress_bar(label, total, completed=start, stderr=True)

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()
        return False

    def __call__(self, epoch, train_loss, val_loss, score):
        val = "" if val_loss is None else f"validation {val_loss:.4g}"
        self.progress.update(self.task, completed=epoch, loss=f"{train_loss:.4g}", val=val)


# ---------------------------------------------------------------------- the run
def _split(n, task, y, fraction, seed):
    """(train rows, validation rows): a seeded split, stratified by class where it can be."""
    if fraction <= 0:
        return np.arange(n), np.array([], dtype=np.int64)
    n_val = int(math.ceil(fraction * n))
    if n_val < 1 or n - n_val < 1:
        raise UserError(
            f"{n} row(s) are too few to hold out a validation set of {fraction:g}; add rows, or pass "
            f"--validation-fraction 0"
        )
    from sklearn.model_selection import train_test_split

    index = np.arange(n)
    stratify = None
    if task == "classification":
        _, counts = np.unique(np.asarray([str(v) for v in y]), return_counts=True)
        if counts.min() >= 2 and n_val >= len(counts) and n - n_val >= len(counts):
            stratify = [str(v) for v in y]
    train, val = train_test_split(index, test_size=n_val, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(val)


def _without_identifiers(frame, features, categorical, notes):
    """Leave out text columns with a different value in every row: identifiers predict nothing."""
    from deltaprop.tabular.model import column_kind

    kept = []
    for c in features:
        n = len(frame)
        if n >= 20 and c not in categorical and column_kind(frame[c]) == "categorical":
            if frame[c].nunique(dropna=True) == n:
                notes.append(
                    f"left out column {c!r}: every row has its own value (an identifier); "
                    f"pass --categorical {c} to keep it"
                )
                continue
        kept.append(c)
    return kept


def _make_estimator(task, opts, n_train, callback):
    from deltaprop.estimators.mlp import MLPClassifier, MLPRegressor

    cls = MLPRegressor if task == "regression" else MLPClassifier
    if opts.batch_size is None:
        # small tables need several steps per epoch to learn in a few hundred epochs
        batch = min(n_train, 200, max(32, n_train // 50))
    else:
        batch = min(int(opts.batch_size), n_train)
    return cls(
        hidden_layer_sizes=tuple(opts.hidden),
        activation=opts.activation,
        solver=opts.solver,
        alpha=opts.alpha,
        batch_size=batch,
        learning_rate_init=opts.learning_rate,
        max_iter=opts.epochs,
        random_state=opts.seed,
        early_stopping=False,
        n_iter_no_change=max(opts.patience, 1),
        callback=callback,
        verbose=False,
    )


@dataclass
class TrainResult:
    model: object
    metrics: dict
    out: Path | None
    report: Path | None
    notes: list
    interrupted: bool = False
    epochs: int = 0
    best_epoch: int = 0
    stopped_early: bool = False


def _load_resume(opts, out, ckpt):
    from deltaprop.files.archive import load
    from deltaprop.tabular.model import TabularModel

    source = ckpt if ckpt.exists() else out if out.exists() else None
    if source is None:
        raise UserError(f"there is no checkpoint ({ckpt}) or model ({out}) to resume; train without --resume")
    model = load(source)
    if not isinstance(model, TabularModel) or "run" not in model.history:
        raise UserError(f"{source} was not written by 'deltaprop train'; train without --resume")
    return source, model


def train(opts):
    """Run ``deltaprop train``; returns a :class:`TrainResult` (raises UserError on bad input)."""
    from deltaprop import __version__
    from deltaprop.files.archive import model_bytes
    from deltaprop.tabular.model import (
        FeatureEncoder,
        TabularModel,
        TargetEncoder,
        _no_column_message,
        comma_number_problem,
        detect_task,
        read_table,
    )

    notes = []
    data = Path(opts.data)
    out = Path(opts.out) if opts.out else default_out(data)
    report = None if opts.no_report else Path(opts.report) if opts.report else default_report(out)
    ckpt = checkpoint_path(out)
    frame = read_table(data)
    check_writable(out, "model file", data)
    if report is not None:
        check_writable(report, "report", data)
        if report.resolve() == out.resolve():
            raise UserError("--report and --out name the same file; give the report an .html name")
    if opts.checkpoint_every or opts.resume:
        check_writable(ckpt, "checkpoint", data)

    resumed = None
    if opts.resume:
        source, resumed = _load_resume(opts, out, ckpt)
        run = resumed.history["run"]
        # the model-defining options come from the run being resumed
        saved = run["options"]
        for key in ("hidden", "targets", "drop", "categorical"):
            saved[key] = tuple(saved[key])
        if opts.targets and list(opts.targets) != list(saved["targets"]):
            raise UserError(
                f"{source} was trained for target(s) {', '.join(saved['targets'])}; leave out --target "
                f"with --resume, or train afresh without --resume"
            )
        defaults = TrainOptions(data=opts.data)
        for key, value in saved.items():
            given = getattr(opts, key)
            if key != "targets" and given != getattr(defaults, key) and given != value:
                flag = "--no-early-stopping" if key == "early_stopping" else "--" + key.replace("_", "-")
                raise UserError(
                    f"{source} was trained with a different {flag}, and --resume keeps the run's own "
                    f"options; leave out {flag}, or train afresh without --resume"
                )
            setattr(opts, key, value)
        if data.exists() and run.get("data_sha256") not in (None, file_sha256(data)):
            raise UserError(
                f"{data} is not the data {source} was trained on; give the same file, or train afresh"
            )

    if not opts.targets:
        shown = ", ".join(map(str, frame.columns[:12]))
        raise UserError(f"no --target given; name the column to predict, one of: {shown}")
    targets = []
    for t in opts.targets:
        targets.extend(s.strip() for s in str(t).split(",") if s.strip())
    if len(set(targets)) != len(targets):
        raise UserError("a target is named twice in --target; name each once")
    for t in targets + list(opts.drop) + list(opts.categorical):
        if t not in frame.columns:
            raise UserError(_no_column_message(t, frame))
    features = [c for c in frame.columns if c not in targets and c not in opts.drop]
    for c in features + ([] if opts.task == "classification" else targets):
        problem = None if c in opts.categorical else comma_number_problem(frame[c])
        if problem is not None:
            raise UserError(
                f"column {c!r} holds numbers {problem}"
                + (f", or pass --categorical {c} to keep them as categories" if c in features else "")
            )
    features = _without_identifiers(frame, features, opts.categorical, notes)
    if not features:
        raise UserError(
            "no feature columns are left once the target(s) are set aside; the data needs input columns"
        )
    for c in opts.categorical:
        if c in targets:
            raise UserError(f"{c!r} is a target; --categorical applies to input columns")

    task = opts.task or detect_task(frame, targets)
    if task == "classification" and len(targets) > 1:
        raise UserError(
            "classification with several targets is not supported; train one model per target"
            + ("" if opts.task else " (or pass --task regression if they are numbers)")
        )
    if opts.task is None and task == "regression" and len(targets) == 1:
        values = frame[targets[0]].dropna()
        try:
            distinct = np.unique(np.asarray(values, dtype=np.float64))
        except (TypeError, ValueError):
            distinct = np.array([])
        # class codes such as 0/1/2 look numeric: say so, the metrics would be R² and MAE
        whole = len(distinct) > 0 and bool(np.all(np.isfinite(distinct) & (distinct == np.round(distinct))))
        if 0 < len(distinct) <= 2 or (whole and len(distinct) <= 10 and len(distinct) < len(values) / 2):
            notes.append(
                f"target {targets[0]!r} is numeric with only {len(distinct)} distinct values, so this is "
                f"regression; pass --task classification to predict classes"
            )

    # targets: values and the rows that have one
    target_enc = resumed.target if resumed else TargetEncoder(targets, task)
    y_raw, keep = target_enc.values(frame, impute=opts.impute, notes=notes)
    rows = frame[keep] if not keep.all() else frame
    if len(rows) < 2:
        raise UserError(f"{data} has {len(rows)} usable row(s); training needs at least 2")
    if resumed is None:
        target_enc.fit(y_raw)
        feature_enc = FeatureEncoder(impute=opts.impute).fit(rows, features, opts.categorical, notes)
    else:
        feature_enc = resumed.features
    X = feature_enc.transform(rows, notes=notes)
    D = target_enc.encode(y_raw)
    if task == "regression" and D.shape[1] == 1:
        D = D[:, 0]

    if resumed is not None and "validation_rows" in resumed.history["run"]:
        val_idx = np.asarray(resumed.history["run"]["validation_rows"], dtype=np.int64)
        if len(val_idx) and val_idx.max() >= len(rows):
            raise UserError(f"{data} has changed since the run being resumed; train afresh without --resume")
        train_idx = np.setdiff1d(np.arange(len(rows)), val_idx)
    else:
        train_idx, val_idx = _split(len(rows), task, y_raw, opts.validation_fraction, opts.seed)
    has_val = len(val_idx) > 0
    if opts.early_stopping and not has_val:
        notes.append("no validation set (--validation-fraction 0): early stopping watches the training loss")

    X_train, X_val = X[train_idx], X[val_idx]
    D_train = D[train_idx]
    if task == "regression":
        D_val = D[val_idx].reshape(len(val_idx), -1) if has_val else None
    else:
        D_val = [_plain(v) for v in y_raw[val_idx]]
    if task == "classification" and len(set(map(str, D_train))) < 2:
        raise UserError(
            "the training rows hold a single class after the validation split; add rows of other classes"
        )

    data_sha = file_sha256(data)
    run_info = {
        "data": data.name,
        "data_sha256": data_sha,
        "rows": int(len(rows)),
        "options": opts.model_options(),
        "validation_rows": np.asarray(val_idx, dtype=np.int64),
        "deltaprop_version": __version__,
    }
    run_info["options"]["task"] = task
    run_info["options"]["targets"] = targets

    epochs_done = 0
    monitor_state = None
    if resumed is not None:
        est = resumed.estimator
        epochs_done = len(getattr(est, "loss_curve_", []) or [])
        if opts.epochs <= epochs_done:
            raise UserError(
                f"the run being resumed has {epochs_done} epochs; pass --epochs larger than that to train on"
            )
        ck = resumed.history.get("checkpoint", {})
        current = ck.get("current_theta")
        if current is not None and current.shape == est.network_.get_flat().shape:
            est.network_.set_flat(current)
        monitor_state = resumed.history.get("monitor")
        if monitor_state is not None:
            monitor_state = dict(monitor_state)
            monitor_state["best_theta"] = ck.get("best_theta", est.network_.get_flat())
        est.set_params(warm_start=True, max_iter=opts.epochs - epochs_done)

    def build_model(est, monitor, theta=None, checkpoint=None):
        """A TabularModel of the estimator's network with the weights ``theta`` (a copy)."""
        from deltaprop.files.archive import copy_estimator

        est_copy = copy_estimator(est)
        if theta is not None:
            est_copy.network_.set_flat(theta)
        history = {
            "loss_curve": list(getattr(est, "loss_curve_", []) or []),
            "validation_loss_curve": list(monitor.validation_loss),
            "validation_score_curve": list(monitor.validation_score),
            "gradient_norms": [
                {int(k): float(v) for k, v in g.items()} for g in getattr(est, "gradient_norms_", [])
            ],
            "best_epoch": monitor.best_epoch,
            "stopped_early": monitor.stopped_early,
            "monitor": monitor.state(),
            "run": run_info,
        }
        if checkpoint is not None:
            history["checkpoint"] = checkpoint
        return TabularModel(feature_enc, target_enc, est_copy, history=history)

    def write_checkpoint(est, monitor):
        theta_best = monitor.best_theta if monitor.best_theta is not None else est.network_.get_flat()
        ck = {
            "epoch": len(est.loss_curve_),
            "current_theta": est.network_.get_flat(),
            "best_theta": theta_best,
        }
        model = build_model(est, monitor, theta_best, ck)
        _write_guarded(ckpt, model_bytes(model))

    label = "training" if resumed is None else "resuming"
    bar = None if opts.quiet else _Bar(opts.epochs, epochs_done, label)
    monitor = Monitor(
        X_val if has_val else None,
        D_val if has_val else None,
        early_stopping=opts.early_stopping,
        patience=opts.patience,
        tol=1e-4,
        checkpoint_every=opts.checkpoint_every,
        on_checkpoint=write_checkpoint,
        progress=bar,
        task=task,
        state=monitor_state,
    )
    if resumed is None:
        est = _make_estimator(task, opts, len(train_idx), monitor)
    else:
        est.set_params(callback=monitor, verbose=False)

    interrupted = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if bar is not None:
                with bar:
                    est.fit(X_train, D_train)
            else:
                est.fit(X_train, D_train)
        except KeyboardInterrupt:
            interrupted = True
        except ValueError as e:
            raise UserError(f"training failed: {e}; check the options") from e
    interrupted = interrupted or bool(getattr(est, "interrupted_", False))
    if not hasattr(est, "network_"):
        raise KeyboardInterrupt  # stopped before the network existed: nothing to save
    curve = list(getattr(est, "loss_curve_", []) or [])
    if interrupted and len(curve) <= epochs_done:
        raise KeyboardInterrupt  # not one epoch finished: there is no better model to save
    if getattr(est, "diverged_", False) or (curve and not math.isfinite(curve[-1])):
        raise UserError(
            f"training diverged after {len(curve)} epoch(s) (the loss stopped being finite); lower "
            f"--learning-rate (now {opts.learning_rate:g}); nothing was written"
        )
    epochs = len(curve)
    # early stopping and Ctrl-C keep the best weights; a full run keeps the last ones
    theta = monitor.best_theta if (interrupted or opts.early_stopping) else None
    model = build_model(est, monitor, theta)
    if not np.isfinite(model.network_.get_flat()).all():
        raise UserError(
            f"training produced non-finite weights; lower --learning-rate (now {opts.learning_rate:g})"
        )

    metrics = {"train": model_metrics(model, X_train, y_raw[train_idx])}
    if has_val:
        metrics["validation"] = model_metrics(model, X_val, y_raw[val_idx])
    model.history["metrics"] = metrics
    model.history["epochs"] = epochs
    worse = [k for k, v in metrics["train"].items() if k.startswith("R²") and v < 0]
    if worse:
        # finite but useless weights (e.g. Adam with a huge learning rate) are not "diverged"
        notes.append(
            f"the model fits its own training data worse than a constant ({worse[0]} < 0 on the "
            f"training rows): lower --learning-rate (now {opts.learning_rate:g}) or train longer"
        )

    if interrupted:
        target_path = out if not out.exists() else ckpt
        _write_guarded(target_path, model_bytes(model))
        return TrainResult(
            model,
            metrics,
            target_path,
            None,
            notes,
            interrupted=True,
            epochs=epochs,
            best_epoch=monitor.best_epoch,
        )

    html = None
    if report is not None:
        from deltaprop.report.page import render_report

        html = render_report(model, X_train=X_train, title=f"deltaprop: {data.name} → {', '.join(targets)}")
    _write_guarded(out, model_bytes(model))
    if html is not None:
        _write_guarded(report, html.encode("utf-8"))
    if ckpt.exists() and (opts.checkpoint_every or opts.resume):
        try:
            ckpt.unlink()
        except OSError:
            pass
    return TrainResult(
        model,
        metrics,
        out,
        report,
        notes,
        epochs=epochs,
        best_epoch=monitor.best_epoch,
        stopped_early=monitor.stopped_early,
    )



def _write_guarded(path, data):
    """write_atomic with Ctrl-C held off until the file is in place (a second Ctrl-C waits)."""
    import signal

    from deltaprop.files.archive import write_atomic

    pending = []
    try:
        previous = signal.signal(signal.SIGINT, lambda *a: pending.append(1))
    except ValueError:  # not the main thread
        previous = None
    try:
        write_atomic(path, data)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if pending:
        raise KeyboardInterrupt
