"""``deltaprop export MODEL --to onnx [--out FILE]``: a model file as an ONNX graph
(:func:`deltaprop.bridges.onnx.to_onnx`; docs/command.rst)."""

from __future__ import annotations

import os

import click

from deltaprop.errors import UserError

FORMATS = ("onnx",)
#: a list of names longer than this shows its first and last SHOWN names
SHOWN = 3


def _name(value) -> str:
    """A graph input or output by name, with its width where it is more than one: 'X (n × 784)'."""
    dims = [str(d.dim_value) if d.dim_value else "n" for d in value.type.tensor_type.shape.dim]
    return value.name + (f" ({' × '.join(dims)})" if len(dims) > 1 and dims[-1] != "1" else "")


def _names(values) -> str:
    """'2: size, town', or for many the count and the first and last few names:
    '784: pixel0, pixel1, pixel2, …, pixel781, pixel782, pixel783'."""
    names = [_name(v) for v in values]
    shown = names if len(names) <= 2 * SHOWN + 1 else [*names[:SHOWN], "…", *names[-SHOWN:]]
    return f"{len(values)}: " + ", ".join(shown)


def _onnx_bytes(loaded) -> tuple[bytes, str]:
    """(the serialised graph, a summary of its inputs and outputs, a line each)."""
    try:
        from deltaprop.bridges.onnx import to_onnx

        proto = to_onnx(loaded)
    except ImportError as e:
        raise UserError(f"{e}; then run the export again") from e
    except ValueError as e:
        raise UserError(str(e)) from e
    summary = f"  inputs:  {_names(proto.graph.input)}\n  outputs: {_names(proto.graph.output)}"
    return proto.SerializeToString(), summary


@click.command(name="export")
@click.argument("model", type=click.Path(dir_okay=False, path_type=str))
@click.option("--to", "fmt", type=click.Choice(FORMATS), default="onnx", show_default=True,
              help="The format to write.")
@click.option("--out", "-o", type=click.Path(path_type=str), help="Output file [default: MODEL with .onnx].")
def export(model, fmt, out):
    """Write MODEL as an ONNX graph that runs without deltaprop (preprocessing included)."""
    from deltaprop.files.archive import load
    from deltaprop.files.atomic import write_atomic

    out = out or os.path.splitext(model)[0] + "." + fmt
    if os.path.exists(out) and os.path.exists(model) and os.path.samefile(out, model):
        raise UserError(f"--out {out} is the model file itself; give another file name")
    data, summary = _onnx_bytes(load(model))
    write_atomic(out, data)
    click.echo(f"wrote {out} (ONNX, {len(data):,} bytes)\n{summary}")
