"""Progress of a training run: scikit-learn's ``Iteration N, loss = …`` lines, or a bar.

One progress display shared by the estimators (``verbose``) and the command.  Every kind is
a context manager with the same two calls, made by the training loop:

- ``epoch(n_iter, loss, *, validation_score=None, validation_loss=None)`` after each epoch
  (or L-BFGS iteration): ``n_iter`` epochs done, ``loss`` the training loss;
- ``note(message)`` for a line about the run (the stopping rule's message).

The kinds:

- :class:`Silent`: shows nothing.
- :class:`IterationLines`: scikit-learn's verbose output, to stdout, line for line
  (``Iteration 3, loss = 0.12345678``, ``Validation score: 0.900000``, and the notes), so
  logs and scripts that read scikit-learn's output read deltaprop's.
- :class:`ProgressBar`: a rich bar (label, bar, epoch m of n, loss, validation, elapsed time),
  on stdout or stderr.

:func:`for_verbose` picks one from an estimator's ``verbose``: False/0 silent; ``"bar"`` the
bar; any other true value the bar when stdout is a terminal, scikit-learn's lines otherwise.

API (stable)
------------
``Silent()``, ``IterationLines(file=None)``,
``ProgressBar(label, total, *, completed=0, stderr=False, loss_format=".6g")``
    Context managers with ``epoch(...)`` and ``note(message)``.
``for_verbose(verbose, label, total) -> Silent | IterationLines | ProgressBar``
``VERBOSE_BAR``
    The ``verbose`` value that asks for the bar wherever the output goes (``"bar"``).
"""

from __future__ import annotations

import sys
from typing import IO, Any

__all__ = ["Silent", "IterationLines", "ProgressBar", "for_verbose", "VERBOSE_BAR"]

#: the ``verbose`` value asking for the bar wherever the output goes
VERBOSE_BAR = "bar"


class Silent:
    """Shows nothing."""

    def __enter__(self) -> Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def epoch(self, n_iter: int, loss: float, *, validation_score: float | None = None,
              validation_loss: float | None = None) -> None:
        """Nothing."""

    def note(self, message: str) -> None:
        """Nothing."""


class IterationLines(Silent):
    """scikit-learn's verbose lines: ``Iteration N, loss = L`` (``%.8f``), then
    ``Validation score: S`` (``%f``) when there is one; notes as they are.

    Parameters
    ----------
    file : text stream, default=None
        Where to print; None is ``sys.stdout`` at the time of printing (as ``print``).
    """

    def __init__(self, file: IO[str] | None = None) -> None:
        self.file = file

    def epoch(self, n_iter: int, loss: float, *, validation_score: float | None = None,
              validation_loss: float | None = None) -> None:
        """Print the epoch's lines, as scikit-learn's MLP does."""
        print(f"Iteration {int(n_iter)}, loss = {float(loss):.8f}", file=self.file)
        if validation_score is not None:
            print(f"Validation score: {float(validation_score):f}", file=self.file)

    def note(self, message: str) -> None:
        """Print ``message``."""
        print(message, file=self.file)


class ProgressBar(Silent):
    """A rich progress bar: label, bar, epoch m of n, loss, validation, elapsed time.

    Parameters
    ----------
    label : str
        Shown first (the estimator's class name, the data file).
    total : int
        Epochs the bar runs to.
    completed : int, default=0
        Epochs already done (a resumed run).
    stderr : bool, default=False
        Draw on stderr (the command keeps stdout for results) instead of stdout.
    loss_format : str, default=".6g"
        Format of the training and validation losses.
    """

    def __init__(self, label: str, total: int, *, completed: int = 0, stderr: bool = False,
                 loss_format: str = ".6g") -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.loss_format = loss_format
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("{task.fields[val]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True) if stderr else None,
            transient=False,
        )
        self.task = self.progress.add_task(label, total=total, completed=completed, loss="-", val="")

    def __enter__(self) -> ProgressBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def epoch(self, n_iter: int, loss: float, *, validation_score: float | None = None,
              validation_loss: float | None = None) -> None:
        """Move the bar to ``n_iter`` and show the losses (and the validation score)."""
        fmt = self.loss_format
        parts = []
        if validation_loss is not None:
            parts.append(f"validation {validation_loss:{fmt}}")
        if validation_score is not None:
            parts.append(f"validation score {validation_score:.4f}")
        self.progress.update(self.task, completed=n_iter, loss=f"{loss:{fmt}}", val="  ".join(parts))

    def note(self, message: str) -> None:
        """Print ``message`` above the bar."""
        self.progress.console.print(message)


def for_verbose(verbose: Any, label: str, total: int) -> Silent:
    """The display an estimator's ``verbose`` asks for.

    False or 0: :class:`Silent`.  ``"bar"``: :class:`ProgressBar`.  Any other true value: the
    bar when stdout is a terminal, else scikit-learn's :class:`IterationLines`.
    """
    if not verbose:
        return Silent()
    if verbose == VERBOSE_BAR or _is_terminal(sys.stdout):
        return ProgressBar(label, total)
    return IterationLines()


def _is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except (ValueError, OSError):  # a closed or detached stream
        return False
