"""The explain page: one self-contained HTML file (MathML, inline SVG, one ``<style>``; no
JavaScript, nothing fetched).  Each step is a ``<details open>``; the page reads at 1280 px and at
a phone's 420 px, where long formulas continue on further rows and the pictures scale."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from deltaprop.core.units import FLAT, SATURATED_SHARE
from deltaprop.explanation.diagram import CSS as DIAGRAM_CSS
from deltaprop.explanation.diagram import NEGATIVE, POSITIVE, linked_svg, step_svg
from deltaprop.explanation.formula import (
    E,
    Line,
    Num,
    Partial,
    Step,
    Word,
    lines_mathml,
    math_block,
    prose_html,
    w,
)
from deltaprop.explanation.pictures import CSS as PICTURE_CSS
from deltaprop.explanation.pictures import Picture, picture_svg
from deltaprop.explanation.steps import final_formula, forward_tables, path_rows, steps
from deltaprop.explanation.text import describe_network, layer_note, samples_phrase, table_text
from deltaprop.explanation.words import check_lang, prose, say, term

if TYPE_CHECKING:
    from deltaprop.explanation.core import Explanation, Explanations

__all__ = ["render_page", "render_pages", "render_all"]

PAGE_CSS = """
body { font-family: Georgia, 'Times New Roman', 'Noto Serif CJK JP', serif; max-width: 1000px;
  margin: 2em auto; padding: 0 1em; color: #1a1a1a; line-height: 1.5; overflow-wrap: break-word; }
h1 { font-size: 1.6em; } h2 { font-size: 1.3em; border-bottom: 1px solid #ddd; margin-top: 2em; }
h3 { font-size: 1.08em; margin: 0; display: inline; }
section.step { margin: 1.2em 0; padding: .4em .8em; border-left: 3px solid #e5e7eb; }
section.step summary { cursor: pointer; padding: .3em 0; }
.step .cols { display: flex; gap: 1.2em; flex-wrap: wrap; align-items: flex-start; }
.step .math { flex: 1 1 420px; min-width: 0; }
.step .fig { flex: 0 1 auto; min-width: 0; max-width: 100%; }
math[display="block"] { margin: .5em 0; font-size: 1.08em; }
mtd { math-style: normal; padding: .2em 0; }
mtd[columnalign=left] { text-align: left; }
/* Chromium centres <mtd> content, ignores columnalign, and takes text-align 'right' as left */
mtd[columnalign=right] { text-align: right; text-align: -webkit-right; }
mtext.note { font-size: .85em; color: #4b5563; }
figure.picture { margin: .8em 0; min-width: 0; }
figure.picture figcaption { font-size: .92em; color: #374151; }
.pics { display: flex; flex-wrap: wrap; gap: 0 1.5em; align-items: flex-start; }
.pics figure { flex: 1 1 320px; }
table { border-collapse: collapse; margin: .6em 0; font-size: .9em; max-width: 100%; }
th, td { padding: .2em .6em; border-bottom: 1px solid #eee; text-align: right; }
th { background: #f8fafc; font-weight: 600; } td.l, th.l { text-align: left; }
tr.walked td, tr.largest td { background: #fef3c7; }
details.weight { margin: .3em 0; } details.weight > summary { cursor: pointer; }
tr.total td { font-weight: bold; border-top: 1px solid #999; }
.ok { color: #15803d; font-weight: bold; } .bad { color: #b91c1c; font-weight: bold; }
.bar { display: inline-block; height: .8em; background: #2563eb; vertical-align: middle; }
.key span { display: inline-block; margin-right: 1.2em; font-size: .9em; }
.sw { display: inline-block; width: 1.6em; height: .35em; vertical-align: middle; margin-right: .3em; }
.final { font-size: 1.1em; background: #fffbeb; padding: .4em 1em; border: 1px solid #fde68a; }
.note8349 { background: #eff6ff; border: 1px solid #bfdbfe; padding: .5em 1em; }
details.numbers h4 { margin: .8em 0 .2em; font-size: 1em; }
svg.grid.narrow { display: none; }
@media (max-width: 600px) {
  svg.grid.wide { display: none; } svg.grid.narrow { display: block; }
  body { padding: 0 .5em; margin: 1em auto; }
  section.step { padding: .3em .4em; }
  math[display="block"] { font-size: 1em; }
  table { font-size: .78em; } th, td { padding: .15em .3em; }
}
@media print {
  body { max-width: none; margin: 0; font-size: 10.5pt; }
  section.step, figure.picture, table, .final { break-inside: avoid; }
  h2, h3, summary { break-after: avoid; }
  summary { list-style: none; } summary::-webkit-details-marker { display: none; }
}
"""


#: the page's styles: its own, the diagrams' and the pictures'
CSS = PAGE_CSS + DIAGRAM_CSS + PICTURE_CSS


def _num(v: Any, digits: int = 6) -> str:
    return escape(Num(v, digits).text())


def _cell(c: Any) -> str:
    if isinstance(c, str):
        return c if c.startswith("<") else escape(c)
    return _num(c)


def _table(head: list[str], rows: list[list], left: tuple = (0,), classes: list[str] | None = None) -> str:
    h = "".join(f'<th class="{"l" if n in left else ""}">{escape(c)}</th>' for n, c in enumerate(head))
    body = []
    for r, row in enumerate(rows):
        cells = "".join(f'<td class="{"l" if n in left else ""}">{_cell(c)}</td>' for n, c in enumerate(row))
        cls = f' class="{classes[r]}"' if classes and classes[r] else ""
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{h}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _row_classes(rows: list[list]) -> list[str]:
    """'walked' for the walked sample's row (▶), 'total' for the gradient's row of a batch table."""
    firsts = [str(r[0]) for r in rows]
    return ["walked" if f.startswith("▶") else "total" if f.startswith("=") else "" for f in firsts]


def _checks(ex: Explanation, lang: str) -> str:
    ok = ex.relative_error < 1e-5
    rows = [[say(lang, f"checks.{key}", h=f"{ex.h:g}"), _num(v, 12)]
            for key, v in (("elementwise", ex.value), ("backprop", ex.backprop), ("numerical", ex.numerical))]
    verdict = escape(say(lang, "checks.agree" if ok else "checks.disagree"))
    span = f'<span class="{"ok" if ok else "bad"}">{verdict}</span>'
    text = escape(say(lang, "checks.verdict", error=Num(ex.relative_error, 2).text(), verdict="\0"))
    return _table(["", "∂E/∂w"], rows) + "<p>" + text.replace("\0", span) + "</p>"


def _paths(ex: Explanation, lang: str) -> str:
    rows = [[x if isinstance(x, str) else math_block(x, False), v] for x, v in path_rows(ex, lang)]
    rows[-1][0] = f"<b>{escape(str(rows[-1][0]))}</b>"
    pruned = "" if ex.paths_exhaustive else say(lang, "paths.pruned")
    head = "<p>" + escape(say(lang, "paths.prose", n=ex.n_paths, pruned=pruned)) + "</p>"
    return head + _table([say(lang, "col.path"), say(lang, "col.contribution")], rows)


def _layers(ex: Explanation, lang: str) -> str:
    top = max((r.grad_norm for r in ex.layers), default=1.0) or 1.0
    rows = []
    for r in ex.layers:
        width = max(1, 120 * r.grad_norm / top)
        bar = f'<span class="bar" style="width:{width:.0f}px"></span> {_num(r.grad_norm, 4)}'
        rows.append([str(r.l), str(r.n_units), term(lang, r.activation), bar, _num(r.bias_grad_norm, 4),
                     layer_note(r, lang)])
    head = [say(lang, "col.layer_l"), say(lang, "col.units"), "f", "‖∂E/∂W⁽ˡ⁾‖", "‖∂E/∂b⁽ˡ⁾‖",
            say(lang, "col.dead_saturated")]
    # the definition's thresholds come from core.units, where dead and saturated are defined
    note = say(lang, "layers.prose", flat=f"{FLAT:.0%}", share=f"{SATURATED_SHARE:.0%}")
    return "<p>" + escape(note) + "</p>" + _table(head, rows, left=(2, 3, 5))


def _numbers(ex: Explanation, lang: str) -> str:
    title = escape(say(lang, "forward.title", sample=ex.sample_name(lang)))
    tables = "".join(f"<h4>{escape(t)}</h4>" + _table(h, rows) for t, h, rows in forward_tables(ex, lang))
    return f'<details class="numbers" open><summary><h3>{title}</h3></summary>{tables}</details>'


def _picture(p: Picture, title: str) -> str:
    """The picture, and its narrow version that replaces it below 600 px (CSS only, no script)."""
    caption = f"<figcaption>{escape(p.caption)}</figcaption>" if p.caption else ""
    svgs = picture_svg(p, title)
    if p.narrow is not None:
        svgs = svgs.replace('class="grid"', 'class="grid wide"', 1)
        svgs += picture_svg(p.narrow, title).replace('class="grid"', 'class="grid narrow"', 1)
    return f'<figure class="picture">{caption}{svgs}</figure>'


def _numbers_html(lines: list[Line]) -> str:
    """Number lines: those named in words as a two-column table (words wrap; MathML does not)."""
    out = lines_mathml([x for x in lines if not isinstance(x.lhs, Word)])
    rows = [
        f'<tr><td class="l">{escape(x.lhs.words)}</td><td>'
        + " ".join(math_block(r, display=False) for r in x.rhs if r.text()) + "</td></tr>"
        for x in lines if isinstance(x.lhs, Word)
    ]
    return out + (f'<table class="named"><tbody>{"".join(rows)}</tbody></table>' if rows else "")


def _step(ex: Explanation, number: int, step: Step, lang: str, diagram: bool = True) -> str:
    title = prose_html(step.title)
    svg = step_svg(ex, step.key, title=f"step {number}", lang=lang) if diagram else ""
    tables = "".join(_table(head, rows, classes=_row_classes(rows)) for head, rows in step.tables)
    pictures = "".join(_picture(p, f"step {number}, picture {n + 1}") for n, p in enumerate(step.pictures))
    pictures = f'<div class="pics">{pictures}</div>' if pictures else ""
    return (
        f'<section class="step" data-step="{step.key}"><details open><summary><h3>{number}. {title}</h3>'
        f"</summary><p>{prose_html(step.prose)}</p>"
        f'<div class="cols"><div class="math">{lines_mathml(step.lines)}{_numbers_html(step.numbers)}'
        f'{tables}</div><div class="fig">{svg}</div></div>{pictures}</details></section>'
    )


def _intro(ex: Explanation, lang: str, walk: bool = True) -> str:
    """The model and samples (``walk``: and how the steps walk them), notes, the links' key."""
    alpha = say(lang, "page.alpha", alpha=f"{ex.alpha:g}") if ex.alpha else ""
    values = {"source": ex.source, "samples": samples_phrase(lang, ex.n_samples), "alpha": alpha,
              "sample": ex.sample_name(lang)}
    out = f"<p>{escape(say(lang, 'page.model' if walk else 'page.model_only', **values))}</p>"
    if ex.raw is not None:
        out += f"<p>{escape(say(lang, 'page.raw'))}</p>"
    if ex.outputs_summed:
        out += f'<p class="note8349">{escape(say(lang, "convention", k=ex.net.sizes[-1]))}</p>'
    swatch = '<span><span class="sw" style="background:{}"></span>{}</span>'
    return out + (
        f'<p class="key">{swatch.format(POSITIVE, escape(say(lang, "key.positive")))}'
        f'{swatch.format(NEGATIVE, escape(say(lang, "key.negative")))}'
        f"<span>{escape(say(lang, 'key.width'))}</span></p>"
    )


def _body(ex: Explanation, lang: str = "en", diagrams: bool = True) -> str:
    dEdw = Partial(E, w(ex.j, ex.i, ex.l))
    heading = prose(lang, "page.heading", dEdw=dEdw, net=describe_network(ex, lang))
    parts = [f'<article class="explanation" id="{_anchor(ex)}"><h2>{prose_html(heading)}</h2>']
    parts.append(_intro(ex, lang) + _checks(ex, lang))
    parts += [_step(ex, n, step, lang, diagrams) for n, step in enumerate(steps(ex, lang), start=1)]
    parts.append(_numbers(ex, lang))
    parts.append(f"<h3>{escape(say(lang, 'paths.title'))}</h3>" + _paths(ex, lang))
    parts.append(f"<h3>{escape(say(lang, 'layers.title'))}</h3>" + _layers(ex, lang))
    gen, con = final_formula(ex, False), final_formula(ex, True)
    parts.append(f'<div class="final"><p>{escape(say(lang, "notation"))}</p>{lines_mathml([gen, con])}</div>')
    return "".join(parts) + "</article>"


def _document(title: str, body: str, lang: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>{body}</body></html>\n"
    )


def render_page(ex: Explanation, fragment: bool = False, lang: str | None = None) -> str:
    """The HTML page of one Explanation (``fragment``: without <html>, for Jupyter)."""
    lang = check_lang(lang or ex.lang)
    body = _body(ex, lang)
    if fragment:
        return f'<div class="deltaprop-explain"><style>{CSS}</style>{body}</div>'
    dEdw = Partial(E, w(ex.j, ex.i, ex.l)).text()
    return _document(say(lang, "page.title", dEdw=dEdw, net=describe_network(ex, lang)), body, lang)


def render_pages(explanations: list[Explanation], title: str = "deltaprop explain", intro: str = "",
                 lang: str = "en") -> str:
    """Several Explanations on one page, with a short table of contents."""
    check_lang(lang)
    toc = "".join(
        f'<li><a href="#{_anchor(ex)}">{math_block(Partial(E, w(ex.j, ex.i, ex.l)), False)}</a>'
        f" = {_num(ex.value, 8)}</li>"
        for ex in explanations
    )
    body = f"<h1>{escape(title)}</h1>{intro}<ul>{toc}</ul>" + "".join(_body(ex, lang) for ex in explanations)
    return _document(title, body, lang)


def _anchor(ex: Explanation) -> str:
    return f"w-{ex.l}-{ex.j}-{ex.i}"


def render_all(exs: Explanations, lang: str = "en", html: bool = True) -> str:
    """Every weight: the table of every gradient with the largest marked, for a terminal, or
    (``html``) one page with the network once (each link an anchor), that table, and each
    weight's derivation folded in a <details>."""
    check_lang(lang)
    first, top = exs.items[0], exs.largest
    title = say(lang, "all.title", net=describe_network(first, lang), n=len(exs))
    name = {ex.weight: w(ex.j, ex.i, ex.l).text() for ex in exs}
    rows, classes = [], []
    for ex in exs:
        mark = "◀ " + say(lang, "all.largest") if ex is top else ""
        link = f'<a href="#{_anchor(ex)}">{escape(name[ex.weight])}</a> {escape(mark)}'
        error = Num(ex.relative_error, 2).text()
        cells = [link if html else name[ex.weight], ex.derivation.weight, ex.value, error]
        rows.append(cells if html else [*cells, mark])
        classes.append("largest" if ex is top else "")
    head = [say(lang, "all.weight"), "w", "∂E/∂w", say(lang, "check.relative_error")]
    if not html:
        return "\n".join([title, "=" * min(96, len(title)), *table_text((head + [""], rows))]) + "\n"
    tips = {ex.weight: f"{name[ex.weight]}: ∂E/∂w = {Num(ex.value, 6).text()}" for ex in exs}
    note = f"{say(lang, 'all.largest')}: {tips[top.weight]}"
    folded = "".join(
        f'<details class="weight"><summary>{math_block(Partial(E, w(ex.j, ex.i, ex.l)), False)} = '
        f"{_num(ex.value, 8)}</summary>{_body(ex, lang, diagrams=False)}</details>"
        for ex in exs
    )
    body = (
        f"<h1>{escape(title)}</h1>"
        f"<p>{escape(say(lang, 'all.prose', n=len(exs), sample=first.sample_name(lang)))}</p>"
        + _intro(first, lang, walk=False)
        + f'<div class="fig all">{linked_svg(first, tips, top.weight, note, lang)}</div>'
        + _table(head, rows, classes=classes)
        + folded
    )
    return _document(title, body, lang)
