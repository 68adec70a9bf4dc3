"""The explain page: one self-contained HTML file.

Formulas are MathML, diagrams inline SVG, styles one ``<style>`` element; there is no
JavaScript and nothing is fetched from anywhere (no fonts, images or URLs), so the page opens
offline and in a Jupyter cell.  :func:`render_page` draws one Explanation; :func:`render_pages`
puts several on one page (the demo's two seed derivatives).
"""

from __future__ import annotations

from html import escape

from deltaprop.explain.diagram import CSS as DIAGRAM_CSS
from deltaprop.explain.diagram import step_svg
from deltaprop.explain.formula import E, Num, Partial, lines_mathml, math_block, prose_html, w
from deltaprop.explain.steps import final_formula, path_label, steps

PAGE_CSS = """
body { font-family: Georgia, 'Times New Roman', serif; max-width: 980px; margin: 2em auto; padding: 0 1em;
  color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.3em; border-bottom: 1px solid #ddd; margin-top: 2em; }
h3 { font-size: 1.08em; margin-bottom: .3em; }
section.step { margin: 1.4em 0; padding: .6em 1em; border-left: 3px solid #e5e7eb; }
.step .cols { display: flex; gap: 1.2em; flex-wrap: wrap; align-items: flex-start; }
.step .math { flex: 1 1 380px; overflow-x: auto; }
.step .fig { flex: 0 1 auto; }
math[display="block"] { margin: .5em 0; font-size: 1.05em; }
mtd { text-align: left; padding: .15em 0; } mtd:first-child { text-align: right; padding-right: .3em; }
table { border-collapse: collapse; margin: .6em 0; font-size: .92em; }
th, td { padding: .2em .7em; border-bottom: 1px solid #eee; text-align: right; }
th { background: #f8fafc; } td.l, th.l { text-align: left; }
.ok { color: #15803d; font-weight: bold; } .bad { color: #b91c1c; font-weight: bold; }
.bar { display: inline-block; height: .8em; background: #2563eb; vertical-align: middle; }
.bar.sat { background: #ea580c; }
.key span { display: inline-block; margin-right: 1.2em; font-size: .9em; }
.sw { display: inline-block; width: 1.6em; height: .35em; vertical-align: middle; margin-right: .3em; }
.final { font-size: 1.15em; background: #fffbeb; padding: .4em 1em; border: 1px solid #fde68a; }
"""


def _num(v, digits=6):
    return escape(Num(v, digits).text())


