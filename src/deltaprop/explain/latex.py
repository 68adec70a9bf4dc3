"""The derivation as a standalone LaTeX document that pdflatex compiles as it is."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deltaprop.explain.formula import Line, Note, tex_text
from deltaprop.explain.steps import final_formula, steps

if TYPE_CHECKING:
    from deltaprop.explain.core import Explanation

__all__ = ["render_latex"]

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[utf8]{inputenc}
\usepackage[T1]{fontenc}
\usepackage{amsmath,amssymb}
\usepackage{tikz}
\usepackage[margin=2cm]{geometry}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5em}
"""


def _prose_latex(prose: list) -> str:
    return "".join(tex_text(p) if isinstance(p, str) else f"${p.latex()}$" for p in prose)


def _lines_latex(lines: list[Line]) -> list[str]:
    rows = []
    for line in lines:
        lhs = line.lhs.latex() if line.lhs is not None else ""
        parts: list[str] = []
        for r in line.rhs:
            if not r.text():
                continue
            if isinstance(r, Note) and parts:
                parts[-1] += r.latex()
            else:
                parts.append(r.latex())
        if parts:
            rows.append(f"{lhs} &= " + r" \\ &= ".join(parts))
    return rows


def _align(lines: list[Line]) -> list[str]:
    rows = _lines_latex(lines)
    if not rows:
        return []
    return [r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"]


def render_latex(ex: Explanation) -> str:
    """The derivation as a LaTeX document: a paragraph and an ``align*`` per step."""
    from deltaprop.explain.text import samples_phrase

    title = tex_text(f"deltaprop explain: {repr(ex.net)}, {samples_phrase('en', ex.n_samples)}")
    out = [PREAMBLE, r"\begin{document}", rf"\section*{{{title}}}"]
    for number, step in enumerate(steps(ex), start=1):
        out.append(rf"\subsection*{{{number}. {_prose_latex(step.title)}}}")
        out.append(_prose_latex(step.prose))
        out += _align(step.lines + step.numbers)
    out.append(r"\subsection*{In the derivation's notation}")
    out += _align([final_formula(ex, False), final_formula(ex, True)])
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"
