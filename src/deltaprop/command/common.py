"""What the subcommands share: checking output paths, writing files safely, plain values."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop.errors import UserError

__all__ = ["check_outputs", "check_writable", "plain", "write_guarded"]

#: what each output is called in a message, by its name in :func:`check_outputs`
OUTPUT_KINDS = {"--out": "model file", "the checkpoint": "checkpoint", "--report": "report",
                "--metrics-json": "metrics file"}


def check_writable(path: str | os.PathLike[str], what: str) -> None:
    """Refuse an output path that cannot be written; ``what`` names it in the message
    ("model file", "report", …).  A trailing slash names a directory, as it does to the shell."""
    if os.fspath(path).endswith(("/", os.sep)):
        from deltaprop.files.atomic import output_target  # the one home of "a trailing slash is a directory"

        output_target(path)
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


def check_outputs(outputs: dict[str, Any], inputs: dict[str, Any],
                  kinds: dict[str, str] = OUTPUT_KINDS) -> None:
    """Before any work: every output named in ``kinds`` can be written, and no output (the path
    as spelled; None for none) is an input or another output, by file identity."""
    from deltaprop.files.atomic import check_distinct

    for name, what in kinds.items():
        if outputs.get(name) is not None:
            check_writable(outputs[name], what)
    check_distinct(outputs, inputs)


def plain(v: Any) -> Any:
    """A numpy scalar as the Python value it holds (labels compare and print as written)."""
    return v.item() if isinstance(v, np.generic) else v


def write_guarded(path: str | os.PathLike[str], data: bytes | Callable[[], bytes]) -> None:
    """write_atomic with Ctrl-C held off until the file is in place; ``data`` may be a function
    that makes the bytes, called inside the hold too."""
    from deltaprop.files.atomic import hold_interrupts, write_atomic

    with hold_interrupts():
        write_atomic(path, data() if callable(data) else data)
