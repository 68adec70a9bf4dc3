"""The derivation for a terminal: Unicode sub- and superscripts, '=' aligned."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from deltaprop.explanation.formula import E, Num, Partial, _lines_text, _prose_text, _signed, w
from deltaprop.explanation.pictures import Block, Picture
from deltaprop.explanation.steps import Step, final_formula, forward_tables, path_rows, steps
from deltaprop.explanation.words import say, term

if TYPE_CHECKING:
    from deltaprop.explanation.core import Explanation, LayerReport

__all__ = ["render_text", "samples_phrase"]


def describe_network(ex: Explanation, lang: str) -> str:
    """ "4-5-3 (tanh hidden layers, identity output, squared_error)" instead of the Python repr."""
    net = ex.net
    sizes = "-".join(str(n) for n in net.sizes)
    hidden = sorted({term(lang, net.layer_activation[l]) for l in range(2, net.L)})
    output, loss = term(lang, net.output), term(lang, net.loss_name)
    if hidden:
        kinds = say(lang, "page.network", hidden="/".join(hidden), output=output, loss=loss)
    else:
        kinds = say(lang, "page.network_plain", output=output, loss=loss)
    return f"{sizes} ({kinds})"


def samples_phrase(lang: str, n: int) -> str:
    """ "1 sample" / "5 samples" in ``lang``."""
    return say(lang, "samples.one") if n == 1 else say(lang, "samples.many", N=n)


def table_text(table: tuple) -> list[str]:
    head, rows = table
    widths = [max(len(head[0]), 3)] + [max(len(h), 14) for h in head[1:]]
    out = ["  " + "  ".join(f"{h:>{wd}}" for h, wd in zip(head, widths))]
    for row in rows:  # the steps elide long tables already
        cells = [c if isinstance(c, str) else Num(c).text() for c in row]
        out.append("  " + "  ".join(f"{c:>{wd}}" for c, wd in zip(cells, widths)).rstrip())
    return out


def _block_text(block: Block) -> list[str]:
    """A picture's block as aligned text; the lit cell in [brackets]."""
    heads = [h.replace("\n", " = ") for h in block.col_heads]
    cells = [[f"[{c.text}]" if c.lit else c.text for c in row] for row in block.cells]
    footer = [f"[{c.text}]" if c.lit else c.text for c in block.footer]
    lines = cells + ([heads] if heads else []) + ([footer] if footer else [])
    widths = [max(len(r[c]) for r in lines if c < len(r)) for c in range(len(cells[0]))]
    left = max((len(h) for h in block.row_heads), default=-2) + 2

    def row(first: str, values: list[str]) -> str:
        return "    " + f"{first:>{left}}" + "  ".join(f"{v:>{w}}" for v, w in zip(values, widths))

    out = [f"  {block.name}:"] + ([row("", heads)] if heads else [])
    out += [
        row(block.row_heads[r] + "  " if block.row_heads else "", r_cells) for r, r_cells in enumerate(cells)
    ]
    return out + ([row("", footer)] if footer else [])


def _picture_text(picture: Picture) -> list[str]:
    out = []
    for part in picture.parts:
        if isinstance(part, Block):
            out += _block_text(part)
    if picture.caption:
        out.append(textwrap.fill(picture.caption, 96, initial_indent="  ", subsequent_indent="  "))
    return out


def _step_text(number: int, step: Step) -> list[str]:
    out = ["", f"{number}. {_prose_text(step.title)}", textwrap.fill(_prose_text(step.prose), 96)]
    out += _lines_text(step.lines) + _lines_text(step.numbers)
    out += [row for table in step.tables for row in table_text(table)]
    return out + [row for picture in step.pictures for row in _picture_text(picture)]


def _paths_text(ex: Explanation, lang: str) -> list[str]:
    pruned = "" if ex.paths_exhaustive else say(lang, "paths.pruned")
    out = ["", say(lang, "text.paths", wt=w(ex.j, ex.i, ex.l), n=ex.n_paths, pruned=pruned)]
    rows = [(label if isinstance(label, str) else label.text(), v) for label, v in path_rows(ex, lang)]
    width = max(len(label) for label, _ in rows)
    return out + [f"  {label:<{width}}  {_signed(v)}" for label, v in rows]


def layer_note(r: LayerReport, lang: str) -> str:
    """ "12% dead, 3% saturated" for a hidden layer, "—" for the output layer."""
    if r.dead is None or r.saturated is None:
        return "—"
    return say(lang, "dead_saturated", dead=f"{100 * r.dead:.0f}", saturated=f"{100 * r.saturated:.0f}")


def _layers_text(ex: Explanation, lang: str) -> list[str]:
    out = ["", say(lang, "text.layers")]
    out.append(
        f"  {say(lang, 'col.layer_l'):>5}  {say(lang, 'col.units'):>6}  {'f':<10} {'‖∂E/∂W‖':>12} "
        f"{'‖∂E/∂b‖':>12}  {say(lang, 'col.dead_saturated')}"
    )
    for r in ex.layers:
        out.append(
            f"  {r.l:>5}  {r.n_units:>6}  {term(lang, r.activation):<10} {r.grad_norm:>12.4e} "
            f"{r.bias_grad_norm:>12.4e}  {layer_note(r, lang)}"
        )
    return out


def heading(ex: Explanation, lang: str) -> str:
    """ "∂E/∂w₂₁⁽³⁾ of a 4-5-3 (…) network on 5 samples, α = …" for the text and the LaTeX."""
    samples = samples_phrase(lang, ex.n_samples)
    if ex.alpha:
        samples += say(lang, "page.alpha", alpha=f"{ex.alpha:g}")
    dEdw = Partial(E, w(ex.j, ex.i, ex.l))
    return say(lang, "text.header", dEdw=dEdw, net=describe_network(ex, lang), samples=samples)


def render_text(ex: Explanation, lang: str = "en") -> str:
    """The whole derivation for a terminal, in ``lang``."""
    out = [heading(ex, lang)]
    out.append("=" * min(96, len(out[0])))
    for number, step in enumerate(steps(ex, lang), start=1):
        out += _step_text(number, step)
    out += ["", say(lang, "forward.title", sample=ex.sample_name(lang))]
    for title, head, rows in forward_tables(ex, lang):
        out += [title] + table_text((head, rows))
    out += _paths_text(ex, lang) + _layers_text(ex, lang)
    out += ["", say(lang, "notation")]
    for line in (final_formula(ex, False), final_formula(ex, True)):
        assert line.lhs is not None
        out.append(f"{line.lhs.text()} = {line.rhs[0].text()}")
    return "\n".join(out) + "\n"