def _table(head, rows, left=(0,)):
    h = "".join(f'<th class="{"l" if n in left else ""}">{escape(c)}</th>' for n, c in enumerate(head))
    body = []
    for row in rows:
        cells = []
        for n, c in enumerate(row):
            text = (
                c
                if isinstance(c, str) and c.startswith("<")
                else escape(c)
                if isinstance(c, str)
                else _num(c)
            )
            cells.append(f'<td class="{"l" if n in left else ""}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{h}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _checks(ex):
    ok = ex.relative_error < 1e-5
    verdict = '<span class="ok">agree</span>' if ok else '<span class="bad">DISAGREE</span>'
    rows = [
        ["element-wise derivation (the seed's formulas)", ex.value],
        ["backpropagation (the matrix recursion)", ex.backprop],
        [f"central difference, h = {ex.h:g}", ex.numerical],
    ]
    return (
        _table(["", "∂E/∂w"], [[a, _num(b, 12)] for a, b in rows])
        + f"<p>Relative error {_num(ex.relative_error, 2)}: the three {verdict}.</p>"
    )


def _paths(ex):
    rows = [[math_block(path_label(ex, p), display=False), p.contribution] for p in ex.paths]
    if ex.l2_term:
        rows.append(["L2 term (α/N) w", ex.l2_term])
    rows.append(["<b>sum</b>", sum(p.contribution for p in ex.paths) + ex.l2_term])
    head = (
        "<p>Every path from the weight to the loss, with its contribution z · Π f′(u) w · δ "
        f"(batch mean); {ex.n_paths} path{'s' if ex.n_paths > 1 else ''} in all"
        + ("" if ex.paths_exhaustive else ", the largest found by following the largest flows")
        + ". They add up to the gradient.</p>"
    )
    return head + _table(["path", "contribution"], rows)


def _layers(ex):
    top = max((r.grad_norm for r in ex.layers), default=1.0) or 1.0
    rows = []
    for r in ex.layers:
        width = max(1, 160 * r.grad_norm / top)
        bar = f'<span class="bar" style="width:{width:.0f}px"></span> {_num(r.grad_norm, 4)}'
        share = r.saturated if r.saturated is not None else r.dead
        if share is None:
            note = "—"
        else:
            kind = "saturated" if r.saturated is not None else "dead"
            note = (
                f'<span class="bar sat" style="width:{max(1, 100 * share):.0f}px"></span> '
                f"{100 * share:.0f}% {kind} "
            )
        rows.append([str(r.l), str(r.n_units), r.activation, bar, _num(r.bias_grad_norm, 4), note])
    return (
        "<p>Per layer, the size of the gradient on these samples and the share of units that pass "
        "almost none of it back: saturated (f′(u) below 1% of its largest value on every sample, "
        "logistic/tanh/softplus) or dead (relu with u ≤ 0 on every sample).</p>"
        + _table(
            ["layer l", "units", "f", "‖∂E/∂W⁽ˡ⁾‖", "‖∂E/∂b⁽ˡ⁾‖", "saturated / dead"], rows, left=(2, 3, 5)
        )
    )


def _body(ex, anchor=""):
    net = ex.net
    parts = [f'<article class="explanation" id="{anchor}">']
    parts.append(
        f"<h2>{math_block(Partial(E, w(ex.j, ex.i, ex.l)), display=False)} in {escape(repr(net))}</h2>"
    )
    parts.append(
        f"<p>Model: {escape(ex.source)}; {ex.n_samples} sample{'s' if ex.n_samples > 1 else ''}"
        + (f"; L2 strength α = {ex.alpha:g}" if ex.alpha else "")
        + ". The derivation follows the "
        "seed's steps, one diagram per step: the red link is the weight, red units and bright links "
        "are the ones the step is about.</p>"
    )
    parts.append(
        '<p class="key"><span><span class="sw" style="background:#2563eb"></span>w &gt; 0</span>'
        '<span><span class="sw" style="background:#ea580c"></span>w &lt; 0</span>'
        "<span>line width ∝ |w|</span></p>"
    )
    parts.append(_checks(ex))
    for number, step in enumerate(steps(ex), start=1):
        title = prose_html(step.title)
        svg = step_svg(ex, step.key, title=f"step {number}")
        table = "".join(_table(head, rows[:24]) for head, rows in step.tables)
        parts.append(
            f'<section class="step" data-step="{step.key}"><h3>{number}. {title}</h3>'
            f"<p>{prose_html(step.prose)}</p>"
            f'<div class="cols"><div class="math">{lines_mathml(step.lines)}'
            f"{lines_mathml(step.numbers)}{table}</div>"
            f'<div class="fig">{svg}</div></div></section>'
        )
    parts.append("<h3>Paths to the loss</h3>" + _paths(ex))
    parts.append("<h3>Where gradients go</h3>" + _layers(ex))
    gen, con = final_formula(ex, False), final_formula(ex, True)
    parts.append('<div class="final"><p>In the seed\'s notation:</p>' + lines_mathml([gen, con]) + "</div>")
    parts.append("</article>")
    return "".join(parts)


def _document(title, body):
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{PAGE_CSS}{DIAGRAM_CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def render_page(ex, fragment=False, lang="en"):
    """The HTML page of one Explanation (``fragment``: without <html>, for Jupyter)."""
    body = _body(ex, anchor=f"w-{ex.l}-{ex.j}-{ex.i}")
    if fragment:
        return f'<div class="deltaprop-explain"><style>{PAGE_CSS}{DIAGRAM_CSS}</style>{body}</div>'
    return _document(f"deltaprop explain: dE/dw_{ex.j},{ex.i}^({ex.l})", body)


def render_pages(explanations, title="deltaprop explain", intro=""):
    """Several Explanations on one page, with a short table of contents."""
    toc = "".join(
        f'<li><a href="#w-{ex.l}-{ex.j}-{ex.i}">{math_block(Partial(E, w(ex.j, ex.i, ex.l)), False)}</a>'
        f" = {_num(ex.value, 8)}</li>"
        for ex in explanations
    )
    body = f"<h1>{escape(title)}</h1>{intro}<ul>{toc}</ul>" + "".join(
        _body(ex, anchor=f"w-{ex.l}-{ex.j}-{ex.i}") for ex in explanations
    )
    return _document(title, body)
