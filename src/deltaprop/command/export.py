"""``deltaprop export MODEL --to onnx [--out FILE]``: a model file as an ONNX graph.

The graph runs in ONNX Runtime (or any ONNX runtime) without deltaprop: for a model of the
command, the preprocessing (standardising, one-hot encoding, the targets' scaling, the class
labels) is part of it, and its inputs are the feature columns, by name.
:func:`deltaprop.bridges.onnx.to_onnx` says what goes in and out.

The file is written atomically (a temporary file, then a rename); on any error nothing is
written and the command prints one line, ``error: …``, with exit status 2.
"""

from __future__ import annotations

import os

import click

from deltaprop.errors import UserError

FORMATS = ("onnx",)


def _default_out(model: str, fmt: str) -> str:
    root, ext = os.path.splitext(model)
    return (root if ext else model) + "." + fmt


def _onnx_bytes(loaded) -> tuple[bytes, str]:
    """(the serialised graph, a one-line summary of its inputs and outputs)."""
    try:
        from deltaprop.bridges.onnx import to_onnx

        proto = to_onnx(loaded)
    except ImportError as e:
        raise UserError(f"{e}; then run the export again") from e
    except ValueError as e:
        raise UserError(str(e)) from e
    inputs = ", ".join(i.name for i in proto.graph.input)
    outputs = ", ".join(o.name for o in proto.graph.output)
    return proto.SerializeToString(), f"inputs: {inputs}; outputs: {outputs}"


@click.command(name="export")
@click.argument("model", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--to", "fmt", type=click.Choice(FORMATS), default="onnx", show_default=True, help="The format to write."
)
@click.option("--out", "-o", type=click.Path(path_type=str), help="Output file [default: MODEL with .onnx].")
def export(model, fmt, out):
    """Write MODEL as an ONNX graph that runs without deltaprop (preprocessing included)."""
    from deltaprop.files.archive import load
    from deltaprop.files.atomic import write_atomic

    out = out or _default_out(model, fmt)
    if os.path.exists(out) and os.path.exists(model) and os.path.samefile(out, model):
        raise UserError(f"--out {out} is the model file itself; give another file name")
    data, summary = _onnx_bytes(load(model))
    write_atomic(out, data)
    click.echo(f"wrote {out} ({summary})")
