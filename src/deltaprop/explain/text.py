"""The derivation for a terminal: Unicode sub- and superscripts, '=' aligned."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from deltaprop.explain.formula import E, Num, Partial, _lines_text, _prose_text, _signed, w
from deltaprop.explain.steps import Step, final_formula, path_label, steps
from deltaprop.explain.words import say

if TYPE_CHECKING:
    from deltaprop.explain.core import Explanation, LayerReport

__all__ = ["render_text", "samples_phrase"]


def describe_network(ex: Explanation, lang: str) -> str:
    """ "4-5-3 (tanh hidden layers, identity output, squared_error)" instead of the Python repr."""
    net = ex.net
    sizes = "-".join(str(n) for n in net.sizes)
    hidden = sorted({net.layer_activation[l] for l in range(2, net.L)})
    if hidden:
        kinds = say(lang, "page.network", hidden="/".join(hidden), output=net.output, loss=net.loss_name)
    else:
        kinds = say(lang, "page.network_plain", output=net.output, loss=net.loss_name)
    return f"{sizes} ({kinds})"


def samples_phrase(lang: str, n: int) -> str:
    """ "1 sample" / "5 samples" in ``lang``."""
    return say(lang, "samples.one") if n == 1 else say(lang, "samples.many", N=n)


def _table_text(table: tuple) -> list[str]:
    head, rows = table
    widths = [max(len(head[0]), 3)] + [max(len(h), 14) for h in head[1:]]
    out = ["  " + "  ".join(f"{h:>{wd}}" for h, wd in zip(head, widths))]
    for row in rows:  # the steps elide long tables already
        cells = [c if isinstance(c, str) else Num(c).text() for c in row]
        out.append("  " + "  ".join(f"{c:>{wd}}" for c, wd in zip(cells, widths)).rstrip())
    return out


def _step_text(number: int, step: Step) -> list[str]:
    out = ["", f"{number}. {_prose_text(step.title)}", textwrap.fill(_prose_text(step.prose), 96)]
    out += _lines_text(step.lines) + _lines_text(step.numbers)
    for table in step.tables:
        out += _table_text(table)
    return out


def _paths_text(ex: Explanation, lang: str) -> list[str]:
    pruned = "" if ex.paths_exhaustive else say(lang, "text.pruned")
    out = ["", say(lang, "text.paths", wt=w(ex.j, ex.i, ex.l), n=ex.n_paths, pruned=pruned)]
    labels = [path_label(ex, p, lang).text() for p in ex.paths]
    width = max(len(x) for x in labels + [say(lang, "l2_term")])
    for label, p in zip(labels, ex.paths):
        out.append(f"  {label:<{width}}  {_signed(p.contribution)}")
    if ex.l2_term:
        out.append(f"  {say(lang, 'l2_term'):<{width}}  {_signed(ex.l2_term)}")
    total = sum(p.contribution for p in ex.paths) + ex.l2_term
    out.append(f"  {say(lang, 'sum'):<{width}}  {_signed(total)}")
    return out


def layer_note(r: LayerReport, lang: str) -> str:
    """ "12% dead, 3% saturated" for a hidden layer, "—" for the output layer."""
    if r.dead is None or r.saturated is None:
        return "—"
    return say(lang, "dead_saturated", dead=f"{100 * r.dead:.0f}", saturated=f"{100 * r.saturated:.0f}")


def _layers_text(ex: Explanation, lang: str) -> list[str]:
    out = ["", say(lang, "text.layers")]
    out.append(
        f"  {say(lang, 'col.layer'):>5}  {say(lang, 'col.units'):>6}  {'f':<10} {'‖∂E/∂W‖':>12} "
        f"{'‖∂E/∂b‖':>12}  {say(lang, 'col.dead_saturated')}"
    )
    for r in ex.layers:
        out.append(
            f"  {r.l:>5}  {r.n_units:>6}  {r.activation:<10} {r.grad_norm:>12.4e} "
            f"{r.bias_grad_norm:>12.4e}  {layer_note(r, lang)}"
        )
    return out


def render_text(ex: Explanation, lang: str = "en") -> str:
    """The whole derivation for a terminal, in ``lang``."""
    samples = samples_phrase(lang, ex.n_samples)
    if ex.alpha:
        samples += ", " + say(lang, "alpha", alpha=f"{ex.alpha:g}")
    dEdw = Partial(E, w(ex.j, ex.i, ex.l))
    out = [say(lang, "text.header", dEdw=dEdw, net=describe_network(ex, lang), samples=samples)]
    out.append("=" * min(96, len(out[0])))
    for number, step in enumerate(steps(ex, lang), start=1):
        out += _step_text(number, step)
    out += _paths_text(ex, lang) + _layers_text(ex, lang)
    out += ["", say(lang, "notation")]
    for line in (final_formula(ex, False), final_formula(ex, True)):
        assert line.lhs is not None
        out.append(f"{line.lhs.text()} = {line.rhs[0].text()}")
    return "\n".join(out) + "\n"
