"""``deltaprop train FILES --scheduler ADDRESS``: the command's options turned into
:func:`deltaprop.distributed.tables.train_table`, and the same files written as on one machine
(docs/distributed.md says what the cluster run does and refuses).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from deltaprop.command.common import check_outputs
from deltaprop.command.options import words
from deltaprop.errors import UserError

__all__ = ["train_on_cluster"]


def train_on_cluster(opts: Any, debug: bool = False) -> Any:
    """Run ``deltaprop train`` with ``opts.scheduler`` (an address, or ``local:N``); returns its
    TrainResult.  ``debug`` lets Dask's log lines (workers' tracebacks) through."""
    from deltaprop.command.train import output_paths
    from deltaprop.distributed.tables import local_workers, quiet_logs, table_files
    from deltaprop.files import OutputLock

    if opts.resume or opts.checkpoint_every:
        raise UserError("--resume and --checkpoint-every are not supported with --scheduler; leave them out")
    if opts.validation_data:
        raise UserError("--validation-data is not supported with --scheduler; score the model afterwards")
    if opts.data == "-":
        raise UserError("--scheduler reads files, not standard input; give a path or a glob")
    if opts.scheduler.startswith("local:"):
        local_workers(opts.scheduler)  # before any work
    out, report = output_paths(opts, Path(opts.data.replace("*", "all")))
    lock = OutputLock(out, "--out")
    outputs = {"--out": out, "--report": report, "--metrics-json": opts.metrics_json, "the lock": lock.path}
    check_outputs(outputs, {"DATA": table_files(opts.data)})
    with lock, quiet_logs(debug):
        return _train(opts, out, report, debug)


def _train(opts: Any, out: Path, report: Path | None, debug: bool) -> Any:
    from deltaprop.command import train as single
    from deltaprop.distributed import ClusterError
    from deltaprop.distributed.tables import connect, train_table
    from deltaprop.estimators import mlp as estimators
    from deltaprop.training.stopping import convergence_warning

    targets = list(words(tuple(map(str, opts.targets))))
    if not targets:
        raise UserError("no --target given; name the column to predict")

    def make_estimator(task: str, n_rows: int) -> Any:
        single.check_task(opts, targets, task)  # the rules one machine's run applies (its note: fit_encoders)
        run = single.Run(opts, Path(opts.data), out, report, single.checkpoint_path(out))
        run.task = task
        kind, params = single.estimator_params(run, n_rows)  # the cluster run has no per-epoch watch
        return getattr(estimators, kind)(**params)

    client, close = connect(opts.scheduler, debug)
    try:
        with warnings.catch_warnings():  # the epoch limit is the run's stop reason, told in its own line
            warnings.simplefilter("ignore", convergence_warning())
            done = train_table(opts.data, targets, make_estimator, client=client, drop=opts.drop,
                               categorical=opts.categorical, task=opts.task, impute=opts.impute,
                               dtype=opts.dtype, shared_unit=opts.scale == "auto")
    except ClusterError as e:
        raise UserError(f"{e}; nothing was written") from None
    finally:
        close()
    model = done.model
    metrics = {"train": single.output_metrics(model, done.outputs, done.y_raw)}
    epochs = len(model.history["loss_curve"])
    reason = (f"reached the epoch limit (--epochs {opts.epochs})" if epochs >= opts.epochs
              else f"converged after {epochs} epoch(s)")
    model.history.update(metrics=metrics, epochs=epochs, stop_reason=reason,
                         run={"data": opts.data, "files": [Path(f).name for f in done.files],
                              "rows": done.rows, "scheduler": opts.scheduler,
                              "options": {**opts.model_options(), "task": model.task, "targets": targets}})
    single.write_outputs(model, out, report, done.X_sample, f"deltaprop: {opts.data} → {', '.join(targets)}",
                         opts.metrics_json, {"metrics": metrics, "epochs": epochs, "stop_reason": reason})
    notes = [*done.notes,
             "on a cluster no validation rows are held out: the metrics are the training rows'"]
    return single.TrainResult(model, metrics, out, report, notes, epochs=epochs, stop_reason=reason)
