"""Progress of a training run, for the estimators (``verbose``) and the command: a context
manager the loop calls with ``epoch(n_iter, loss, ...)`` after each epoch and ``note(message)``."""

from __future__ import annotations

import sys
import time
from datetime import timedelta
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
        pass

    def note(self, message: str) -> None:
        pass


class IterationLines(Silent):
    """scikit-learn's verbose lines, line for line (what reads its logs reads deltaprop's);
    ``file`` None prints to ``sys.stdout`` at the time of printing."""

    def __init__(self, file: IO[str] | None = None) -> None:
        self.file = file

    def epoch(self, n_iter: int, loss: float, *, validation_score: float | None = None,
              validation_loss: float | None = None) -> None:
        print(f"Iteration {int(n_iter)}, loss = {float(loss):.8f}", file=self.file)
        if validation_score is not None:
            print(f"Validation score: {float(validation_score):f}", file=self.file)

    def note(self, message: str) -> None:
        print(message, file=self.file)


class ProgressBar(Silent):
    """A rich progress bar on a terminal (``completed`` epochs done before: a resumed run);
    elsewhere one plain line per epoch, so that a log shows how far a long run got.  On a terminal
    the bar narrows, then whole fields go in :data:`DROP_ORDER`: the epoch and loss always show."""

    #: the fields of the line, in the order they are dropped when the terminal is too narrow
    DROP_ORDER = ("bar", "label", "time", "score", "validation")
    #: the bar's widest and narrowest (narrower, it is dropped)
    BAR_WIDTH = (40, 10)

    def __init__(self, label: str, total: int, *, completed: int = 0, stderr: bool = False,
                 loss_format: str = ".6g") -> None:
        from rich.console import Console

        self.label, self.total, self.loss_format = label, total, loss_format
        self.fields: dict[str, str] = {"loss": "loss -"}
        self.console = Console(stderr=True) if stderr else Console()
        self.progress: Any = None
        self.started = time.monotonic()
        self.task: Any = None
        if self.console.is_terminal or self.console.is_jupyter:  # a live bar; else a line per epoch
            from rich.progress import Progress, ProgressColumn

            class Line(ProgressColumn):
                def render(column, task: Any) -> Any:  # noqa: N805 (self is the bar)
                    return self.line(task.completed, task.elapsed or 0.0, self.console.width)

            self.progress = Progress(Line(), console=self.console, transient=False)
            self.task = self.progress.add_task(label, total=total, completed=completed)

    def __enter__(self) -> ProgressBar:
        self.started = time.monotonic()
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is None:  # off a terminal every epoch has printed its own line
            return
        if exc[0] is not None:
            self.clear()
        if self.progress.live.transient:
            self.progress.live.stop()  # Progress.stop would end a non-terminal's output with a blank line
        else:
            self.progress.stop()

    def clear(self) -> None:  # leave no bar behind (a run ending with an error: that line is the output)
        if self.progress is not None:
            self.progress.live.transient = True

    def epoch(self, n_iter: int, loss: float, *, validation_score: float | None = None,
              validation_loss: float | None = None) -> None:
        fmt = self.loss_format
        self.fields = {"loss": f"loss {loss:{fmt}}"}
        if validation_loss is not None:
            self.fields["validation"] = f"validation {validation_loss:{fmt}}"
        if validation_score is not None:
            self.fields["score"] = f"validation score {validation_score:.4f}"
        if self.progress is not None:
            self.progress.update(self.task, completed=n_iter)
        else:
            words = [self.label, f"{int(n_iter)}/{self.total}", *self.fields.values()]
            print(" ".join([*words, _clock(time.monotonic() - self.started)]), file=self.console.file,
                  flush=True)

    def line(self, completed: float, elapsed: float, width: int) -> Any:
        from rich.cells import cell_len
        from rich.text import Text

        fields = {"label": self.label, "epoch": f"{int(completed)}/{self.total}", **self.fields}
        fields["time"] = _clock(elapsed)

        def used() -> int:
            return sum(cell_len(t) for t in fields.values()) + len(fields) - 1

        bar = min(self.BAR_WIDTH[0], width - used() - 1)
        if bar < self.BAR_WIDTH[1]:
            bar = 0
            for name in self.DROP_ORDER[1:]:
                if used() <= width:
                    break
                fields.pop(name, None)
        line = Text()
        for name in ("label", "epoch", "loss", "validation", "score", "time"):
            if name in fields:
                line.append(fields[name] + " ", style="bold" if name == "label" else "")
            if name == "label" and bar:
                done = round(bar * min(completed / max(self.total, 1), 1.0))
                line.append("━" * done, style="bar.finished" if done == bar else "bar.complete")
                line.append("━" * (bar - done) + " ", style="bar.back")
        line.rstrip()
        return line

    def note(self, message: str) -> None:
        if self.progress is not None:
            self.progress.console.print(message)
        else:
            print(message, file=self.console.file, flush=True)


def _clock(seconds: float) -> str:  # h:mm:ss, as rich's elapsed-time column
    return str(timedelta(seconds=int(seconds)))


def for_verbose(verbose: Any, label: str, total: int) -> Silent:
    """The display ``verbose`` asks for: none, the bar (``"bar"``, or a terminal), else
    scikit-learn's lines."""
    if not verbose:
        return Silent()
    try:
        terminal = bool(sys.stdout.isatty())
    except (AttributeError, ValueError, OSError):  # no stream, or a closed or detached one
        terminal = False
    return ProgressBar(label, total) if verbose == VERBOSE_BAR or terminal else IterationLines()
