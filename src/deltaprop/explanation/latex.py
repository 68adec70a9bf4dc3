"""The derivation as a standalone LaTeX document: English for pdflatex, Japanese for LuaLaTeX."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deltaprop.explanation.diagram import Highlight, Layout, links, step_layout, unit_name
from deltaprop.explanation.formula import WORDS, Line, Note, Num, Word, tex_text
from deltaprop.explanation.pictures import picture_latex
from deltaprop.explanation.steps import final_formula, steps
from deltaprop.explanation.words import say

if TYPE_CHECKING:
    from deltaprop.explanation.core import Explanation

__all__ = ["render_latex"]

#: what both languages' documents use: Latin Modern (outline fonts), the maths, TikZ, the page
_PACKAGES = r"""\usepackage{lmodern}
\usepackage{amsmath,amssymb}
\usepackage{tikz}
\usepackage[margin=2cm]{geometry}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5em}
"""

PREAMBLE = "\\documentclass[11pt]{article}\n\\usepackage[utf8]{inputenc}\n\\usepackage[T1]{fontenc}\n"
PREAMBLE += _PACKAGES

#: Japanese: LuaLaTeX with luatexja (its ltjsarticle class), Latin Modern for the Latin letters
PREAMBLE_JA = "\\documentclass[11pt]{ltjsarticle}\n" + _PACKAGES


def _prose_latex(prose: list) -> str:
    return "".join(tex_text(p) if isinstance(p, str) else f"${p.latex()}$" for p in prose)


def _lines_latex(lines: list[Line]) -> list[str]:
    """align* rows; a note ("(sample n = 1)") gets a row of its own, as on the page."""
    rows = []
    for line in lines:
        lhs = line.lhs.latex() if line.lhs is not None else ""
        parts = ["&" + r.latex().replace(r"\quad", "", 1) if isinstance(r, Note) else "&= " + r.latex()
                 for r in line.rhs if r.text()]
        rows += [f"{lhs} " + r" \\ ".join(parts)] if parts else []
    return rows


def _align(lines: list[Line]) -> list[str]:
    """Lines as align* blocks; a line named by a sentence is that paragraph, then its values."""
    out: list[str] = []
    run: list[Line] = []
    for line in [*lines, None]:
        if line is not None and not (isinstance(line.lhs, Word) and len(line.lhs.text()) > WORDS):
            run.append(line)
            continue
        rows = _lines_latex(run)
        if rows:
            out += [r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"]
        run = []
        if line is not None:
            assert line.lhs is not None
            out.append(tex_text(line.lhs.text()))
            run = [Line(None, line.rhs)]
    return out


#: centimetres per pixel of the SVG layout, and the type of the cards' lines (7 pt on 8.6 pt)
CM = 0.021
CARD_FONT = r"\fontsize{7}{8.6}\selectfont"


def _at(x: float, y: float) -> str:
    """A point of the SVG layout in TikZ's centimetres (y upwards)."""
    return f"({x * CM:.2f},{-y * CM:.2f})"


def _tikz_links(ex: Explanation, layout: Layout, hl: Highlight) -> list[str]:
    out = []
    for key, wv, size, start, end in links(ex.net, layout):
        colour = "red" if key in hl.focus else "blue" if wv >= 0 else "orange"
        width = 0.2 + 1.6 * size + (1.2 if key in hl.focus else 0)
        opacity = 1.0 if key in hl.links or key in hl.focus else 0.18
        style = f"{colour}, line width={width:.2f}pt, opacity={opacity}"
        out.append(rf"\draw[{style}] {_at(*start)} -- {_at(*end)};")
    return out


def _tikz_units(ex: Explanation, layout: Layout, hl: Highlight) -> list[str]:
    """Each unit a card with its name and numbers, as the SVG draws it."""
    out = []
    for (layer, unit), (x, y) in layout.pos.items():
        fill = "red!15" if (layer, unit) in hl.units else "gray!10" if unit == 0 else "white"
        lines = [unit_name(ex.net, layer, unit), *layout.lines.get((layer, unit), [])]
        width, height = 2 * layout.half[layer] * CM, layout.box[(layer, unit)] * CM
        text = r"\\".join(tex_text(t) for t in lines)
        out.append(
            rf"\node[draw, rounded corners=3pt, fill={fill}, align=center, inner sep=1pt, "
            rf"minimum width={width:.2f}cm, minimum height={height:.2f}cm, font={CARD_FONT}] "
            f"at {_at(x, y)} {{{text}}};"
        )
    out += [rf"\node[font=\scriptsize] at {_at(x, y)} {{$\vdots$ {count}}};" for x, y, count in layout.gaps]
    lx, ly = layout.loss_pos
    fill = "red!15" if hl.loss else "white"
    out.append(rf"\node[circle, draw, fill={fill}, minimum size=0.65cm] at {_at(lx, ly)} {{$E$}};")
    ends = [layout.right(ex.L, k) for k in layout.units(ex.L)]
    out += [rf"\draw[gray, dashed] {_at(*end)} -- {_at(lx - 18, ly)};" for end in ends]
    return out


def network_tikz(ex: Explanation, key: str) -> str:
    """The diagram of one step as a ``tikzpicture`` (the layout, highlight and numbers of the SVG)."""
    layout, hl = step_layout(ex, key)
    body = _tikz_links(ex, layout, hl) + _tikz_units(ex, layout, hl)
    return "\\begin{center}\\begin{tikzpicture}\n" + "\n".join(body) + "\n\\end{tikzpicture}\\end{center}"


def _tabular(head: list[str], rows: list[list]) -> str:
    def cell(c: Any) -> str:
        return tex_text(c) if isinstance(c, str) else f"${Num(c).latex()}$"

    lines = [r"\begin{center}\small\begin{tabular}{" + "r" * len(head) + "}"]
    lines += [" & ".join(map(cell, head)) + r" \\ \hline"]
    lines += [" & ".join(map(cell, row)) + r" \\" for row in rows]
    return "\n".join(lines + [r"\end{tabular}\end{center}"])


def render_latex(ex: Explanation, lang: str = "en") -> str:
    """The derivation as a LaTeX document in ``lang``: a paragraph and an ``align*`` per step.
    English compiles with pdflatex; Japanese with LuaLaTeX (luatexja)."""
    from deltaprop.explanation.text import heading

    out = [
        PREAMBLE_JA if lang == "ja" else PREAMBLE,
        r"\begin{document}\raggedright",  # a name like squared_error cannot be hyphenated
        rf"\section*{{{tex_text(heading(ex, lang))}}}",
    ]
    for number, step in enumerate(steps(ex, lang), start=1):
        out.append(rf"\subsection*{{{number}. {_prose_latex(step.title)}}}")
        out.append(_prose_latex(step.prose))
        out += _align(step.lines + step.numbers)
        out += [_tabular(head, rows) for head, rows in step.tables]
        for picture in step.pictures:
            if picture.caption:
                out.append(tex_text(picture.caption))
            out.append(picture_latex(picture))
        out.append(network_tikz(ex, step.key))
    out.append(rf"\subsection*{{{tex_text(say(lang, 'notation'))}}}")
    out += _align([final_formula(ex, False), final_formula(ex, True)])
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"
